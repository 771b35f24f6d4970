"""Keycloak's OIDC protocol mappers, as far as govproj's realm uses them.

Each mapper reads the same config keys Keycloak stores in the realm JSON and fills a claims dict the
way Keycloak's implementation does (``org.keycloak.protocol.oidc.mappers``), so a token from the dev
issuer and one from production Keycloak importing the same realm carry the same claims.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from devstack.issuer.realm import Client, ProtocolMapper, Realm, User

TokenKind = Literal["access", "id", "userinfo"]
# Which config flag decides whether a mapper writes into which token.
_KIND_FLAG: dict[TokenKind, str] = {
    "access": "access.token.claim",
    "id": "id.token.claim",
    "userinfo": "userinfo.token.claim",
}
# Keycloak 24+ exposes these user fields as attributes too (declarative user profile).
_CORE_ATTRIBUTES = {"username", "email", "firstName", "lastName"}
# A claim name is split into nested objects on dots, unless the dot is escaped with a backslash.
_CLAIM_SPLIT = re.compile(r"(?<!\\)\.")


@dataclass(frozen=True)
class MapperContext:
    """What a mapper may look at: the realm, the user, the client and the user session's notes."""

    realm: Realm
    user: User
    client: Client
    session_notes: Mapping[str, str]


def _core_attribute(user: User, name: str) -> str | None:
    return {
        "username": user.username,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
    }.get(name)


def resolve_group_attribute(realm: Realm, path: str, name: str, aggregate: bool) -> list[str]:
    """KeycloakModelUtils.resolveAttribute(GroupModel, ...): the group's values, else its parents'."""
    group = realm.groups[path]
    values = list(group.attributes.get(name, ()))
    if (not values or aggregate) and group.parent is not None:
        inherited = resolve_group_attribute(realm, group.parent, name, aggregate)
        values.extend(v for v in inherited if v not in values)
    return values


def resolve_user_attribute(realm: Realm, user: User, name: str, aggregate: bool) -> list[str]:
    """KeycloakModelUtils.resolveAttribute(UserModel, ...): user's own values first, then its groups'.

    Without aggregation the first group (in membership order) that has a value wins; with it, the
    values of the user and all its groups are combined.
    """
    if name in _CORE_ATTRIBUTES:
        core = _core_attribute(user, name)
        return [core] if core is not None else []
    values = list(user.attributes.get(name, ()))
    if values and not aggregate:
        return values
    for path in user.groups:
        group_values = resolve_group_attribute(realm, path, name, aggregate)
        if not group_values:
            continue
        if not aggregate:
            return group_values
        values.extend(v for v in group_values if v not in values)
    return values


def _convert(value: str, json_type: str | None) -> Any:
    kind = (json_type or "String").lower()
    if kind in {"long", "int"}:
        return int(value)
    if kind == "boolean":
        return value.lower() == "true"
    return value


def set_claim(claims: dict[str, Any], mapper: ProtocolMapper, values: Collection[str] | str | None) -> None:
    """OIDCAttributeMapperHelper.mapClaim: convert, honour ``multivalued``, write a nested claim name."""
    claim_name = mapper.config.get("claim.name")
    if not claim_name or values is None:
        return
    items = [values] if isinstance(values, str) else list(values)
    if not items:
        return
    json_type = mapper.config.get("jsonType.label")
    converted = [_convert(v, json_type) for v in items]
    value: Any = converted if mapper.flag("multivalued") else converted[0]
    parts = [p.replace("\\.", ".") for p in _CLAIM_SPLIT.split(claim_name)]
    target = claims
    for part in parts[:-1]:
        nested = target.setdefault(part, {})
        if not isinstance(nested, dict):
            return
        target = nested
    target[parts[-1]] = value


def _sub(ctx: MapperContext, mapper: ProtocolMapper, claims: dict[str, Any]) -> None:
    claims["sub"] = ctx.user.id


def _session_note(ctx: MapperContext, mapper: ProtocolMapper, claims: dict[str, Any]) -> None:
    note = ctx.session_notes.get(mapper.config.get("user.session.note", ""))
    set_claim(claims, mapper, note)


def _user_attribute(ctx: MapperContext, mapper: ProtocolMapper, claims: dict[str, Any]) -> None:
    name = mapper.config.get("user.attribute")
    if not name:
        return
    values = resolve_user_attribute(ctx.realm, ctx.user, name, mapper.flag("aggregate.attrs"))
    set_claim(claims, mapper, values)


def _user_property(ctx: MapperContext, mapper: ProtocolMapper, claims: dict[str, Any]) -> None:
    set_claim(claims, mapper, _core_attribute(ctx.user, mapper.config.get("user.attribute", "")))


def _full_name(ctx: MapperContext, mapper: ProtocolMapper, claims: dict[str, Any]) -> None:
    parts = [p for p in (ctx.user.first_name, ctx.user.last_name) if p]
    if parts:
        claims["name"] = " ".join(parts)


def _realm_roles(ctx: MapperContext, mapper: ProtocolMapper, claims: dict[str, Any]) -> None:
    prefix = mapper.config.get("usermodel.realmRoleMapping.rolePrefix", "")
    roles = [f"{prefix}{r}" for r in ctx.realm.effective_realm_roles(ctx.user)]
    set_claim(claims, mapper, roles)


def _group_membership(ctx: MapperContext, mapper: ProtocolMapper, claims: dict[str, Any]) -> None:
    full_path = mapper.flag("full.path", default=True)
    names = [p if full_path else ctx.realm.groups[p].name for p in ctx.user.groups]
    # Keycloak's group mapper always emits a list, whatever "multivalued" says.
    as_list = ProtocolMapper(mapper.name, mapper.mapper_type, {**mapper.config, "multivalued": "true"})
    set_claim(claims, as_list, names)


def _hardcoded(ctx: MapperContext, mapper: ProtocolMapper, claims: dict[str, Any]) -> None:
    set_claim(claims, mapper, mapper.config.get("claim.value"))


def _audience(ctx: MapperContext, mapper: ProtocolMapper, claims: dict[str, Any]) -> None:
    audience = mapper.config.get("included.client.audience") or mapper.config.get("included.custom.audience")
    if not audience:
        return
    current = claims.get("aud")
    auds = [] if current is None else [current] if isinstance(current, str) else list(current)
    if audience not in auds:
        auds.append(audience)
    claims["aud"] = auds


MapperFn = Callable[[MapperContext, ProtocolMapper, dict[str, Any]], None]
SUPPORTED_MAPPERS: dict[str, MapperFn] = {
    "oidc-sub-mapper": _sub,
    "oidc-usersessionmodel-note-mapper": _session_note,
    "oidc-usermodel-attribute-mapper": _user_attribute,
    "oidc-usermodel-property-mapper": _user_property,
    "oidc-full-name-mapper": _full_name,
    "oidc-usermodel-realm-role-mapper": _realm_roles,
    "oidc-group-membership-mapper": _group_membership,
    "oidc-hardcoded-claim-mapper": _hardcoded,
    "oidc-audience-mapper": _audience,
}


def client_mappers(realm: Realm, client: Client) -> list[ProtocolMapper]:
    """The mappers that apply to the client: those of its default client scopes, then its own."""
    mappers: list[ProtocolMapper] = []
    for scope_name in client.default_scopes:
        mappers.extend(realm.client_scopes[scope_name].mappers)
    mappers.extend(client.mappers)
    return mappers


def apply_mappers(ctx: MapperContext, kind: TokenKind, claims: dict[str, Any]) -> dict[str, Any]:
    """Run every applicable mapper that is enabled for this kind of token over ``claims``."""
    flag = _KIND_FLAG[kind]
    for mapper in client_mappers(ctx.realm, ctx.client):
        if mapper.flag(flag):
            SUPPORTED_MAPPERS[mapper.mapper_type](ctx, mapper, claims)
    aud = claims.get("aud")
    # Keycloak writes a single audience as a string and several as an array.
    if isinstance(aud, list) and len(aud) == 1:
        claims["aud"] = aud[0]
    return claims
