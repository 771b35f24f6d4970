"""Projects: reading them with what the pack requires, the trial run, evidence files, extensions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from acceptance.adapters import repository
from acceptance.domain import evidence as ev
from acceptance.domain import project as rules
from acceptance.domain.acceptance import (
    BUREAU_ROLES,
    UNIT_ROLES,
    Acceptance,
    Rectification,
    ensure_bureau,
    ensure_unit,
)
from acceptance.domain.evidence import Evidence, EvidenceKind, EvidenceRequirement
from acceptance.domain.project import AcceptanceProject, Contract
from acceptance.service import events
from acceptance.service._common import (
    PROJECT_LABEL,
    AcceptanceDeps,
    audit_change,
    load_project,
    new_id,
    require_tenant,
    save_project,
    valid_uuid,
)
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden, not_found
from govkit.objectstore import DOCX, JPEG, OFD, PDF, PNG, ZIP, validate_upload
from govkit.policy import obligations

EVIDENCE_TYPES = (PDF, OFD, DOCX, ZIP, PNG, JPEG)
EVIDENCE_LABEL = "验收材料"


@dataclass(frozen=True)
class ProjectView:
    """A project with its contracts, evidence, acceptances, rectification items and what the pack
    requires of it."""

    project: AcceptanceProject
    contracts: list[Contract]
    evidence: list[Evidence]
    acceptances: list[Acceptance]
    rectifications: list[Rectification]
    required_evidence: list[EvidenceRequirement]
    missing_evidence: list[EvidenceRequirement]


def required_evidence(deps: AcceptanceDeps, project: AcceptanceProject) -> list[EvidenceRequirement]:
    """The pack's ``acceptance_evidence`` that applies to the project, plus the third-party test."""
    pack = deps.pack_of(project)
    facts = project.facts()
    third = deps.requirements(project)["third_party_acceptance_test"]
    return ev.required(
        obligations(pack, "acceptance_evidence", facts), third_party=third.value, third_party_cite=third.cite
    )


async def get_project(*, deps: AcceptanceDeps, principal: Principal, project_id: str) -> ProjectView:
    """One project as its unit, the bureau or an auditor sees it."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(tx.session, principal, project_id)
        found_evidence = await repository.evidence_of(tx.session, project.id)
        required = required_evidence(deps, project)
        return ProjectView(
            project=project,
            contracts=await repository.contracts_of(tx.session, project.declaration_id),
            evidence=found_evidence,
            acceptances=await repository.acceptances_of(tx.session, project.id),
            rectifications=await repository.rectifications_of(tx.session, project_id=project.id),
            required_evidence=required,
            missing_evidence=ev.missing(required, found_evidence, before=ev.Before.FINAL_ACCEPTANCE),
        )


async def find_by_declaration(
    *, deps: AcceptanceDeps, principal: Principal, declaration_id: str
) -> AcceptanceProject:
    """The project of a declaration (404 when no contract was filed yet or it is not visible)."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        found = await repository.project_by_declaration(tx.session, declaration_id)
        if found is None:
            raise not_found("project", declaration_id, label_zh=PROJECT_LABEL)
        return await load_project(tx.session, principal, found.id)


async def list_projects(
    *, deps: AcceptanceDeps, principal: Principal, status: str | None, limit: int, offset: int
) -> list[AcceptanceProject]:
    """The tenant's projects for the bureau; a unit's own projects for the unit."""
    tenant = require_tenant(principal)
    if principal.has_role(*BUREAU_ROLES, "auditor", "tenant_admin", "evaluator", "finance"):
        org = None
    elif principal.has_role(*UNIT_ROLES) and principal.org:
        org = principal.org
    else:
        raise forbidden("projects.read")
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_projects(
            tx.session, org_id=org, status=status, limit=limit, offset=offset
        )


async def start_trial(
    *,
    deps: AcceptanceDeps,
    principal: Principal,
    project_id: str,
    expected_version: int,
    started_on: date,
    completed_on: date | None,
) -> AcceptanceProject:
    """The unit starts the trial run; its minimum length is the pack's for the project's facts.
    Evidence the pack requires before the trial run (wuxing-2023 §20) must be in."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(
            tx.session, principal, project_id, lock=True, expected_version=expected_version
        )
        ensure_unit(principal, org_id=project.org_id)
        if started_on > deps.today():
            raise AppError(
                code="TRIAL_START_IN_FUTURE", message="试运行开始日期不能晚于今天。", kind=ErrorKind.INVALID
            )
        lacking = ev.missing(
            required_evidence(deps, project),
            await repository.evidence_of(tx.session, project.id),
            before=ev.Before.TRIAL_RUN,
        )
        ev.ensure_present(lacking, step_zh="试运行")
        trial = deps.requirements(project)["trial_run_min_months"]
        signed = [
            c.signed_on
            for c in await repository.contracts_of(tx.session, project.declaration_id)
            if c.role == "construction"
        ]
        changed = rules.start_trial(
            project,
            started_on=started_on,
            completed_on=completed_on,
            min_months=trial.value,
            cite=trial.cite,
            signed_on=min(signed, default=None),
        )
        # heze-2021 §23 counts the final application's half year from completion.
        final = deps.requirements(project)["final_acceptance_within_months"]
        due = rules.final_due(final.value, initial_passed_on=None, completed_on=changed.completed_on)
        if due is not None:
            changed = rules.replace_due(changed, due, final.cite)
        stored = await save_project(tx.session, deps, changed, read=project)
        await audit_change(
            tx.session,
            deps,
            tenant_id=tenant,
            actor=principal.username,
            action="trial.started",
            entity_type="project",
            entity_id=project.id,
            from_state=project.status.value,
            to_state=stored.status.value,
            citations=[*trial.cite, *(final.cite if due else [])],
            details={
                "started_on": started_on.isoformat(),
                "min_months": trial.value,
                "ends_on": stored.trial_ends_on.isoformat() if stored.trial_ends_on else None,
            },
        )
        tx.emit(events.trial_started(stored))
        await tx.commit()
    return stored


async def record_evidence(
    *,
    deps: AcceptanceDeps,
    principal: Principal,
    project_id: str,
    kind: str,
    conclusion: str,
    level: int | None,
    issued_by: str,
    issued_on: date,
    filename: str,
    content_type: str,
    data: bytes,
) -> Evidence:
    """The unit uploads an assessment report or other evidence; the file is stored with its SHA-256."""
    tenant = require_tenant(principal)
    try:
        evidence_kind, verdict = EvidenceKind(kind), ev.Conclusion(conclusion)
    except ValueError:
        raise AppError(
            code="VALIDATION_FAILED",
            message="提交的内容有误，请按提示修改后重试。",
            kind=ErrorKind.INVALID,
            details={"fields": [{"field": "kind/conclusion", "message": "材料类型或结论不正确"}]},
        ) from None
    ev.check_fields(kind=evidence_kind, level=level, issued_by=issued_by)
    if issued_on > deps.today():
        raise AppError(code="ISSUED_IN_FUTURE", message="报告出具日期不能晚于今天。", kind=ErrorKind.INVALID)
    checked = validate_upload(
        filename,
        content_type,
        len(data),
        max_bytes=deps.max_upload_bytes,
        allowed_types=EVIDENCE_TYPES,
        data=data,
    )
    evidence_id = new_id()
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(tx.session, principal, project_id, lock=True)
        ensure_unit(principal, org_id=project.org_id)
        key = f"{tenant}/projects/{project.id}/evidence/{evidence_id}"
        stored_object = await deps.store.put(key, data, content_type=checked.content_type)
        item = Evidence(
            id=evidence_id,
            tenant_id=tenant,
            project_id=project.id,
            kind=evidence_kind,
            conclusion=verdict,
            issued_by=issued_by.strip(),
            issued_on=issued_on,
            filename=checked.filename,
            sha256=stored_object.sha256,
            size=stored_object.size,
            content_type=checked.content_type,
            object_key=key,
            recorded_by=principal.username,
            recorded_at=deps.now(),
            level=level,
        )
        await repository.add_evidence(tx.session, item)
        cite = sorted(
            {c for r in required_evidence(deps, project) if r.kind is evidence_kind for c in r.cite}
        )
        await audit_change(
            tx.session,
            deps,
            tenant_id=tenant,
            actor=principal.username,
            action="evidence.recorded",
            entity_type="evidence",
            entity_id=item.id,
            from_state=None,
            to_state=verdict.value,
            citations=cite,
            details={
                "project_id": project.id,
                "kind": evidence_kind.value,
                "sha256": item.sha256,
                "level": level,
                "issued_by": item.issued_by,
            },
        )
        await tx.commit()
    return item


async def evidence_file(
    *, deps: AcceptanceDeps, principal: Principal, project_id: str, evidence_id: str
) -> tuple[Evidence, bytes]:
    """A piece of evidence and its bytes (checked against the stored SHA-256)."""
    tenant = require_tenant(principal)
    valid_uuid(evidence_id, "evidence", EVIDENCE_LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(tx.session, principal, project_id)
        item = await repository.get_evidence(tx.session, evidence_id)
    if item is None or item.project_id != project.id:
        raise not_found("evidence", evidence_id, label_zh=EVIDENCE_LABEL)
    data = await deps.store.get(item.object_key)
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise AppError(
            code="STORED_FILE_CORRUPT",
            message="存储的文件与登记的校验值不一致，请联系管理员。",
            kind=ErrorKind.UNAVAILABLE,
            details={"evidence_id": item.id},
        )
    return item, data


def _extension_cite(deps: AcceptanceDeps, project: AcceptanceProject) -> list[str]:
    return sorted(
        {c for ob in obligations(deps.pack_of(project), "acceptance_extension") for c in ob["cite"]}
    )


async def request_extension(
    *,
    deps: AcceptanceDeps,
    principal: Principal,
    project_id: str,
    expected_version: int,
    reason: str,
    requested_until: date,
) -> AcceptanceProject:
    """The unit asks to apply for the final acceptance later (heze-2021 §23), with its reasons."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(
            tx.session, principal, project_id, lock=True, expected_version=expected_version
        )
        ensure_unit(principal, org_id=project.org_id)
        cite = _extension_cite(deps, project)
        changed = rules.request_extension(
            project,
            reason=reason,
            until=requested_until,
            by=principal.username,
            cite=cite,
            today=deps.today(),
        )
        stored = await save_project(tx.session, deps, changed, read=project)
        await audit_change(
            tx.session,
            deps,
            tenant_id=tenant,
            actor=principal.username,
            action="extension.requested",
            entity_type="project",
            entity_id=project.id,
            from_state=None,
            to_state="requested",
            citations=cite,
            details={
                "reason": reason.strip(),
                "requested_until": requested_until.isoformat(),
                "due_on": project.final_due_on.isoformat() if project.final_due_on else None,
            },
        )
        await tx.commit()
    return stored


async def decide_extension(
    *,
    deps: AcceptanceDeps,
    principal: Principal,
    project_id: str,
    expected_version: int,
    approve: bool,
    note: str,
) -> AcceptanceProject:
    """The bureau agrees to the extension or refuses it."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(
            tx.session, principal, project_id, lock=True, expected_version=expected_version
        )
        ensure_bureau(principal)
        changed = rules.decide_extension(project, approve=approve, by=principal.username, note=note)
        stored = await save_project(tx.session, deps, changed, read=project)
        outcome = "approved" if approve else "rejected"
        await audit_change(
            tx.session,
            deps,
            tenant_id=tenant,
            actor=principal.username,
            action=f"extension.{outcome}",
            entity_type="project",
            entity_id=project.id,
            from_state="requested",
            to_state=outcome,
            citations=_extension_cite(deps, project),
            details={"note": note.strip()},
        )
        await tx.commit()
    return stored
