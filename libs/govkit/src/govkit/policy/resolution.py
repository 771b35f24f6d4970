"""Which pack governs a tenant on a date, and who does a tenant's technical review.

The mapping is data (``policies/tenants.yaml``): each tenant lists the packs that may govern it;
a pack is in force from ``effective_from`` to ``effective_until`` and ends earlier when a later
pack of the same tenant ``supersedes`` it. A date no pack covers is an error naming the tenant and
the date, never a silent default. A tenant may delegate its technical review to another tenant
(lhasa §11, shuangyashan §40); the review case then carries ``reviewing_tenant_id``.

A tenant may also name the pattern of its approval document numbers (文号, ``approval_number``),
formatted by :func:`format_document_number`; a pattern with an unknown placeholder is a load error.
"""

from __future__ import annotations

import re
import string
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


class DocumentNumberError(PolicyError, ValueError):
    """A document-number pattern or its arguments are unusable."""


DOCUMENT_NUMBER_FIELDS = frozenset({"year", "seq", "region"})
_REQUIRED_NUMBER_FIELDS = frozenset({"year", "seq"})  # without them two documents share a number
_SAMPLE_NUMBER_ARGS: dict[str, object] = {"year": 2000, "seq": 1, "region": "000000"}
_MIN_YEAR, _MAX_YEAR = 1000, 9999  # GB/T 9704: the year is written in full, four digits


def check_document_number_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a usable 文号 pattern, else raise :class:`DocumentNumberError`.

    Placeholders (``str.format`` syntax): ``{year}``, ``{seq}`` (both required) and ``{region}``
    (the tenant's region code), with an optional format spec such as ``{seq:03d}``; no other
    names, no positional fields, no ``!r`` conversions, no attribute or index access.
    """
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise DocumentNumberError(f"bad document number pattern {pattern!r}: {exc}") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in DOCUMENT_NUMBER_FIELDS:
            known = ", ".join(sorted(DOCUMENT_NUMBER_FIELDS))
            raise DocumentNumberError(
                f"bad document number pattern {pattern!r}: unknown placeholder {{{name}}} (known: {known})"
            )
        if conversion is not None or (spec and "{" in spec):
            raise DocumentNumberError(f"bad document number pattern {pattern!r}: {{{name}}} is too clever")
        names.add(name)
    missing = _REQUIRED_NUMBER_FIELDS - names
    if missing:
        raise DocumentNumberError(
            f"bad document number pattern {pattern!r}: needs {{{'}, {'.join(sorted(missing))}}}"
        )
    try:
        pattern.format(**_SAMPLE_NUMBER_ARGS)
    except (ValueError, TypeError) as exc:
        raise DocumentNumberError(f"bad document number pattern {pattern!r}: {exc}") from None
    return pattern


def format_document_number(pattern: str, *, year: int, seq: int, region: str) -> str:
    """The document number (文号) ``pattern`` gives for the ``seq``-th document of ``year``.

    ``format_document_number("示数审〔{year}〕{seq}号", year=2025, seq=7, region="230500")`` is
    ``"示数审〔2025〕7号"``. Raises :class:`DocumentNumberError` for a bad pattern, a year that is not
    four digits, a sequence number below 1 or a region that is not six digits.
    """
    check_document_number_pattern(pattern)
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise DocumentNumberError(f"bad year {year} for a document number: four digits expected")
    if seq < 1:
        raise DocumentNumberError(f"bad sequence number {seq} for a document number: starts at 1")
    if not _REGION_RE.match(region):
        raise DocumentNumberError(f"bad region code {region!r}: six digits expected (GB/T 2260)")
    return pattern.format(year=year, seq=seq, region=region)


TenantId = Annotated[str, AfterValidator(_check_tenant)]
RegionCode = Annotated[str, AfterValidator(_check_region)]
DocumentNumberPattern = Annotated[str, AfterValidator(check_document_number_pattern)]
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
    approval_number: DocumentNumberPattern | None = None  # 文号 pattern of its approvals
    note: str | None = None

    def document_number(self, *, year: int, seq: int) -> str:
        """This tenant's ``seq``-th approval number of ``year``; :class:`DocumentNumberError` if it has
        no ``approval_number`` pattern."""
        if self.approval_number is None:
            raise DocumentNumberError(f"tenant {self.name!r} has no approval_number pattern in tenants.yaml")
        return format_document_number(self.approval_number, year=year, seq=seq, region=self.region_code)


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
    "DOCUMENT_NUMBER_FIELDS",
    "Delegation",
    "DocumentNumberError",
    "PolicyResolutionError",
    "Resolution",
    "Tenant",
    "TenantMap",
    "check_document_number_pattern",
    "format_document_number",
    "get_tenant",
    "load_tenants",
    "may_review",
    "resolve",
    "resolve_pack",
    "reviewing_tenant",
]
