"""Who is calling: the verified identity a request runs as."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govkit.errors import forbidden

SERVICE_ROLE = "service"
"""Realm role of the services' service accounts (client-credentials tokens carry no tenant)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user of a tenant and org, or a service account.

    ``tenant`` is None only for service accounts (role ``service``) and platform-wide tokens;
    ``org`` is None for users not placed in an org (experts, evaluators) and service accounts.
    """

    sub: str
    username: str
    tenant: str | None
    org: str | None
    roles: frozenset[str]

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
        return cls(
            sub=sub,
            username=str(username),
            tenant=_optional_string(claims, "tenant"),
            org=_optional_string(claims, "org"),
            roles=frozenset(roles),
        )


def _optional_string(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} claim is not a string")
    return value
