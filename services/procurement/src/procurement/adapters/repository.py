"""Reading and writing procurement's aggregates inside the caller's unit of work; row-level
security limits every query to the session's tenant (and the platform-wide discredited entries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from procurement.adapters.orm import (
    discredited,
    filings,
    interventions,
    mismatches,
    ocds_releases,
    payments,
    procurements,
    progress_reports,
    projects,
    webhook_nonces,
)
from procurement.domain.construction import Payment, PaymentKind, ProgressReport
from procurement.domain.procurement import (
    Check,
    ContractTerms,
    DocKind,
    Document,
    Filing,
    Method,
    Milestone,
    Procurement,
    ProcurementStatus,
    Role,
)
from procurement.domain.project import Project, ProjectStatus
from procurement.domain.trading import Mismatch

# --------------------------------------------------------------------------------------------
# Projects
# --------------------------------------------------------------------------------------------


def _project(row: Any) -> Project:
    return Project(
        declaration_id=row.declaration_id,
        tenant_id=row.tenant_id,
        approval_id=row.approval_id,
        project_code=row.project_code,
        name=row.name,
        org_id=row.org_id,
        org_name=row.org_name,
        designer_org=row.designer_org,
        approved_amount=row.approved_amount,
        approved_on=row.approved_on,
        valid_until=row.valid_until,
        baseline_version=row.baseline_version,
        facts=dict(row.facts or {}),
        pack_id=row.pack_id,
        status=ProjectStatus(row.status),
        procurement_started_on=row.procurement_started_on,
        expired_on=row.expired_on,
        accepted_on=row.accepted_on,
        acceptance_id=row.acceptance_id,
        serious_delay_since=row.serious_delay_since,
        approval_cite=tuple(row.approval_cite or ()),
        version=row.version,
    )


def _project_values(p: Project) -> dict[str, Any]:
    return {
        "declaration_id": p.declaration_id,
        "tenant_id": p.tenant_id,
        "approval_id": p.approval_id,
        "project_code": p.project_code,
        "name": p.name,
        "org_id": p.org_id,
        "org_name": p.org_name,
        "designer_org": p.designer_org,
        "approved_amount": p.approved_amount,
        "approved_on": p.approved_on,
        "valid_until": p.valid_until,
        "baseline_version": p.baseline_version,
        "facts": {k: str(v) if isinstance(v, Decimal) else v for k, v in p.facts.items()},
        "pack_id": p.pack_id,
        "status": p.status.value,
        "procurement_started_on": p.procurement_started_on,
        "expired_on": p.expired_on,
        "accepted_on": p.accepted_on,
        "acceptance_id": p.acceptance_id,
        "serious_delay_since": p.serious_delay_since,
        "approval_cite": list(p.approval_cite),
        "updated_at": datetime.now(UTC),
    }


async def get_project(session: AsyncSession, declaration_id: str, *, lock: bool = False) -> Project | None:
    """A project by its declaration id."""
    query = select(projects).where(projects.c.declaration_id == declaration_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _project(row) if row is not None else None


async def project_by_code(session: AsyncSession, code: str, *, lock: bool = False) -> Project | None:
    """A project by its project code (项目代码)."""
    query = select(projects).where(projects.c.project_code == code)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _project(row) if row is not None else None


async def add_project(session: AsyncSession, project: Project) -> None:
    """Insert a project (the read model's first sight of an approval)."""
    await session.execute(projects.insert().values(**_project_values(project), version=1))


async def save_project(session: AsyncSession, project: Project, *, expected_version: int) -> Project | None:
    """Update if the version is still ``expected_version``; None when stale."""
    values = _project_values(project)
    values.pop("declaration_id")
    row = (
        await session.execute(
            update(projects)
            .where(
                projects.c.declaration_id == project.declaration_id, projects.c.version == expected_version
            )
            .values(**values, version=expected_version + 1)
            .returning(projects)
        )
    ).first()
    return _project(row) if row is not None else None


async def list_projects(
    session: AsyncSession, *, org: str | None, status: str | None, limit: int, offset: int
) -> list[Project]:
    """A tenant's projects (one org's when ``org`` is given), newest approval first."""
    query = select(projects)
    if org is not None:
        query = query.where(projects.c.org_id == org)
    if status is not None:
        query = query.where(projects.c.status == status)
    query = (
        query.order_by(projects.c.approved_on.desc(), projects.c.declaration_id).limit(limit).offset(offset)
    )
    return [_project(r) for r in (await session.execute(query)).all()]


# --------------------------------------------------------------------------------------------
# Procurements
# --------------------------------------------------------------------------------------------


def _document(raw: dict[str, Any]) -> Document:
    return Document(
        kind=DocKind(raw["kind"]),
        filename=raw["filename"],
        sha256=raw["sha256"],
        size=int(raw["size"]),
        key=raw["key"],
        content_type=raw["content_type"],
        uploaded_at=datetime.fromisoformat(raw["uploaded_at"]),
    )


def _document_json(d: Document) -> dict[str, Any]:
    return {
        "kind": d.kind.value,
        "filename": d.filename,
        "sha256": d.sha256,
        "size": d.size,
        "key": d.key,
        "content_type": d.content_type,
        "uploaded_at": d.uploaded_at.isoformat(),
    }


def _procurement(row: Any) -> Procurement:
    return Procurement(
        id=row.id,
        tenant_id=row.tenant_id,
        declaration_id=row.declaration_id,
        role=Role(row.role),
        method=Method(row.method),
        title=row.title,
        started_on=row.started_on,
        status=ProcurementStatus(row.status),
        created_by=row.created_by,
        signed_on=row.signed_on,
        filing_due_on=row.filing_due_on,
        overdue_notified_on=row.overdue_notified_on,
        ocid=row.ocid,
        prefill=dict(row.prefill or {}),
        documents=tuple(_document(d) for d in row.documents or ()),
        cite=tuple(row.cite or ()),
        version=row.version,
    )


def _procurement_values(p: Procurement) -> dict[str, Any]:
    return {
        "tenant_id": p.tenant_id,
        "declaration_id": p.declaration_id,
        "role": p.role.value,
        "method": p.method.value,
        "title": p.title,
        "started_on": p.started_on,
        "status": p.status.value,
        "created_by": p.created_by,
        "signed_on": p.signed_on,
        "filing_due_on": p.filing_due_on,
        "overdue_notified_on": p.overdue_notified_on,
        "ocid": p.ocid,
        "prefill": p.prefill,
        "documents": [_document_json(d) for d in p.documents],
        "cite": list(p.cite),
    }


async def add_procurement(session: AsyncSession, p: Procurement) -> None:
    """Insert a procurement."""
    await session.execute(
        procurements.insert().values(
            id=p.id, version=1, created_at=datetime.now(UTC), **_procurement_values(p)
        )
    )


async def get_procurement(
    session: AsyncSession, procurement_id: str, *, lock: bool = False
) -> Procurement | None:
    """A procurement by id."""
    query = select(procurements).where(procurements.c.id == procurement_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _procurement(row) if row is not None else None


async def save_procurement(
    session: AsyncSession, p: Procurement, *, expected_version: int
) -> Procurement | None:
    """Update if still at ``expected_version``; None when stale."""
    row = (
        await session.execute(
            update(procurements)
            .where(procurements.c.id == p.id, procurements.c.version == expected_version)
            .values(**_procurement_values(p), version=expected_version + 1)
            .returning(procurements)
        )
    ).first()
    return _procurement(row) if row is not None else None


async def procurements_of(session: AsyncSession, declaration_id: str) -> list[Procurement]:
    """A project's procurements, oldest first."""
    query = (
        select(procurements)
        .where(procurements.c.declaration_id == declaration_id)
        .order_by(procurements.c.created_at, procurements.c.id)
    )
    return [_procurement(r) for r in (await session.execute(query)).all()]


async def procurement_by_ocid(session: AsyncSession, ocid: str, *, lock: bool = False) -> Procurement | None:
    """The procurement a trading-center process (ocid) was matched to."""
    query = (
        select(procurements).where(procurements.c.ocid == ocid).order_by(procurements.c.created_at).limit(1)
    )
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _procurement(row) if row is not None else None


async def overdue_unfiled(session: AsyncSession, *, today: date) -> list[str]:
    """Signed procurements past their filing deadline, not yet reported (ids)."""
    query = select(procurements.c.id).where(
        procurements.c.status == ProcurementStatus.SIGNED.value,
        procurements.c.filing_due_on < today,
        procurements.c.overdue_notified_on.is_(None),
    )
    return [r.id for r in (await session.execute(query)).all()]


# --------------------------------------------------------------------------------------------
# Filings
# --------------------------------------------------------------------------------------------


def _filing(row: Any) -> Filing:
    return Filing(
        id=row.id,
        tenant_id=row.tenant_id,
        procurement_id=row.procurement_id,
        declaration_id=row.declaration_id,
        role=Role(row.role),
        method=Method(row.method),
        terms=ContractTerms(
            contract_no=row.contract_no,
            supplier_name=row.supplier_name,
            supplier_credit_code=row.supplier_credit_code,
            amount=row.amount,
            signed_on=row.signed_on,
            period_start=row.period_start,
            period_end=row.period_end,
            warranty_months=row.warranty_months,
            ip_clause=row.ip_clause,
            termination_clause=row.termination_clause,
            schedule=tuple(Milestone(m["name"], date.fromisoformat(m["due_on"])) for m in row.schedule or ()),
        ),
        filed_on=row.filed_on,
        filed_at=row.filed_at,
        filed_by=row.filed_by,
        due_on=row.due_on,
        overdue=row.overdue,
        checks=tuple(
            Check(c["code"], c["passed"], c["blocking"], c["message"], tuple(c["cite"])) for c in row.checks
        ),
        cite=tuple(row.cite or ()),
        version=row.version,
        source=row.source,
    )


async def add_filing(session: AsyncSession, f: Filing) -> None:
    """Insert a filing."""
    t = f.terms
    await session.execute(
        filings.insert().values(
            id=f.id,
            tenant_id=f.tenant_id,
            procurement_id=f.procurement_id,
            declaration_id=f.declaration_id,
            role=f.role.value,
            method=f.method.value,
            contract_no=t.contract_no,
            supplier_name=t.supplier_name,
            supplier_credit_code=t.supplier_credit_code,
            amount=t.amount,
            signed_on=t.signed_on,
            period_start=t.period_start,
            period_end=t.period_end,
            warranty_months=t.warranty_months,
            ip_clause=t.ip_clause,
            termination_clause=t.termination_clause,
            schedule=[{"name": m.name, "due_on": m.due_on.isoformat()} for m in t.schedule],
            filed_on=f.filed_on,
            filed_at=f.filed_at,
            filed_by=f.filed_by,
            due_on=f.due_on,
            overdue=f.overdue,
            checks=[c.to_dict() for c in f.checks],
            cite=list(f.cite),
            source=f.source,
            version=1,
        )
    )


async def get_filing(session: AsyncSession, filing_id: str, *, lock: bool = False) -> Filing | None:
    """A filing by id."""
    query = select(filings).where(filings.c.id == filing_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _filing(row) if row is not None else None


async def filing_of(session: AsyncSession, procurement_id: str) -> Filing | None:
    """The filing of a procurement."""
    row = (await session.execute(select(filings).where(filings.c.procurement_id == procurement_id))).first()
    return _filing(row) if row is not None else None


async def filings_of(session: AsyncSession, declaration_id: str) -> list[Filing]:
    """A project's filings, oldest first."""
    query = select(filings).where(filings.c.declaration_id == declaration_id).order_by(filings.c.filed_at)
    return [_filing(r) for r in (await session.execute(query)).all()]


async def filing_percent(session: AsyncSession, filing_id: str) -> Decimal:
    """The last reported progress of a contract."""
    row = (await session.execute(select(filings.c.percent).where(filings.c.id == filing_id))).first()
    return Decimal(row.percent) if row is not None else Decimal(0)


async def set_filing_percent(session: AsyncSession, filing_id: str, percent: Decimal) -> None:
    """Keep the last reported progress on the filing."""
    await session.execute(update(filings).where(filings.c.id == filing_id).values(percent=percent))


# --------------------------------------------------------------------------------------------
# Progress, payments, interventions
# --------------------------------------------------------------------------------------------


async def add_progress(session: AsyncSession, r: ProgressReport) -> None:
    """Insert a progress report."""
    await session.execute(
        progress_reports.insert().values(
            id=r.id,
            tenant_id=r.tenant_id,
            declaration_id=r.declaration_id,
            filing_id=r.filing_id,
            reported_on=r.reported_on,
            percent=r.percent,
            milestones_done=list(r.milestones_done),
            note=r.note,
            reported_by=r.reported_by,
            reported_at=r.reported_at,
            delay=r.delay,
        )
    )


async def progress_of(session: AsyncSession, declaration_id: str) -> list[ProgressReport]:
    """A project's progress reports, oldest first."""
    query = (
        select(progress_reports)
        .where(progress_reports.c.declaration_id == declaration_id)
        .order_by(progress_reports.c.reported_at)
    )
    return [
        ProgressReport(
            id=r.id,
            tenant_id=r.tenant_id,
            declaration_id=r.declaration_id,
            filing_id=r.filing_id,
            reported_on=r.reported_on,
            percent=r.percent,
            milestones_done=tuple(r.milestones_done),
            note=r.note,
            reported_by=r.reported_by,
            reported_at=r.reported_at,
            delay=dict(r.delay),
        )
        for r in (await session.execute(query)).all()
    ]


async def add_payment(session: AsyncSession, p: Payment) -> None:
    """Insert a payment."""
    await session.execute(
        payments.insert().values(
            id=p.id,
            tenant_id=p.tenant_id,
            declaration_id=p.declaration_id,
            filing_id=p.filing_id,
            kind=p.kind.value,
            amount=p.amount,
            paid_on=p.paid_on,
            note=p.note,
            recorded_by=p.recorded_by,
            recorded_at=p.recorded_at,
            cite=list(p.cite),
        )
    )


async def paid_total(session: AsyncSession, filing_id: str) -> Decimal:
    """Paid so far on a contract."""
    row = (
        await session.execute(
            select(func.coalesce(func.sum(payments.c.amount), 0)).where(payments.c.filing_id == filing_id)
        )
    ).scalar_one()
    return Decimal(row)


async def payments_of(session: AsyncSession, declaration_id: str) -> list[Payment]:
    """A project's payments, oldest first."""
    query = (
        select(payments).where(payments.c.declaration_id == declaration_id).order_by(payments.c.recorded_at)
    )
    return [
        Payment(
            id=r.id,
            tenant_id=r.tenant_id,
            declaration_id=r.declaration_id,
            filing_id=r.filing_id,
            kind=PaymentKind(r.kind),
            amount=r.amount,
            paid_on=r.paid_on,
            note=r.note,
            recorded_by=r.recorded_by,
            recorded_at=r.recorded_at,
            cite=tuple(r.cite),
        )
        for r in (await session.execute(query)).all()
    ]


async def add_intervention(session: AsyncSession, **values: Any) -> None:
    """Record a suspension, resumption or termination."""
    await session.execute(interventions.insert().values(created_at=datetime.now(UTC), **values))


async def interventions_of(session: AsyncSession, declaration_id: str) -> list[dict[str, Any]]:
    """A project's suspensions, resumptions and terminations, oldest first."""
    query = (
        select(interventions)
        .where(interventions.c.declaration_id == declaration_id)
        .order_by(interventions.c.created_at)
    )
    return [dict(r._mapping) for r in (await session.execute(query)).all()]


async def intervention_by_source(session: AsyncSession, source_ref: str) -> bool:
    """Whether an event (e.g. a rectification order) already caused an intervention."""
    query = select(interventions.c.id).where(interventions.c.source_ref == source_ref).limit(1)
    return (await session.execute(query)).first() is not None


# --------------------------------------------------------------------------------------------
# Discredited list (evaluation's discredited.changed)
# --------------------------------------------------------------------------------------------


async def upsert_discredited(session: AsyncSession, **values: Any) -> None:
    """Insert or replace an entry of the discredited list."""
    stmt = pg_insert(discredited).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[discredited.c.entry_id], set_={k: stmt.excluded[k] for k in values if k != "entry_id"}
    )
    await session.execute(stmt)


async def discredited_entries(session: AsyncSession, credit_code: str, *, on: date) -> list[dict[str, Any]]:
    """Entries listing a credit code whose period covers ``on`` (the tenant's and platform-wide)."""
    query = select(discredited).where(
        func.upper(discredited.c.credit_code) == credit_code.upper(),
        discredited.c.active.is_(True),
        or_(discredited.c.period_from.is_(None), discredited.c.period_from <= on),
        or_(discredited.c.period_until.is_(None), discredited.c.period_until >= on),
    )
    return [dict(r._mapping) for r in (await session.execute(query)).all()]


async def list_discredited(session: AsyncSession, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """The entries the tenant sees (its own and platform-wide)."""
    query = select(discredited).order_by(discredited.c.changed_at.desc()).limit(limit).offset(offset)
    return [dict(r._mapping) for r in (await session.execute(query)).all()]


# --------------------------------------------------------------------------------------------
# Trading center
# --------------------------------------------------------------------------------------------


async def claim_release(session: AsyncSession, **values: Any) -> str | None:
    """Record a release the first time it arrives; None when (tenant, ocid, release id) is known."""
    stmt = (
        pg_insert(ocds_releases)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_ocds_releases_release")
        .returning(ocds_releases.c.id)
    )
    row = (await session.execute(stmt)).first()
    return row.id if row is not None else None


async def settle_release(session: AsyncSession, row_id: str, **values: Any) -> None:
    """Store the outcome of a release."""
    await session.execute(update(ocds_releases).where(ocds_releases.c.id == row_id).values(**values))


async def list_releases(
    session: AsyncSession, *, limit: int, offset: int, ocid: str | None
) -> list[dict[str, Any]]:
    """Releases received, newest first."""
    query = select(ocds_releases)
    if ocid:
        query = query.where(ocds_releases.c.ocid == ocid)
    query = query.order_by(ocds_releases.c.received_at.desc(), ocds_releases.c.id).limit(limit).offset(offset)
    return [dict(r._mapping) for r in (await session.execute(query)).all()]


async def add_mismatches(
    session: AsyncSession,
    found: Sequence[Mismatch],
    *,
    ids: Sequence[str],
    tenant_id: str,
    declaration_id: str,
    procurement_id: str | None,
    ocid: str,
    release_id: str,
    at: datetime,
) -> None:
    """Store the mismatches of a release."""
    if not found:
        return
    await session.execute(
        mismatches.insert(),
        [
            {
                "id": row_id,
                "tenant_id": tenant_id,
                "declaration_id": declaration_id,
                "procurement_id": procurement_id,
                "ocid": ocid,
                "release_id": release_id,
                "kind": m.kind,
                "field": m.path,
                "release_value": m.release_value,
                "platform_value": m.platform_value,
                "message": m.message,
                "cite": list(m.cite),
                "created_at": at,
            }
            for row_id, m in zip(ids, found, strict=True)
        ],
    )


async def list_mismatches(
    session: AsyncSession, *, declaration_id: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Mismatches reported to the bureau, newest first."""
    query = select(mismatches)
    if declaration_id:
        query = query.where(mismatches.c.declaration_id == declaration_id)
    query = query.order_by(mismatches.c.created_at.desc(), mismatches.c.id).limit(limit).offset(offset)
    return [dict(r._mapping) for r in (await session.execute(query)).all()]


async def claim_nonce(session: AsyncSession, *, tenant_id: str, nonce: str, at: datetime) -> bool:
    """Remember a webhook nonce; False when it was seen before (a replay)."""
    stmt = (
        pg_insert(webhook_nonces)
        .values(tenant_id=tenant_id, nonce=nonce, received_at=at)
        .on_conflict_do_nothing()
        .returning(webhook_nonces.c.nonce)
    )
    return (await session.execute(stmt)).first() is not None


async def forget_nonces(session: AsyncSession, *, before: datetime) -> int:
    """Drop nonces older than the timestamp tolerance (a replay of them fails the timestamp check)."""
    result = await session.execute(delete(webhook_nonces).where(webhook_nonces.c.received_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
