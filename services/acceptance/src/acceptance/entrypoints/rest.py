"""acceptance's REST API under /v1: projects (trial run, evidence, extension), acceptances (panel,
decision, report PDF, filing) and rectification items. Every change carries the version read
(body ``version`` or ``If-Match``; stale → 409)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from acceptance.domain.acceptance import (
    ORGANIZER_ZH,
    RESULT_ZH,
    STAGE_ZH,
    Acceptance,
    AcceptanceStatus,
    Rectification,
    RectificationDraft,
    Stage,
)
from acceptance.domain.evidence import KIND_ZH, Evidence, EvidenceKind, EvidenceRequirement
from acceptance.domain.project import STATUS_ZH, AcceptanceProject, Contract
from acceptance.service import AcceptanceDeps
from acceptance.service import acceptances as acceptance_service
from acceptance.service import projects as project_service
from govkit.auth import CurrentPrincipal
from govkit.errors import AppError, ErrorKind

SHORT_MAX = 500
TEXT_MAX = 20_000
LIST_MAX = 200
PAGE_MAX = 200
PAGE_DEFAULT = 50
PANEL_MAX = 50

IfMatch = Annotated[str | None, Header()]
Version = Annotated[int, Field(ge=1)]
ShortText = Annotated[str, Field(max_length=SHORT_MAX)]
LongText = Annotated[str, Field(max_length=TEXT_MAX)]


async def acceptance_deps(request: Request) -> AcceptanceDeps:
    """The use cases' dependencies (set on app.state by the composition root)."""
    deps: AcceptanceDeps = request.app.state.acceptance_deps
    return deps


DepsDep = Annotated[AcceptanceDeps, Depends(acceptance_deps)]


def need_version(body_version: int | None, header: str | None) -> int:
    """The version the client read, from the body or If-Match (``"3"``, ``W/"3"``, ``3``); required."""
    if body_version is not None:
        return body_version
    if header is not None:
        try:
            return int(header.strip().removeprefix("W/").strip('"'))
        except ValueError:
            raise AppError(
                code="BAD_IF_MATCH", message="If-Match 头格式不正确，应为版本号。", kind=ErrorKind.INVALID
            ) from None
    raise AppError(
        code="VERSION_REQUIRED",
        message="请提供读取时的版本号（version 字段或 If-Match 头）。",
        kind=ErrorKind.INVALID,
    )


class Strict(BaseModel):
    """Request bodies: unknown fields are errors, text is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Versioned(Strict):
    """An action on a versioned object; ``version`` may come as If-Match instead."""

    version: Version | None = None


# --------------------------------------------------------------------------------------------
# Read models
# --------------------------------------------------------------------------------------------


class ContractRead(BaseModel):
    """A filed contract as procurement announced it."""

    id: str
    role: str
    amount: Decimal
    signed_on: date
    period_end: date | None
    supplier_name: str

    @classmethod
    def of(cls, c: Contract) -> ContractRead:
        """From the domain."""
        return cls(
            id=c.id,
            role=c.role,
            amount=c.amount,
            signed_on=c.signed_on,
            period_end=c.period_end,
            supplier_name=c.supplier_name,
        )


class ExtensionRead(BaseModel):
    """An extension request of the final acceptance application (heze-2021 §23)."""

    status: str
    reason: str
    requested_until: date
    requested_by: str
    decided_by: str | None
    note: str
    citations: list[str]


class ProjectRead(BaseModel):
    """A project in acceptance."""

    id: str
    tenant_id: str
    declaration_id: str
    project_code: str
    project_name: str
    org_id: str
    pack_id: str
    approved_amount: Decimal
    contract_amount: Decimal
    contract_ids: list[str]
    status: str
    status_zh: str
    version: int
    public_facing: bool | None
    trial_started_on: date | None
    completed_on: date | None
    trial_min_months: int | None
    trial_ends_on: date | None
    trial_citations: list[str]
    initial_passed_on: date | None
    final_due_on: date | None
    final_due_citations: list[str]
    extension: ExtensionRead | None
    accepted_on: date | None

    @classmethod
    def of(cls, p: AcceptanceProject) -> ProjectRead:
        """From the domain."""
        ext = p.extension
        return cls(
            id=p.id,
            tenant_id=p.tenant_id,
            declaration_id=p.declaration_id,
            project_code=p.project_code,
            project_name=p.project_name,
            org_id=p.org_id,
            pack_id=p.pack_id,
            approved_amount=p.approved_amount,
            contract_amount=p.contract_amount,
            contract_ids=list(p.contract_ids),
            status=p.status.value,
            status_zh=STATUS_ZH[p.status],
            version=p.version,
            public_facing=p.public_facing,
            trial_started_on=p.trial_started_on,
            completed_on=p.completed_on,
            trial_min_months=p.trial_min_months,
            trial_ends_on=p.trial_ends_on,
            trial_citations=list(p.trial_cite),
            initial_passed_on=p.initial_passed_on,
            final_due_on=p.final_due_on,
            final_due_citations=list(p.final_due_cite),
            extension=None
            if ext is None
            else ExtensionRead(
                status=ext.status.value,
                reason=ext.reason,
                requested_until=ext.requested_until,
                requested_by=ext.requested_by,
                decided_by=ext.decided_by,
                note=ext.note,
                citations=list(ext.cite),
            ),
            accepted_on=p.accepted_on,
        )


class EvidenceRead(BaseModel):
    """A recorded assessment or document (the file is kept with its SHA-256)."""

    id: str
    project_id: str
    kind: str
    kind_zh: str
    conclusion: str
    level: int | None
    issued_by: str
    issued_on: date
    filename: str
    sha256: str
    size: int
    content_type: str
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, e: Evidence) -> EvidenceRead:
        """From the domain."""
        return cls(
            id=e.id,
            project_id=e.project_id,
            kind=e.kind.value,
            kind_zh=KIND_ZH[e.kind],
            conclusion=e.conclusion.value,
            level=e.level,
            issued_by=e.issued_by,
            issued_on=e.issued_on,
            filename=e.filename,
            sha256=e.sha256,
            size=e.size,
            content_type=e.content_type,
            recorded_by=e.recorded_by,
            recorded_at=e.recorded_at,
        )


class RequirementRead(BaseModel):
    """Evidence the pack requires, before which step, with its articles."""

    kind: str
    label_zh: str
    before: str
    citations: list[str]

    @classmethod
    def of(cls, r: EvidenceRequirement) -> RequirementRead:
        """From the domain."""
        return cls(kind=r.kind.value, label_zh=r.label_zh, before=r.before.value, citations=list(r.cite))


class RectificationRead(BaseModel):
    """A rectification item of a failed acceptance."""

    id: str
    project_id: str
    acceptance_id: str
    description: str
    owner: str
    due_on: date
    citations: list[str]
    done_on: date | None
    done_by: str | None
    note: str
    version: int

    @classmethod
    def of(cls, r: Rectification) -> RectificationRead:
        """From the domain."""
        return cls(
            id=r.id,
            project_id=r.project_id,
            acceptance_id=r.acceptance_id,
            description=r.description,
            owner=r.owner,
            due_on=r.due_on,
            citations=list(r.cite),
            done_on=r.done_on,
            done_by=r.done_by,
            note=r.note,
            version=r.version,
        )


class ChecklistItemRead(BaseModel):
    """A checklist line and the panel's finding."""

    code: str
    label_zh: str
    citations: list[str]
    passed: bool | None
    note: str


class PanelExpertRead(BaseModel):
    """A drawn expert."""

    expert_id: str
    name: str
    org: str


class PanelRead(BaseModel):
    """The recorded draw."""

    seed: str
    candidates: list[str]
    excluded: dict[str, str]
    experts: list[PanelExpertRead]
    drawn_by: str
    drawn_at: datetime
    draw_reference: str


class AcceptanceRead(BaseModel):
    """An acceptance with its checklist, panel, result, report and filing."""

    id: str
    project_id: str
    stage: str
    stage_zh: str
    round: int
    status: str
    result_zh: str | None
    organizer: str
    organizer_zh: str
    organizer_citations: list[str]
    applied_on: date
    applied_by: str
    checklist: list[ChecklistItemRead]
    panel: PanelRead | None
    needs_panel: bool  # a panel must judge it before its result (a final one not self-accepted)
    decided_on: date | None
    decided_by: str | None
    opinion: str
    report_sha256: str | None
    filing_due_on: date | None
    filing_citations: list[str]
    filed_on: date | None
    filed_late: bool
    citations: list[str]
    version: int
    rectifications: list[RectificationRead] = Field(default_factory=list)

    @classmethod
    def of(cls, a: Acceptance, items: list[Rectification] | None = None) -> AcceptanceRead:
        """From the domain."""
        panel = a.panel
        return cls(
            id=a.id,
            project_id=a.project_id,
            stage=a.stage.value,
            stage_zh=STAGE_ZH[a.stage],
            round=a.round,
            status=a.status.value,
            result_zh=None if a.status is AcceptanceStatus.APPLIED else RESULT_ZH[a.status],
            organizer=a.organizer,
            organizer_zh=ORGANIZER_ZH.get(a.organizer, a.organizer),
            organizer_citations=list(a.organizer_cite),
            applied_on=a.applied_on,
            applied_by=a.applied_by,
            checklist=[
                ChecklistItemRead(
                    code=i.code, label_zh=i.label_zh, citations=list(i.cite), passed=i.passed, note=i.note
                )
                for i in a.checklist
            ],
            panel=None
            if panel is None
            else PanelRead(
                seed=panel.seed,
                candidates=list(panel.candidates),
                excluded=dict(panel.excluded),
                experts=[
                    PanelExpertRead(expert_id=e.expert_id, name=e.name, org=e.org) for e in panel.experts
                ],
                drawn_by=panel.drawn_by,
                drawn_at=panel.drawn_at,
                draw_reference=panel.draw_reference,
            ),
            needs_panel=a.needs_panel,
            decided_on=a.decided_on,
            decided_by=a.decided_by,
            opinion=a.opinion,
            report_sha256=a.report_sha256,
            filing_due_on=a.filing_due_on,
            filing_citations=list(a.filing_cite),
            filed_on=a.filed_on,
            filed_late=a.filed_late,
            citations=list(a.cite),
            version=a.version,
            rectifications=[RectificationRead.of(r) for r in items or []],
        )


class ProjectDetailRead(BaseModel):
    """A project with its contracts, evidence, acceptances and what the pack requires."""

    project: ProjectRead
    contracts: list[ContractRead]
    evidence: list[EvidenceRead]
    acceptances: list[AcceptanceRead]
    rectifications: list[RectificationRead]
    required_evidence: list[RequirementRead]
    missing_evidence: list[RequirementRead]


class ProjectList(BaseModel):
    """A page of projects."""

    items: list[ProjectRead]


# --------------------------------------------------------------------------------------------
# Projects
# --------------------------------------------------------------------------------------------

projects = APIRouter(prefix="/v1/projects", tags=["projects"])


@projects.get("", response_model=ProjectList)
async def list_projects(
    principal: CurrentPrincipal,
    deps: DepsDep,
    status: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ProjectList:
    """The tenant's projects (a unit sees its own)."""
    found = await project_service.list_projects(
        deps=deps, principal=principal, status=status, limit=limit, offset=offset
    )
    return ProjectList(items=[ProjectRead.of(p) for p in found])


@projects.get("/by-declaration/{declaration_id}", response_model=ProjectRead)
async def project_of_declaration(
    declaration_id: str, principal: CurrentPrincipal, deps: DepsDep
) -> ProjectRead:
    """The project of a declaration (once a contract was filed)."""
    return ProjectRead.of(
        await project_service.find_by_declaration(
            deps=deps, principal=principal, declaration_id=declaration_id
        )
    )


@projects.get("/{project_id}", response_model=ProjectDetailRead)
async def get_project(project_id: str, principal: CurrentPrincipal, deps: DepsDep) -> ProjectDetailRead:
    """A project with everything acceptance knows about it."""
    view = await project_service.get_project(deps=deps, principal=principal, project_id=project_id)
    by_acceptance: dict[str, list[Rectification]] = {}
    for r in view.rectifications:
        by_acceptance.setdefault(r.acceptance_id, []).append(r)
    return ProjectDetailRead(
        project=ProjectRead.of(view.project),
        contracts=[ContractRead.of(c) for c in view.contracts],
        evidence=[EvidenceRead.of(e) for e in view.evidence],
        acceptances=[AcceptanceRead.of(a, by_acceptance.get(a.id)) for a in view.acceptances],
        rectifications=[RectificationRead.of(r) for r in view.rectifications],
        required_evidence=[RequirementRead.of(r) for r in view.required_evidence],
        missing_evidence=[RequirementRead.of(r) for r in view.missing_evidence],
    )


class TrialStart(Versioned):
    """The trial run's first day and, if earlier, the day construction was completed."""

    started_on: date
    completed_on: date | None = None


@projects.post("/{project_id}/trial", response_model=ProjectRead)
async def start_trial(
    project_id: str, body: TrialStart, principal: CurrentPrincipal, deps: DepsDep, if_match: IfMatch = None
) -> ProjectRead:
    """Start the trial run (its minimum length is the pack's)."""
    return ProjectRead.of(
        await project_service.start_trial(
            deps=deps,
            principal=principal,
            project_id=project_id,
            expected_version=need_version(body.version, if_match),
            started_on=body.started_on,
            completed_on=body.completed_on,
        )
    )


@projects.post("/{project_id}/evidence", status_code=201, response_model=EvidenceRead)
async def record_evidence(
    project_id: str,
    principal: CurrentPrincipal,
    deps: DepsDep,
    kind: Annotated[EvidenceKind, Form()],
    conclusion: Annotated[str, Form(pattern="^(pass|fail)$")],
    issued_by: Annotated[str, Form(min_length=1, max_length=SHORT_MAX)],
    issued_on: Annotated[date, Form()],
    file: Annotated[UploadFile, File()],
    level: Annotated[int | None, Form(ge=1, le=5)] = None,
) -> EvidenceRead:
    """Upload an assessment report or other evidence (multipart)."""
    # One byte past the limit: enough to refuse a too-large file without holding all of it.
    data = await file.read(deps.max_upload_bytes + 1)
    return EvidenceRead.of(
        await project_service.record_evidence(
            deps=deps,
            principal=principal,
            project_id=project_id,
            kind=kind.value,
            conclusion=conclusion,
            level=level,
            issued_by=issued_by,
            issued_on=issued_on,
            filename=file.filename or "",
            content_type=file.content_type or "",
            data=data,
        )
    )


@projects.get("/{project_id}/evidence/{evidence_id}/content")
async def evidence_content(
    project_id: str, evidence_id: str, principal: CurrentPrincipal, deps: DepsDep
) -> Response:
    """The evidence file's bytes (its SHA-256 in ``X-Content-SHA256``)."""
    item, data = await project_service.evidence_file(
        deps=deps, principal=principal, project_id=project_id, evidence_id=evidence_id
    )
    return Response(
        content=data,
        media_type=item.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(item.filename)}",
            "X-Content-SHA256": item.sha256,
        },
    )


class ExtensionRequest(Versioned):
    """Reasons and the day by which the unit will apply."""

    reason: Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
    requested_until: date


@projects.post("/{project_id}/extension", response_model=ProjectRead)
async def request_extension(
    project_id: str,
    body: ExtensionRequest,
    principal: CurrentPrincipal,
    deps: DepsDep,
    if_match: IfMatch = None,
) -> ProjectRead:
    """Ask to apply for the final acceptance later (heze-2021 §23)."""
    return ProjectRead.of(
        await project_service.request_extension(
            deps=deps,
            principal=principal,
            project_id=project_id,
            expected_version=need_version(body.version, if_match),
            reason=body.reason,
            requested_until=body.requested_until,
        )
    )


class ExtensionDecision(Versioned):
    """The bureau's answer (a refusal gives its reason)."""

    approve: bool
    note: LongText = ""


@projects.post("/{project_id}/extension/decision", response_model=ProjectRead)
async def decide_extension(
    project_id: str,
    body: ExtensionDecision,
    principal: CurrentPrincipal,
    deps: DepsDep,
    if_match: IfMatch = None,
) -> ProjectRead:
    """Agree to or refuse the extension."""
    return ProjectRead.of(
        await project_service.decide_extension(
            deps=deps,
            principal=principal,
            project_id=project_id,
            expected_version=need_version(body.version, if_match),
            approve=body.approve,
            note=body.note,
        )
    )


class AcceptanceApply(Versioned):
    """Apply for the initial or the final acceptance."""

    stage: Stage


@projects.post("/{project_id}/acceptances", status_code=201, response_model=AcceptanceRead)
async def apply_acceptance(
    project_id: str,
    body: AcceptanceApply,
    principal: CurrentPrincipal,
    deps: DepsDep,
    if_match: IfMatch = None,
) -> AcceptanceRead:
    """The unit applies (refused with the article before the trial run ends, without evidence ...)."""
    return AcceptanceRead.of(
        await acceptance_service.apply(
            deps=deps,
            principal=principal,
            project_id=project_id,
            expected_version=need_version(body.version, if_match),
            stage=body.stage,
        )
    )


# --------------------------------------------------------------------------------------------
# Acceptances and rectification items
# --------------------------------------------------------------------------------------------

acceptances = APIRouter(prefix="/v1/acceptances", tags=["acceptances"])


@acceptances.get("/{acceptance_id}", response_model=AcceptanceRead)
async def get_acceptance(acceptance_id: str, principal: CurrentPrincipal, deps: DepsDep) -> AcceptanceRead:
    """An acceptance with its rectification items."""
    item, items = await acceptance_service.get_acceptance(
        deps=deps, principal=principal, acceptance_id=acceptance_id
    )
    return AcceptanceRead.of(item, items)


class PanelDraw(Versioned):
    """Draw the panel from the expert library (experts of the unit and contractors are avoided)."""

    size: Annotated[int, Field(ge=1, le=PANEL_MAX)]
    seed: Annotated[str | None, Field(max_length=64)] = None
    specialty: Annotated[str | None, Field(max_length=64)] = None
    avoid_orgs: Annotated[list[ShortText], Field(default_factory=list, max_length=LIST_MAX)]


@acceptances.post("/{acceptance_id}/panel", response_model=AcceptanceRead)
async def draw_panel(
    acceptance_id: str, body: PanelDraw, principal: CurrentPrincipal, deps: DepsDep, if_match: IfMatch = None
) -> AcceptanceRead:
    """Draw the acceptance panel through review's expert library."""
    return AcceptanceRead.of(
        await acceptance_service.draw_panel(
            deps=deps,
            principal=principal,
            acceptance_id=acceptance_id,
            expected_version=need_version(body.version, if_match),
            size=body.size,
            seed=body.seed,
            specialty=body.specialty,
            avoid_orgs=body.avoid_orgs,
        )
    )


class FindingIn(Strict):
    """The finding on one checklist item."""

    code: Annotated[str, Field(min_length=1, max_length=64)]
    passed: bool
    note: ShortText = ""


class RectificationIn(Strict):
    """A rectification item; ``due_on`` defaults to the pack's limit."""

    description: Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
    owner: Annotated[str, Field(min_length=1, max_length=SHORT_MAX)]
    due_on: date | None = None


class DecisionIn(Versioned):
    """The result: a finding per checklist item, the opinion, rectification items when failed."""

    findings: Annotated[list[FindingIn], Field(min_length=1, max_length=LIST_MAX)]
    opinion: LongText = ""
    rectifications: Annotated[list[RectificationIn], Field(default_factory=list, max_length=LIST_MAX)]


@acceptances.post("/{acceptance_id}/decision", response_model=AcceptanceRead)
async def decide(
    acceptance_id: str, body: DecisionIn, principal: CurrentPrincipal, deps: DepsDep, if_match: IfMatch = None
) -> AcceptanceRead:
    """Record the result; the report PDF is issued and acceptance.passed / .failed published."""
    item, items = await acceptance_service.decide(
        deps=deps,
        principal=principal,
        acceptance_id=acceptance_id,
        expected_version=need_version(body.version, if_match),
        findings=[acceptance_service.Finding(f.code, f.passed, f.note) for f in body.findings],
        opinion=body.opinion,
        rectifications=[RectificationDraft(r.description, r.owner, r.due_on) for r in body.rectifications],
    )
    return AcceptanceRead.of(item, items)


@acceptances.post("/{acceptance_id}/filing", response_model=AcceptanceRead)
async def file_result(
    acceptance_id: str,
    principal: CurrentPrincipal,
    deps: DepsDep,
    body: Versioned | None = None,
    if_match: IfMatch = None,
) -> AcceptanceRead:
    """A self-accepted project files its result with the bureau (late filings marked late)."""
    return AcceptanceRead.of(
        await acceptance_service.file_result(
            deps=deps,
            principal=principal,
            acceptance_id=acceptance_id,
            expected_version=need_version(body.version if body else None, if_match),
        )
    )


@acceptances.get("/{acceptance_id}/report.pdf")
async def report(acceptance_id: str, principal: CurrentPrincipal, deps: DepsDep) -> Response:
    """The acceptance report (its SHA-256 in ``X-Content-SHA256``)."""
    item, data = await acceptance_service.report(deps=deps, principal=principal, acceptance_id=acceptance_id)
    return Response(
        content=data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(f'验收报告-{item.id}.pdf')}",
            "X-Content-SHA256": item.report_sha256 or "",
        },
    )


rectifications = APIRouter(prefix="/v1/rectifications", tags=["rectifications"])


class CompletionIn(Versioned):
    """How the item was rectified."""

    note: Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]


@rectifications.post("/{item_id}/completion", response_model=RectificationRead)
async def complete_rectification(
    item_id: str, body: CompletionIn, principal: CurrentPrincipal, deps: DepsDep, if_match: IfMatch = None
) -> RectificationRead:
    """The unit reports an item rectified."""
    return RectificationRead.of(
        await acceptance_service.complete_rectification(
            deps=deps,
            principal=principal,
            item_id=item_id,
            expected_version=need_version(body.version, if_match),
            note=body.note,
        )
    )


routers = [projects, acceptances, rectifications]
