"""Which pack governs a tenant on a date, and who does a tenant's technical review.

The mapping is data (``policies/tenants.yaml``): each tenant lists the packs that may govern it;
a pack is in force from ``effective_from`` to ``effective_until`` and ends earlier when a later
pack of the same tenant ``supersedes`` it. A date no pack covers is an error naming the tenant and
the date, never a silent default. A tenant may delegate its technical review to another tenant
(lhasa §11, shuangyashan §40); the review case then carries ``reviewing_tenant_id``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from govkit.policy.loader import PackLoadError, PolicyError, PolicyRegistry, read_yaml, validate_file
from govkit.policy.model import NonEmptyStr, Pack, PackId, StrictModel

_REGION_RE = re.compile(r"^[0-9]{6}$")
_TENANT_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _check_region(raw: str) -> str:
    if not _REGION_RE.match(raw):
        raise ValueError(f"bad region code {raw!r}: six digits expected (GB/T 2260)")
    return raw


def _check_tenant(raw: str) -> str:
    if not _TENANT_RE.match(raw):
        raise ValueError(f"bad tenant id {raw!r}")
    return raw


TenantId = Annotated[str, AfterValidator(_check_tenant)]
RegionCode = Annotated[str, AfterValidator(_check_region)]
Step = Literal["technical_review"]


class PolicyResolutionError(PolicyError, LookupError):
    """No (or no unique) pack governs the tenant on the date, or the tenant is unknown."""


class Delegation(StrictModel):
    """A review step done by another tenant from a date on, with the article that says so."""

    step: Step
    to: TenantId
    cite: Annotated[list[NonEmptyStr], Field(min_length=1)]  # "<pack id> §<article>"
    since: date | None = None
    until: date | None = None
    note: str | None = None

    def covers(self, on: date) -> bool:
        """Whether the delegation applies on ``on``."""
        return (self.since is None or self.since <= on) and (self.until is None or on <= self.until)


class Tenant(StrictModel):
    """A jurisdiction with its own packs: the city level or one county/district."""

    name: NonEmptyStr
    region_code: RegionCode
    level: Literal["city", "county"]
    parent: TenantId | None = None
    packs: Annotated[list[PackId], Field(min_length=1)]
    delegations: list[Delegation] = Field(default_factory=list)
    note: str | None = None


class TenantMap(StrictModel):
    """The contents of ``tenants.yaml``."""

    tenants: dict[TenantId, Tenant]

    @model_validator(mode="after")
    def _references(self) -> TenantMap:
        codes = [t.region_code for t in self.tenants.values()]
        if len(codes) != len(set(codes)):
            raise ValueError("two tenants share a region code")
        for tid, tenant in self.tenants.items():
            if tenant.parent is not None and tenant.parent not in self.tenants:
                raise ValueError(f"tenant {tid!r}: unknown parent {tenant.parent!r}")
            for d in tenant.delegations:
                if d.to not in self.tenants or d.to == tid:
                    raise ValueError(f"tenant {tid!r}: bad delegation target {d.to!r}")
        return self


def load_tenants(file: Path, registry: PolicyRegistry) -> TenantMap:
    """Load ``tenants.yaml`` and check every pack it names exists in ``registry``."""
    data, index = read_yaml(file)
    tenant_map = validate_file(TenantMap, data, index, file)
    for tid, tenant in tenant_map.tenants.items():
        for i, pack_id in enumerate(tenant.packs):
            if pack_id not in registry.packs:
                line = index.get(("tenants", tid, "packs", i))
                raise PackLoadError(file, line, f"tenant {tid!r}: unknown pack {pack_id!r}")
    return tenant_map


def _tenants(registry: PolicyRegistry) -> TenantMap:
    if registry.tenants is None:
        raise PolicyResolutionError(f"no tenants.yaml in {registry.directory}")
    tenant_map: TenantMap = registry.tenants
    return tenant_map


def get_tenant(tenant_id: str, *, registry: PolicyRegistry) -> Tenant:
    """The tenant's record, or :class:`PolicyResolutionError` naming it."""
    tenant_map = _tenants(registry)
    try:
        return tenant_map.tenants[tenant_id]
    except KeyError:
        known = ", ".join(sorted(tenant_map.tenants))
        raise PolicyResolutionError(f"unknown tenant {tenant_id!r} (known: {known})") from None


def _superseded_ids(listed: list[Pack], on: date, registry: PolicyRegistry) -> set[str]:
    """Ids repealed on ``on``: superseded, directly or down a chain, by a listed pack already in effect.

    Supersession is a repeal: the old pack does not come back when the new one expires.
    """
    out: set[str] = set()
    for pack in listed:
        if pack.effective_from > on:
            continue
        seen: set[str] = set()
        current = pack.supersedes
        while current is not None and current not in seen:
            seen.add(current)
            out.add(current)
            current = registry.packs[current].supersedes if current in registry.packs else None
    return out


def resolve_pack(tenant_id: str, on: date, *, registry: PolicyRegistry) -> Pack:
    """The pack governing ``tenant_id`` on ``on``.

    Raises :class:`PolicyResolutionError` naming the tenant and the date when no pack (or more
    than one unrelated pack) covers it.
    """
    tenant = get_tenant(tenant_id, registry=registry)
    listed = [registry.packs[p] for p in tenant.packs]
    covering = [p for p in listed if p.covers(on)]
    superseded = _superseded_ids(listed, on, registry)
    governing = [p for p in covering if p.id not in superseded]
    if not governing:
        windows = ", ".join(
            f"{p.id} ({p.effective_from}..{p.effective_until or ''}"
            + (", repealed" if p.id in superseded else "")
            + ")"
            for p in listed
        )
        raise PolicyResolutionError(
            f"no policy pack governs tenant {tenant_id!r} on {on.isoformat()}; its packs: {windows}"
        )
    if len(governing) > 1:
        ids = ", ".join(sorted(p.id for p in governing))
        raise PolicyResolutionError(
            f"several packs govern tenant {tenant_id!r} on {on.isoformat()} ({ids}); "
            "one must supersede the other in the packs"
        )
    return governing[0]


@dataclass(frozen=True)
class Resolution:
    """Everything a service needs about a tenant on a date."""

    tenant_id: str
    on: date
    pack: Pack
    reviewing_tenant_id: str
    delegation_cite: list[str]


def reviewing_tenant(
    tenant_id: str, on: date, *, registry: PolicyRegistry, step: Step = "technical_review"
) -> tuple[str, list[str]]:
    """The tenant that performs ``step`` for ``tenant_id`` on ``on`` and the articles saying so.

    Without a delegation the tenant reviews its own cases (``(tenant_id, [])``).
    """
    tenant = get_tenant(tenant_id, registry=registry)
    for delegation in tenant.delegations:
        if delegation.step == step and delegation.covers(on):
            return delegation.to, sorted(delegation.cite)
    return tenant_id, []


def resolve(tenant_id: str, on: date, *, registry: PolicyRegistry) -> Resolution:
    """Pack, reviewing tenant and delegation citations for ``tenant_id`` on ``on``."""
    pack = resolve_pack(tenant_id, on, registry=registry)
    reviewer, cite = reviewing_tenant(tenant_id, on, registry=registry)
    return Resolution(
        tenant_id=tenant_id, on=on, pack=pack, reviewing_tenant_id=reviewer, delegation_cite=cite
    )


def may_review(case_tenant_id: str, reviewing_tenant_id: str | None, caller_tenant_id: str) -> bool:
    """Whether a caller of ``caller_tenant_id`` may act on a review case (DESIGN.md principle 4)."""
    return caller_tenant_id in {case_tenant_id, reviewing_tenant_id}


__all__ = [
    "Delegation",
    "PolicyResolutionError",
    "Resolution",
    "Tenant",
    "TenantMap",
    "get_tenant",
    "load_tenants",
    "may_review",
    "resolve",
    "resolve_pack",
    "reviewing_tenant",
]
