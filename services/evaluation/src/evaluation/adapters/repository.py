"""evaluation's repositories: domain objects to rows and back (SQLAlchemy Core, one session)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Table, and_, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB, Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.adapters import orm
from evaluation.domain.closure import Action, ClosureRequest, ClosureStatus, SelfCheck
from evaluation.domain.discredited import DiscreditedEntry, Scope, SubjectKind
from evaluation.domain.evaluation import Evaluation, Kind, Status
from evaluation.domain.om_funding import Declared, OmRequest, Outcome, Refusal
from evaluation.domain.portfolio import ProjectFilter, ProjectRow
from evaluation.domain.rectification import OrderStatus, RectificationOrder
from evaluation.domain.scoring import IndicatorScore

# --- portfolio --------------------------------------------------------------------------------

_ROW_FIELDS = [f.name for f in fields(ProjectRow)]


def portfolio_values(row: ProjectRow) -> dict[str, Any]:
    """The stored columns of a row (with the derived stage and sums)."""
    values = row.as_dict()
    values["stage"] = row.stage.value
    values["contracted_amount"] = row.contracted_amount
    values["paid_amount"] = row.paid_amount
    return values


def project_of(r: Row[Any] | Any) -> ProjectRow:
    """A stored row back as the domain row."""
    m = r._mapping
    row = ProjectRow(**{k: m[k] for k in _ROW_FIELDS})
    row.flags = list(row.flags or [])
    row.contracts = dict(row.contracts or {})
    row.payments = dict(row.payments or {})
    row.contract_details = {k: dict(v) for k, v in (row.contract_details or {}).items()}
    return row


async def get_project(session: AsyncSession, declaration_id: str) -> ProjectRow | None:
    """The project's row (RLS keeps other tenants' rows out)."""
    t = orm.portfolio
    found = (await session.execute(select(t).where(t.c.declaration_id == declaration_id))).first()
    return project_of(found) if found else None


@functools.cache
def _upsert(columns: tuple[str, ...]) -> Insert:
    # Built once per column set and executed with bound parameters: the portfolio consumer writes
    # a row per event, and a statement with inlined values would be traversed for its cache key
    # every time.
    stmt = insert(orm.portfolio)
    update = {k: stmt.excluded[k] for k in columns if k != "declaration_id"}
    return stmt.on_conflict_do_update(index_elements=["declaration_id"], set_=update)


# The project's row claimed in one statement: inserted as an empty slot when it is new, otherwise
# "updated" to itself. ON CONFLICT DO UPDATE locks the row and returns its latest committed
# version even when it was inserted after this statement's snapshot, so the first two events of a
# new project from two streams are serialised (a plain SELECT … FOR UPDATE after the insert would
# need a second round trip, and in the same statement would miss a row committed meanwhile).
_CLAIM = (
    insert(orm.portfolio)
    .on_conflict_do_update(
        index_elements=["declaration_id"],
        set_={"declaration_id": insert(orm.portfolio).excluded.declaration_id},
    )
    .returning(*orm.portfolio.c)
)


async def save_project(session: AsyncSession, row: ProjectRow) -> None:
    """Insert or replace the row."""
    values = portfolio_values(row)
    await session.execute(_upsert(tuple(values)), values)


async def claim_project(session: AsyncSession, declaration_id: str, tenant_id: str) -> ProjectRow | None:
    """The project's row, locked for the consumer's transaction; None when it is new (an empty
    slot was inserted, so a concurrent first event of the same project waits for this one)."""
    found = (
        await session.execute(
            _CLAIM, {"declaration_id": declaration_id, "tenant_id": tenant_id, "stage": "review"}
        )
    ).first()
    row = project_of(found) if found else None
    return row if row is not None and row.last_event_at else None


async def all_projects(session: AsyncSession) -> list[ProjectRow]:
    """Every row of the session's tenant."""
    t = orm.portfolio
    rows = (await session.execute(select(t).order_by(t.c.declaration_id))).all()
    return [project_of(r) for r in rows]


async def replace_projects(session: AsyncSession, rows: Sequence[ProjectRow]) -> None:
    """The tenant's rows replaced by a rebuild's (in the caller's transaction)."""
    await session.execute(orm.portfolio.delete())
    batch = [portfolio_values(r) for r in rows]
    for start in range(0, len(batch), 1000):
        await session.execute(insert(orm.portfolio), batch[start : start + 1000])


# --- discredited list -------------------------------------------------------------------------


def _entry_table(scope: Scope) -> Table:
    return orm.platform_discredited if scope is Scope.PLATFORM else orm.discredited


def _entry_of(r: Any, scope: Scope) -> DiscreditedEntry:
    m = r._mapping
    return DiscreditedEntry(
        id=m["id"],
        tenant_id=m.get("tenant_id", ""),
        scope=scope,
        subject_kind=SubjectKind(m["subject_kind"]),
        credit_code=m["credit_code"],
        expert_id=m["expert_id"],
        name=m["name"],
        grounds=m["grounds"],
        period_from=m["period_from"],
        period_until=m["period_until"],
        cite=tuple(m["cite"]),
        listed_by=m["listed_by"],
        listed_at=m["listed_at"],
        removed_at=m["removed_at"],
        removed_by=m["removed_by"],
        removal_reason=m["removal_reason"],
        version=m["version"],
    )


def _entry_values(e: DiscreditedEntry) -> dict[str, Any]:
    values = {f.name: getattr(e, f.name) for f in fields(e)}
    values["scope"] = e.scope.value
    values["subject_kind"] = e.subject_kind.value
    values["cite"] = list(e.cite)
    if e.scope is Scope.PLATFORM:
        values.pop("tenant_id")
    return values


async def add_entry(session: AsyncSession, entry: DiscreditedEntry) -> None:
    """Store a new listing."""
    await session.execute(_entry_table(entry.scope).insert().values(**_entry_values(entry)))


async def get_entry(session: AsyncSession, entry_id: str, *, lock: bool = False) -> DiscreditedEntry | None:
    """A listing of the tenant's list or the platform's."""
    for scope in (Scope.TENANT, Scope.PLATFORM):
        t = _entry_table(scope)
        q = select(t).where(t.c.id == entry_id)
        found = (await session.execute(q.with_for_update() if lock else q)).first()
        if found:
            return _entry_of(found, scope)
    return None


async def save_entry(
    session: AsyncSession, entry: DiscreditedEntry, *, expected_version: int
) -> DiscreditedEntry | None:
    """Store a change made at ``expected_version``; None when someone changed it first."""
    t = _entry_table(entry.scope)
    stored = replace(entry, version=expected_version + 1)
    values = _entry_values(stored)
    values.pop("id")
    result = await session.execute(
        t.update().where(and_(t.c.id == entry.id, t.c.version == expected_version)).values(**values)
    )
    return stored if result.rowcount else None  # type: ignore[attr-defined]


async def list_entries(
    session: AsyncSession,
    *,
    credit_code: str | None = None,
    expert_id: str | None = None,
    include_removed: bool,
) -> list[DiscreditedEntry]:
    """The tenant's listings and the platform's, newest first."""
    out: list[DiscreditedEntry] = []
    for scope in (Scope.TENANT, Scope.PLATFORM):
        t = _entry_table(scope)
        q = select(t)
        if credit_code:
            q = q.where(t.c.credit_code == credit_code)
        if expert_id:
            q = q.where(t.c.expert_id == expert_id)
        if not include_removed:
            q = q.where(t.c.removed_at.is_(None))
        out.extend(_entry_of(r, scope) for r in (await session.execute(q)).all())
    return sorted(out, key=lambda e: e.listed_at, reverse=True)


# --- rectification orders ---------------------------------------------------------------------


def _order_values(o: RectificationOrder) -> dict[str, Any]:
    values = {f.name: getattr(o, f.name) for f in fields(o)}
    values.update(
        status=o.status.value, items=list(o.items), cite=list(o.cite), escalation_cite=list(o.escalation_cite)
    )
    return values


def _order_of(r: Any) -> RectificationOrder:
    m = dict(r._mapping)
    m.update(
        status=OrderStatus(m["status"]),
        items=tuple(m["items"]),
        cite=tuple(m["cite"]),
        escalation_cite=tuple(m["escalation_cite"]),
    )
    return RectificationOrder(**m)


async def add_order(session: AsyncSession, order: RectificationOrder) -> None:
    """Store a new order."""
    await session.execute(orm.rectifications.insert().values(**_order_values(order)))


async def get_order(session: AsyncSession, order_id: str, *, lock: bool = False) -> RectificationOrder | None:
    """One order of the tenant."""
    t = orm.rectifications
    q = select(t).where(t.c.id == order_id)
    found = (await session.execute(q.with_for_update() if lock else q)).first()
    return _order_of(found) if found else None


async def save_order(
    session: AsyncSession, order: RectificationOrder, *, expected_version: int
) -> RectificationOrder | None:
    """Store a change made at ``expected_version``."""
    t = orm.rectifications
    stored = replace(order, version=expected_version + 1)
    values = _order_values(stored)
    values.pop("id")
    result = await session.execute(
        t.update().where(and_(t.c.id == order.id, t.c.version == expected_version)).values(**values)
    )
    return stored if result.rowcount else None  # type: ignore[attr-defined]


async def list_orders(
    session: AsyncSession,
    *,
    declaration_id: str | None = None,
    status: str | None = None,
    org_id: str | None = None,
) -> list[RectificationOrder]:
    """Orders of the tenant, by due date."""
    t = orm.rectifications
    q = select(t).order_by(t.c.due_on, t.c.id)
    if declaration_id:
        q = q.where(t.c.declaration_id == declaration_id)
    if status:
        q = q.where(t.c.status == status)
    if org_id:
        q = q.where(t.c.org_id == org_id)
    return [_order_of(r) for r in (await session.execute(q)).all()]


async def overdue_open_orders(session: AsyncSession, *, today: date, limit: int) -> list[RectificationOrder]:
    """Open orders past due (any tenant the session sees), locked and skipped when another sweep has them."""
    t = orm.rectifications
    q = (
        select(t)
        .where(and_(t.c.status == OrderStatus.OPEN.value, t.c.due_on < today))
        .order_by(t.c.due_on)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_order_of(r) for r in (await session.execute(q)).all()]


# --- evaluations ------------------------------------------------------------------------------


def _score_json(s: IndicatorScore) -> dict[str, Any]:
    return {
        "code": s.code,
        "label_zh": s.label_zh,
        "weight": str(s.weight),
        "target": s.target,
        "actual": s.actual,
        "score": str(s.score),
        "evidence": list(s.evidence),
    }


def _score_of(d: dict[str, Any]) -> IndicatorScore:
    return IndicatorScore(
        code=d["code"],
        label_zh=d["label_zh"],
        weight=Decimal(d["weight"]),
        target=d["target"],
        actual=d["actual"],
        score=Decimal(d["score"]),
        evidence=tuple(d.get("evidence") or ()),
    )


def _evaluation_values(e: Evaluation) -> dict[str, Any]:
    values = {f.name: getattr(e, f.name) for f in fields(e)}
    values.update(
        kind=e.kind.value,
        status=e.status.value,
        cite=list(e.cite),
        indicators=[_score_json(s) for s in e.indicators],
    )
    return values


def _evaluation_of(r: Any) -> Evaluation:
    m = dict(r._mapping)
    m.update(
        kind=Kind(m["kind"]),
        status=Status(m["status"]),
        cite=tuple(m["cite"]),
        indicators=tuple(_score_of(d) for d in m["indicators"]),
    )
    return Evaluation(**m)


async def add_evaluation(session: AsyncSession, evaluation: Evaluation) -> None:
    """Store a new evaluation."""
    await session.execute(orm.evaluations.insert().values(**_evaluation_values(evaluation)))


async def get_evaluation(
    session: AsyncSession, evaluation_id: str, *, lock: bool = False
) -> Evaluation | None:
    """One evaluation of the tenant."""
    t = orm.evaluations
    q = select(t).where(t.c.id == evaluation_id)
    found = (await session.execute(q.with_for_update() if lock else q)).first()
    return _evaluation_of(found) if found else None


async def save_evaluation(
    session: AsyncSession, evaluation: Evaluation, *, expected_version: int
) -> Evaluation | None:
    """Store a change made at ``expected_version``."""
    t = orm.evaluations
    stored = replace(evaluation, version=expected_version + 1)
    values = _evaluation_values(stored)
    values.pop("id")
    result = await session.execute(
        t.update().where(and_(t.c.id == evaluation.id, t.c.version == expected_version)).values(**values)
    )
    return stored if result.rowcount else None  # type: ignore[attr-defined]


async def evaluations_of(session: AsyncSession, declaration_id: str) -> list[Evaluation]:
    """A project's evaluations, oldest first."""
    t = orm.evaluations
    q = select(t).where(t.c.declaration_id == declaration_id).order_by(t.c.created_at)
    return [_evaluation_of(r) for r in (await session.execute(q)).all()]


async def list_evaluations(
    session: AsyncSession, *, kind: str | None, evaluator: str | None, org_id: str | None
) -> list[Evaluation]:
    """Evaluations of the tenant, newest first."""
    t = orm.evaluations
    q = select(t).order_by(t.c.created_at.desc())
    if kind:
        q = q.where(t.c.kind == kind)
    if evaluator:
        q = q.where(t.c.evaluator == evaluator)
    if org_id:
        q = q.where(t.c.org_id == org_id)
    return [_evaluation_of(r) for r in (await session.execute(q)).all()]


async def add_evidence(session: AsyncSession, values: dict[str, Any]) -> None:
    """Record an uploaded evidence file."""
    await session.execute(orm.evidence.insert().values(**values))


async def evidence_of(session: AsyncSession, evaluation_id: str) -> list[dict[str, Any]]:
    """The evidence files of an evaluation."""
    t = orm.evidence
    q = select(t).where(t.c.evaluation_id == evaluation_id).order_by(t.c.uploaded_at)
    return [dict(r._mapping) for r in (await session.execute(q)).all()]


# --- O&M requests -----------------------------------------------------------------------------


def _om_values(o: OmRequest) -> dict[str, Any]:
    values = {f.name: getattr(o, f.name) for f in fields(o)}
    values.update(
        outcome=o.outcome.value,
        declared={f.name: getattr(o.declared, f.name) for f in fields(o.declared)},
        refusals=[{"code": r.code, "message": r.message, "cite": list(r.cite)} for r in o.refusals],
        cite=list(o.cite),
    )
    return values


def _om_of(r: Any) -> OmRequest:
    m = dict(r._mapping)
    m.update(
        outcome=Outcome(m["outcome"]),
        declared=Declared(**m["declared"]),
        refusals=tuple(Refusal(d["code"], d["message"], tuple(d["cite"])) for d in m["refusals"]),
        cite=tuple(m["cite"]),
    )
    return OmRequest(**m)


async def add_om_request(session: AsyncSession, request: OmRequest) -> None:
    """Store a decided request."""
    await session.execute(orm.om_requests.insert().values(**_om_values(request)))


async def get_om_request(session: AsyncSession, request_id: str) -> OmRequest | None:
    """One request of the tenant."""
    t = orm.om_requests
    found = (await session.execute(select(t).where(t.c.id == request_id))).first()
    return _om_of(found) if found else None


async def list_om_requests(session: AsyncSession, *, org_id: str | None) -> list[OmRequest]:
    """Requests of the tenant, newest first."""
    t = orm.om_requests
    q = select(t).order_by(t.c.filed_at.desc())
    if org_id:
        q = q.where(t.c.org_id == org_id)
    return [_om_of(r) for r in (await session.execute(q)).all()]


# --- self-checks and closures -----------------------------------------------------------------


async def add_self_check(session: AsyncSession, check: SelfCheck) -> None:
    """Store a self-check."""
    values = {f.name: getattr(check, f.name) for f in fields(check)}
    values.update(findings=list(check.findings), cite=list(check.cite))
    await session.execute(orm.self_checks.insert().values(**values))


async def get_self_check(session: AsyncSession, check_id: str) -> SelfCheck | None:
    """One self-check of the tenant."""
    t = orm.self_checks
    found = (await session.execute(select(t).where(t.c.id == check_id))).first()
    if not found:
        return None
    m = dict(found._mapping)
    m.update(findings=tuple(m["findings"]), cite=tuple(m["cite"]))
    return SelfCheck(**m)


def _closure_values(c: ClosureRequest) -> dict[str, Any]:
    values = {f.name: getattr(c, f.name) for f in fields(c)}
    values.update(action=c.action.value, status=c.status.value, cite=list(c.cite))
    return values


def _closure_of(r: Any) -> ClosureRequest:
    m = dict(r._mapping)
    m.update(action=Action(m["action"]), status=ClosureStatus(m["status"]), cite=tuple(m["cite"]))
    return ClosureRequest(**m)


async def add_closure(session: AsyncSession, request: ClosureRequest) -> None:
    """Store a new request."""
    await session.execute(orm.closures.insert().values(**_closure_values(request)))


async def get_closure(session: AsyncSession, request_id: str, *, lock: bool = False) -> ClosureRequest | None:
    """One request of the tenant."""
    t = orm.closures
    q = select(t).where(t.c.id == request_id)
    found = (await session.execute(q.with_for_update() if lock else q)).first()
    return _closure_of(found) if found else None


async def save_closure(
    session: AsyncSession, request: ClosureRequest, *, expected_version: int
) -> ClosureRequest | None:
    """Store a change made at ``expected_version``."""
    t = orm.closures
    stored = replace(request, version=expected_version + 1)
    values = _closure_values(stored)
    values.pop("id")
    result = await session.execute(
        t.update().where(and_(t.c.id == request.id, t.c.version == expected_version)).values(**values)
    )
    return stored if result.rowcount else None  # type: ignore[attr-defined]


async def list_closures(session: AsyncSession, *, org_id: str | None) -> list[ClosureRequest]:
    """Requests of the tenant, newest first."""
    t = orm.closures
    q = select(t).order_by(t.c.requested_at.desc())
    if org_id:
        q = q.where(t.c.org_id == org_id)
    return [_closure_of(r) for r in (await session.execute(q)).all()]


# --- portfolio reports ------------------------------------------------------------------------

GROUPS = {
    "year": orm.portfolio.c.plan_year,
    "tenant": orm.portfolio.c.tenant_id,
    "department": orm.portfolio.c.org_id,
    "stage": orm.portfolio.c.stage,
    "category": orm.portfolio.c.category,
}


def dashboard_query(by: str, *, year: int | None = None, org_id: str | None = None) -> Any:
    """The dashboard's aggregate: count and the five amounts per group (one indexed GROUP BY)."""
    t = orm.portfolio
    key = GROUPS[by]
    q = (
        select(
            key.label("key"),
            func.count().label("projects"),
            func.coalesce(func.sum(t.c.declared_amount), 0).label("declared"),
            func.coalesce(func.sum(t.c.planned_amount), 0).label("planned"),
            func.coalesce(func.sum(t.c.approved_amount), 0).label("approved"),
            func.coalesce(func.sum(t.c.contracted_amount), 0).label("contracted"),
            func.coalesce(func.sum(t.c.paid_amount), 0).label("paid"),
        )
        .group_by(key)
        .order_by(key)
    )
    if year is not None:
        q = q.where(t.c.plan_year == year)
    if org_id is not None:
        q = q.where(t.c.org_id == org_id)
    return q


async def dashboard(
    session: AsyncSession, by: str, *, year: int | None, org_id: str | None
) -> list[dict[str, Any]]:
    """Rows of the dashboard."""
    return [
        dict(r._mapping) for r in (await session.execute(dashboard_query(by, year=year, org_id=org_id))).all()
    ]


def overdue_clause(today: date) -> Any:
    """SQL for ``domain.portfolio.overdue_items(row, today=today)`` being non-empty.

    It mirrors the domain's four rules so the list can filter and count in the database; the
    integration tests check both agree row by row.
    """
    t = orm.portfolio
    return or_(
        and_(
            t.c.approval_valid_until.is_not(None),
            t.c.procurement_started_on.is_(None),
            t.c.contracts == cast(literal("{}"), JSONB),  # no contract filed yet
            t.c.approval_valid_until < today,
        ),
        and_(
            t.c.contract_end_on.is_not(None),
            t.c.accepted_on.is_(None),
            t.c.contract_end_on < today,
            t.c.terminated.is_(False),
        ),
        and_(
            t.c.self_evaluation_closes_on.is_not(None),
            t.c.self_evaluated_on.is_(None),
            t.c.self_evaluation_closes_on < today,
        ),
        t.c.flags.contains(["rectification_escalated"]),
    )


def _filtered(q: Any, f: ProjectFilter) -> Any:
    t = orm.portfolio
    if f.year is not None:
        q = q.where(t.c.plan_year == f.year)
    if f.stage:
        q = q.where(t.c.stage == f.stage)
    if f.org_id:
        q = q.where(t.c.org_id == f.org_id)
    if f.category:
        q = q.where(t.c.category == f.category)
    if f.amount_min is not None:
        q = q.where(t.c.declared_amount >= f.amount_min)
    if f.amount_max is not None:
        q = q.where(t.c.declared_amount <= f.amount_max)
    if f.name_contains:
        # Escaped: a % or _ typed by the user is a character, not a wildcard.
        q = q.where(t.c.name.contains(f.name_contains, autoescape=True))
    if f.flagged:
        q = q.where(or_(func.jsonb_array_length(t.c.flags) > 0, t.c.suspended.is_(True)))
    if f.overdue_on is not None:
        q = q.where(overdue_clause(f.overdue_on))
    return q


async def projects_page(
    session: AsyncSession, *, filters: ProjectFilter, limit: int, offset: int
) -> tuple[list[ProjectRow], int]:
    """A filtered page of rows and how many rows match in all."""
    t = orm.portfolio
    q = _filtered(select(t), filters).order_by(t.c.plan_year.desc(), t.c.declaration_id)
    rows = [project_of(r) for r in (await session.execute(q.limit(limit).offset(offset))).all()]
    if offset == 0 and len(rows) < limit:
        return rows, len(rows)  # the whole result is on this page: no second query
    total = (await session.execute(_filtered(select(func.count()).select_from(t), filters))).scalar_one()
    return rows, int(total)


TIMING_MILESTONES = {
    "approval": (orm.portfolio.c.submitted_on, orm.portfolio.c.approved_on),
    "acceptance": (orm.portfolio.c.contracted_on, orm.portfolio.c.accepted_on),
}


async def timing_pairs(
    session: AsyncSession, timing: str, *, year: int | None
) -> list[tuple[int, date, date, int]]:
    """(plan year, start, end, projects) for the rows that reached both milestones of ``timing``
    (approval: submitted → approved; acceptance: contract signed → accepted).

    Grouped by the date pair: working days are counted once per distinct pair in Python (the
    calendar is not in the database), however many projects share it.
    """
    t = orm.portfolio
    start, end = TIMING_MILESTONES[timing]
    q = (
        select(t.c.plan_year, start, end, func.count())
        .where(start.is_not(None), end.is_not(None), end >= start)
        .group_by(t.c.plan_year, start, end)
    )
    if year is not None:
        q = q.where(t.c.plan_year == year)
    return [(int(y), a, b, int(n)) for y, a, b, n in (await session.execute(q)).all()]


async def accepted_projects(session: AsyncSession, *, org_id: str | None) -> list[ProjectRow]:
    """Projects past their final acceptance (for the self-evaluation lists)."""
    t = orm.portfolio
    q = select(t).where(t.c.accepted_on.is_not(None)).order_by(t.c.accepted_on)
    if org_id:
        q = q.where(t.c.org_id == org_id)
    return [project_of(r) for r in (await session.execute(q)).all()]
