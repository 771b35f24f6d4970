"""The realm as the dev issuer sees it: Keycloak's realm JSON plus the dev overlay, merged and indexed.

Only the parts of a Keycloak ``RealmRepresentation`` that shape tokens are read: realm roles (with
composites), groups and their attributes, client scopes and protocol mappers, clients and users.
Anything the issuer cannot reproduce faithfully (an unknown mapper type, ``fullScopeAllowed: false``)
makes loading fail, so a developer never gets claims production Keycloak would not issue.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Overlay entries are merged into the base by these keys; every other top-level key is refused so a
# typo in the overlay cannot silently do nothing.
_OVERLAY_KEYS = {"realm", "clients", "users"}
_PLACEHOLDER = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}$")
_EMBEDDED_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")
# Stable user ids across restarts: Keycloak generates random UUIDs on import, the dev issuer derives
# them from the username so `sub` does not change when the issuer restarts.
_USER_ID_NAMESPACE = uuid.UUID("6f1c8a52-4d0e-4c8e-9a43-3b0f4f1c2a10")


class RealmConfigError(ValueError):
    """The realm files cannot be loaded, or ask for something the dev issuer does not emulate."""


@dataclass(frozen=True)
class ProtocolMapper:
    """One ``protocolMappers`` entry of a client or client scope."""

    name: str
    mapper_type: str
    config: Mapping[str, str]

    def flag(self, key: str, default: bool = False) -> bool:
        """A boolean config value as Keycloak stores it (the strings "true"/"false")."""
        value = self.config.get(key)
        if value is None:
            return default
        return str(value).lower() == "true"


@dataclass(frozen=True)
class ClientScope:
    """A client scope: a named bundle of protocol mappers."""

    name: str
    mappers: tuple[ProtocolMapper, ...]
    include_in_token_scope: bool


@dataclass(frozen=True)
class Group:
    """A group; ``parent`` is its path's parent, used for attribute inheritance."""

    path: str
    name: str
    attributes: Mapping[str, tuple[str, ...]]
    realm_roles: tuple[str, ...]
    parent: str | None


@dataclass(frozen=True)
class Client:
    """An OIDC client of the realm."""

    client_id: str
    enabled: bool
    public: bool
    secret: str | None
    direct_access_grants: bool
    service_accounts: bool
    standard_flow: bool
    default_scopes: tuple[str, ...]
    mappers: tuple[ProtocolMapper, ...]
    # Browser (authorization code) flow: where codes and logouts may be sent, and the PKCE method
    # the client requires (Keycloak's client attribute pkce.code.challenge.method), if any.
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    pkce_method: str | None = None

    def allows_redirect(self, uri: str) -> bool:
        """Keycloak's matching: an exact entry, or an entry ending in ``*`` as a prefix."""
        return _uri_allowed(uri, self.redirect_uris)

    def allows_post_logout_redirect(self, uri: str) -> bool:
        """Keycloak's post-logout matching; ``+`` in the attribute means "the redirect URIs"."""
        allowed = [u for u in self.post_logout_redirect_uris if u != "+"]
        if "+" in self.post_logout_redirect_uris:
            allowed += self.redirect_uris
        return _uri_allowed(uri, allowed)


def _uri_allowed(uri: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("*") and uri.startswith(pattern[:-1]):
            return True
        if uri == pattern:
            return True
    return False


@dataclass(frozen=True)
class User:
    """A user (or a client's service-account user)."""

    id: str
    username: str
    enabled: bool
    password: str | None
    attributes: Mapping[str, tuple[str, ...]]
    realm_roles: tuple[str, ...]
    groups: tuple[str, ...]
    service_account_client_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


@dataclass
class Realm:
    """The merged realm, indexed for the token endpoint."""

    name: str
    access_token_lifespan: int
    sso_session_idle_timeout: int
    roles: dict[str, tuple[str, ...]]  # role name -> composite realm roles
    groups: dict[str, Group]
    client_scopes: dict[str, ClientScope]
    clients: dict[str, Client]
    users: dict[str, User]
    service_accounts: dict[str, User] = field(default_factory=dict)  # client id -> user
    display_name: str = ""  # shown on the login page

    def effective_realm_roles(self, user: User) -> list[str]:
        """The user's realm roles, including those of its groups (and their parents) and composites.

        This is what Keycloak's realm-role mapper emits when the client has full scope.
        """
        direct: list[str] = list(user.realm_roles)
        for path in user.groups:
            group: Group | None = self.groups[path]
            while group is not None:
                direct.extend(group.realm_roles)
                group = self.groups[group.parent] if group.parent else None
        seen: list[str] = []
        stack = list(reversed(direct))
        while stack:
            role = stack.pop()
            if role in seen:
                continue
            seen.append(role)
            stack.extend(reversed(self.roles.get(role, ())))
        return seen


def _strings(values: Any, where: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RealmConfigError(f"{where}: expected a list of strings")
    return tuple(values)


def _attributes(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RealmConfigError(f"{where}: attributes must be an object")
    return {str(k): _strings(v, f"{where}.{k}") for k, v in raw.items()}


def _mappers(raw: Any, where: str) -> tuple[ProtocolMapper, ...]:
    # Imported here to keep one list of supported mapper types, next to their implementation.
    from devstack.issuer.mappers import SUPPORTED_MAPPERS

    result = []
    for item in raw or []:
        kind = item.get("protocolMapper")
        if kind not in SUPPORTED_MAPPERS:
            raise RealmConfigError(
                f"{where}: mapper {item.get('name')!r} has type {kind!r}, which the dev issuer does not "
                f"emulate (supported: {', '.join(sorted(SUPPORTED_MAPPERS))})"
            )
        if item.get("protocol", "openid-connect") != "openid-connect":
            continue
        config = {str(k): str(v) for k, v in (item.get("config") or {}).items()}
        result.append(ProtocolMapper(name=str(item.get("name", kind)), mapper_type=kind, config=config))
    return tuple(result)


def resolve_placeholder(value: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Resolve a ``${VAR}`` / ``${VAR:default}`` value the way Keycloak's import does.

    Returns None when the variable is unset and has no default: such a secret matches nothing.
    """
    if value is None:
        return None
    match = _PLACEHOLDER.match(value)
    if not match:
        return value
    env = os.environ if environ is None else environ
    return env.get(match.group(1), match.group(2))


def resolve_embedded(value: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Resolve every ``${VAR}`` / ``${VAR:default}`` inside ``value`` (Keycloak's import replaces
    placeholders anywhere in the file, e.g. ``${GOVPROJ_PORTAL_PUBLIC_URL:http://127.0.0.1:8000}/*``).

    Returns None when a variable is unset and has no default: such an entry matches nothing.
    """
    env = os.environ if environ is None else environ
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        resolved = env.get(match.group(1), match.group(2))
        if resolved is None:
            missing = True
            return ""
        return resolved

    result = _EMBEDDED_PLACEHOLDER.sub(substitute, value)
    return None if missing else result


def _uri_list(values: Iterable[str], environ: Mapping[str, str] | None) -> tuple[str, ...]:
    resolved = (resolve_embedded(v, environ) for v in values)
    return tuple(v for v in resolved if v)


def merge_overlay(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge the dev overlay into the production realm representation.

    Clients are matched by ``clientId`` (the overlay's fields override the base's, e.g. a dev
    ``secret``) or appended; users are appended and must not repeat a username.
    """
    unknown = set(overlay) - _OVERLAY_KEYS
    if unknown:
        raise RealmConfigError(f"dev overlay: unsupported top-level keys {sorted(unknown)}")
    if overlay.get("realm", base.get("realm")) != base.get("realm"):
        raise RealmConfigError("dev overlay is for another realm")
    merged = dict(base)
    clients = [dict(c) for c in base.get("clients", [])]
    by_id = {c["clientId"]: c for c in clients}
    for client in overlay.get("clients", []):
        if client["clientId"] in by_id:
            by_id[client["clientId"]].update(client)
        else:
            clients.append(dict(client))
            by_id[client["clientId"]] = clients[-1]
    merged["clients"] = clients
    users = list(base.get("users", []))
    names = {u["username"] for u in users}
    for user in overlay.get("users", []):
        if user["username"] in names:
            raise RealmConfigError(f"dev overlay: user {user['username']!r} already exists in the realm")
        names.add(user["username"])
        users.append(user)
    merged["users"] = users
    return merged


def _walk_groups(raw: Iterable[dict[str, Any]], parent: str | None, out: dict[str, Group]) -> None:
    for item in raw:
        path = f"{parent or ''}/{item['name']}"
        if item.get("path") not in (None, path):
            raise RealmConfigError(f"group {item['name']!r}: path {item.get('path')!r} should be {path!r}")
        out[path] = Group(
            path=path,
            name=item["name"],
            attributes=_attributes(item.get("attributes"), f"group {path}"),
            realm_roles=_strings(item.get("realmRoles"), f"group {path}.realmRoles"),
            parent=parent,
        )
        _walk_groups(item.get("subGroups") or [], path, out)


def attrs_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A representation's ``attributes`` object (empty when absent)."""
    attrs = raw.get("attributes") or {}
    return dict(attrs) if isinstance(attrs, dict) else {}


def _password(raw: dict[str, Any]) -> str | None:
    for cred in raw.get("credentials") or []:
        if cred.get("type") == "password" and "value" in cred:
            return str(cred["value"])
    # Hashed credentials (an export from a real Keycloak) cannot be checked here: no password login.
    return None


def build_realm(rep: dict[str, Any], environ: Mapping[str, str] | None = None) -> Realm:
    """Index a (merged) realm representation and check the issuer can emulate it."""
    roles: dict[str, tuple[str, ...]] = {}
    for role in (rep.get("roles") or {}).get("realm", []):
        composites = (role.get("composites") or {}).get("realm") if role.get("composite") else None
        roles[role["name"]] = _strings(composites, f"role {role['name']}.composites")
    # Keycloak always has these two; tokens may name them through default roles.
    roles.setdefault("offline_access", ())
    roles.setdefault("uma_authorization", ())

    groups: dict[str, Group] = {}
    _walk_groups(rep.get("groups") or [], None, groups)

    scopes: dict[str, ClientScope] = {}
    for scope in rep.get("clientScopes") or []:
        if scope.get("protocol", "openid-connect") != "openid-connect":
            continue
        attrs = scope.get("attributes") or {}
        scopes[scope["name"]] = ClientScope(
            name=scope["name"],
            mappers=_mappers(scope.get("protocolMappers"), f"client scope {scope['name']}"),
            include_in_token_scope=str(attrs.get("include.in.token.scope", "true")).lower() == "true",
        )
    realm_default_scopes = _strings(rep.get("defaultDefaultClientScopes"), "defaultDefaultClientScopes")

    clients: dict[str, Client] = {}
    for raw in rep.get("clients") or []:
        cid = raw["clientId"]
        if raw.get("fullScopeAllowed", True) is not True:
            raise RealmConfigError(f"client {cid}: fullScopeAllowed=false is not emulated by the dev issuer")
        default_scopes = _strings(raw.get("defaultClientScopes"), f"client {cid}.defaultClientScopes")
        if "defaultClientScopes" not in raw:
            default_scopes = realm_default_scopes
        missing = [s for s in default_scopes if s not in scopes]
        if missing:
            raise RealmConfigError(f"client {cid}: unknown default client scopes {missing}")
        clients[cid] = Client(
            client_id=cid,
            enabled=bool(raw.get("enabled", True)),
            public=bool(raw.get("publicClient", False)),
            secret=resolve_placeholder(raw.get("secret"), environ),
            direct_access_grants=bool(raw.get("directAccessGrantsEnabled", False)),
            service_accounts=bool(raw.get("serviceAccountsEnabled", False)),
            standard_flow=bool(raw.get("standardFlowEnabled", True)),
            default_scopes=default_scopes,
            mappers=_mappers(raw.get("protocolMappers"), f"client {cid}"),
            redirect_uris=_uri_list(_strings(raw.get("redirectUris"), f"client {cid}.redirectUris"), environ),
            post_logout_redirect_uris=_uri_list(
                [u for u in str(attrs_of(raw).get("post.logout.redirect.uris", "")).split("##") if u], environ
            ),
            pkce_method=str(attrs_of(raw).get("pkce.code.challenge.method") or "") or None,
        )

    users: dict[str, User] = {}
    service_accounts: dict[str, User] = {}
    for raw in rep.get("users") or []:
        username = raw["username"]
        listed = _strings(raw.get("groups"), f"user {username}.groups")
        user_groups = tuple(g if g.startswith("/") else f"/{g}" for g in listed)
        unknown_groups = [g for g in user_groups if g not in groups]
        if unknown_groups:
            raise RealmConfigError(f"user {username}: unknown groups {unknown_groups}")
        user_roles = _strings(raw.get("realmRoles"), f"user {username}.realmRoles")
        unknown_roles = [r for r in user_roles if r not in roles]
        if unknown_roles:
            raise RealmConfigError(f"user {username}: unknown realm roles {unknown_roles}")
        user = User(
            id=str(raw.get("id") or uuid.uuid5(_USER_ID_NAMESPACE, f"{rep['realm']}/{username}")),
            username=username,
            enabled=bool(raw.get("enabled", True)),
            password=_password(raw),
            attributes=_attributes(raw.get("attributes"), f"user {username}"),
            realm_roles=user_roles,
            groups=user_groups,
            service_account_client_id=raw.get("serviceAccountClientId"),
            first_name=raw.get("firstName"),
            last_name=raw.get("lastName"),
            email=raw.get("email"),
        )
        users[username] = user
        if user.service_account_client_id:
            service_accounts[user.service_account_client_id] = user

    for client in clients.values():
        if client.service_accounts and client.client_id not in service_accounts:
            # Keycloak creates the service-account user itself when the JSON does not list one.
            username = f"service-account-{client.client_id}"
            service_accounts[client.client_id] = users[username] = User(
                id=str(uuid.uuid5(_USER_ID_NAMESPACE, f"{rep['realm']}/{username}")),
                username=username,
                enabled=True,
                password=None,
                attributes={},
                realm_roles=(),
                groups=(),
                service_account_client_id=client.client_id,
            )

    return Realm(
        name=rep["realm"],
        access_token_lifespan=int(rep.get("accessTokenLifespan", 300)),
        sso_session_idle_timeout=int(rep.get("ssoSessionIdleTimeout", 1800)),
        roles=roles,
        groups=groups,
        client_scopes=scopes,
        clients=clients,
        users=users,
        service_accounts=service_accounts,
        display_name=str(rep.get("displayName") or rep["realm"]),
    )


def load_realm(
    realm_path: Path, dev_overlay_path: Path | None, environ: Mapping[str, str] | None = None
) -> Realm:
    """Read the production realm JSON, merge the dev overlay (if any) and index the result."""
    base = json.loads(Path(realm_path).read_text(encoding="utf-8"))
    if dev_overlay_path is not None:
        overlay = json.loads(Path(dev_overlay_path).read_text(encoding="utf-8"))
        base = merge_overlay(base, overlay)
    return build_realm(base, environ)
