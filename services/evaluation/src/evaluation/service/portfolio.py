"""The portfolio read model: live from every service's events, rebuildable from the streams, and
the bureau's reports over it (by year, tenant, department, stage, category; overdue and risk
lists; approval and acceptance times in working days)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.adapters import oc4ids, ocds, repository
from evaluation.domain import portfolio as fold
from evaluation.domain.portfolio import HANDLERS, OVERDUE_ZH, ProjectFilter, ProjectRow
from evaluation.service._common import READERS, EvaluationDeps, require, require_tenant, unit_scope
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, not_found
from govkit.events import Envelope
from govkit.workdays import workdays_between

log = logging.getLogger(__name__)
# The streams the portfolio folds, in the order a rebuild reads them (the fold does not depend on it).
CONTEXTS = ("intake", "review", "procurement", "acceptance", "evaluation")


def _decode(envelope: Envelope) -> tuple[Any, Any] | None:
    found = HANDLERS.get(envelope.type)
    if found is None:
        return None
    message_type, handler = found
    return envelope.payload_as(message_type), handler


async def project_event(session: AsyncSession, envelope: Envelope, *, deps: EvaluationDeps) -> None:
    """Live: fold one event into its project's row, in the consumer's transaction (with its inbox row)."""
    decoded = _decode(envelope)
    if decoded is None:
        return
    message, handler = decoded
    declaration_id = fold.declaration_of(message)
    if not declaration_id:
        return
    # None for a new project (or its empty slot): fold from nothing, as a rebuild does.
    row = await repository.claim_project(session, declaration_id, envelope.tenant)
    changed = fold.apply(
        row,
        tenant=envelope.tenant,
        message=message,
        fold=handler,
        occurred_at=envelope.occurred_at,
        window_for=deps.window_for,
    )
    await repository.save_project(session, changed)


@dataclass
class Folded:
    """Rows folded from a replay, by tenant."""

    rows: dict[str, dict[str, ProjectRow]] = field(default_factory=dict)
    events: int = 0

    def add(self, envelope: Envelope, deps: EvaluationDeps) -> None:
        """Fold one event in memory."""
        self.events += 1
        decoded = _decode(envelope)
        if decoded is None:
            return
        message, handler = decoded
        declaration_id = fold.declaration_of(message)
        if not declaration_id:
            return
        tenant_rows = self.rows.setdefault(envelope.tenant, {})
        tenant_rows[declaration_id] = fold.apply(
            tenant_rows.get(declaration_id),
            tenant=envelope.tenant,
            message=message,
            fold=handler,
            occurred_at=envelope.occurred_at,
            window_for=deps.window_for,
        )


async def fold_stream(
    deps: EvaluationDeps, source: AsyncIterator[Envelope], *, progress: Callable[[int], None] | None = None
) -> Folded:
    """Fold every event of ``source`` in memory (``progress`` is told after each event)."""
    folded = Folded()
    async for envelope in source:
        folded.add(envelope, deps)
        if progress is not None:
            progress(1)
    return folded


async def replace_rows(deps: EvaluationDeps, folded: Folded, *, tenants: Iterable[str]) -> int:
    """Replace each tenant's rows by the folded ones, one transaction per tenant (RLS)."""
    written = 0
    for tenant in sorted({*tenants, *folded.rows}):
        rows = list(folded.rows.get(tenant, {}).values())
        async with deps.uow(tenant_id=tenant) as tx:
            await repository.replace_projects(tx.session, rows)
            await tx.commit()
        written += len(rows)
    return written


async def live_rows(deps: EvaluationDeps, tenant: str) -> dict[str, ProjectRow]:
    """The live rows of a tenant."""
    async with deps.uow(tenant_id=tenant) as tx:
        return {r.declaration_id: r for r in await repository.all_projects(tx.session)}


def differences(live: dict[str, ProjectRow], rebuilt: dict[str, ProjectRow]) -> list[str]:
    """Where a rebuild differs from the live rows (empty: equal)."""
    out = []
    for key in sorted(set(live) | set(rebuilt)):
        a, b = live.get(key), rebuilt.get(key)
        if a is None or b is None:
            out.append(f"{key}: {'missing live' if a is None else 'missing in rebuild'}")
            continue
        da, db = repository.portfolio_values(a), repository.portfolio_values(b)
        for name in da:
            if _norm(da[name]) != _norm(db[name]):
                out.append(f"{key}.{name}: live {da[name]!r} != rebuilt {db[name]!r}")
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, dict):
        # amounts per contract compare as numbers; a contract's details (a dict) as they are
        return {k: v if isinstance(v, dict) else str(Decimal(v).normalize()) for k, v in value.items()}
    return value


# --- reports ----------------------------------------------------------------------------------


def _reader(principal: Principal) -> str:
    tenant = require_tenant(principal)
    require(principal, *READERS, action="portfolio.read")
    return tenant


def visible_tenants(deps: EvaluationDeps, tenant: str) -> list[str]:
    """The tenant and the tenants under it (the city sees its counties' portfolios)."""
    out = [tenant]
    if deps.policies.tenants is not None:
        out += sorted(t for t, cfg in deps.policies.tenants.tenants.items() if cfg.parent == tenant)
    return out


GROUPS = tuple(repository.GROUPS)


async def dashboard(
    *, deps: EvaluationDeps, principal: Principal, by: str, year: int | None
) -> list[dict[str, Any]]:
    """Counts and amounts (declared, planned, approved, contracted, paid) per group; "tenant"
    reaches the tenants under the caller's, each read under its own RLS binding."""
    tenant = _reader(principal)
    if by not in repository.GROUPS:
        raise AppError(
            code="GROUP_UNKNOWN",
            message="统计维度不正确。",
            kind=ErrorKind.INVALID,
            details={"by": by, "allowed": list(GROUPS)},
        )
    tenants = visible_tenants(deps, tenant) if by == "tenant" else [tenant]
    out: list[dict[str, Any]] = []
    for t in tenants:
        async with deps.uow(tenant_id=t) as tx:
            out += await repository.dashboard(tx.session, by, year=year, org_id=None)
    return out


async def get_project(*, deps: EvaluationDeps, principal: Principal, declaration_id: str) -> ProjectRow:
    """One row (units: their own projects)."""
    tenant = require_tenant(principal)
    org = unit_scope(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        row = await repository.get_project(tx.session, declaration_id)
    if row is None or (org is not None and row.org_id != org):
        raise not_found("project", declaration_id, label_zh="项目")
    return row


def _listable_tenant(deps: EvaluationDeps, principal: Principal, tenant_id: str | None) -> str:
    """The tenant a list reads: the caller's, or (for readers) one under it (a city's county)."""
    own = require_tenant(principal)
    if not tenant_id or tenant_id == own:
        return own
    require(principal, *READERS, action="portfolio.read_other_tenant")
    if tenant_id not in visible_tenants(deps, own):
        raise AppError(
            code="TENANT_NOT_VISIBLE",
            message="只能查看本地区及所辖地区的项目。",
            kind=ErrorKind.FORBIDDEN,
            details={"tenant_id": tenant_id},
        )
    return tenant_id


async def list_projects(
    *,
    deps: EvaluationDeps,
    principal: Principal,
    tenant_id: str | None = None,
    filters: ProjectFilter | None = None,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ProjectRow], int]:
    """A page of rows and the number matching (units: their own; readers: their tenant or one
    under it, read under that tenant's RLS binding); ``overdue`` keeps the rows late today."""
    tenant = _listable_tenant(deps, principal, tenant_id)
    chosen = filters or ProjectFilter()
    org = unit_scope(principal) if tenant == principal.tenant else None
    if org is not None:
        chosen = replace(chosen, org_id=org)  # a unit's own projects, whatever it asked
    if overdue:
        chosen = replace(chosen, overdue_on=deps.today())
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.projects_page(tx.session, filters=chosen, limit=limit, offset=offset)


@dataclass(frozen=True)
class TimingStats:
    """Working days between two milestones over the projects that reached both."""

    projects: int = 0
    mean: float | None = None
    median: int | None = None
    maximum: int | None = None


def _stats(counts: dict[int, int]) -> TimingStats:
    """From {working days: projects} (a weighted sample)."""
    total = sum(counts.values())
    if not total:
        return TimingStats()
    ordered = sorted(counts.items())
    middle, seen, median = (total + 1) // 2, 0, ordered[-1][0]
    for days, n in ordered:
        seen += n
        if seen >= middle:
            median = days
            break
    mean = sum(d * n for d, n in ordered) / total
    return TimingStats(projects=total, mean=round(mean, 1), median=median, maximum=ordered[-1][0])


async def timing_report(
    *, deps: EvaluationDeps, principal: Principal, year: int | None = None
) -> dict[str, dict[str, TimingStats]]:
    """Approval (submitted → approved) and acceptance (contract → accepted) times in working days,
    overall (key "") and per plan year: the dashboard's figures, computed without loading rows."""
    tenant = _reader(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        found = {
            name: await repository.timing_pairs(tx.session, name, year=year)
            for name in repository.TIMING_MILESTONES
        }
    out: dict[str, dict[str, TimingStats]] = {}
    for name, pairs in found.items():
        counted: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        days_of: dict[tuple[date, date], int] = {}
        for plan_year, start, end, n in pairs:
            if (start, end) not in days_of:
                days_of[(start, end)] = workdays_between(start, end, deps.calendar).days
            days = days_of[(start, end)]
            counted[""][days] += n
            counted[str(plan_year)][days] += n
        for key, counts in counted.items():
            out.setdefault(key, {})[name] = _stats(counts)
    return out


@dataclass(frozen=True)
class Timing:
    """A project's approval and acceptance times in working days."""

    declaration_id: str
    name: str
    approval_workdays: int | None  # submitted → approved
    acceptance_workdays: int | None  # contract signed → accepted


def _between(deps: EvaluationDeps, start: date | None, end: date | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return workdays_between(start, end, deps.calendar).days


async def all_rows(deps: EvaluationDeps, principal: Principal) -> list[ProjectRow]:
    """Every row of the caller's tenant (readers only)."""
    tenant = _reader(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.all_projects(tx.session)


async def overdue(*, deps: EvaluationDeps, principal: Principal) -> list[tuple[ProjectRow, list[str]]]:
    """Projects with something late today, and what."""
    today = deps.today()
    out = []
    for row in await all_rows(deps, principal):
        items = fold.overdue_items(row, today=today)
        if items:
            out.append((row, items))
    return out


async def risks(*, deps: EvaluationDeps, principal: Principal) -> list[tuple[ProjectRow, list[str]]]:
    """Projects with flags or overdue items, the most first."""
    today = deps.today()
    out = []
    for row in await all_rows(deps, principal):
        items = sorted(
            {*row.flags, *fold.overdue_items(row, today=today), *(["suspended"] if row.suspended else [])}
        )
        if items:
            out.append((row, items))
    out.sort(key=lambda pair: (-len(pair[1]), pair[0].declaration_id))
    return out


async def timings(*, deps: EvaluationDeps, principal: Principal) -> list[Timing]:
    """Approval and acceptance times of every project, in working days."""
    return [
        Timing(
            row.declaration_id,
            row.name,
            _between(deps, row.submitted_on, row.approved_on),
            _between(deps, row.contracted_on, row.accepted_on),
        )
        for row in await all_rows(deps, principal)
    ]


def average_workdays(found: Iterable[Timing]) -> dict[str, float | None]:
    """Mean approval and acceptance times over the projects that reached each milestone."""
    items = list(found)
    out: dict[str, float | None] = {}
    for name in ("approval_workdays", "acceptance_workdays"):
        values = [getattr(t, name) for t in items if getattr(t, name) is not None]
        out[name] = round(sum(values) / len(values), 1) if values else None
    return out


def overdue_label(item: str) -> str:
    """The clerk's words for an overdue item."""
    return OVERDUE_ZH.get(item, item)


async def export_excel(*, deps: EvaluationDeps, principal: Principal) -> bytes:
    """The tenant's portfolio as an Excel workbook."""
    # Imported on first use, as review's plan export: openpyxl is ~20 MB of every process's RSS.
    from evaluation.adapters import excel

    return excel.portfolio_workbook(await all_rows(deps, principal), today=deps.today())


async def export_ocds(*, deps: EvaluationDeps, principal: Principal) -> dict[str, Any]:
    """The tenant's portfolio as an OCDS 1.1 release package, validated against the official
    schema before it leaves (an invalid package is a 503, never published)."""
    rows = await all_rows(deps, principal)
    package = ocds.release_package(rows, tenant=principal.tenant or "", published=deps.now())
    errors = ocds.validate(package)
    if errors:
        raise AppError(
            code="OCDS_INVALID",
            message="导出的开放数据不符合OCDS标准，请联系管理员。",
            kind=ErrorKind.UNAVAILABLE,
            details={"errors": errors[:20]},
        )
    return package


async def export_oc4ids(*, deps: EvaluationDeps, principal: Principal) -> dict[str, Any]:
    """The tenant's approved projects and their contracting processes as an OC4IDS project
    package, validated against the official OC4IDS 0.9.3 schema before it leaves (an invalid
    package is a 503, never published); what is not public stays out (adapters/oc4ids)."""
    tenant = _reader(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        rows = await repository.all_projects(tx.session)
    return oc4ids_package(rows, tenant=tenant, published_at=deps.now())


def oc4ids_package(rows: Iterable[ProjectRow], *, tenant: str, published_at: datetime) -> dict[str, Any]:
    """The package of ``rows`` (REST, gRPC and the export command share it), or the reason there
    is none: OC4IDS asks for at least one project, and an invalid package is never handed out."""
    package = oc4ids.project_package(list(rows), tenant=tenant, published_at=published_at)
    if not package["projects"]:
        raise AppError(
            code="OC4IDS_NOTHING_TO_PUBLISH",
            message="本地区暂无已批复的项目可供公开。",
            kind=ErrorKind.PRECONDITION,
            details={"tenant_id": tenant},
        )
    errors = oc4ids.validate(package)
    if errors:
        raise AppError(
            code="OC4IDS_INVALID",
            message="导出的开放数据不符合OC4IDS标准，请联系管理员。",
            kind=ErrorKind.UNAVAILABLE,
            details={"errors": errors[:20]},
        )
    return package
