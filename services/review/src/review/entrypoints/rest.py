"""review's REST API under /v1: cases, formal review, opinions, plan decisions, experts and panels,
annual plans (with the Excel download), approvals (with the PDF download), changes, tasks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from govkit.auth import CurrentPrincipal
from govkit.errors import not_found
from review.domain.changes import ChangeKind
from review.domain.opinions import Verdict
from review.domain.plan import PlanLevel, PlanOutcome
from review.domain.tasks import Urgency
from review.entrypoints.rest_common import (
    LIST_MAX,
    PAGE_DEFAULT,
    PAGE_MAX,
    Amount,
    AnnualPlanRead,
    ApplicationRead,
    ApprovalRead,
    BaselineRead,
    ChangeRead,
    LongText,
    MaterialIn,
    ReviewCaseRead,
    ReviewDepsDep,
    ShortText,
    StepRead,
    Strict,
    TaskRead,
    VersionedAction,
    need_version,
    row_dict,
)
from review.service import approval as approval_service
from review.service import cases as case_service
from review.service import changes as change_service
from review.service import experts as expert_service
from review.service import opinions as opinion_service
from review.service import plan as plan_service
from review.service import sweep as sweep_service
from review.service import tasks as task_service

IfMatch = Annotated[str | None, Header()]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
Offset = Annotated[int, Query(ge=0)]

# ============================================================================================
# Cases, formal review, opinions, plan decisions
# ============================================================================================

router = APIRouter(prefix="/v1/cases", tags=["cases"])


class ReviewCaseList(BaseModel):
    """A page of cases."""

    items: list[ReviewCaseRead]


class ChecklistRead(BaseModel):
    """The formal checklist of the case's current stage."""

    stage: str
    complete: bool
    items: list[dict[str, Any]]
    cite: list[str]


class FormalReviewCreate(VersionedAction):
    """A formal review; ``notes`` are problems found by reading (any of them returns the case)."""

    notes: Annotated[list[ShortText], Field(default_factory=list, max_length=LIST_MAX)]


class FormalReviewResult(BaseModel):
    """The case after the formal review, and the review."""

    case: ReviewCaseRead
    review: dict[str, Any]


class OpinionRead(BaseModel):
    """A department's opinion."""

    id: str
    case_id: str
    department: str
    reviews_zh: str
    status: str
    verdict: str | None
    text: str
    given_by: str | None
    given_at: str | None
    requested_at: str
    due_on: str | None
    cite: list[str]
    version: int


class OpinionGive(VersionedAction):
    """agree / agree_with_conditions / disagree, with text unless a plain agree."""

    verdict: Verdict
    text: LongText = ""


class PlanDecisionCreate(VersionedAction):
    """The bureau's plan decision."""

    outcome: PlanOutcome
    level: PlanLevel | None = None
    budget: Amount | None = None
    reason: LongText = ""
    items: Annotated[list[ShortText], Field(default_factory=list, max_length=LIST_MAX)]


class PlanDecisionResult(BaseModel):
    """The case after the decision, and the decision."""

    case: ReviewCaseRead
    decision: dict[str, Any]


DECISION_FIELDS = ("id", "outcome", "level", "budget", "reason", "decided_by", "decided_at", "cite")
FORMAL_FIELDS = ("id", "stage", "round", "outcome", "checklist", "reviewed_by", "reviewed_at", "cite")
REVIEW_FIELDS = (
    "id",
    "application_id",
    "round",
    "outcome",
    "comments",
    "items",
    "reviewed_by",
    "reviewed_at",
    "cite",
)


def _opinion(view: opinion_service.OpinionView) -> OpinionRead:
    o = view.opinion
    return OpinionRead(
        id=o.id,
        case_id=o.case_id,
        department=o.department,
        reviews_zh=o.reviews_zh,
        status=o.status.value,
        verdict=o.verdict.value if o.verdict else None,
        text=o.text,
        given_by=o.given_by,
        given_at=o.given_at.isoformat() if o.given_at else None,
        requested_at=o.requested_at.isoformat(),
        due_on=view.due_on.isoformat() if view.due_on else None,
        cite=list(o.cite),
        version=o.version,
    )


@router.get("", response_model=ReviewCaseList)
async def list_cases(
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    declaration_id: str | None = None,
    status: str | None = None,
    limit: Limit = PAGE_DEFAULT,
    offset: Offset = 0,
) -> ReviewCaseList:
    """Cases the caller may see; ``declaration_id`` finds a declaration's case."""
    found = await case_service.list_cases(
        deps=deps,
        principal=principal,
        declaration_id=declaration_id,
        limit=limit,
        offset=offset,
        status=status,
    )
    return ReviewCaseList(items=[ReviewCaseRead.of(c) for c in found])


@router.get("/{case_id}", response_model=ReviewCaseRead)
async def get_case(case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> ReviewCaseRead:
    """One case."""
    return ReviewCaseRead.of(await case_service.get_case(deps=deps, principal=principal, case_id=case_id))


@router.get("/{case_id}/declaration")
async def get_case_declaration(
    case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> dict[str, Any]:
    """The declaration as it was submitted for this case (content, amounts, materials, screening
    findings with their articles): what a reviewer of another tenant reads instead of intake."""
    case = await case_service.get_case(deps=deps, principal=principal, case_id=case_id)
    if case.declaration is None:  # cases are opened from the submission, which carries it
        raise not_found("declaration_snapshot", case_id, label_zh="申报内容")
    return case.declaration.to_dict()


@router.get("/{case_id}/checklist", response_model=ChecklistRead)
async def get_checklist(case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> ChecklistRead:
    """What the formal review requires of the case now, with the articles."""
    found = await case_service.get_checklist(deps=deps, principal=principal, case_id=case_id)
    return ChecklistRead(
        stage=found.stage,
        complete=found.check.complete,
        items=[i.to_dict() for i in found.check.items],
        cite=found.check.cite,
    )


@router.post("/{case_id}/formal-review", response_model=FormalReviewResult)
async def formal_review(
    case_id: str,
    body: FormalReviewCreate,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> FormalReviewResult:
    """Formal review: complete → on to the plan decision; incomplete → returned (补正), clocks paused."""
    result = await case_service.formal_review(
        deps=deps,
        principal=principal,
        case_id=case_id,
        expected_version=need_version(body.version, if_match),
        notes=body.notes,
    )
    return FormalReviewResult(case=ReviewCaseRead.of(result.case), review=_jsonable(result.review))


@router.get("/{case_id}/formal-reviews")
async def list_formal_reviews(
    case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> dict[str, Any]:
    """The case's formal reviews with their checklists."""
    rows = await case_service.formal_reviews(deps=deps, principal=principal, case_id=case_id)
    return {"items": [row_dict(r, *FORMAL_FIELDS) for r in rows]}


@router.get("/{case_id}/opinions")
async def list_opinions(
    case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> dict[str, list[OpinionRead]]:
    """The departments asked, their answers and deadlines."""
    found = await opinion_service.list_opinions(deps=deps, principal=principal, case_id=case_id)
    return {"items": [_opinion(v) for v in found]}


@router.post("/{case_id}/plan-decision", response_model=PlanDecisionResult)
async def decide_plan(
    case_id: str,
    body: PlanDecisionCreate,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> PlanDecisionResult:
    """The bureau's plan decision (into the plan / back for correction / rejected)."""
    result = await plan_service.decide_plan(
        deps=deps,
        principal=principal,
        case_id=case_id,
        expected_version=need_version(body.version, if_match),
        outcome=body.outcome,
        level=body.level,
        budget=body.budget,
        reason=body.reason,
        items=body.items,
    )
    return PlanDecisionResult(case=ReviewCaseRead.of(result.case), decision=_jsonable(result.decision))


@router.get("/{case_id}/plan-decisions")
async def list_plan_decisions(
    case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> dict[str, Any]:
    """The case's plan decisions with their citations."""
    rows = await plan_service.plan_decisions(deps=deps, principal=principal, case_id=case_id)
    return {"items": [row_dict(r, *DECISION_FIELDS) for r in rows]}


@router.get("/{case_id}/tasks")
async def list_case_tasks(
    case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> dict[str, list[TaskRead]]:
    """Every task of the case with its deadline and urgency."""
    found = await task_service.case_tasks(deps=deps, principal=principal, case_id=case_id)
    return {"items": [TaskRead.of(v) for v in found]}


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if hasattr(value, "isoformat"):
            out[key] = value.isoformat()
        elif isinstance(value, Decimal):
            out[key] = str(value)
        else:
            out[key] = value
    return out


opinions_router = APIRouter(prefix="/v1/opinions", tags=["opinions"])


@opinions_router.post("/{opinion_id}", response_model=OpinionRead)
async def give_opinion(
    opinion_id: str,
    body: OpinionGive,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> OpinionRead:
    """A department gives its opinion."""
    view = await opinion_service.give_opinion(
        deps=deps,
        principal=principal,
        opinion_id=opinion_id,
        expected_version=need_version(body.version, if_match),
        verdict=body.verdict,
        text=body.text,
    )
    return _opinion(view)


# ============================================================================================
# Experts, panels, scoring
# ============================================================================================

experts_router = APIRouter(prefix="/v1", tags=["experts"])
NameText = Annotated[str, Field(min_length=1, max_length=200)]


class ExpertWrite(Strict):
    """An expert's record (create, or replace with ``version``)."""

    version: int | None = Field(default=None, ge=1)
    name: NameText
    org: NameText
    specialties: Annotated[list[ShortText], Field(default_factory=list, max_length=LIST_MAX)]
    contact: ShortText = ""
    available: bool = True
    discredited: bool = False
    discredited_reason: ShortText = ""
    username: Annotated[str | None, Field(max_length=200)] = None
    affiliations: Annotated[list[ShortText], Field(default_factory=list, max_length=LIST_MAX)]
    discredited_until: date | None = None  # the listing's last day; none: until removed

    def fields(self) -> expert_service.ExpertFields:
        """The service's input."""
        return expert_service.ExpertFields(
            name=self.name,
            org=self.org,
            specialties=tuple(self.specialties),
            contact=self.contact,
            available=self.available,
            discredited=self.discredited,
            discredited_reason=self.discredited_reason,
            username=self.username or None,
            affiliations=tuple(self.affiliations),
            discredited_until=self.discredited_until,
        )


class ExpertRead(BaseModel):
    """An expert of the library."""

    id: str
    name: str
    org: str
    specialties: list[str]
    contact: str
    available: bool
    discredited: bool
    discredited_reason: str
    username: str | None
    affiliations: list[str]
    version: int
    discredited_until: date | None


def _expert(e: Any) -> ExpertRead:
    return ExpertRead(
        id=e.id,
        name=e.name,
        org=e.org,
        specialties=list(e.specialties),
        contact=e.contact,
        available=e.available,
        discredited=e.discredited,
        discredited_reason=e.discredited_reason,
        username=e.username,
        affiliations=list(e.affiliations),
        version=e.version,
        discredited_until=e.discredited_until,
    )


class DrawCreate(Strict):
    """A panel draw: size, optional seed (recorded either way), specialty, bidders to avoid."""

    size: Annotated[int, Field(ge=1, le=LIST_MAX)]
    seed: Annotated[str | None, Field(max_length=200)] = None
    specialty: Annotated[str | None, Field(max_length=200)] = None
    bidders: Annotated[list[ShortText], Field(default_factory=list, max_length=LIST_MAX)]


class DeclineCreate(VersionedAction):
    """An expert declines; a replacement is drawn."""

    reason: ShortText = ""
    seed: Annotated[str | None, Field(max_length=200)] = None
    bidders: Annotated[list[ShortText], Field(default_factory=list, max_length=LIST_MAX)]


class ScoresCreate(Strict):
    """An expert's scoring sheet."""

    scores: dict[str, Decimal]
    comments: dict[str, LongText] = Field(default_factory=dict)
    overall_comment: LongText = ""


def _panel(panel: expert_service.Panel) -> dict[str, Any]:
    return {
        "members": [
            {
                "id": m.id,
                "case_id": m.case_id,
                "stage": m.stage,
                "draw_id": m.draw_id,
                "expert_id": m.expert_id,
                "expert_name": m.expert_name,
                "status": m.status.value,
                "declined_reason": m.declined_reason,
                "replaced_by_draw_id": m.replaced_by_draw_id,
                "version": m.version,
            }
            for m in panel.members
        ],
        "draws": [_draw(d) for d in panel.draws],
    }


def _draw(d: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "case_id": d.case_id,
        "stage": d.stage,
        "seed": d.seed,
        "size": d.size,
        "specialty": d.specialty,
        "candidates": list(d.candidates),
        "excluded": dict(d.excluded),
        "drawn": list(d.drawn),
        "replaces_member_id": d.replaces_member_id,
        "drawn_by": d.drawn_by,
        "drawn_at": d.drawn_at.isoformat(),
    }


def _sheet(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "case_id": s.case_id,
        "stage": s.stage,
        "expert_id": s.expert_id,
        "scores": {k: str(v) for k, v in s.scores.items()},
        "comments": dict(s.comments),
        "overall_comment": s.overall_comment,
        "total": str(s.total),
        "submitted_by": s.submitted_by,
        "submitted_at": s.submitted_at.isoformat(),
    }


@experts_router.get("/experts")
async def list_experts(principal: CurrentPrincipal, deps: ReviewDepsDep) -> dict[str, list[ExpertRead]]:
    """The tenant's expert library."""
    return {"items": [_expert(e) for e in await expert_service.list_experts(deps=deps, principal=principal)]}


@experts_router.post("/experts", status_code=201, response_model=ExpertRead)
async def create_expert(body: ExpertWrite, principal: CurrentPrincipal, deps: ReviewDepsDep) -> ExpertRead:
    """Add an expert."""
    return _expert(await expert_service.create_expert(deps=deps, principal=principal, fields=body.fields()))


@experts_router.put("/experts/{expert_id}", response_model=ExpertRead)
async def update_expert(
    expert_id: str,
    body: ExpertWrite,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> ExpertRead:
    """Replace an expert's record (availability, discredited flag ...)."""
    stored = await expert_service.update_expert(
        deps=deps,
        principal=principal,
        expert_id=expert_id,
        expected_version=need_version(body.version, if_match),
        fields=body.fields(),
    )
    return _expert(stored)


@experts_router.post("/cases/{case_id}/panel/draw")
async def draw_panel(
    case_id: str, body: DrawCreate, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> dict[str, Any]:
    """Draw the case's expert panel (recorded seed, conflicts avoided)."""
    panel = await expert_service.draw_panel(
        deps=deps,
        principal=principal,
        case_id=case_id,
        size=body.size,
        seed=body.seed,
        specialty=body.specialty,
        bidders=body.bidders,
    )
    return _panel(panel)


@experts_router.get("/cases/{case_id}/panel")
async def get_panel(case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> dict[str, Any]:
    """The case's panel and its recorded draws."""
    return _panel(await expert_service.get_panel(deps=deps, principal=principal, case_id=case_id))


@experts_router.post("/panel-members/{member_id}/decline")
async def decline_member(
    member_id: str,
    body: DeclineCreate,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """An expert declines; the replacement is drawn at once."""
    panel = await expert_service.decline_member(
        deps=deps,
        principal=principal,
        member_id=member_id,
        expected_version=need_version(body.version, if_match),
        reason=body.reason,
        seed=body.seed,
        bidders=body.bidders,
    )
    return _panel(panel)


@experts_router.post("/panel-members/{member_id}/accept")
async def accept_member(
    member_id: str,
    body: VersionedAction,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """The expert confirms."""
    panel = await expert_service.accept_member(
        deps=deps,
        principal=principal,
        member_id=member_id,
        expected_version=need_version(body.version, if_match),
    )
    return _panel(panel)


@experts_router.get("/draws/{draw_id}/replay")
async def replay_draw(draw_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> dict[str, Any]:
    """Replay a recorded draw from its seed: the audit's proof that it was not rigged."""
    replay = await expert_service.replay_draw(deps=deps, principal=principal, draw_id=draw_id)
    return {"draw": _draw(replay.draw), "replayed": list(replay.replayed), "matches": replay.matches}


@experts_router.get("/cases/{case_id}/scoring-sheet")
async def scoring_sheet(case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> dict[str, Any]:
    """The sheet's criteria for the case's current stage."""
    from review.domain.scoring import SCORE_MAX

    stage, criteria = await expert_service.scoring_sheet(deps=deps, principal=principal, case_id=case_id)
    return {
        "stage": stage,
        "max_score_per_criterion": str(SCORE_MAX),
        "criteria": [{"code": c.code, "label_zh": c.label_zh, "cite": list(c.cite)} for c in criteria],
    }


@experts_router.post("/cases/{case_id}/scores", status_code=201)
async def submit_scores(
    case_id: str, body: ScoresCreate, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> dict[str, Any]:
    """A drawn expert submits their sheet."""
    sheet = await expert_service.submit_scores(
        deps=deps,
        principal=principal,
        case_id=case_id,
        scores=body.scores,
        comments=body.comments,
        overall_comment=body.overall_comment,
    )
    return _sheet(sheet)


@experts_router.get("/cases/{case_id}/scores/summary")
async def panel_summary(case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> dict[str, Any]:
    """The panel's summary and every sheet."""
    stage, summary, sheets = await expert_service.panel_summary(
        deps=deps, principal=principal, case_id=case_id
    )
    return {
        "stage": stage,
        "sheets": summary.sheets,
        "expected": summary.expected,
        "complete": summary.complete,
        "mean_total": str(summary.mean_total) if summary.mean_total is not None else None,
        "max_total": str(summary.max_total),
        "comments": list(summary.comments),
        "criteria": [
            {
                "code": c.code,
                "label_zh": c.label_zh,
                "mean": str(c.mean) if c.mean is not None else None,
                "minimum": str(c.minimum) if c.minimum is not None else None,
                "maximum": str(c.maximum) if c.maximum is not None else None,
            }
            for c in summary.criteria
        ],
        "items": [_sheet(s) for s in sheets],
    }


# ============================================================================================
# Annual plans
# ============================================================================================

plans_router = APIRouter(prefix="/v1", tags=["plans"])
Year = Annotated[int, Field(ge=2000, le=2100)]


class PlanCompile(Strict):
    """Compile the plan of a year."""

    year: Year


class PlanExtension(VersionedAction):
    """Extend a plan entry (once, within the pack's maximum)."""

    months: Annotated[int, Field(ge=1, le=LIST_MAX)]
    reason: LongText = ""


def _plan(view: plan_service.PlanView) -> AnnualPlanRead:
    return AnnualPlanRead.of(view.plan, view.entries, view.total)


@plans_router.post("/plans", response_model=AnnualPlanRead)
async def compile_plan(body: PlanCompile, principal: CurrentPrincipal, deps: ReviewDepsDep) -> AnnualPlanRead:
    """Compile (or re-compile) the draft plan of a year from the cases decided into it."""
    return _plan(await plan_service.compile_plan(deps=deps, principal=principal, year=body.year))


@plans_router.get("/plans")
async def list_plans(
    principal: CurrentPrincipal, deps: ReviewDepsDep, year: int | None = None
) -> dict[str, list[AnnualPlanRead]]:
    """The tenant's plans (or the one of ``year``)."""
    if year is not None:
        return {"items": [_plan(await plan_service.get_plan(deps=deps, principal=principal, year=year))]}
    return {"items": [_plan(v) for v in await plan_service.list_plans(deps=deps, principal=principal)]}


@plans_router.get("/plans/{plan_id}", response_model=AnnualPlanRead)
async def get_plan(plan_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> AnnualPlanRead:
    """One plan with its entries."""
    return _plan(await plan_service.get_plan(deps=deps, principal=principal, plan_id=plan_id))


@plans_router.post("/plans/{plan_id}/publish", response_model=AnnualPlanRead)
async def publish_plan(
    plan_id: str,
    body: VersionedAction,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> AnnualPlanRead:
    """Publish the plan (plan.published); entries get their validity."""
    view = await plan_service.publish_plan(
        deps=deps, principal=principal, plan_id=plan_id, expected_version=need_version(body.version, if_match)
    )
    return _plan(view)


def _download(filename: str, content_type: str, content: bytes) -> Response:
    # RFC 6266 / 5987: an ASCII fallback name and the UTF-8 name for browsers.
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content=content, media_type=content_type, headers={"Content-Disposition": disposition})


@plans_router.get("/plans/{plan_id}/export.xlsx", response_class=Response)
async def export_plan(plan_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> Response:
    """The plan as an Excel workbook (Chinese headers, subtotals per department, total)."""
    exported = await plan_service.export_plan(deps=deps, principal=principal, plan_id=plan_id)
    return _download(exported.filename, exported.content_type, exported.content)


@plans_router.post("/plan-entries/{entry_id}/extension")
async def extend_entry(
    entry_id: str,
    body: PlanExtension,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Extend a plan entry on the unit's request."""
    from review.entrypoints.rest_common import PlanEntryRead

    entry = await plan_service.extend_entry(
        deps=deps,
        principal=principal,
        entry_id=entry_id,
        expected_version=need_version(body.version, if_match),
        months=body.months,
        reason=body.reason,
    )
    return PlanEntryRead.of(entry).model_dump(mode="json")


# ============================================================================================
# Approval review, approvals, changes
# ============================================================================================

approvals_router = APIRouter(prefix="/v1", tags=["approvals"])


class SignOffIn(Strict):
    """The higher sign-off of a supplementary project."""

    approved_by: Annotated[str, Field(max_length=64)]
    reference: ShortText
    signed_on: Annotated[str, Field(max_length=32)] = ""
    funds_secured: bool = False


class ApplicationCreate(VersionedAction):
    """An approval application with its documents."""

    materials: Annotated[list[MaterialIn], Field(max_length=LIST_MAX)]
    sign_off: SignOffIn | None = None


class ApplicationResult(BaseModel):
    """The case and the application after the action."""

    case: ReviewCaseRead
    application: ApplicationRead


class ConclusionCreate(VersionedAction):
    """The reviewer's conclusion of a round."""

    passed: bool
    comments: LongText = ""
    items: Annotated[list[ShortText], Field(default_factory=list, max_length=LIST_MAX)]


class StepRecordCreate(VersionedAction):
    """A step done, with its reference (document number)."""

    reference: ShortText


class ApprovalCreate(VersionedAction):
    """Issue the approval."""

    approved_amount: Amount
    conditions: Annotated[list[LongText], Field(default_factory=list, max_length=LIST_MAX)]
    content: LongText = ""


class RejectionCreate(VersionedAction):
    """Refuse the approval."""

    reason: LongText


class ChangeCreate(Strict):
    """A change request; ``case_version`` is the case's version the unit read."""

    case_version: int = Field(ge=1)
    kind: ChangeKind
    description: LongText
    new_amount: Amount | None = None
    new_content: LongText = ""
    major_content_change: bool = False


class ChangeDecision(Strict):
    """The bureau's decision on a re-reviewed change."""

    case_version: int = Field(ge=1)
    approve: bool
    reason: LongText = ""


def _application_result(result: approval_service.ApplicationResult) -> ApplicationResult:
    return ApplicationResult(
        case=ReviewCaseRead.of(result.case), application=ApplicationRead.of(result.application)
    )


@approvals_router.post("/cases/{case_id}/application", response_model=ApplicationResult, status_code=201)
async def submit_application(
    case_id: str,
    body: ApplicationCreate,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> ApplicationResult:
    """Apply for approval with the documents the pack requires."""
    result = await approval_service.submit_application(
        deps=deps,
        principal=principal,
        case_id=case_id,
        expected_version=need_version(body.version, if_match),
        materials=[m.to_domain() for m in body.materials],
        sign_off=body.sign_off.model_dump() if body.sign_off else None,
    )
    return _application_result(result)


@approvals_router.post("/cases/{case_id}/application/resubmit", response_model=ApplicationResult)
async def resubmit_application(
    case_id: str,
    body: ApplicationCreate,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> ApplicationResult:
    """Resubmit revised documents after a return (next round)."""
    result = await approval_service.resubmit_application(
        deps=deps,
        principal=principal,
        case_id=case_id,
        expected_version=need_version(body.version, if_match),
        materials=[m.to_domain() for m in body.materials],
    )
    return _application_result(result)


@approvals_router.get("/cases/{case_id}/applications")
async def list_applications(case_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> dict[str, Any]:
    """The case's applications with their steps, and the review rounds."""
    apps = await approval_service.list_applications(deps=deps, principal=principal, case_id=case_id)
    reviews = await approval_service.review_records(deps=deps, principal=principal, case_id=case_id)
    return {
        "items": [ApplicationRead.of(a).model_dump(mode="json") for a in apps],
        "reviews": [row_dict(r, *REVIEW_FIELDS) for r in reviews],
    }


@approvals_router.post("/cases/{case_id}/review-conclusion", response_model=ApplicationResult)
async def conclude_review(
    case_id: str,
    body: ConclusionCreate,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> ApplicationResult:
    """The approver concludes the round: pass, or written feedback back to the unit."""
    result = await approval_service.conclude_review(
        deps=deps,
        principal=principal,
        case_id=case_id,
        expected_version=need_version(body.version, if_match),
        passed=body.passed,
        comments=body.comments,
        items=body.items,
    )
    return _application_result(result)


@approvals_router.post("/steps/{step_id}", response_model=StepRead)
async def record_step(
    step_id: str,
    body: StepRecordCreate,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> StepRead:
    """Record a step done (发改 approval, city review, design review)."""
    step = await approval_service.record_step(
        deps=deps,
        principal=principal,
        step_id=step_id,
        expected_version=need_version(body.version, if_match),
        reference=body.reference,
    )
    return StepRead.of(step)


@approvals_router.post("/cases/{case_id}/approval", response_model=ApprovalRead, status_code=201)
async def grant_approval(
    case_id: str,
    body: ApprovalCreate,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> ApprovalRead:
    """Issue the approval document (PDF stored with its SHA-256; approval.granted)."""
    approval = await approval_service.grant_approval(
        deps=deps,
        principal=principal,
        case_id=case_id,
        expected_version=need_version(body.version, if_match),
        approved_amount=body.approved_amount,
        conditions=body.conditions,
        content=body.content,
    )
    return ApprovalRead.of(approval)


@approvals_router.post("/cases/{case_id}/rejection", response_model=ReviewCaseRead)
async def reject_case(
    case_id: str,
    body: RejectionCreate,
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    if_match: IfMatch = None,
) -> ReviewCaseRead:
    """Refuse the approval (review.rejected)."""
    case = await approval_service.reject_case(
        deps=deps,
        principal=principal,
        case_id=case_id,
        expected_version=need_version(body.version, if_match),
        reason=body.reason,
    )
    return ReviewCaseRead.of(case)


@approvals_router.get("/approvals")
async def list_approvals(
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    declaration_id: str | None = None,
    limit: Limit = PAGE_DEFAULT,
    offset: Offset = 0,
) -> dict[str, list[ApprovalRead]]:
    """Approvals the caller may see."""
    found = await approval_service.list_approvals(
        deps=deps, principal=principal, declaration_id=declaration_id, limit=limit, offset=offset
    )
    return {"items": [ApprovalRead.of(a) for a in found]}


@approvals_router.get("/approvals/{approval_id}", response_model=ApprovalRead)
async def get_approval(approval_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> ApprovalRead:
    """One approval."""
    return ApprovalRead.of(
        await approval_service.get_approval(deps=deps, principal=principal, approval_id=approval_id)
    )


@approvals_router.get("/approvals/{approval_id}/document.pdf", response_class=Response)
async def approval_document(approval_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> Response:
    """The issued PDF (checked against its stored SHA-256)."""
    found = await approval_service.approval_document(deps=deps, principal=principal, approval_id=approval_id)
    response = _download(found.filename, found.content_type, found.content)
    response.headers["X-Content-SHA256"] = found.sha256
    return response


@approvals_router.get("/approvals/{approval_id}/baselines")
async def list_baselines(
    approval_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> dict[str, list[BaselineRead]]:
    """Every approved baseline, first first (never overwritten)."""
    found = await approval_service.baselines(deps=deps, principal=principal, approval_id=approval_id)
    return {"items": [BaselineRead.of(b) for b in found]}


@approvals_router.post("/approvals/{approval_id}/changes", response_model=ChangeRead, status_code=201)
async def request_change(
    approval_id: str, body: ChangeCreate, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> ChangeRead:
    """Request a change; the pack routes it to file-only or re-review."""
    change = await change_service.request_change(
        deps=deps,
        principal=principal,
        approval_id=approval_id,
        case_version=body.case_version,
        kind=body.kind,
        description=body.description,
        new_amount=body.new_amount,
        new_content=body.new_content,
        major_content_change=body.major_content_change,
    )
    return ChangeRead.of(change)


@approvals_router.get("/approvals/{approval_id}/changes")
async def list_changes(
    approval_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> dict[str, list[ChangeRead]]:
    """An approval's change requests."""
    found = await change_service.list_changes(deps=deps, principal=principal, approval_id=approval_id)
    return {"items": [ChangeRead.of(c) for c in found]}


@approvals_router.post("/changes/{change_id}/decision", response_model=ChangeRead)
async def decide_change(
    change_id: str, body: ChangeDecision, principal: CurrentPrincipal, deps: ReviewDepsDep
) -> ChangeRead:
    """The bureau decides a re-reviewed change."""
    change = await change_service.decide_change(
        deps=deps,
        principal=principal,
        change_id=change_id,
        case_version=body.case_version,
        approve=body.approve,
        reason=body.reason,
    )
    return ChangeRead.of(change)


# ============================================================================================
# Tasks, reminders, sweep
# ============================================================================================

tasks_router = APIRouter(prefix="/v1", tags=["tasks"])


class Reassign(VersionedAction):
    """Give a task to another user."""

    to_user: Annotated[str, Field(min_length=1, max_length=200)]


@tasks_router.get("/tasks")
async def my_tasks(
    principal: CurrentPrincipal,
    deps: ReviewDepsDep,
    urgency: Annotated[list[Urgency] | None, Query()] = None,
    role: str | None = None,
) -> dict[str, list[TaskRead]]:
    """The caller's open tasks; ``urgency=due_soon&urgency=overdue`` for the lists per role."""
    found = await task_service.my_tasks(deps=deps, principal=principal, urgency=urgency, role=role)
    return {"items": [TaskRead.of(v) for v in found]}


@tasks_router.post("/tasks/{task_id}/reassign", response_model=TaskRead)
async def reassign_task(
    task_id: str, body: Reassign, principal: CurrentPrincipal, deps: ReviewDepsDep, if_match: IfMatch = None
) -> TaskRead:
    """A bureau head reassigns a task while its holder is away."""
    view = await task_service.reassign(
        deps=deps,
        principal=principal,
        task_id=task_id,
        to_user=body.to_user,
        expected_version=need_version(body.version, if_match),
    )
    return TaskRead.of(view)


NOTIFICATION_FIELDS = (
    "id",
    "task_id",
    "case_id",
    "kind",
    "due_on",
    "subject",
    "body",
    "created_at",
    "read_at",
    "emailed_at",
)


@tasks_router.get("/notifications")
async def my_notifications(
    principal: CurrentPrincipal, deps: ReviewDepsDep, limit: Limit = PAGE_DEFAULT
) -> dict[str, Any]:
    """The caller's in-app reminders, newest first."""
    rows = await task_service.my_notifications(deps=deps, principal=principal, limit=limit)
    return {"items": [row_dict(r, *NOTIFICATION_FIELDS) for r in rows]}


@tasks_router.post("/notifications/{notification_id}/read", status_code=204, response_class=Response)
async def mark_read(notification_id: str, principal: CurrentPrincipal, deps: ReviewDepsDep) -> Response:
    """Mark a reminder read."""
    await task_service.mark_notification_read(deps=deps, principal=principal, notification_id=notification_id)
    return Response(status_code=204)


@tasks_router.post("/sweep")
async def run_sweep(principal: CurrentPrincipal, deps: ReviewDepsDep) -> dict[str, int]:
    """Run the caller's tenant's sweep now (expiry, lapse, reminders)."""
    report = await sweep_service.run_sweep_now(deps=deps, principal=principal)
    return dict(report.__dict__)


routers = [router, opinions_router, experts_router, plans_router, approvals_router, tasks_router]
