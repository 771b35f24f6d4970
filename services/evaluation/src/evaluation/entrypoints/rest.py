"""evaluation's REST API under /v1: the discredited list, rectification orders, evaluations with
evidence, the self-evaluation lists, O&M funding requests, self-checks and closures, the
portfolio with its reports and exports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from evaluation.domain.closure import Action, ClosureRequest, SelfCheck
from evaluation.domain.discredited import KIND_ZH, DiscreditedEntry, Scope, SubjectKind
from evaluation.domain.evaluation import KIND_ZH as EVALUATION_KIND_ZH
from evaluation.domain.evaluation import Evaluation, Kind
from evaluation.domain.om_funding import Declared, OmRequest
from evaluation.domain.portfolio import STAGE_ZH, ProjectFilter, ProjectRow, Stage, overdue_items
from evaluation.domain.rectification import STATUS_ZH, RectificationOrder
from evaluation.domain.scoring import ScoreInput
from evaluation.service import EvaluationDeps
from evaluation.service import closure as closure_service
from evaluation.service import discredited as discredited_service
from evaluation.service import evaluations as evaluation_service
from evaluation.service import om_funding as om_service
from evaluation.service import portfolio as portfolio_service
from evaluation.service import rectification as rectification_service
from evaluation.service import sweep as sweep_service
from govkit.auth import CurrentPrincipal
from govkit.errors import AppError

SHORT = 500
TEXT = 20_000
LIST_MAX = 100
Short = Annotated[str, Field(min_length=1, max_length=SHORT)]
LongText = Annotated[str, Field(max_length=TEXT)]
Version = Annotated[int, Field(ge=1)]
Sha = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
IfMatch = Annotated[str | None, Header()]


async def evaluation_deps(request: Request) -> EvaluationDeps:
    """The service's use-case dependencies (set on app.state by the composition root)."""
    deps: EvaluationDeps = request.app.state.evaluation_deps
    return deps


EvaluationDepsDep = Annotated[EvaluationDeps, Depends(evaluation_deps)]


class Strict(BaseModel):
    """Request bodies: unknown fields are errors, text is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _version(body: int | None, header: str | None) -> int:
    if body is not None:
        return body
    if header is not None:
        try:
            return int(header.strip().removeprefix("W/").strip('"'))
        except ValueError:
            raise AppError(code="BAD_IF_MATCH", message="If-Match 头格式不正确，应为版本号。") from None
    raise AppError(code="VERSION_REQUIRED", message="请提供读取时的版本号（version 字段或 If-Match 头）。")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


# ============================================================================================
# Discredited list
# ============================================================================================

discredited = APIRouter(prefix="/v1/discredited", tags=["discredited"])


class DiscreditedEntryCreate(Strict):
    """A listing: the subject, the grounds and the period."""

    scope: Scope = Scope.TENANT
    subject_kind: SubjectKind
    credit_code: Annotated[str, Field(max_length=18)] = ""
    expert_id: Annotated[str, Field(max_length=64)] = ""
    name: Short
    grounds: Annotated[str, Field(min_length=1, max_length=TEXT)]
    period_from: date
    period_until: date | None = None


class DiscreditedEntryRead(BaseModel):
    """A listing as the bureau sees it."""

    id: str
    scope: str
    subject_kind: str
    subject_kind_zh: str
    credit_code: str
    expert_id: str
    name: str
    grounds: str
    period_from: date
    period_until: date | None
    active_today: bool
    listed_by: str
    listed_at: datetime
    removed_at: datetime | None
    removal_reason: str
    citations: list[str]
    version: int

    @classmethod
    def of(cls, e: DiscreditedEntry, today: date) -> DiscreditedEntryRead:
        """From the domain."""
        return cls(
            id=e.id,
            scope=e.scope.value,
            subject_kind=e.subject_kind.value,
            subject_kind_zh=KIND_ZH[e.subject_kind],
            credit_code=e.credit_code,
            expert_id=e.expert_id,
            name=e.name,
            grounds=e.grounds,
            period_from=e.period_from,
            period_until=e.period_until,
            active_today=e.active_on(today),
            listed_by=e.listed_by,
            listed_at=e.listed_at,
            removed_at=e.removed_at,
            removal_reason=e.removal_reason,
            citations=list(e.cite),
            version=e.version,
        )


class RemoveBody(Strict):
    """Taking a subject off the list."""

    version: Version | None = None
    reason: Annotated[str, Field(min_length=1, max_length=TEXT)]


class DiscreditedList(BaseModel):
    """Listings."""

    items: list[DiscreditedEntryRead]


@discredited.post("", status_code=201, response_model=DiscreditedEntryRead)
async def add_discredited(
    body: DiscreditedEntryCreate, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> DiscreditedEntryRead:
    """List a supplier, supervisor, third party or expert (lhasa §22); publishes discredited.changed."""
    entry = await discredited_service.add_entry(
        deps=deps,
        principal=principal,
        fields=discredited_service.EntryCreate(**body.model_dump()),
    )
    return DiscreditedEntryRead.of(entry, deps.today())


@discredited.get("", response_model=DiscreditedList)
async def list_discredited(
    principal: CurrentPrincipal, deps: EvaluationDepsDep, include_removed: bool = False
) -> DiscreditedList:
    """The tenant's list and the platform's."""
    found = await discredited_service.list_entries(
        deps=deps, principal=principal, include_removed=include_removed
    )
    return DiscreditedList(items=[DiscreditedEntryRead.of(e, deps.today()) for e in found])


@discredited.get("/check", response_model=DiscreditedList)
async def check_discredited(
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    expert_id: Annotated[str | None, Query(max_length=64)] = None,
    on: date | None = None,
) -> DiscreditedList:
    """The listings active on a day (default today) for a credit code or an expert id."""
    if not credit_code and not expert_id:
        raise AppError(code="SUBJECT_REQUIRED", message="请提供统一社会信用代码或专家编号。")
    found = await discredited_service.check(
        deps=deps, principal=principal, credit_code=credit_code, expert_id=expert_id, on=on
    )
    return DiscreditedList(items=[DiscreditedEntryRead.of(e, deps.today()) for e in found])


@discredited.get("/{entry_id}", response_model=DiscreditedEntryRead)
async def get_discredited(
    entry_id: str, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> DiscreditedEntryRead:
    """One listing."""
    entry = await discredited_service.get_entry(deps=deps, principal=principal, entry_id=entry_id)
    return DiscreditedEntryRead.of(entry, deps.today())


@discredited.post("/{entry_id}/remove", response_model=DiscreditedEntryRead)
async def remove_discredited(
    entry_id: str,
    body: RemoveBody,
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    if_match: IfMatch = None,
) -> DiscreditedEntryRead:
    """Take a subject off the list; publishes discredited.changed."""
    entry = await discredited_service.remove_entry(
        deps=deps,
        principal=principal,
        entry_id=entry_id,
        expected_version=_version(body.version, if_match),
        reason=body.reason,
    )
    return DiscreditedEntryRead.of(entry, deps.today())


# ============================================================================================
# Rectification orders
# ============================================================================================

rectifications = APIRouter(prefix="/v1/rectifications", tags=["rectifications"])


class RectificationOrderCreate(Strict):
    """An order from an inspection."""

    declaration_id: Annotated[str, Field(min_length=1, max_length=64)]
    stage: Annotated[str, Field(min_length=1, max_length=32)]
    owner: Short
    items: Annotated[list[Short], Field(min_length=1, max_length=LIST_MAX)]
    grounds: Annotated[str, Field(min_length=1, max_length=TEXT)]
    due_on: date


class RectificationOrderRead(BaseModel):
    """An order and its status."""

    id: str
    declaration_id: str
    project_code: str
    org_id: str
    stage: str
    owner: str
    items: list[str]
    grounds: str
    due_on: date
    status: str
    status_zh: str
    escalated_on: date | None
    resolved_at: datetime | None
    resolution: str
    citations: list[str]
    version: int

    @classmethod
    def of(cls, o: RectificationOrder) -> RectificationOrderRead:
        """From the domain."""
        return cls(
            id=o.id,
            declaration_id=o.declaration_id,
            project_code=o.project_code,
            org_id=o.org_id,
            stage=o.stage,
            owner=o.owner,
            items=list(o.items),
            grounds=o.grounds,
            due_on=o.due_on,
            status=o.status.value,
            status_zh=STATUS_ZH[o.status],
            escalated_on=o.escalated_on,
            resolved_at=o.resolved_at,
            resolution=o.resolution,
            citations=sorted({*o.cite, *o.escalation_cite}),
            version=o.version,
        )


class ResolveBody(Strict):
    """The order is rectified."""

    version: Version | None = None
    resolution: Annotated[str, Field(min_length=1, max_length=TEXT)]


class RectificationOrderList(BaseModel):
    """Orders."""

    items: list[RectificationOrderRead]


@rectifications.post("", status_code=201, response_model=RectificationOrderRead)
async def issue_order(
    body: RectificationOrderCreate, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> RectificationOrderRead:
    """Order a project's unit to rectify items by a date (any stage)."""
    fields = rectification_service.OrderCreate(
        declaration_id=body.declaration_id,
        stage=body.stage,
        owner=body.owner,
        items=tuple(body.items),
        grounds=body.grounds,
        due_on=body.due_on,
    )
    return RectificationOrderRead.of(
        await rectification_service.issue_order(deps=deps, principal=principal, fields=fields)
    )


@rectifications.get("", response_model=RectificationOrderList)
async def list_orders(
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    declaration_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> RectificationOrderList:
    """Orders of the tenant (units: their own)."""
    found = await rectification_service.list_orders(
        deps=deps, principal=principal, declaration_id=declaration_id, status=status
    )
    return RectificationOrderList(items=[RectificationOrderRead.of(o) for o in found])


@rectifications.get("/{order_id}", response_model=RectificationOrderRead)
async def get_order(
    order_id: str, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> RectificationOrderRead:
    """One order."""
    return RectificationOrderRead.of(
        await rectification_service.get_order(deps=deps, principal=principal, order_id=order_id)
    )


@rectifications.post("/{order_id}/resolve", response_model=RectificationOrderRead)
async def resolve_order(
    order_id: str,
    body: ResolveBody,
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    if_match: IfMatch = None,
) -> RectificationOrderRead:
    """Record the order as rectified."""
    return RectificationOrderRead.of(
        await rectification_service.resolve_order(
            deps=deps,
            principal=principal,
            order_id=order_id,
            expected_version=_version(body.version, if_match),
            resolution=body.resolution,
        )
    )


sweep = APIRouter(prefix="/v1/sweep", tags=["sweep"])


@sweep.post("")
async def run_sweep(principal: CurrentPrincipal, deps: EvaluationDepsDep) -> dict[str, int]:
    """Escalate the tenant's rectification orders past due now."""
    return {"escalated": await sweep_service.run_sweep_now(deps=deps, principal=principal)}


# ============================================================================================
# Evaluations
# ============================================================================================

evaluations = APIRouter(prefix="/v1/evaluations", tags=["evaluations"])


class EvaluationStartBody(Strict):
    """Start an evaluation of an accepted project."""

    declaration_id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Kind
    evaluator_org: Annotated[str, Field(max_length=SHORT)] = ""


class IndicatorIn(Strict):
    """One indicator's target, actual value, score and evidence."""

    code: Annotated[str, Field(min_length=1, max_length=64)]
    label_zh: Annotated[str, Field(max_length=SHORT)] = ""
    target: Annotated[str, Field(max_length=TEXT)] = ""
    actual: Annotated[str, Field(min_length=1, max_length=TEXT)]
    score: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
    evidence: Annotated[list[Sha], Field(max_length=LIST_MAX)] = []


class CompleteBody(Strict):
    """The scores of an evaluation."""

    version: Version | None = None
    indicators: Annotated[list[IndicatorIn], Field(max_length=LIST_MAX)]
    report_sha256: Annotated[str, Field(pattern=r"^([0-9a-f]{64})?$")] = ""
    summary: LongText = ""


class IndicatorRead(BaseModel):
    """A scored indicator."""

    code: str
    label_zh: str
    weight: Decimal
    target: str
    actual: str
    score: Decimal
    evidence: list[str]


class EvaluationRead(BaseModel):
    """An evaluation."""

    id: str
    declaration_id: str
    project_code: str
    org_id: str
    kind: str
    kind_zh: str
    status: str
    evaluator: str
    started_on: date
    due_on: date | None
    late: bool
    indicators: list[IndicatorRead]
    total_score: Decimal | None
    grade: str
    completed_on: date | None
    report_sha256: str
    summary: str
    pack: str
    citations: list[str]
    version: int

    @classmethod
    def of(cls, e: Evaluation) -> EvaluationRead:
        """From the domain."""
        return cls(
            id=e.id,
            declaration_id=e.declaration_id,
            project_code=e.project_code,
            org_id=e.org_id,
            kind=e.kind.value,
            kind_zh=EVALUATION_KIND_ZH[e.kind],
            status=e.status.value,
            evaluator=e.evaluator,
            started_on=e.started_on,
            due_on=e.due_on,
            late=e.late,
            indicators=[IndicatorRead(**s.__dict__) for s in e.indicators],
            total_score=e.total_score,
            grade=e.grade,
            completed_on=e.completed_on,
            report_sha256=e.report_sha256,
            summary=e.summary,
            pack=e.pack_id,
            citations=list(e.cite),
            version=e.version,
        )


class EvaluationList(BaseModel):
    """Evaluations."""

    items: list[EvaluationRead]


class EvidenceRead(BaseModel):
    """An uploaded evidence file."""

    id: str
    filename: str
    sha256: str
    size: int
    content_type: str
    uploaded_by: str
    uploaded_at: datetime


@evaluations.post("", status_code=201, response_model=EvaluationRead)
async def start_evaluation(
    body: EvaluationStartBody, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> EvaluationRead:
    """Start a self, key, third-party or application evaluation."""
    fields = evaluation_service.EvaluationStart(
        declaration_id=body.declaration_id, kind=body.kind, evaluator_org=body.evaluator_org
    )
    return EvaluationRead.of(
        await evaluation_service.start_evaluation(deps=deps, principal=principal, fields=fields)
    )


@evaluations.get("", response_model=EvaluationList)
async def list_evaluations(
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    kind: Kind | None = None,
    declaration_id: Annotated[str | None, Query(max_length=64)] = None,
) -> EvaluationList:
    """Evaluations the caller may see."""
    found = await evaluation_service.list_evaluations(
        deps=deps, principal=principal, kind=kind.value if kind else None, declaration_id=declaration_id
    )
    return EvaluationList(items=[EvaluationRead.of(e) for e in found])


@evaluations.get("/{evaluation_id}", response_model=EvaluationRead)
async def get_evaluation(
    evaluation_id: str, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> EvaluationRead:
    """One evaluation."""
    return EvaluationRead.of(
        await evaluation_service.get_evaluation(deps=deps, principal=principal, evaluation_id=evaluation_id)
    )


@evaluations.post("/{evaluation_id}/evidence", status_code=201, response_model=EvidenceRead)
async def upload_evidence(
    evaluation_id: str,
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    request: Request,
    file: Annotated[UploadFile, File()],
) -> EvidenceRead:
    """Upload an evidence file (multipart ``file``); its SHA-256 is what indicators refer to."""
    limit: int = request.app.state.evaluation_max_upload_bytes
    data = await file.read(limit + 1)
    stored = await evaluation_service.upload_evidence(
        deps=deps,
        principal=principal,
        evaluation_id=evaluation_id,
        filename=file.filename or "",
        content_type=file.content_type or "",
        data=data,
        max_bytes=limit,
    )
    return EvidenceRead(**{k: stored[k] for k in EvidenceRead.model_fields})


@evaluations.get("/{evaluation_id}/evidence")
async def list_evidence(
    evaluation_id: str, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> dict[str, list[EvidenceRead]]:
    """The evaluation's evidence files."""
    found = await evaluation_service.evidence_list(
        deps=deps, principal=principal, evaluation_id=evaluation_id
    )
    return {"items": [EvidenceRead(**{k: f[k] for k in EvidenceRead.model_fields}) for f in found]}


@evaluations.get("/{evaluation_id}/evidence/{file_id}/content")
async def download_evidence(
    evaluation_id: str, file_id: str, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> Response:
    """An evidence file's bytes (its SHA-256 in ``X-Content-SHA256``)."""
    found, data = await evaluation_service.download_evidence(
        deps=deps, principal=principal, evaluation_id=evaluation_id, file_id=file_id
    )
    return Response(
        content=data,
        media_type=found["content_type"],
        headers={"X-Content-SHA256": found["sha256"]},
    )


@evaluations.post("/{evaluation_id}/complete", response_model=EvaluationRead)
async def complete_evaluation(
    evaluation_id: str,
    body: CompleteBody,
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    if_match: IfMatch = None,
) -> EvaluationRead:
    """Score the indicators; the weighted total and grade are computed; evaluation.completed."""
    scores = [
        ScoreInput(
            code=i.code,
            label_zh=i.label_zh,
            target=i.target,
            actual=i.actual,
            score=i.score,
            evidence=tuple(i.evidence),
        )
        for i in body.indicators
    ]
    return EvaluationRead.of(
        await evaluation_service.complete_evaluation(
            deps=deps,
            principal=principal,
            evaluation_id=evaluation_id,
            expected_version=_version(body.version, if_match),
            scores=scores,
            report_sha256=body.report_sha256,
            summary=body.summary,
        )
    )


self_evaluations = APIRouter(prefix="/v1/self-evaluations", tags=["evaluations"])


class WindowRead(BaseModel):
    """A project in the self-evaluation lists."""

    declaration_id: str
    name: str
    org_id: str
    accepted_on: date | None
    opens_on: date | None
    closes_on: date | None
    state: str
    citations: list[str]
    key_evaluation_due_on: date | None
    key_evaluation_started: bool
    key_evaluation_overdue: bool
    key_evaluation_citations: list[str]


@self_evaluations.get("")
async def self_evaluation_lists(
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    state: Annotated[str | None, Query(pattern="^(upcoming|open|missed|done|no_window)$")] = None,
    org_id: Annotated[str | None, Query(max_length=SHORT)] = None,
) -> dict[str, list[WindowRead]]:
    """Accepted projects by self-evaluation state: due (upcoming), open, missed, done, no window."""
    rows = await evaluation_service.self_evaluation_lists(deps=deps, principal=principal, org_id=org_id)
    return {
        "items": [
            WindowRead(
                declaration_id=r.project.declaration_id,
                name=r.project.name,
                org_id=r.project.org_id,
                accepted_on=r.project.accepted_on,
                opens_on=r.window.opens_on if r.window else None,
                closes_on=r.window.closes_on if r.window else None,
                state=r.state.value,
                citations=list(r.window.cite) if r.window else [],
                key_evaluation_due_on=r.key_evaluation_due_on,
                key_evaluation_started=r.key_evaluation_started,
                key_evaluation_overdue=r.key_evaluation_overdue,
                key_evaluation_citations=list(r.key_evaluation_cite),
            )
            for r in rows
            if state is None or r.state.value == state
        ]
    }


# ============================================================================================
# O&M funding
# ============================================================================================

om_requests = APIRouter(prefix="/v1/om-requests", tags=["om-funding"])


class OmRequestCreateBody(Strict):
    """An O&M funding request with what the unit declares about the system."""

    declaration_id: Annotated[str, Field(min_length=1, max_length=64)]
    budget_year: Annotated[int, Field(ge=2000, le=2100)]
    amount: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]
    free_maintenance_ends_on: date
    data_shared: bool
    in_resource_catalog: bool
    security_compliant: bool
    crypto_compliant: bool
    evaluation_id: Annotated[str | None, Field(max_length=64)] = None


class RefusalRead(BaseModel):
    """One ground of refusal."""

    code: str
    message: str
    citations: list[str]


class OmRequestRead(BaseModel):
    """A request and its decision."""

    id: str
    declaration_id: str
    project_code: str
    org_id: str
    budget_year: int
    amount: Decimal
    free_maintenance_ends_on: date
    deadline: date | None
    evaluation_id: str | None
    outcome: str
    refusals: list[RefusalRead]
    citations: list[str]
    decided_on: date
    version: int

    @classmethod
    def of(cls, r: OmRequest) -> OmRequestRead:
        """From the domain."""
        return cls(
            id=r.id,
            declaration_id=r.declaration_id,
            project_code=r.project_code,
            org_id=r.org_id,
            budget_year=r.budget_year,
            amount=r.amount,
            free_maintenance_ends_on=r.free_maintenance_ends_on,
            deadline=r.deadline,
            evaluation_id=r.evaluation_id,
            outcome=r.outcome.value,
            refusals=[
                RefusalRead(code=x.code, message=x.message, citations=list(x.cite)) for x in r.refusals
            ],
            citations=list(r.cite),
            decided_on=r.decided_on,
            version=r.version,
        )


@om_requests.post("", status_code=201, response_model=OmRequestRead)
async def file_om_request(
    body: OmRequestCreateBody, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> OmRequestRead:
    """File a request; it is granted or refused at once (each refusal with its article)."""
    fields = om_service.OmRequestCreate(
        declaration_id=body.declaration_id,
        budget_year=body.budget_year,
        amount=body.amount,
        free_maintenance_ends_on=body.free_maintenance_ends_on,
        declared=Declared(
            data_shared=body.data_shared,
            in_resource_catalog=body.in_resource_catalog,
            security_compliant=body.security_compliant,
            crypto_compliant=body.crypto_compliant,
        ),
        evaluation_id=body.evaluation_id,
    )
    return OmRequestRead.of(await om_service.file_request(deps=deps, principal=principal, fields=fields))


@om_requests.get("")
async def list_om_requests(
    principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> dict[str, list[OmRequestRead]]:
    """Requests of the tenant (units: their own)."""
    return {
        "items": [OmRequestRead.of(r) for r in await om_service.list_requests(deps=deps, principal=principal)]
    }


@om_requests.get("/{request_id}", response_model=OmRequestRead)
async def get_om_request(
    request_id: str, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> OmRequestRead:
    """One request."""
    return OmRequestRead.of(
        await om_service.get_request(deps=deps, principal=principal, request_id=request_id)
    )


# ============================================================================================
# Self-checks and 关停并转
# ============================================================================================

closures = APIRouter(prefix="/v1", tags=["closures"])


class SelfCheckBody(Strict):
    """A self-check of one system (wuxing §29)."""

    declaration_id: Annotated[str, Field(min_length=1, max_length=64)]
    compliant: bool
    findings: Annotated[list[Short], Field(max_length=LIST_MAX)] = []


class SelfCheckRead(BaseModel):
    """A recorded self-check."""

    id: str
    declaration_id: str
    checked_on: date
    compliant: bool
    findings: list[str]
    citations: list[str]

    @classmethod
    def of(cls, c: SelfCheck) -> SelfCheckRead:
        """From the domain."""
        return cls(
            id=c.id,
            declaration_id=c.declaration_id,
            checked_on=c.checked_on,
            compliant=c.compliant,
            findings=list(c.findings),
            citations=list(c.cite),
        )


class ClosureBody(Strict):
    """A 关停并转 request."""

    declaration_id: Annotated[str, Field(min_length=1, max_length=64)]
    action: Action
    reason: Annotated[str, Field(min_length=1, max_length=TEXT)]
    self_check_id: Annotated[str | None, Field(max_length=64)] = None


class DecideBody(Strict):
    """The bureau's decision."""

    version: Version | None = None
    approve: bool
    reason: LongText = ""


class ClosureRead(BaseModel):
    """A request and its decision."""

    id: str
    declaration_id: str
    org_id: str
    action: str
    reason: str
    status: str
    self_check_id: str | None
    decided_by: str | None
    decided_on: date | None
    decision_reason: str
    citations: list[str]
    version: int

    @classmethod
    def of(cls, c: ClosureRequest) -> ClosureRead:
        """From the domain."""
        return cls(
            id=c.id,
            declaration_id=c.declaration_id,
            org_id=c.org_id,
            action=c.action.value,
            reason=c.reason,
            status=c.status.value,
            self_check_id=c.self_check_id,
            decided_by=c.decided_by,
            decided_on=c.decided_on,
            decision_reason=c.decision_reason,
            citations=list(c.cite),
            version=c.version,
        )


@closures.post("/self-checks", status_code=201, response_model=SelfCheckRead)
async def record_self_check(
    body: SelfCheckBody, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> SelfCheckRead:
    """Record a self-check of one of the unit's systems."""
    return SelfCheckRead.of(
        await closure_service.record_self_check(
            deps=deps,
            principal=principal,
            declaration_id=body.declaration_id,
            compliant=body.compliant,
            findings=tuple(body.findings),
        )
    )


@closures.post("/closures", status_code=201, response_model=ClosureRead)
async def request_closure(
    body: ClosureBody, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> ClosureRead:
    """Ask to shut down, suspend, merge or transfer a system."""
    return ClosureRead.of(
        await closure_service.request_closure(
            deps=deps,
            principal=principal,
            declaration_id=body.declaration_id,
            action=body.action,
            reason=body.reason,
            self_check_id=body.self_check_id,
        )
    )


@closures.get("/closures")
async def list_closures(principal: CurrentPrincipal, deps: EvaluationDepsDep) -> dict[str, list[ClosureRead]]:
    """Requests of the tenant (units: their own)."""
    return {
        "items": [
            ClosureRead.of(c) for c in await closure_service.list_closures(deps=deps, principal=principal)
        ]
    }


@closures.post("/closures/{request_id}/decide", response_model=ClosureRead)
async def decide_closure(
    request_id: str,
    body: DecideBody,
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    if_match: IfMatch = None,
) -> ClosureRead:
    """Approve or reject a request; closure.decided."""
    return ClosureRead.of(
        await closure_service.decide_closure(
            deps=deps,
            principal=principal,
            request_id=request_id,
            expected_version=_version(body.version, if_match),
            approve=body.approve,
            reason=body.reason,
        )
    )


# ============================================================================================
# Portfolio
# ============================================================================================

portfolio = APIRouter(prefix="/v1/portfolio", tags=["portfolio"])


class ProjectRead(BaseModel):
    """One project of the portfolio."""

    declaration_id: str
    tenant_id: str
    org_id: str
    org_name: str
    name: str
    project_code: str
    category: str
    plan_year: int
    level: str
    stage: str
    stage_zh: str
    declared_amount: Decimal | None
    planned_amount: Decimal | None
    approved_amount: Decimal | None
    contracted_amount: Decimal
    paid_amount: Decimal
    submitted_on: date | None
    planned_on: date | None
    approved_on: date | None
    contracted_on: date | None
    accepted_on: date | None
    self_evaluation_opens_on: date | None
    self_evaluation_closes_on: date | None
    self_evaluated_on: date | None
    grade: str
    total_score: Decimal | None
    om_outcome: str
    suspended: bool
    flags: list[str]
    overdue: list[str]

    @classmethod
    def of(cls, r: ProjectRow, today: date) -> ProjectRead:
        """From the domain."""
        return cls(
            declaration_id=r.declaration_id,
            tenant_id=r.tenant_id,
            org_id=r.org_id,
            org_name=r.org_name,
            name=r.name,
            project_code=r.project_code,
            category=r.category,
            plan_year=r.plan_year,
            level=r.level,
            stage=r.stage.value,
            stage_zh=STAGE_ZH[r.stage],
            declared_amount=r.declared_amount,
            planned_amount=r.planned_amount,
            approved_amount=r.approved_amount,
            contracted_amount=r.contracted_amount,
            paid_amount=r.paid_amount,
            submitted_on=r.submitted_on,
            planned_on=r.planned_on,
            approved_on=r.approved_on,
            contracted_on=r.contracted_on,
            accepted_on=r.accepted_on,
            self_evaluation_opens_on=r.self_evaluation_opens_on,
            self_evaluation_closes_on=r.self_evaluation_closes_on,
            self_evaluated_on=r.self_evaluated_on,
            grade=r.grade,
            total_score=r.total_score,
            om_outcome=r.om_outcome,
            suspended=r.suspended,
            flags=list(r.flags),
            overdue=overdue_items(r, today=today),
        )


@portfolio.get("/projects")
async def list_projects(
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    stage: Stage | None = None,
    flagged: bool = False,
    tenant_id: Annotated[str | None, Query(max_length=100)] = None,
    org_id: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    amount_min: Annotated[Decimal | None, Query(ge=0, decimal_places=2)] = None,
    amount_max: Annotated[Decimal | None, Query(ge=0, decimal_places=2)] = None,
    overdue: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """A page of projects and how many match (units: their own; readers may name a tenant under
    theirs); ``overdue`` keeps those with something late today."""
    rows, total = await portfolio_service.list_projects(
        deps=deps,
        principal=principal,
        tenant_id=tenant_id,
        filters=ProjectFilter(
            year=year,
            stage=stage.value if stage else None,
            org_id=org_id or None,
            flagged=flagged,
            category=category or None,
            amount_min=amount_min,
            amount_max=amount_max,
            name_contains=q or None,
        ),
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    return {"items": [ProjectRead.of(r, deps.today()) for r in rows], "total": total}


@portfolio.get("/projects/{declaration_id}", response_model=ProjectRead)
async def get_project(
    declaration_id: str, principal: CurrentPrincipal, deps: EvaluationDepsDep
) -> ProjectRead:
    """One project."""
    row = await portfolio_service.get_project(deps=deps, principal=principal, declaration_id=declaration_id)
    return ProjectRead.of(row, deps.today())


@portfolio.get("/dashboard")
async def dashboard(
    principal: CurrentPrincipal,
    deps: EvaluationDepsDep,
    by: Annotated[str, Query(pattern="^(year|tenant|department|stage|category)$")] = "stage",
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """Counts and amounts per year, tenant, department, stage or category."""
    rows = await portfolio_service.dashboard(deps=deps, principal=principal, by=by, year=year)
    return {"by": by, "items": rows}


@portfolio.get("/overdue")
async def overdue(principal: CurrentPrincipal, deps: EvaluationDepsDep) -> dict[str, Any]:
    """Projects with something late today."""
    found = await portfolio_service.overdue(deps=deps, principal=principal)
    return {
        "items": [
            {
                "project": ProjectRead.of(r, deps.today()),
                "overdue": [{"code": i, "label_zh": portfolio_service.overdue_label(i)} for i in items],
            }
            for r, items in found
        ]
    }


@portfolio.get("/risks")
async def risks(principal: CurrentPrincipal, deps: EvaluationDepsDep) -> dict[str, Any]:
    """Projects with flags or overdue items, the most first."""
    found = await portfolio_service.risks(deps=deps, principal=principal)
    return {"items": [{"project": ProjectRead.of(r, deps.today()), "risks": items} for r, items in found]}


@portfolio.get("/timings")
async def timings(principal: CurrentPrincipal, deps: EvaluationDepsDep) -> dict[str, Any]:
    """Approval (submitted → approved) and acceptance (signed → accepted) times in working days."""
    found = await portfolio_service.timings(deps=deps, principal=principal)
    return {"items": [t.__dict__ for t in found], "average": portfolio_service.average_workdays(found)}


@portfolio.get("/export.xlsx")
async def export_excel(principal: CurrentPrincipal, deps: EvaluationDepsDep) -> Response:
    """The portfolio as an Excel workbook."""
    return Response(
        content=await portfolio_service.export_excel(deps=deps, principal=principal),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="portfolio.xlsx"'},
    )


@portfolio.get("/ocds")
async def export_ocds(principal: CurrentPrincipal, deps: EvaluationDepsDep) -> dict[str, Any]:
    """The portfolio as an OCDS 1.1 release package (validated against the official schema)."""
    return await portfolio_service.export_ocds(deps=deps, principal=principal)


@portfolio.get("/oc4ids")
async def export_oc4ids(principal: CurrentPrincipal, deps: EvaluationDepsDep) -> dict[str, Any]:
    """Approved projects and their contracting processes as an OC4IDS 0.9 project package for
    open-data publication (validated against the official schema; unapproved declarations and
    internal flags, scores and decisions left out)."""
    return await portfolio_service.export_oc4ids(deps=deps, principal=principal)


routers = [
    discredited,
    rectifications,
    sweep,
    evaluations,
    self_evaluations,
    om_requests,
    closures,
    portfolio,
]
