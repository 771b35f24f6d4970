"""Reading and writing intake's tables (inside the caller's unit of work; RLS picks the tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate

from govkit.audit import CONTENT_COLUMNS, note_audit_written
from intake.adapters.orm import (
    annual_calls,
    audit,
    declarations,
    existing_systems,
    materials,
    orgs,
    project_code_serials,
    screen_seq,
    tenants,
)
from intake.domain.calls import AnnualCall, CallStatus, LateRoute
from intake.domain.declaration import (
    AmountBreakdown,
    Category,
    ConstructionItem,
    ConstructionType,
    Declaration,
    DeclarationStatus,
    StoredFinding,
)
from intake.domain.materials import Material
from intake.domain.orgs import ExistingSystem, Org, OrgType, SystemStatus, TenantLevel, TenantRecord

# Declarations that went to the bureau and were not withdrawn: what quotas count and screening indexes.
AT_BUREAU = (
    DeclarationStatus.SUBMITTED.value,
    DeclarationStatus.RETURNED.value,
    DeclarationStatus.REJECTED.value,
    DeclarationStatus.IN_PLAN.value,
)

# --- declarations -------------------------------------------------------------------------------


def _breakdown_from_row(value: Any) -> AmountBreakdown | None:
    return AmountBreakdown.from_mapping(value) if value is not None else None


def _to_domain(row: Any) -> Declaration:
    return Declaration(
        id=str(row.id),
        tenant_id=row.tenant_id,
        org_id=row.org_id,
        name=row.name,
        category=Category(row.category),
        construction_type=ConstructionType(row.construction_type),
        amount=row.amount,
        necessity=row.necessity,
        goals=row.goals,
        contact=row.contact,
        status=DeclarationStatus(row.status),
        version=row.version,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        project_code=row.project_code,
        construction_unit=row.construction_unit,
        breakdown=_breakdown_from_row(row.breakdown),
        funding_source=row.funding_source,
        content=row.content,
        performance_goals=row.performance_goals,
        cloud_deployment=row.cloud_deployment,
        data_sharing_entries=tuple(row.data_sharing_entries),
        mlps_level=row.mlps_level,
        crypto_plan=row.crypto_plan,
        related_systems=tuple(row.related_systems),
        public_facing=row.public_facing,
        public_video=row.public_video,
        goods_and_services_only=row.goods_and_services_only,
        simple=row.simple,
        emergency=row.emergency,
        designer_org=row.designer_org,
        construction_items=tuple(ConstructionItem(i) for i in row.construction_items),
        call_id=str(row.call_id) if row.call_id is not None else None,
        target_year=row.target_year,
        plan_year=row.plan_year,
        supplementary=row.supplementary,
        funds_secured=row.funds_secured,
        supplementary_reason=row.supplementary_reason,
        supplementary_approved_by=row.supplementary_approved_by,
        late_route=row.late_route,
        round=row.round,
        provincial_code=row.provincial_code,
        findings=tuple(StoredFinding.from_json(f) for f in row.findings),
        citations=tuple(row.citations),
        signoff_by=row.signoff_by,
        signoff_at=row.signoff_at,
        send_back_reason=row.send_back_reason,
        return_reason=row.return_reason,
        return_items=tuple(row.return_items),
        return_stage=row.return_stage,
        review_started=row.review_started,
        withdrawn_reason=row.withdrawn_reason,
    )


def _to_row(d: Declaration) -> dict[str, Any]:
    return {
        "id": d.id,
        "tenant_id": d.tenant_id,
        "org_id": d.org_id,
        "name": d.name,
        "category": d.category.value,
        "construction_type": d.construction_type.value,
        "amount": d.amount,
        "necessity": d.necessity,
        "goals": d.goals,
        "contact": d.contact,
        "status": d.status.value,
        "version": d.version,
        "project_code": d.project_code,
        "created_by": d.created_by,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "submitted_at": d.submitted_at,
        "construction_unit": d.construction_unit,
        "breakdown": (
            {k: str(v) for k, v in d.breakdown.as_dict().items()} if d.breakdown is not None else None
        ),
        "funding_source": d.funding_source,
        "content": d.content,
        "performance_goals": d.performance_goals,
        "cloud_deployment": d.cloud_deployment,
        "data_sharing_entries": list(d.data_sharing_entries),
        "mlps_level": d.mlps_level,
        "crypto_plan": d.crypto_plan,
        "related_systems": list(d.related_systems),
        "public_facing": d.public_facing,
        "public_video": d.public_video,
        "goods_and_services_only": d.goods_and_services_only,
        "simple": d.simple,
        "emergency": d.emergency,
        "designer_org": d.designer_org,
        "construction_items": [i.value for i in d.construction_items],
        "call_id": d.call_id,
        "target_year": d.target_year,
        "plan_year": d.plan_year,
        "supplementary": d.supplementary,
        "funds_secured": d.funds_secured,
        "supplementary_reason": d.supplementary_reason,
        "supplementary_approved_by": d.supplementary_approved_by,
        "late_route": d.late_route,
        "round": d.round,
        "provincial_code": d.provincial_code,
        "findings": [f.to_json() for f in d.findings],
        "citations": list(d.citations),
        "signoff_by": d.signoff_by,
        "signoff_at": d.signoff_at,
        "send_back_reason": d.send_back_reason,
        "return_reason": d.return_reason,
        "return_items": list(d.return_items),
        "return_stage": d.return_stage,
        "review_started": d.review_started,
        "withdrawn_reason": d.withdrawn_reason,
    }


async def get(session: AsyncSession, declaration_id: str, *, for_update: bool = False) -> Declaration | None:
    """The declaration, if the session's tenant can see it (RLS decides); optionally row-locked."""
    query = select(declarations).where(declarations.c.id == declaration_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _to_domain(row) if row is not None else None


# The hot writes are built once and run with bound parameters: a statement with inlined values is
# traversed for its compiled-cache key on every call, which costs more than the round trip.
_ADD = insert(declarations)
_SAVE = (
    update(declarations)
    .where(declarations.c.id == bindparam("_id"), declarations.c.version == bindparam("_expected"))
    .returning(declarations)
)
_SAVE_RESCREENED = _SAVE.values(screen_seq=screen_seq.next_value())


async def add(session: AsyncSession, declaration: Declaration) -> None:
    """Insert a new declaration."""
    await session.execute(_ADD, _to_row(declaration))


async def save(
    session: AsyncSession, declaration: Declaration, *, expected_version: int, rescreen: bool = False
) -> Declaration | None:
    """Write a changed declaration if nobody changed it since `expected_version`.

    Returns the stored declaration with its new version, or None when the version was stale (a
    concurrent writer blocks on the row lock, then finds the version moved and updates nothing).
    ``rescreen`` gives the row a new screening sequence number (take :func:`lock_submissions` first).
    """
    values: dict[str, Any] = _to_row(declaration)
    values.pop("id")
    values["version"] = expected_version + 1
    statement = _SAVE_RESCREENED if rescreen else _SAVE
    params = {**values, "_id": declaration.id, "_expected": expected_version}
    row = (await session.execute(statement, params)).first()
    return _to_domain(row) if row is not None else None


async def save_audited(
    session: AsyncSession,
    declaration: Declaration,
    *,
    expected_version: int,
    audit_record: dict[str, Any],
    rescreen: bool = False,
) -> Declaration | None:
    """:func:`save` and the audit record of the change in one round trip (see govkit.audit.audit_row).

    The record is inserted only when the declaration was written (a stale version writes neither).
    """
    values: dict[str, Any] = _to_row(declaration)
    values.pop("id")
    values["version"] = expected_version + 1
    params = {**values, "_id": declaration.id, "_expected": expected_version}
    params.update({f"_audit_{name}": value for name, value in audit_record.items()})
    statement = _SAVE_AUDITED_RESCREENED if rescreen else _SAVE_AUDITED
    row = (await session.execute(statement, params)).first()
    if row is None:
        return None
    note_audit_written(session)
    return _to_domain(row)


def _audited(*, rescreen: bool) -> Any:
    """The save as a CTE whose row feeds the audit insert, selecting the saved row back.

    Inside a CTE the SET clause cannot come from the execution's parameters, so every column
    :func:`_to_row` writes is bound by name.
    """
    assigned: dict[str, Any] = {
        c.name: bindparam(c.name, type_=c.type) for c in declarations.c if c.name not in ("id", "screen_seq")
    }
    if rescreen:
        assigned["screen_seq"] = screen_seq.next_value()
    saved = _SAVE.values(assigned).cte("saved")
    columns = [c.name for c in audit.c if c.name in CONTENT_COLUMNS]
    record = (
        insert(audit)
        .from_select(
            columns,
            select(*(bindparam(f"_audit_{name}", type_=audit.c[name].type) for name in columns)).select_from(
                saved
            ),
        )
        .cte("audited")
    )
    return select(saved).add_cte(record)


_SAVE_AUDITED = _audited(rescreen=False)
_SAVE_AUDITED_RESCREENED = _audited(rescreen=True)


async def save_from_event(session: AsyncSession, declaration: Declaration) -> Declaration:
    """Write a change decided by another service's event (the row is locked by the caller)."""
    values = _to_row(declaration)
    values.pop("id")
    values["version"] = declarations.c.version + 1
    row = (
        await session.execute(
            update(declarations)
            .where(declarations.c.id == declaration.id)
            .values(**values)
            .returning(declarations)
        )
    ).one()
    return _to_domain(row)


@dataclass(frozen=True)
class DeclarationFilter:
    """What a list of declarations is narrowed to."""

    statuses: Sequence[DeclarationStatus] = ()
    org_id: str | None = None
    target_year: int | None = None
    call_id: str | None = None
    project_code: str | None = None
    supplementary: bool | None = None
    name_contains: str | None = None
    category: str | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None


async def list_declarations(
    session: AsyncSession, where: DeclarationFilter, *, limit: int, offset: int
) -> tuple[list[Declaration], int]:
    """A page of declarations (newest first) and the total matching."""
    conditions: list[ColumnElement[bool]] = []
    if where.statuses:
        conditions.append(declarations.c.status.in_([s.value for s in where.statuses]))
    if where.org_id is not None:
        conditions.append(declarations.c.org_id == where.org_id)
    if where.target_year is not None:
        conditions.append(declarations.c.target_year == where.target_year)
    if where.call_id is not None:
        conditions.append(declarations.c.call_id == where.call_id)
    if where.project_code is not None:
        conditions.append(
            or_(
                declarations.c.project_code == where.project_code,
                declarations.c.provincial_code == where.project_code,
            )
        )
    if where.supplementary is not None:
        conditions.append(declarations.c.supplementary.is_(where.supplementary))
    if where.name_contains:
        pattern = (
            "%" + where.name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        conditions.append(declarations.c.name.ilike(pattern, escape="\\"))
    if where.category is not None:
        conditions.append(declarations.c.category == where.category)
    if where.amount_min is not None:
        conditions.append(declarations.c.amount >= where.amount_min)
    if where.amount_max is not None:
        conditions.append(declarations.c.amount <= where.amount_max)
    clause = and_(*conditions) if conditions else text("true")
    total = (await session.execute(select(func.count()).select_from(declarations).where(clause))).scalar_one()
    rows = (
        await session.execute(
            select(declarations)
            .where(clause)
            .order_by(declarations.c.created_at.desc(), declarations.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [_to_domain(r) for r in rows], int(total)


async def count_for_quota(session: AsyncSession, *, org_id: str, plan_year: int, exclude_id: str) -> int:
    """The org's other annual-call declarations for ``plan_year`` that went to the bureau."""
    query = (
        select(func.count())
        .select_from(declarations)
        .where(
            declarations.c.org_id == org_id,
            declarations.c.plan_year == plan_year,
            declarations.c.supplementary.is_(False),
            declarations.c.status.in_(AT_BUREAU),
            declarations.c.id != exclude_id,
        )
    )
    return int((await session.execute(query)).scalar_one())


@dataclass(frozen=True)
class ScreeningRow:
    """What screening reads of a declaration or existing system."""

    id: str
    org_id: str
    name: str
    content: str
    goals: str
    amount: Decimal
    submitted_at: datetime | None
    indexed: bool
    seq: int


def _declaration_screening_row(row: Any) -> ScreeningRow:
    return ScreeningRow(
        id=str(row.id),
        org_id=row.org_id,
        name=row.name,
        content="\n".join(p for p in (row.necessity, row.content) if p),
        goals="\n".join(p for p in (row.goals, row.performance_goals) if p),
        amount=row.amount,
        submitted_at=row.submitted_at,
        indexed=row.status in AT_BUREAU,
        seq=int(row.screen_seq),
    )


_SCREENING_COLUMNS = (
    declarations.c.id,
    declarations.c.org_id,
    declarations.c.name,
    declarations.c.necessity,
    declarations.c.content,
    declarations.c.goals,
    declarations.c.performance_goals,
    declarations.c.amount,
    declarations.c.submitted_at,
    declarations.c.status,
    declarations.c.screen_seq,
)


async def screened_since(
    session: AsyncSession, *, declarations_seq: int, systems_seq: int
) -> tuple[list[ScreeningRow], list[ScreeningRow]]:
    """(declarations, registered existing systems) whose screening sequence numbers are above the
    given ones, each oldest first, in one round trip (every sign-off refreshes its index first)."""
    d, e = declarations.c, existing_systems.c
    blank = literal(None, Text)
    query = union_all(
        select(*_SCREENING_COLUMNS, literal(True).label("is_declaration")).where(
            d.screen_seq > declarations_seq
        ),
        select(
            e.id,
            e.org_id,
            e.name,
            e.description.label("necessity"),
            blank.label("content"),
            blank.label("goals"),
            blank.label("performance_goals"),
            literal(Decimal("0"), d.amount.type).label("amount"),
            literal(None, d.submitted_at.type).label("submitted_at"),
            e.status,
            e.screen_seq,
            literal(False).label("is_declaration"),
        ).where(e.screen_seq > systems_seq),
    )
    rows = (await session.execute(query.order_by(query.selected_columns.screen_seq))).all()
    found = [_declaration_screening_row(r) for r in rows if r.is_declaration]
    systems = [
        ScreeningRow(
            id=str(r.id),
            org_id=r.org_id,
            name=r.name,
            content=r.necessity,
            goals="",
            amount=Decimal("0"),
            submitted_at=None,
            indexed=r.status == SystemStatus.ACTIVE.value,
            seq=int(r.screen_seq),
        )
        for r in rows
        if not r.is_declaration
    ]
    return found, systems


async def lock_submissions(session: AsyncSession, tenant_id: str) -> None:
    """Serialize submissions (and screening-index changes) of one tenant until the transaction ends.

    Under this lock the screening sequence numbers are handed out in commit order, so a replica
    that read up to number n has seen every committed change numbered ≤ n; the quota count and the
    project-code serial cannot race either.
    """
    await session.execute(_LOCK, {"key": _lock_key(tenant_id)})


async def lock_submissions_and_take_serial(session: AsyncSession, *, tenant_id: str, year: int) -> int:
    """:func:`lock_submissions`, then the next serial of the tenant's project codes for ``year``,
    in one round trip (the lock is held to the commit, so each statement under it counts).

    The counter row rolls back with a failed submission, so serials are unique and without gaps.
    """
    params = {"key": _lock_key(tenant_id), "tenant_id": tenant_id, "year": year}
    return int((await session.execute(_LOCK_AND_NEXT_SERIAL, params)).scalar_one())


def _lock_key(tenant_id: str) -> str:
    return f"intake.submissions:{tenant_id}"


_LOCK = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0)))
# The lock's row feeds the insert, so PostgreSQL takes the lock before it touches the counter.
_HELD = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0)).label("held"))
_LOCK_AND_NEXT_SERIAL = (
    pg_insert(project_code_serials)
    .from_select(
        ["tenant_id", "year", "last_serial"],
        select(
            bindparam("tenant_id", type_=project_code_serials.c.tenant_id.type),
            bindparam("year", type_=project_code_serials.c.year.type),
            literal(1),
        ).select_from(_HELD.cte("held")),
    )
    .on_conflict_do_update(
        index_elements=[project_code_serials.c.tenant_id, project_code_serials.c.year],
        set_={"last_serial": project_code_serials.c.last_serial + 1},
    )
    .returning(project_code_serials.c.last_serial)
)


async def project_code_taken(session: AsyncSession, code: str, *, exclude_id: str) -> bool:
    """Whether another declaration (of this tenant) already carries ``code`` as its own or provincial code."""
    query = (
        select(func.count())
        .select_from(declarations)
        .where(
            or_(declarations.c.project_code == code, declarations.c.provincial_code == code),
            declarations.c.id != exclude_id,
        )
    )
    return bool((await session.execute(query)).scalar_one())


# --- tenants and orgs ----------------------------------------------------------------------------


def _tenant(row: Any) -> TenantRecord:
    return TenantRecord(
        id=row.tenant_id,
        name=row.name,
        region_code=row.region_code,
        level=TenantLevel(row.level),
        parent_id=row.parent_id,
        version=row.version,
    )


async def get_tenant(session: AsyncSession, tenant_id: str) -> TenantRecord | None:
    """The tenant's record."""
    row = (await session.execute(select(tenants).where(tenants.c.tenant_id == tenant_id))).first()
    return _tenant(row) if row is not None else None


async def list_tenants(session: AsyncSession) -> list[TenantRecord]:
    """Tenant records the session may see (its own, under RLS)."""
    rows = (await session.execute(select(tenants).order_by(tenants.c.tenant_id))).all()
    return [_tenant(r) for r in rows]


async def upsert_tenant(
    session: AsyncSession, record: TenantRecord, *, expected_version: int, at: datetime
) -> TenantRecord | None:
    """Insert (expected_version 0) or update at the expected version; None when stale or present."""
    values = {
        "name": record.name,
        "region_code": record.region_code,
        "level": record.level.value,
        "parent_id": record.parent_id,
        "updated_at": at,
    }
    statement: ReturningInsert[Any] | ReturningUpdate[Any]
    if expected_version == 0:
        statement = (
            pg_insert(tenants)
            .values(tenant_id=record.id, version=1, **values)
            .on_conflict_do_nothing(index_elements=[tenants.c.tenant_id])
            .returning(tenants)
        )
    else:
        statement = (
            update(tenants)
            .where(tenants.c.tenant_id == record.id, tenants.c.version == expected_version)
            .values(version=expected_version + 1, **values)
            .returning(tenants)
        )
    row = (await session.execute(statement)).first()
    return _tenant(row) if row is not None else None


def _org(row: Any) -> Org:
    return Org(
        tenant_id=row.tenant_id,
        id=row.id,
        name=row.name,
        org_type=OrgType(row.org_type),
        budget_units=row.budget_units,
        dept_code=row.dept_code,
        active=row.active,
        version=row.version,
    )


async def get_org(session: AsyncSession, org_id: str) -> Org | None:
    """One org of the session's tenant."""
    row = (await session.execute(select(orgs).where(orgs.c.id == org_id))).first()
    return _org(row) if row is not None else None


async def list_orgs(session: AsyncSession, *, org_type: OrgType | None = None) -> list[Org]:
    """The session tenant's orgs."""
    query = select(orgs).order_by(orgs.c.id)
    if org_type is not None:
        query = query.where(orgs.c.org_type == org_type.value)
    return [_org(r) for r in (await session.execute(query)).all()]


async def upsert_org(session: AsyncSession, org: Org, *, expected_version: int, at: datetime) -> Org | None:
    """Insert (expected_version 0) or update at the expected version; None when stale or present."""
    values = {
        "name": org.name,
        "org_type": org.org_type.value,
        "budget_units": org.budget_units,
        "dept_code": org.dept_code,
        "active": org.active,
        "updated_at": at,
    }
    statement: ReturningInsert[Any] | ReturningUpdate[Any]
    if expected_version == 0:
        statement = (
            pg_insert(orgs)
            .values(tenant_id=org.tenant_id, id=org.id, version=1, **values)
            .on_conflict_do_nothing(index_elements=[orgs.c.tenant_id, orgs.c.id])
            .returning(orgs)
        )
    else:
        statement = (
            update(orgs)
            .where(orgs.c.tenant_id == org.tenant_id, orgs.c.id == org.id, orgs.c.version == expected_version)
            .values(version=expected_version + 1, **values)
            .returning(orgs)
        )
    row = (await session.execute(statement)).first()
    return _org(row) if row is not None else None


# --- annual calls --------------------------------------------------------------------------------


def _call(row: Any) -> AnnualCall:
    return AnnualCall(
        id=str(row.id),
        tenant_id=row.tenant_id,
        target_year=row.target_year,
        status=CallStatus(row.status),
        opens_on=row.opens_on,
        deadline=row.deadline,
        deadline_source=row.deadline_source,
        late_route=LateRoute(row.late_route),
        title=row.title,
        notes=row.notes,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        citations=tuple(row.citations),
        version=row.version,
    )


async def add_call(session: AsyncSession, call: AnnualCall) -> AnnualCall | None:
    """Insert a call; None when the tenant already has one for that year."""
    row = (
        await session.execute(
            pg_insert(annual_calls)
            .values(
                id=call.id,
                tenant_id=call.tenant_id,
                target_year=call.target_year,
                status=call.status.value,
                opens_on=call.opens_on,
                deadline=call.deadline,
                deadline_source=call.deadline_source,
                late_route=call.late_route.value,
                title=call.title,
                notes=call.notes,
                opened_by=call.opened_by,
                opened_at=call.opened_at,
                citations=list(call.citations),
                version=call.version,
            )
            .on_conflict_do_nothing(index_elements=[annual_calls.c.tenant_id, annual_calls.c.target_year])
            .returning(annual_calls)
        )
    ).first()
    return _call(row) if row is not None else None


async def get_call(session: AsyncSession, call_id: str) -> AnnualCall | None:
    """One call of the session's tenant."""
    row = (await session.execute(select(annual_calls).where(annual_calls.c.id == call_id))).first()
    return _call(row) if row is not None else None


async def list_calls(
    session: AsyncSession, *, target_year: int | None = None, status: CallStatus | None = None
) -> list[AnnualCall]:
    """The tenant's calls, latest year first."""
    query = select(annual_calls).order_by(annual_calls.c.target_year.desc())
    if target_year is not None:
        query = query.where(annual_calls.c.target_year == target_year)
    if status is not None:
        query = query.where(annual_calls.c.status == status.value)
    return [_call(r) for r in (await session.execute(query)).all()]


async def save_call(session: AsyncSession, call: AnnualCall, *, expected_version: int) -> AnnualCall | None:
    """Update a call's status at the expected version; None when stale."""
    row = (
        await session.execute(
            update(annual_calls)
            .where(annual_calls.c.id == call.id, annual_calls.c.version == expected_version)
            .values(status=call.status.value, version=expected_version + 1)
            .returning(annual_calls)
        )
    ).first()
    return _call(row) if row is not None else None


# --- existing systems ----------------------------------------------------------------------------


def _system(row: Any) -> ExistingSystem:
    return ExistingSystem(
        id=str(row.id),
        tenant_id=row.tenant_id,
        org_id=row.org_id,
        name=row.name,
        description=row.description,
        built_year=row.built_year,
        status=SystemStatus(row.status),
        version=row.version,
        updated_at=row.updated_at,
    )


async def get_system(session: AsyncSession, system_id: str) -> ExistingSystem | None:
    """One registered system of the session's tenant."""
    row = (await session.execute(select(existing_systems).where(existing_systems.c.id == system_id))).first()
    return _system(row) if row is not None else None


async def add_system(session: AsyncSession, system: ExistingSystem, *, created_by: str) -> ExistingSystem:
    """Register a system (its screening number bumped: take :func:`lock_submissions` first)."""
    row = (
        await session.execute(
            insert(existing_systems)
            .values(
                id=system.id,
                tenant_id=system.tenant_id,
                org_id=system.org_id,
                name=system.name,
                description=system.description,
                built_year=system.built_year,
                status=system.status.value,
                version=1,
                created_by=created_by,
                updated_at=system.updated_at,
                screen_seq=screen_seq.next_value(),
            )
            .returning(existing_systems)
        )
    ).one()
    return _system(row)


async def save_system(
    session: AsyncSession, system: ExistingSystem, *, expected_version: int
) -> ExistingSystem | None:
    """Update at the expected version (screening number bumped); None when stale."""
    row = (
        await session.execute(
            update(existing_systems)
            .where(existing_systems.c.id == system.id, existing_systems.c.version == expected_version)
            .values(
                org_id=system.org_id,
                name=system.name,
                description=system.description,
                built_year=system.built_year,
                status=system.status.value,
                version=expected_version + 1,
                updated_at=system.updated_at,
                screen_seq=screen_seq.next_value(),
            )
            .returning(existing_systems)
        )
    ).first()
    return _system(row) if row is not None else None


async def list_systems(
    session: AsyncSession, *, org_id: str | None = None, include_retired: bool = False
) -> list[ExistingSystem]:
    """The tenant's registered systems."""
    query = select(existing_systems).order_by(existing_systems.c.name)
    if org_id is not None:
        query = query.where(existing_systems.c.org_id == org_id)
    if not include_retired:
        query = query.where(existing_systems.c.status == SystemStatus.ACTIVE.value)
    return [_system(r) for r in (await session.execute(query)).all()]


async def systems_by_ids(session: AsyncSession, ids: Sequence[str]) -> dict[str, ExistingSystem]:
    """Registered systems by id (for naming screening matches)."""
    if not ids:
        return {}
    rows = (await session.execute(select(existing_systems).where(existing_systems.c.id.in_(list(ids))))).all()
    return {str(r.id): _system(r) for r in rows}


# --- materials -----------------------------------------------------------------------------------


def _material(row: Any) -> Material:
    return Material(
        id=str(row.id),
        tenant_id=row.tenant_id,
        declaration_id=str(row.declaration_id),
        org_id=row.org_id,
        doc_type=row.doc_type,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        storage_key=row.storage_key,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
    )


async def add_material(session: AsyncSession, material: Material) -> None:
    """Record an uploaded file."""
    await session.execute(
        insert(materials).values(
            id=material.id,
            tenant_id=material.tenant_id,
            declaration_id=material.declaration_id,
            org_id=material.org_id,
            doc_type=material.doc_type,
            filename=material.filename,
            content_type=material.content_type,
            size=material.size,
            sha256=material.sha256,
            storage_key=material.storage_key,
            uploaded_by=material.uploaded_by,
            uploaded_at=material.uploaded_at,
        )
    )


async def list_materials(session: AsyncSession, declaration_id: str) -> list[Material]:
    """A declaration's materials, oldest first."""
    rows = (
        await session.execute(
            select(materials)
            .where(materials.c.declaration_id == declaration_id)
            .order_by(materials.c.uploaded_at, materials.c.id)
        )
    ).all()
    return [_material(r) for r in rows]


@dataclass(frozen=True)
class SubmissionContext:
    """What a submission reads besides the declaration: its org, its tenant and its materials."""

    org: Org | None
    tenant: TenantRecord | None
    materials: list[Material]


async def submission_context(
    session: AsyncSession, *, tenant_id: str, org_id: str, declaration_id: str
) -> SubmissionContext:
    """The org, the tenant record and the declaration's materials (oldest first) in one round trip.

    One row per material (one row without any), each carrying the org and the tenant; either is
    None when it is not registered (or not visible to the session's tenant).
    """
    one = select(literal(1).label("one")).subquery()
    query = (
        select(tenants, orgs, materials)
        .select_from(
            one.outerjoin(tenants, tenants.c.tenant_id == tenant_id)
            .outerjoin(orgs, orgs.c.id == org_id)
            .outerjoin(materials, materials.c.declaration_id == declaration_id)
        )
        .order_by(materials.c.uploaded_at, materials.c.id)
    )
    rows = (await session.execute(query)).all()

    def part(row: Any, table: Table) -> SimpleNamespace | None:
        m = row._mapping
        values = {c.name: m[c] for c in table.c}
        return None if all(v is None for v in values.values()) else SimpleNamespace(**values)

    first = rows[0]
    org, tenant = part(first, orgs), part(first, tenants)
    found = [_material(m) for r in rows if (m := part(r, materials)) is not None]
    return SubmissionContext(
        org=_org(org) if org is not None else None,
        tenant=_tenant(tenant) if tenant is not None else None,
        materials=found,
    )


async def get_material(session: AsyncSession, declaration_id: str, material_id: str) -> Material | None:
    """One material of a declaration."""
    row = (
        await session.execute(
            select(materials).where(
                materials.c.declaration_id == declaration_id, materials.c.id == material_id
            )
        )
    ).first()
    return _material(row) if row is not None else None


async def delete_material(session: AsyncSession, material_id: str) -> None:
    """Forget a material (its bytes are removed from the store after the commit)."""
    await session.execute(materials.delete().where(materials.c.id == material_id))
