"""acceptance's repositories: rows ↔ domain objects. Every query runs under the transaction's
tenant (row-level security), so none of them filters by tenant itself; writes of versioned rows
compare the version read (optimistic locking) and return None when it moved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from acceptance.adapters.orm import acceptances, contracts, evidence, projects, rectifications
from acceptance.domain.acceptance import (
    Acceptance,
    AcceptanceStatus,
    ChecklistItem,
    Panel,
    PanelExpert,
    Rectification,
    Stage,
)
from acceptance.domain.evidence import Conclusion, Evidence, EvidenceKind
from acceptance.domain.project import AcceptanceProject, Contract, Extension, ExtensionStatus, ProjectStatus

# --------------------------------------------------------------------------------------------
# Contracts (read model of procurement's contract.filed)
# --------------------------------------------------------------------------------------------


async def add_contract(
    session: AsyncSession,
    contract: Contract,
    *,
    project_code: str,
    credit_code: str,
    filed_at: str,
    payload: Mapping[str, Any],
) -> bool:
    """Store a filed contract once; False when it was already known (a redelivered event)."""
    stmt = (
        insert(contracts)
        .values(
            id=contract.id,
            tenant_id=contract.tenant_id,
            declaration_id=contract.declaration_id,
            project_code=project_code,
            role=contract.role,
            amount=contract.amount,
            signed_on=contract.signed_on,
            period_end=contract.period_end,
            supplier_name=contract.supplier_name,
            supplier_credit_code=credit_code,
            filed_at=filed_at,
            payload=dict(payload),
        )
        .on_conflict_do_nothing(index_elements=[contracts.c.id])
        .returning(contracts.c.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def contracts_of(session: AsyncSession, declaration_id: str) -> list[Contract]:
    """The project's filed contracts, oldest signing first."""
    rows = (
        await session.execute(
            select(contracts)
            .where(contracts.c.declaration_id == declaration_id)
            .order_by(contracts.c.signed_on, contracts.c.id)
        )
    ).all()
    return [
        Contract(
            id=r.id,
            tenant_id=r.tenant_id,
            declaration_id=r.declaration_id,
            role=r.role,
            amount=r.amount,
            signed_on=r.signed_on,
            period_end=r.period_end,
            supplier_name=r.supplier_name,
        )
        for r in rows
    ]


# --------------------------------------------------------------------------------------------
# Projects
# --------------------------------------------------------------------------------------------


def _extension_json(ext: Extension | None) -> dict[str, Any] | None:
    if ext is None:
        return None
    return {
        "status": ext.status.value,
        "reason": ext.reason,
        "requested_until": ext.requested_until.isoformat(),
        "requested_by": ext.requested_by,
        "cite": list(ext.cite),
        "decided_by": ext.decided_by,
        "note": ext.note,
    }


def _extension(raw: Mapping[str, Any] | None) -> Extension | None:
    if not raw:
        return None
    return Extension(
        status=ExtensionStatus(raw["status"]),
        reason=raw["reason"],
        requested_until=date.fromisoformat(raw["requested_until"]),
        requested_by=raw["requested_by"],
        cite=tuple(raw.get("cite") or ()),
        decided_by=raw.get("decided_by"),
        note=raw.get("note") or "",
    )


def _project_values(p: AcceptanceProject) -> dict[str, Any]:
    return {
        "tenant_id": p.tenant_id,
        "declaration_id": p.declaration_id,
        "project_code": p.project_code,
        "project_name": p.project_name,
        "org_id": p.org_id,
        "pack_id": p.pack_id,
        "approved_amount": p.approved_amount,
        "contract_amount": p.contract_amount,
        "contract_ids": list(p.contract_ids),
        "status": p.status.value,
        "public_facing": p.public_facing,
        "category": p.category,
        "trial_started_on": p.trial_started_on,
        "completed_on": p.completed_on,
        "trial_min_months": p.trial_min_months,
        "trial_ends_on": p.trial_ends_on,
        "trial_cite": list(p.trial_cite),
        "initial_passed_on": p.initial_passed_on,
        "final_due_on": p.final_due_on,
        "final_due_cite": list(p.final_due_cite),
        "extension": _extension_json(p.extension),
        "accepted_on": p.accepted_on,
    }


def _project(r: Any) -> AcceptanceProject:
    return AcceptanceProject(
        id=r.id,
        tenant_id=r.tenant_id,
        declaration_id=r.declaration_id,
        project_code=r.project_code,
        project_name=r.project_name,
        org_id=r.org_id,
        pack_id=r.pack_id,
        approved_amount=r.approved_amount,
        contract_amount=r.contract_amount,
        contract_ids=tuple(r.contract_ids),
        status=ProjectStatus(r.status),
        version=r.version,
        public_facing=r.public_facing,
        category=r.category,
        trial_started_on=r.trial_started_on,
        completed_on=r.completed_on,
        trial_min_months=r.trial_min_months,
        trial_ends_on=r.trial_ends_on,
        trial_cite=tuple(r.trial_cite),
        initial_passed_on=r.initial_passed_on,
        final_due_on=r.final_due_on,
        final_due_cite=tuple(r.final_due_cite),
        extension=_extension(r.extension),
        accepted_on=r.accepted_on,
    )


async def add_project(session: AsyncSession, project: AcceptanceProject, *, at: datetime) -> None:
    """Insert a new project."""
    await session.execute(
        projects.insert().values(
            id=project.id, version=project.version, created_at=at, updated_at=at, **_project_values(project)
        )
    )


async def get_project(
    session: AsyncSession, project_id: str, *, lock: bool = False
) -> AcceptanceProject | None:
    """A project of the transaction's tenant (optionally row-locked)."""
    query = select(projects).where(projects.c.id == project_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _project(row) if row else None


async def project_by_declaration(
    session: AsyncSession, declaration_id: str, *, lock: bool = False
) -> AcceptanceProject | None:
    """The project of a declaration."""
    query = select(projects).where(projects.c.declaration_id == declaration_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _project(row) if row else None


async def list_projects(
    session: AsyncSession, *, org_id: str | None, status: str | None, limit: int, offset: int
) -> list[AcceptanceProject]:
    """The tenant's projects (one unit's when ``org_id`` is given), newest first."""
    query = select(projects).order_by(projects.c.created_at.desc(), projects.c.id)
    if org_id is not None:
        query = query.where(projects.c.org_id == org_id)
    if status is not None:
        query = query.where(projects.c.status == status)
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    return [_project(r) for r in rows]


async def save_project(
    session: AsyncSession, project: AcceptanceProject, *, expected_version: int, at: datetime
) -> AcceptanceProject | None:
    """Write a changed project if its version is still ``expected_version``; the stored one."""
    row = (
        await session.execute(
            update(projects)
            .where(projects.c.id == project.id, projects.c.version == expected_version)
            .values(version=expected_version + 1, updated_at=at, **_project_values(project))
            .returning(*projects.c)
        )
    ).first()
    return _project(row) if row else None


# --------------------------------------------------------------------------------------------
# Evidence
# --------------------------------------------------------------------------------------------


def _evidence(r: Any) -> Evidence:
    return Evidence(
        id=r.id,
        tenant_id=r.tenant_id,
        project_id=r.project_id,
        kind=EvidenceKind(r.kind),
        conclusion=Conclusion(r.conclusion),
        issued_by=r.issued_by,
        issued_on=r.issued_on,
        filename=r.filename,
        sha256=r.sha256,
        size=r.size,
        content_type=r.content_type,
        object_key=r.object_key,
        recorded_by=r.recorded_by,
        recorded_at=r.recorded_at,
        level=r.level,
    )


async def add_evidence(session: AsyncSession, item: Evidence) -> None:
    """Insert a piece of evidence (never changed afterwards: a new report is a new row)."""
    await session.execute(
        evidence.insert().values(
            id=item.id,
            tenant_id=item.tenant_id,
            project_id=item.project_id,
            kind=item.kind.value,
            conclusion=item.conclusion.value,
            level=item.level,
            issued_by=item.issued_by,
            issued_on=item.issued_on,
            filename=item.filename,
            sha256=item.sha256,
            size=item.size,
            content_type=item.content_type,
            object_key=item.object_key,
            recorded_by=item.recorded_by,
            recorded_at=item.recorded_at,
        )
    )


async def evidence_of(session: AsyncSession, project_id: str) -> list[Evidence]:
    """A project's evidence, oldest first."""
    rows = (
        await session.execute(
            select(evidence).where(evidence.c.project_id == project_id).order_by(evidence.c.recorded_at)
        )
    ).all()
    return [_evidence(r) for r in rows]


async def get_evidence(session: AsyncSession, evidence_id: str) -> Evidence | None:
    """One piece of evidence."""
    row = (await session.execute(select(evidence).where(evidence.c.id == evidence_id))).first()
    return _evidence(row) if row else None


# --------------------------------------------------------------------------------------------
# Acceptances
# --------------------------------------------------------------------------------------------


def _checklist_json(items: Sequence[ChecklistItem]) -> list[dict[str, Any]]:
    return [
        {"code": i.code, "label_zh": i.label_zh, "cite": list(i.cite), "passed": i.passed, "note": i.note}
        for i in items
    ]


def _panel_json(panel: Panel | None) -> dict[str, Any] | None:
    if panel is None:
        return None
    return {
        "seed": panel.seed,
        "candidates": list(panel.candidates),
        "excluded": dict(panel.excluded),
        "experts": [{"expert_id": e.expert_id, "name": e.name, "org": e.org} for e in panel.experts],
        "drawn_by": panel.drawn_by,
        "drawn_at": panel.drawn_at.isoformat(),
        "draw_reference": panel.draw_reference,
    }


def _panel(raw: Mapping[str, Any] | None) -> Panel | None:
    if not raw:
        return None
    return Panel(
        seed=raw["seed"],
        candidates=tuple(raw["candidates"]),
        excluded=dict(raw["excluded"]),
        experts=tuple(PanelExpert(e["expert_id"], e["name"], e["org"]) for e in raw["experts"]),
        drawn_by=raw["drawn_by"],
        drawn_at=datetime.fromisoformat(raw["drawn_at"]),
        draw_reference=raw.get("draw_reference") or "",
    )


def _acceptance_values(a: Acceptance) -> dict[str, Any]:
    return {
        "tenant_id": a.tenant_id,
        "project_id": a.project_id,
        "stage": a.stage.value,
        "round": a.round,
        "status": a.status.value,
        "organizer": a.organizer,
        "organizer_cite": list(a.organizer_cite),
        "applied_on": a.applied_on,
        "applied_by": a.applied_by,
        "checklist": _checklist_json(a.checklist),
        "panel": _panel_json(a.panel),
        "decided_on": a.decided_on,
        "decided_by": a.decided_by,
        "opinion": a.opinion,
        "report_sha256": a.report_sha256,
        "report_key": a.report_key,
        "filing_due_on": a.filing_due_on,
        "filing_cite": list(a.filing_cite),
        "filed_on": a.filed_on,
        "filed_late": a.filed_late,
        "cite": list(a.cite),
    }


def _acceptance(r: Any) -> Acceptance:
    return Acceptance(
        id=r.id,
        tenant_id=r.tenant_id,
        project_id=r.project_id,
        stage=Stage(r.stage),
        round=r.round,
        status=AcceptanceStatus(r.status),
        organizer=r.organizer,
        organizer_cite=tuple(r.organizer_cite),
        applied_on=r.applied_on,
        applied_by=r.applied_by,
        checklist=tuple(
            ChecklistItem(i["code"], i["label_zh"], tuple(i["cite"]), i.get("passed"), i.get("note") or "")
            for i in r.checklist
        ),
        version=r.version,
        panel=_panel(r.panel),
        decided_on=r.decided_on,
        decided_by=r.decided_by,
        opinion=r.opinion,
        report_sha256=r.report_sha256,
        report_key=r.report_key,
        filing_due_on=r.filing_due_on,
        filing_cite=tuple(r.filing_cite),
        filed_on=r.filed_on,
        filed_late=r.filed_late,
        cite=tuple(r.cite),
    )


async def add_acceptance(session: AsyncSession, item: Acceptance) -> None:
    """Insert a new acceptance."""
    await session.execute(
        acceptances.insert().values(id=item.id, version=item.version, **_acceptance_values(item))
    )


async def get_acceptance(
    session: AsyncSession, acceptance_id: str, *, lock: bool = False
) -> Acceptance | None:
    """One acceptance (optionally row-locked)."""
    query = select(acceptances).where(acceptances.c.id == acceptance_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _acceptance(row) if row else None


async def acceptances_of(session: AsyncSession, project_id: str) -> list[Acceptance]:
    """A project's acceptances, in order."""
    rows = (
        await session.execute(
            select(acceptances)
            .where(acceptances.c.project_id == project_id)
            .order_by(acceptances.c.applied_on, acceptances.c.stage.desc(), acceptances.c.round)
        )
    ).all()
    return [_acceptance(r) for r in rows]


async def rounds_of(session: AsyncSession, project_id: str, stage: Stage) -> int:
    """How many acceptances of that stage the project had."""
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(acceptances)
                .where(acceptances.c.project_id == project_id, acceptances.c.stage == stage.value)
            )
        ).scalar_one()
    )


async def save_acceptance(
    session: AsyncSession, item: Acceptance, *, expected_version: int
) -> Acceptance | None:
    """Write a changed acceptance if its version is still ``expected_version``."""
    row = (
        await session.execute(
            update(acceptances)
            .where(acceptances.c.id == item.id, acceptances.c.version == expected_version)
            .values(version=expected_version + 1, **_acceptance_values(item))
            .returning(*acceptances.c)
        )
    ).first()
    return _acceptance(row) if row else None


# --------------------------------------------------------------------------------------------
# Rectifications
# --------------------------------------------------------------------------------------------


def _rectification(r: Any) -> Rectification:
    return Rectification(
        id=r.id,
        tenant_id=r.tenant_id,
        project_id=r.project_id,
        acceptance_id=r.acceptance_id,
        description=r.description,
        owner=r.owner,
        due_on=r.due_on,
        cite=tuple(r.cite),
        done_on=r.done_on,
        done_by=r.done_by,
        note=r.note,
        version=r.version,
    )


async def add_rectification(session: AsyncSession, item: Rectification) -> None:
    """Insert a rectification item."""
    await session.execute(
        rectifications.insert().values(
            id=item.id,
            tenant_id=item.tenant_id,
            project_id=item.project_id,
            acceptance_id=item.acceptance_id,
            description=item.description,
            owner=item.owner,
            due_on=item.due_on,
            cite=list(item.cite),
            done_on=item.done_on,
            done_by=item.done_by,
            note=item.note,
            version=item.version,
        )
    )


async def rectifications_of(
    session: AsyncSession, *, project_id: str | None = None, acceptance_id: str | None = None
) -> list[Rectification]:
    """Rectification items of a project or of one acceptance, by due date."""
    query = select(rectifications).order_by(rectifications.c.due_on, rectifications.c.id)
    if project_id is not None:
        query = query.where(rectifications.c.project_id == project_id)
    if acceptance_id is not None:
        query = query.where(rectifications.c.acceptance_id == acceptance_id)
    return [_rectification(r) for r in (await session.execute(query)).all()]


async def get_rectification(
    session: AsyncSession, item_id: str, *, lock: bool = False
) -> Rectification | None:
    """One rectification item."""
    query = select(rectifications).where(rectifications.c.id == item_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _rectification(row) if row else None


async def save_rectification(
    session: AsyncSession, item: Rectification, *, expected_version: int
) -> Rectification | None:
    """Write a completed item if its version is still ``expected_version``."""
    row = (
        await session.execute(
            update(rectifications)
            .where(rectifications.c.id == item.id, rectifications.c.version == expected_version)
            .values(version=expected_version + 1, done_on=item.done_on, done_by=item.done_by, note=item.note)
            .returning(*rectifications.c)
        )
    ).first()
    return _rectification(row) if row else None
