"""What review's REST routers share: the dependencies, read models of the domain objects, If-Match."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from govkit.errors import AppError, ErrorKind
from review.domain.approval import Approval, Baseline, StepRecord
from review.domain.case import STATUS_ZH, CaseStatus, ReviewCase
from review.domain.changes import ChangeRequest
from review.domain.declaration import Material
from review.domain.plan import AnnualPlan, PlanEntry
from review.domain.tasks import KIND_ZH
from review.service import ReviewDeps
from review.service.approval import ApplicationView
from review.service.tasks import TaskView

# Input hygiene (what a form accepts), not policy rules.
TEXT_MAX = 20_000
SHORT_MAX = 500
LIST_MAX = 100
AMOUNT_DIGITS = 16
PAGE_MAX = 200
PAGE_DEFAULT = 50

Amount = Annotated[Decimal, Field(gt=0, max_digits=AMOUNT_DIGITS, decimal_places=2)]
Version = Annotated[int, Field(ge=1)]
ShortText = Annotated[str, Field(max_length=SHORT_MAX)]
LongText = Annotated[str, Field(max_length=TEXT_MAX)]


async def review_deps(request: Request) -> ReviewDeps:
    """The service's use-case dependencies (set on app.state by the composition root)."""
    deps: ReviewDeps = request.app.state.review_deps
    return deps


ReviewDepsDep = Annotated[ReviewDeps, Depends(review_deps)]


def if_match(value: str | None) -> int | None:
    """The version in an ``If-Match`` header (``"3"``, ``W/"3"`` or ``3``)."""
    if value is None:
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise AppError(
            code="BAD_IF_MATCH", message="If-Match 头格式不正确，应为版本号。", kind=ErrorKind.INVALID
        ) from None


def need_version(body_version: int | None, header: str | None) -> int:
    """The version the client read, from the body or If-Match; required for every change."""
    version = body_version if body_version is not None else if_match(header)
    if version is None:
        raise AppError(
            code="VERSION_REQUIRED",
            message="请提供读取时的版本号（version 字段或 If-Match 头）。",
            kind=ErrorKind.INVALID,
        )
    return version


class Strict(BaseModel):
    """Request bodies: unknown fields are errors, text is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VersionedAction(Strict):
    """An action on a versioned object; ``version`` may come as If-Match instead."""

    version: Version | None = None


class MaterialIn(Strict):
    """A document's metadata (the bytes are kept by intake or uploaded to the object store)."""

    doc_type: Annotated[str, Field(min_length=1, max_length=64)]
    filename: Annotated[str, Field(min_length=1, max_length=255)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=0)]
    content_type: Annotated[str, Field(max_length=200)] = "application/octet-stream"

    def to_domain(self) -> Material:
        """The domain value."""
        return Material(self.doc_type, self.filename, self.sha256, self.size, self.content_type)


class ScreeningFindingRead(BaseModel):
    """One of intake's screening flags, as intake shows it: possible duplicate construction or
    project splitting, its score, the related declarations or systems, and the articles."""

    kind: str
    score: float
    related_ids: list[str]
    message: str
    citations: list[str]

    @classmethod
    def of(cls, finding: Mapping[str, Any]) -> ScreeningFindingRead:
        """From the submission's payload (protobuf JSON: citations are ``{"ref": ...}``)."""
        return cls(
            kind=str(finding.get("kind", "")),
            score=float(finding.get("score") or 0.0),
            related_ids=[str(i) for i in finding.get("related_ids") or []],
            message=str(finding.get("message", "")),
            citations=[
                str(c.get("ref", "")) if isinstance(c, Mapping) else str(c)
                for c in finding.get("citations") or []
            ],
        )


class ReviewCaseRead(BaseModel):
    """A review case as the API returns it."""

    id: str
    tenant_id: str
    reviewing_tenant_id: str | None
    declaration_id: str
    declaring_org_id: str
    org_name: str
    name: str
    amount: Decimal
    project_code: str | None
    status: CaseStatus
    status_zh: str
    stage: str
    supplementary: bool
    pack_id: str
    target_year: int | None
    round: int
    plan_level: str | None
    plan_budget: Decimal | None
    delegation_cite: list[str]
    opened_at: datetime
    updated_at: datetime | None
    version: int
    # Intake's screening flags (possible duplicate construction or project splitting), each with its
    # score, the related declarations or systems and the articles: for the reviewer to weigh.
    findings: list[ScreeningFindingRead]

    @classmethod
    def of(cls, case: ReviewCase) -> ReviewCaseRead:
        """From the domain object."""
        flags = case.declaration.findings if case.declaration is not None else ()
        return cls(
            id=case.id,
            tenant_id=case.tenant_id,
            reviewing_tenant_id=case.reviewing_tenant_id,
            declaration_id=case.declaration_id,
            declaring_org_id=case.declaring_org_id,
            org_name=case.org_name,
            name=case.name,
            amount=case.amount,
            project_code=case.project_code,
            status=case.status,
            status_zh=STATUS_ZH[case.status],
            stage=case.stage.value,
            supplementary=case.supplementary,
            pack_id=case.pack_id,
            target_year=case.target_year,
            round=case.round,
            plan_level=case.plan_level,
            plan_budget=case.plan_budget,
            delegation_cite=list(case.delegation_cite),
            opened_at=case.opened_at,
            updated_at=case.updated_at,
            version=case.version,
            findings=[ScreeningFindingRead.of(f) for f in flags],
        )


class TaskRead(BaseModel):
    """A task in a work list."""

    id: str
    case_id: str
    kind: str
    kind_zh: str
    stage: str
    holder_tenant_id: str
    holder_role: str
    holder_org: str | None
    holder_user: str | None
    subject: str | None
    status: str
    opened_on: date
    closed_on: date | None
    due_on: date | None
    paused: bool
    urgency: str
    remaining_workdays: int | None
    cite: list[str]
    version: int

    @classmethod
    def of(cls, v: TaskView) -> TaskRead:
        """From the service's view."""
        t = v.task
        return cls(
            id=t.id,
            case_id=t.case_id,
            kind=t.kind.value,
            kind_zh=KIND_ZH[t.kind],
            stage=t.stage,
            holder_tenant_id=t.holder_tenant_id,
            holder_role=t.holder_role,
            holder_org=t.holder_org,
            holder_user=t.holder_user,
            subject=t.subject,
            status=t.status.value,
            opened_on=t.opened_on,
            closed_on=t.closed_on,
            due_on=v.due_on,
            paused=t.paused,
            urgency=v.urgency.value,
            remaining_workdays=v.remaining_workdays,
            cite=list(t.cite),
            version=t.version,
        )


class PlanEntryRead(BaseModel):
    """An entry of an annual plan."""

    id: str
    case_id: str
    declaration_id: str
    project_code: str | None
    name: str
    org_id: str
    org_name: str
    level: str
    budget: Decimal
    target_year: int
    status: str
    valid_until: date | None
    extended_months: int | None
    cite: list[str]
    version: int

    @classmethod
    def of(cls, e: PlanEntry) -> PlanEntryRead:
        """From the domain object."""
        return cls(
            id=e.id,
            case_id=e.case_id,
            declaration_id=e.declaration_id,
            project_code=e.project_code,
            name=e.name,
            org_id=e.org_id,
            org_name=e.org_name,
            level=e.level.value,
            budget=e.budget,
            target_year=e.target_year,
            status=e.status.value,
            valid_until=e.valid_until,
            extended_months=e.extended_months,
            cite=list(e.cite),
            version=e.version,
        )


class AnnualPlanRead(BaseModel):
    """A plan with its entries."""

    id: str
    tenant_id: str
    year: int
    status: str
    compiled_at: datetime
    published_at: datetime | None
    published_by: str | None
    version: int
    total_budget: Decimal
    entries: list[PlanEntryRead]

    @classmethod
    def of(cls, plan: AnnualPlan, entries: list[PlanEntry], total: Decimal) -> AnnualPlanRead:
        """From the domain objects."""
        return cls(
            id=plan.id,
            tenant_id=plan.tenant_id,
            year=plan.year,
            status=plan.status.value,
            compiled_at=plan.compiled_at,
            published_at=plan.published_at,
            published_by=plan.published_by,
            version=plan.version,
            total_budget=total,
            entries=[PlanEntryRead.of(e) for e in entries],
        )


class StepRead(BaseModel):
    """A recorded step of an application."""

    id: str
    kind: str
    label_zh: str
    blocking: bool
    status: str
    reference: str
    recorded_by: str | None
    recorded_on: date | None
    cite: list[str]
    version: int

    @classmethod
    def of(cls, s: StepRecord) -> StepRead:
        """From the domain object."""
        return cls(
            id=s.id,
            kind=s.kind,
            label_zh=s.label_zh,
            blocking=s.blocking,
            status=s.status.value,
            reference=s.reference,
            recorded_by=s.recorded_by,
            recorded_on=s.recorded_on,
            cite=list(s.cite),
            version=s.version,
        )


class ApplicationRead(BaseModel):
    """An approval application with its steps."""

    id: str
    case_id: str
    attempt: int
    round: int
    status: str
    approver: str
    materials: list[dict[str, Any]]
    sign_off: dict[str, Any] | None
    conclusion: str
    items: list[str]
    submitted_by: str
    submitted_at: datetime
    cite: list[str]
    steps: list[StepRead]
    version: int

    @classmethod
    def of(cls, view: ApplicationView) -> ApplicationRead:
        """From the service's view."""
        a = view.application
        return cls(
            id=a.id,
            case_id=a.case_id,
            attempt=a.attempt,
            round=a.round,
            status=a.status.value,
            approver=a.approver,
            materials=[m.to_dict() for m in a.materials],
            sign_off=a.sign_off,
            conclusion=a.conclusion,
            items=list(a.items),
            submitted_by=a.submitted_by,
            submitted_at=a.submitted_at,
            cite=list(a.cite),
            steps=[StepRead.of(s) for s in view.steps],
            version=a.version,
        )


class ApprovalRead(BaseModel):
    """An issued approval."""

    id: str
    case_id: str
    declaration_id: str
    project_code: str | None
    document_number: str
    approved_amount: Decimal
    approved_on: date
    valid_until: date | None
    conditions: list[str]
    content: str
    document_sha256: str
    status: str
    baseline_version: int
    issued_by: str
    cite: list[str]
    version: int
    # Set from procurement's procurement.started: from then on the approval no longer expires.
    procurement_started_on: date | None = None

    @classmethod
    def of(cls, a: Approval) -> ApprovalRead:
        """From the domain object."""
        return cls(
            id=a.id,
            case_id=a.case_id,
            declaration_id=a.declaration_id,
            project_code=a.project_code,
            document_number=a.document_number,
            approved_amount=a.approved_amount,
            approved_on=a.approved_on,
            valid_until=a.valid_until,
            conditions=list(a.conditions),
            content=a.content,
            document_sha256=a.document_sha256,
            status=a.status.value,
            baseline_version=a.baseline_version,
            issued_by=a.issued_by,
            cite=list(a.cite),
            procurement_started_on=a.procurement_started_on,
            version=a.version,
        )


class BaselineRead(BaseModel):
    """One approved baseline."""

    version: int
    amount: Decimal
    content: str
    conditions: list[str]
    change_id: str | None
    created_by: str
    created_at: datetime
    cite: list[str]

    @classmethod
    def of(cls, b: Baseline) -> BaselineRead:
        """From the domain object."""
        return cls(
            version=b.version,
            amount=b.amount,
            content=b.content,
            conditions=list(b.conditions),
            change_id=b.change_id,
            created_by=b.created_by,
            created_at=b.created_at,
            cite=list(b.cite),
        )


class ChangeRead(BaseModel):
    """A change request."""

    id: str
    approval_id: str
    case_id: str
    kind: str
    description: str
    new_amount: Decimal | None
    new_content: str
    base_amount: Decimal
    change_amount: Decimal
    cumulative_before: Decimal
    major_content_change: bool
    status: str
    routed: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    baseline_version: int | None
    cite: list[str]
    version: int

    @classmethod
    def of(cls, c: ChangeRequest) -> ChangeRead:
        """From the domain object."""
        return cls(
            id=c.id,
            approval_id=c.approval_id,
            case_id=c.case_id,
            kind=c.kind.value,
            description=c.description,
            new_amount=c.new_amount,
            new_content=c.new_content,
            base_amount=c.base_amount,
            change_amount=c.change_amount,
            cumulative_before=c.cumulative_before,
            major_content_change=c.major_content_change,
            status=c.status.value,
            routed=c.routed.value,
            requested_by=c.requested_by,
            requested_at=c.requested_at,
            decided_by=c.decided_by,
            decided_at=c.decided_at,
            decision_reason=c.decision_reason,
            baseline_version=c.baseline_version,
            cite=list(c.cite),
            version=c.version,
        )


def row_dict(row: Any, *fields: str) -> dict[str, Any]:
    """Selected columns of a stored row as JSON-friendly values."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(row, name)
        if isinstance(value, Decimal | datetime | date):
            value = str(value) if isinstance(value, Decimal) else value.isoformat()
        elif value is not None and not isinstance(value, str | int | float | bool | list | dict):
            value = str(value)
        out[name] = value
    return out
