"""Who is calling: the verified identity a request runs as, and the org it acts for.

A token may grant several memberships (claim ``memberships``: the Keycloak group paths
``/{tenant}/{org}`` or ``/{tenant}``, from a group-membership mapper). The request chooses the one
it acts for with the ``x-govproj-active-org`` header (REST) or metadata key (gRPC), valued
``tenant/org`` or ``tenant``; without it the token's ``tenant``/``org`` claims are the default.
:meth:`Principal.acting_as` refuses a membership the token does not grant, so every service that
takes its Principal from govkit checks the choice the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from govkit.errors import AppError, ErrorKind, forbidden

ACTIVE_ORG_HEADER = "x-govproj-active-org"
"""HTTP header and gRPC metadata key naming the membership a request acts for (``tenant/org``)."""

_MAX_MEMBERSHIP_LENGTH = 200


@dataclass(frozen=True, order=True)
class Membership:
    """One tenant (and org, unless the user is placed in the tenant only) the token grants."""

    tenant: str
    org: str | None = None

    @property
    def key(self) -> str:
        """``tenant/org``, or ``tenant`` for a tenant-only membership (the header's value)."""
        return f"{self.tenant}/{self.org}" if self.org else self.tenant

    @classmethod
    def parse(cls, value: str) -> Membership:
        """From a header value (``tenant/org``) or a group path (``/tenant/org``); ValueError if neither."""
        text = value.strip()
        if not text or len(text) > _MAX_MEMBERSHIP_LENGTH:
            raise ValueError("empty or overlong membership")
        parts = text.removeprefix("/").split("/")
        if len(parts) > 2 or not all(p and p == p.strip() for p in parts):  # noqa: PLR2004 - tenant/org
            raise ValueError(f"not a tenant/org membership: {value!r}")
        return cls(tenant=parts[0], org=parts[1] if len(parts) == 2 else None)  # noqa: PLR2004


def active_org_invalid(value: str) -> AppError:
    """400: the active-org header is not ``tenant/org`` or ``tenant``."""
    return AppError(
        code="ACTIVE_ORG_INVALID",
        message="所选单位的格式不正确，应为“地区/单位”。",
        kind=ErrorKind.INVALID,
        details={"active_org": value[:_MAX_MEMBERSHIP_LENGTH]},
    )


def active_org_not_granted(value: str, granted: tuple[Membership, ...]) -> AppError:
    """403: the request names an org the token does not grant."""
    return AppError(
        code="ACTIVE_ORG_NOT_GRANTED",
        message="您不属于所选的地区或单位，不能以其身份办理或查看。",
        kind=ErrorKind.FORBIDDEN,
        details={"active_org": value[:_MAX_MEMBERSHIP_LENGTH], "granted": [m.key for m in granted]},
    )


SERVICE_ROLE = "service"
"""Realm role of the services' service accounts (client-credentials tokens carry no tenant)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user of a tenant and org, or a service account.

    ``tenant`` is None only for service accounts (role ``service``) and platform-wide tokens;
    ``org`` is None for users not placed in an org (experts, evaluators) and service accounts.
    ``tenant``/``org`` are the membership the request acts for; ``memberships`` are all those the
    token grants (empty for a token without the claim: then only ``tenant``/``org`` are granted).
    Realm roles are the user's in every membership (Keycloak puts no per-group roles in tokens).
    """

    sub: str
    username: str
    tenant: str | None
    org: str | None
    roles: frozenset[str]
    memberships: tuple[Membership, ...] = ()

    @property
    def granted(self) -> tuple[Membership, ...]:
        """Every membership the request may act for (the single default one for older tokens)."""
        if self.memberships:
            return self.memberships
        return (Membership(self.tenant, self.org),) if self.tenant else ()

    @property
    def active(self) -> Membership | None:
        """The membership this principal acts for (None for service accounts)."""
        return Membership(self.tenant, self.org) if self.tenant else None

    def acting_as(self, value: str) -> Principal:
        """This principal acting for the membership ``value`` (``tenant/org`` or ``tenant``).

        Raises 400 ACTIVE_ORG_INVALID for a malformed value, 403 ACTIVE_ORG_NOT_GRANTED for one the
        token does not grant (service accounts are granted none).
        """
        try:
            wanted = Membership.parse(value)
        except ValueError:
            raise active_org_invalid(value) from None
        if wanted not in self.granted:
            raise active_org_not_granted(value, self.granted)
        return replace(self, tenant=wanted.tenant, org=wanted.org)

    def has_role(self, *roles: str) -> bool:
        """True when the principal holds at least one of ``roles``."""
        return any(role in self.roles for role in roles)

    def require_role(self, *roles: str) -> None:
        """Raise the platform's 403 unless the principal holds at least one of ``roles``."""
        if not self.has_role(*roles):
            raise forbidden("requires role " + " or ".join(roles))

    @property
    def is_service(self) -> bool:
        """True for a service account's token (another govproj service calling)."""
        return SERVICE_ROLE in self.roles

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Build from verified token claims (``sub``, ``preferred_username``, ``tenant``, ``org``, ``roles``).

        Raises ValueError when a claim has the wrong shape; the verifier turns that into a 401.
        """
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise ValueError("token has no sub")
        username = claims.get("preferred_username", sub)
        roles = claims.get("roles", [])
        if isinstance(roles, str):  # a single-valued mapper would emit a string
            roles = [roles]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ValueError("roles claim is not a list of strings")
        tenant, org = _optional_string(claims, "tenant"), _optional_string(claims, "org")
        memberships = _memberships(claims)
        if memberships and Membership(tenant or "", org) not in memberships:
            # Keycloak's single-valued attribute mappers take the first group that has the
            # attribute, so a user in /city and /county-a/unit-1 would get tenant=city, org=unit-1:
            # a pair no group grants. Then the first granted membership is the default instead.
            tenant, org = memberships[0].tenant, memberships[0].org
        return cls(
            sub=sub,
            username=str(username),
            tenant=tenant,
            org=org,
            roles=frozenset(roles),
            memberships=memberships,
        )


def _memberships(claims: Mapping[str, Any]) -> tuple[Membership, ...]:
    raw = claims.get("memberships")
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
        raise ValueError("memberships claim is not a list of strings")
    found: list[Membership] = []
    for path in raw:
        membership = Membership.parse(path)  # ValueError → the verifier's 401
        if membership not in found:
            found.append(membership)
    return tuple(found)


def _optional_string(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} claim is not a string")
    return value
