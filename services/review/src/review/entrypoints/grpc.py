"""review's gRPC API (package govproj.review.v1): cases, experts, plans, approvals, tasks.

Thin adapters from the generated messages to the use cases; errors are AppErrors that govkit's
server interceptor turns into statuses with the platform's error body.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc

from govkit.auth import Principal, current_grpc_principal
from govkit.errors import AppError, ErrorKind, invalid_field
from govkit.grpckit.fields import optional_date
from govproj.common.v1 import common_pb2
from govproj.review.v1 import (
    approval_pb2,
    approval_pb2_grpc,
    experts_pb2,
    experts_pb2_grpc,
    plan_pb2,
    plan_pb2_grpc,
    review_pb2,
    review_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)
from review.domain.approval import Approval, Baseline, StepRecord
from review.domain.case import STATUS_ZH, CaseStatus, ReviewCase
from review.domain.changes import ChangeKind, ChangeRequest
from review.domain.declaration import Material
from review.domain.experts import Draw, Expert, PanelMember
from review.domain.opinions import Verdict
from review.domain.plan import PlanEntry, PlanLevel, PlanOutcome
from review.domain.scoring import SCORE_MAX, ScoreSheet
from review.domain.tasks import KIND_ZH, Urgency
from review.service import ReviewDeps
from review.service import approval as approval_service
from review.service import cases as case_service
from review.service import changes as change_service
from review.service import experts as expert_service
from review.service import opinions as opinion_service
from review.service import plan as plan_service
from review.service import sweep as sweep_service
from review.service import tasks as task_service

SERVICE_NAME = "govproj.review.v1.ReviewCaseService"
SERVICE_NAMES = [
    SERVICE_NAME,
    "govproj.review.v1.ExpertService",
    "govproj.review.v1.PlanService",
    "govproj.review.v1.ApprovalService",
    "govproj.review.v1.TaskService",
]
PAGE_MAX = 200
PAGE_DEFAULT = 50
_STATUS = {
    CaseStatus.OPEN: review_pb2.CASE_STATUS_OPEN,
    CaseStatus.RETURNED: review_pb2.CASE_STATUS_RETURNED,
    CaseStatus.IN_PLAN: review_pb2.CASE_STATUS_IN_PLAN,
    CaseStatus.AWAITING_APPLICATION: review_pb2.CASE_STATUS_AWAITING_APPLICATION,
    CaseStatus.APPROVAL_REVIEW: review_pb2.CASE_STATUS_APPROVAL_REVIEW,
    CaseStatus.APPROVED: review_pb2.CASE_STATUS_APPROVED,
    CaseStatus.REJECTED: review_pb2.CASE_STATUS_REJECTED,
    CaseStatus.WITHDRAWN: review_pb2.CASE_STATUS_WITHDRAWN,
    CaseStatus.LAPSED: review_pb2.CASE_STATUS_LAPSED,
    CaseStatus.EXPIRED: review_pb2.CASE_STATUS_EXPIRED,
}
_TWO_PLACES = -2


# --------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------


def _money(value: Decimal | None) -> common_pb2.Money | None:
    return common_pb2.Money(amount=str(value)) if value is not None else None


def _amount(money: common_pb2.Money, field: str) -> Decimal:
    try:
        value = Decimal(money.amount)
    except InvalidOperation:
        raise invalid_field(field, "请填写有效的金额") from None
    exponent = value.as_tuple().exponent
    if not value.is_finite() or value <= 0 or (isinstance(exponent, int) and exponent < _TWO_PLACES):
        raise invalid_field(field, "金额必须大于零，最多两位小数")
    return value


def _optional_amount(msg: Any, name: str) -> Decimal | None:
    if not msg.HasField(name) or not getattr(msg, name).amount:
        return None
    return _amount(getattr(msg, name), name)


def _cite(refs: Sequence[str]) -> list[common_pb2.Citation]:
    return [common_pb2.Citation(ref=r) for r in refs]


def _day(value: date | datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _version(value: int) -> int:
    if value < 1:
        raise invalid_field("version", "请提供读取时的版本号")
    return value


def _enum(kind: type[Any], value: str, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise invalid_field(field, "取值不在允许范围内") from None


def to_proto(case: ReviewCase) -> review_pb2.ReviewCase:
    """The domain case as its proto message."""
    return review_pb2.ReviewCase(
        id=case.id,
        tenant_id=case.tenant_id,
        declaration_id=case.declaration_id,
        declaring_org_id=case.declaring_org_id,
        name=case.name,
        amount=_money(case.amount),
        project_code=case.project_code or "",
        status=_STATUS.get(case.status, review_pb2.CASE_STATUS_UNSPECIFIED),
        opened_at=case.opened_at.isoformat(),
        version=case.version,
        reviewing_tenant_id=case.reviewing_tenant_id or "",
        stage=case.stage.value,
        org_name=case.org_name,
        supplementary=case.supplementary,
        pack_id=case.pack_id,
        target_year=case.target_year or 0,
        round=case.round,
        plan_level=case.plan_level or "",
        plan_budget=_money(case.plan_budget),
        delegation_citations=_cite(case.delegation_cite),
        status_zh=STATUS_ZH[case.status],
    )


def _checklist_items(items: Sequence[dict[str, Any]]) -> list[review_pb2.ChecklistItem]:
    return [
        review_pb2.ChecklistItem(
            code=i["code"],
            label_zh=i["label_zh"],
            kind=i["kind"],
            present=i["present"],
            citations=_cite(i["cite"]),
        )
        for i in items
    ]


def _getter(record: Any) -> Any:
    """Field access for a stored row or the dict a use case returned."""
    if isinstance(record, dict):
        return lambda key: record[key]
    return lambda key: getattr(record, key)


def _formal(record: Any) -> review_pb2.FormalReviewRecord:
    get = _getter(record)
    return review_pb2.FormalReviewRecord(
        id=str(get("id")),
        stage=get("stage"),
        round=get("round"),
        outcome=get("outcome"),
        items=_checklist_items(get("checklist")),
        reviewed_by=get("reviewed_by"),
        reviewed_at=_day(get("reviewed_at")),
        citations=_cite(get("cite") or []),
    )


def _decision(record: Any) -> review_pb2.PlanDecision:
    get = _getter(record)
    return review_pb2.PlanDecision(
        id=str(get("id")),
        outcome=get("outcome"),
        level=get("level") or "",
        budget=_money(get("budget")),
        reason=get("reason") or "",
        decided_by=get("decided_by"),
        decided_at=_day(get("decided_at")),
        citations=_cite(get("cite") or []),
    )


def _opinion(view: opinion_service.OpinionView) -> review_pb2.Opinion:
    o = view.opinion
    return review_pb2.Opinion(
        id=o.id,
        case_id=o.case_id,
        department=o.department,
        reviews_zh=o.reviews_zh,
        status=o.status.value,
        verdict=o.verdict.value if o.verdict else "",
        text=o.text,
        given_by=o.given_by or "",
        given_at=_day(o.given_at),
        requested_at=_day(o.requested_at),
        due_on=_day(view.due_on),
        citations=_cite(o.cite),
        version=o.version,
    )


def _expert(e: Expert) -> experts_pb2.Expert:
    return experts_pb2.Expert(
        id=e.id,
        name=e.name,
        org=e.org,
        specialties=list(e.specialties),
        contact=e.contact,
        available=e.available,
        discredited=e.discredited,
        discredited_reason=e.discredited_reason,
        username=e.username or "",
        affiliations=list(e.affiliations),
        version=e.version,
        discredited_until=_day(e.discredited_until),
    )


def _expert_fields(f: experts_pb2.ExpertFields) -> expert_service.ExpertFields:
    return expert_service.ExpertFields(
        name=f.name.strip(),
        org=f.org.strip(),
        specialties=tuple(s.strip() for s in f.specialties if s.strip()),
        contact=f.contact.strip(),
        available=f.available,
        discredited=f.discredited,
        discredited_reason=f.discredited_reason.strip(),
        username=f.username.strip() or None,
        affiliations=tuple(a.strip() for a in f.affiliations if a.strip()),
        discredited_until=optional_date(f.discredited_until.strip(), "discredited_until"),
    )


def _draw(d: Draw) -> experts_pb2.Draw:
    return experts_pb2.Draw(
        id=d.id,
        case_id=d.case_id,
        stage=d.stage,
        seed=d.seed,
        size=d.size,
        specialty=d.specialty or "",
        candidates=list(d.candidates),
        excluded=dict(d.excluded),
        drawn=list(d.drawn),
        replaces_member_id=d.replaces_member_id or "",
        drawn_by=d.drawn_by,
        drawn_at=_day(d.drawn_at),
    )


def _member(m: PanelMember) -> experts_pb2.PanelMember:
    return experts_pb2.PanelMember(
        id=m.id,
        case_id=m.case_id,
        stage=m.stage,
        draw_id=m.draw_id,
        expert_id=m.expert_id,
        expert_name=m.expert_name,
        status=m.status.value,
        declined_reason=m.declined_reason,
        replaced_by_draw_id=m.replaced_by_draw_id or "",
        version=m.version,
    )


def _panel(panel: expert_service.Panel) -> experts_pb2.PanelResponse:
    return experts_pb2.PanelResponse(
        members=[_member(m) for m in panel.members], draws=[_draw(d) for d in panel.draws]
    )


def _sheet(s: ScoreSheet) -> experts_pb2.ScoreSheet:
    return experts_pb2.ScoreSheet(
        id=s.id,
        case_id=s.case_id,
        stage=s.stage,
        expert_id=s.expert_id,
        scores={k: str(v) for k, v in s.scores.items()},
        comments=dict(s.comments),
        overall_comment=s.overall_comment,
        total=str(s.total),
        submitted_by=s.submitted_by,
        submitted_at=_day(s.submitted_at),
    )


def _entry(e: PlanEntry) -> plan_pb2.PlanEntry:
    return plan_pb2.PlanEntry(
        id=e.id,
        case_id=e.case_id,
        declaration_id=e.declaration_id,
        project_code=e.project_code or "",
        name=e.name,
        org_id=e.org_id,
        org_name=e.org_name,
        level=e.level.value,
        budget=_money(e.budget),
        target_year=e.target_year,
        status=e.status.value,
        valid_until=_day(e.valid_until),
        extended_months=e.extended_months or 0,
        citations=_cite(e.cite),
        version=e.version,
    )


def _plan(view: plan_service.PlanView) -> plan_pb2.AnnualPlan:
    plan = view.plan
    return plan_pb2.AnnualPlan(
        id=plan.id,
        tenant_id=plan.tenant_id,
        year=plan.year,
        status=plan.status.value,
        compiled_at=_day(plan.compiled_at),
        published_at=_day(plan.published_at),
        published_by=plan.published_by or "",
        version=plan.version,
        entries=[_entry(e) for e in view.entries],
        total_budget=_money(view.total),
    )


def _materials(items: Sequence[approval_pb2.Material]) -> list[Material]:
    out = []
    for m in items:
        if not m.doc_type.strip() or not m.filename.strip() or len(m.sha256) != 64:  # noqa: PLR2004 - SHA-256 hex
            raise invalid_field("materials", "每份材料须有类型、文件名和 SHA-256 摘要")
        out.append(Material(m.doc_type.strip(), m.filename.strip(), m.sha256.lower(), m.size, m.content_type))
    return out


def _step(s: StepRecord) -> approval_pb2.Step:
    return approval_pb2.Step(
        id=s.id,
        kind=s.kind,
        label_zh=s.label_zh,
        blocking=s.blocking,
        status=s.status.value,
        reference=s.reference,
        recorded_by=s.recorded_by or "",
        recorded_on=_day(s.recorded_on),
        citations=_cite(s.cite),
        version=s.version,
    )


def _application(view: approval_service.ApplicationView) -> approval_pb2.Application:
    a = view.application
    sign = a.sign_off or {}
    return approval_pb2.Application(
        id=a.id,
        case_id=a.case_id,
        attempt=a.attempt,
        round=a.round,
        status=a.status.value,
        approver=a.approver,
        materials=[approval_pb2.Material(**m.to_dict()) for m in a.materials],
        sign_off=approval_pb2.SignOff(
            approved_by=str(sign.get("approved_by", "")),
            reference=str(sign.get("reference", "")),
            signed_on=str(sign.get("signed_on", "")),
            funds_secured=bool(sign.get("funds_secured", False)),
        )
        if a.sign_off
        else None,
        conclusion=a.conclusion,
        items=list(a.items),
        submitted_by=a.submitted_by,
        submitted_at=_day(a.submitted_at),
        citations=_cite(a.cite),
        steps=[_step(s) for s in view.steps],
        version=a.version,
    )


def _application_response(result: approval_service.ApplicationResult) -> approval_pb2.ApplicationResponse:
    return approval_pb2.ApplicationResponse(
        review_case=to_proto(result.case), application=_application(result.application)
    )


def _approval(a: Approval) -> approval_pb2.Approval:
    return approval_pb2.Approval(
        id=a.id,
        case_id=a.case_id,
        declaration_id=a.declaration_id,
        project_code=a.project_code or "",
        document_number=a.document_number,
        approved_amount=_money(a.approved_amount),
        approved_on=_day(a.approved_on),
        valid_until=_day(a.valid_until),
        conditions=list(a.conditions),
        content=a.content,
        document_sha256=a.document_sha256,
        status=a.status.value,
        baseline_version=a.baseline_version,
        issued_by=a.issued_by,
        citations=_cite(a.cite),
        version=a.version,
    )


def _baseline(b: Baseline) -> approval_pb2.Baseline:
    return approval_pb2.Baseline(
        version=b.version,
        amount=_money(b.amount),
        content=b.content,
        conditions=list(b.conditions),
        change_id=b.change_id or "",
        created_by=b.created_by,
        created_at=_day(b.created_at),
        citations=_cite(b.cite),
    )


def _change(c: ChangeRequest) -> approval_pb2.ChangeRequest:
    return approval_pb2.ChangeRequest(
        id=c.id,
        approval_id=c.approval_id,
        case_id=c.case_id,
        kind=c.kind.value,
        description=c.description,
        new_amount=_money(c.new_amount),
        new_content=c.new_content,
        base_amount=_money(c.base_amount),
        change_amount=_money(c.change_amount),
        cumulative_before=_money(c.cumulative_before),
        major_content_change=c.major_content_change,
        status=c.status.value,
        routed=c.routed.value,
        requested_by=c.requested_by,
        requested_at=_day(c.requested_at),
        decided_by=c.decided_by or "",
        decided_at=_day(c.decided_at),
        decision_reason=c.decision_reason,
        baseline_version=c.baseline_version or 0,
        citations=_cite(c.cite),
        version=c.version,
    )


def _task(v: task_service.TaskView) -> tasks_pb2.Task:
    t = v.task
    return tasks_pb2.Task(
        id=t.id,
        case_id=t.case_id,
        kind=t.kind.value,
        kind_zh=KIND_ZH[t.kind],
        stage=t.stage,
        holder_tenant_id=t.holder_tenant_id,
        holder_role=t.holder_role,
        holder_org=t.holder_org or "",
        holder_user=t.holder_user or "",
        subject=t.subject or "",
        status=t.status.value,
        opened_on=_day(t.opened_on),
        closed_on=_day(t.closed_on),
        due_on=_day(v.due_on),
        paused=t.paused,
        urgency=v.urgency.value,
        remaining_workdays=v.remaining_workdays or 0,
        has_remaining=v.remaining_workdays is not None,
        citations=_cite(t.cite),
        version=t.version,
    )


def _page(size: int, token: str) -> tuple[int, int]:
    size = size or PAGE_DEFAULT
    if not 1 <= size <= PAGE_MAX:
        raise AppError(code="BAD_PAGE_SIZE", message="每页条数超出范围。", kind=ErrorKind.INVALID)
    try:
        return size, int(token or 0)
    except ValueError:
        raise AppError(code="BAD_PAGE_TOKEN", message="分页标记无效。", kind=ErrorKind.INVALID) from None


def _who() -> Principal:
    return current_grpc_principal()


# --------------------------------------------------------------------------------------------
# Servicers
# --------------------------------------------------------------------------------------------

Ctx = grpc.aio.ServicerContext


class ReviewCaseServicer(review_pb2_grpc.ReviewCaseServiceServicer):
    """Cases, formal review, opinions, plan decisions."""

    def __init__(self, deps: ReviewDeps) -> None:
        self._deps = deps

    async def GetCase(self, request: review_pb2.GetCaseRequest, context: Ctx) -> review_pb2.GetCaseResponse:
        if not request.id and not request.declaration_id:
            raise AppError(
                code="CASE_ID_REQUIRED", message="请提供案件编号或申报编号。", kind=ErrorKind.INVALID
            )
        case = await case_service.get_case(
            deps=self._deps,
            principal=_who(),
            case_id=request.id or None,
            declaration_id=request.declaration_id or None,
        )
        return review_pb2.GetCaseResponse(review_case=to_proto(case))

    async def ListCases(
        self, request: review_pb2.ListCasesRequest, context: Ctx
    ) -> review_pb2.ListCasesResponse:
        size, offset = _page(request.page_size, request.page_token)
        cases = await case_service.list_cases(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id or None,
            limit=size,
            offset=offset,
            status=request.status or None,
        )
        next_token = str(offset + size) if len(cases) == size else ""
        return review_pb2.ListCasesResponse(cases=[to_proto(c) for c in cases], next_page_token=next_token)

    async def GetChecklist(
        self, request: review_pb2.GetChecklistRequest, context: Ctx
    ) -> review_pb2.GetChecklistResponse:
        found = await case_service.get_checklist(deps=self._deps, principal=_who(), case_id=request.case_id)
        return review_pb2.GetChecklistResponse(
            stage=found.stage,
            complete=found.check.complete,
            items=_checklist_items([i.to_dict() for i in found.check.items]),
        )

    async def FormalReview(
        self, request: review_pb2.FormalReviewRequest, context: Ctx
    ) -> review_pb2.FormalReviewResponse:
        result = await case_service.formal_review(
            deps=self._deps,
            principal=_who(),
            case_id=request.case_id,
            expected_version=_version(request.version),
            notes=list(request.notes),
        )
        return review_pb2.FormalReviewResponse(
            review_case=to_proto(result.case), review=_formal(result.review)
        )

    async def ListFormalReviews(
        self, request: review_pb2.ListFormalReviewsRequest, context: Ctx
    ) -> review_pb2.ListFormalReviewsResponse:
        rows = await case_service.formal_reviews(deps=self._deps, principal=_who(), case_id=request.case_id)
        return review_pb2.ListFormalReviewsResponse(reviews=[_formal(r) for r in rows])

    async def ListOpinions(
        self, request: review_pb2.ListOpinionsRequest, context: Ctx
    ) -> review_pb2.ListOpinionsResponse:
        found = await opinion_service.list_opinions(
            deps=self._deps, principal=_who(), case_id=request.case_id
        )
        return review_pb2.ListOpinionsResponse(opinions=[_opinion(v) for v in found])

    async def GiveOpinion(
        self, request: review_pb2.GiveOpinionRequest, context: Ctx
    ) -> review_pb2.GiveOpinionResponse:
        view = await opinion_service.give_opinion(
            deps=self._deps,
            principal=_who(),
            opinion_id=request.opinion_id,
            expected_version=_version(request.version),
            verdict=_enum(Verdict, request.verdict, "verdict"),
            text=request.text,
        )
        return review_pb2.GiveOpinionResponse(opinion=_opinion(view))

    async def DecidePlan(
        self, request: review_pb2.DecidePlanRequest, context: Ctx
    ) -> review_pb2.DecidePlanResponse:
        result = await plan_service.decide_plan(
            deps=self._deps,
            principal=_who(),
            case_id=request.case_id,
            expected_version=_version(request.version),
            outcome=_enum(PlanOutcome, request.outcome, "outcome"),
            level=_enum(PlanLevel, request.level, "level") if request.level else None,
            budget=_optional_amount(request, "budget"),
            reason=request.reason,
            items=list(request.items),
        )
        return review_pb2.DecidePlanResponse(
            review_case=to_proto(result.case), decision=_decision(result.decision)
        )

    async def ListPlanDecisions(
        self, request: review_pb2.ListPlanDecisionsRequest, context: Ctx
    ) -> review_pb2.ListPlanDecisionsResponse:
        rows = await plan_service.plan_decisions(deps=self._deps, principal=_who(), case_id=request.case_id)
        return review_pb2.ListPlanDecisionsResponse(decisions=[_decision(r) for r in rows])


class ExpertServicer(experts_pb2_grpc.ExpertServiceServicer):
    """The expert library, draws and scoring."""

    def __init__(self, deps: ReviewDeps) -> None:
        self._deps = deps

    async def CreateExpert(
        self, request: experts_pb2.CreateExpertRequest, context: Ctx
    ) -> experts_pb2.ExpertResponse:
        expert = await expert_service.create_expert(
            deps=self._deps, principal=_who(), fields=_expert_fields(request.fields)
        )
        return experts_pb2.ExpertResponse(expert=_expert(expert))

    async def UpdateExpert(
        self, request: experts_pb2.UpdateExpertRequest, context: Ctx
    ) -> experts_pb2.ExpertResponse:
        expert = await expert_service.update_expert(
            deps=self._deps,
            principal=_who(),
            expert_id=request.id,
            expected_version=_version(request.version),
            fields=_expert_fields(request.fields),
        )
        return experts_pb2.ExpertResponse(expert=_expert(expert))

    async def ListExperts(
        self, request: experts_pb2.ListExpertsRequest, context: Ctx
    ) -> experts_pb2.ListExpertsResponse:
        found = await expert_service.list_experts(deps=self._deps, principal=_who())
        return experts_pb2.ListExpertsResponse(experts=[_expert(e) for e in found])

    async def DrawPanel(
        self, request: experts_pb2.DrawPanelRequest, context: Ctx
    ) -> experts_pb2.PanelResponse:
        panel = await expert_service.draw_panel(
            deps=self._deps,
            principal=_who(),
            case_id=request.case_id,
            size=request.size,
            seed=request.seed or None,
            specialty=request.specialty or None,
            bidders=list(request.bidders),
        )
        return _panel(panel)

    async def DrawExperts(
        self, request: experts_pb2.DrawExpertsRequest, context: Ctx
    ) -> experts_pb2.DrawExpertsResponse:
        drawn = await expert_service.draw_experts(
            deps=self._deps,
            principal=_who(),
            tenant_id=request.tenant_id,
            purpose=request.purpose,
            reference_id=request.reference_id,
            size=request.size,
            seed=request.seed or None,
            specialty=request.specialty or None,
            declaring_orgs=list(request.declaring_orgs),
            bidders=list(request.bidders),
            requested_by=request.requested_by,
        )
        return experts_pb2.DrawExpertsResponse(
            draw_id=drawn.draw_id,
            seed=drawn.seed,
            candidates=list(drawn.candidates),
            excluded=dict(drawn.excluded),
            drawn=[_expert(e) for e in drawn.drawn],
        )

    async def GetPanel(self, request: experts_pb2.GetPanelRequest, context: Ctx) -> experts_pb2.PanelResponse:
        return _panel(
            await expert_service.get_panel(deps=self._deps, principal=_who(), case_id=request.case_id)
        )

    async def DeclineMember(
        self, request: experts_pb2.DeclineMemberRequest, context: Ctx
    ) -> experts_pb2.PanelResponse:
        panel = await expert_service.decline_member(
            deps=self._deps,
            principal=_who(),
            member_id=request.member_id,
            expected_version=_version(request.version),
            reason=request.reason,
            seed=request.seed or None,
            bidders=list(request.bidders),
        )
        return _panel(panel)

    async def AcceptMember(
        self, request: experts_pb2.AcceptMemberRequest, context: Ctx
    ) -> experts_pb2.PanelResponse:
        panel = await expert_service.accept_member(
            deps=self._deps,
            principal=_who(),
            member_id=request.member_id,
            expected_version=_version(request.version),
        )
        return _panel(panel)

    async def ReplayDraw(
        self, request: experts_pb2.ReplayDrawRequest, context: Ctx
    ) -> experts_pb2.ReplayDrawResponse:
        replay = await expert_service.replay_draw(deps=self._deps, principal=_who(), draw_id=request.draw_id)
        return experts_pb2.ReplayDrawResponse(
            draw=_draw(replay.draw), replayed=list(replay.replayed), matches=replay.matches
        )

    async def GetScoringSheet(
        self, request: experts_pb2.GetScoringSheetRequest, context: Ctx
    ) -> experts_pb2.GetScoringSheetResponse:
        stage, criteria = await expert_service.scoring_sheet(
            deps=self._deps, principal=_who(), case_id=request.case_id
        )
        return experts_pb2.GetScoringSheetResponse(
            stage=stage,
            criteria=[
                experts_pb2.Criterion(code=c.code, label_zh=c.label_zh, citations=list(c.cite))
                for c in criteria
            ],
            max_score_per_criterion=str(SCORE_MAX),
        )

    async def SubmitScores(
        self, request: experts_pb2.SubmitScoresRequest, context: Ctx
    ) -> experts_pb2.SubmitScoresResponse:
        sheet = await expert_service.submit_scores(
            deps=self._deps,
            principal=_who(),
            case_id=request.case_id,
            scores=dict(request.scores),
            comments=dict(request.comments),
            overall_comment=request.overall_comment,
        )
        return experts_pb2.SubmitScoresResponse(sheet=_sheet(sheet))

    async def GetPanelSummary(
        self, request: experts_pb2.GetPanelSummaryRequest, context: Ctx
    ) -> experts_pb2.GetPanelSummaryResponse:
        stage, summary, sheets = await expert_service.panel_summary(
            deps=self._deps, principal=_who(), case_id=request.case_id
        )
        return experts_pb2.GetPanelSummaryResponse(
            stage=stage,
            criteria=[
                experts_pb2.CriterionSummary(
                    code=c.code,
                    label_zh=c.label_zh,
                    mean=str(c.mean) if c.mean is not None else "",
                    minimum=str(c.minimum) if c.minimum is not None else "",
                    maximum=str(c.maximum) if c.maximum is not None else "",
                )
                for c in summary.criteria
            ],
            sheets=summary.sheets,
            expected=summary.expected,
            mean_total=str(summary.mean_total) if summary.mean_total is not None else "",
            max_total=str(summary.max_total),
            complete=summary.complete,
            comments=list(summary.comments),
            sheet_list=[_sheet(s) for s in sheets],
        )


class PlanServicer(plan_pb2_grpc.PlanServiceServicer):
    """Annual plans."""

    def __init__(self, deps: ReviewDeps) -> None:
        self._deps = deps

    async def CompilePlan(self, request: plan_pb2.CompilePlanRequest, context: Ctx) -> plan_pb2.PlanResponse:
        return plan_pb2.PlanResponse(
            plan=_plan(await plan_service.compile_plan(deps=self._deps, principal=_who(), year=request.year))
        )

    async def PublishPlan(self, request: plan_pb2.PublishPlanRequest, context: Ctx) -> plan_pb2.PlanResponse:
        view = await plan_service.publish_plan(
            deps=self._deps,
            principal=_who(),
            plan_id=request.plan_id,
            expected_version=_version(request.version),
        )
        return plan_pb2.PlanResponse(plan=_plan(view))

    async def GetPlan(self, request: plan_pb2.GetPlanRequest, context: Ctx) -> plan_pb2.PlanResponse:
        view = await plan_service.get_plan(
            deps=self._deps, principal=_who(), plan_id=request.plan_id or None, year=request.year or None
        )
        return plan_pb2.PlanResponse(plan=_plan(view))

    async def ListPlans(self, request: plan_pb2.ListPlansRequest, context: Ctx) -> plan_pb2.ListPlansResponse:
        return plan_pb2.ListPlansResponse(
            plans=[_plan(v) for v in await plan_service.list_plans(deps=self._deps, principal=_who())]
        )

    async def ExportPlan(
        self, request: plan_pb2.ExportPlanRequest, context: Ctx
    ) -> plan_pb2.ExportPlanResponse:
        exported = await plan_service.export_plan(deps=self._deps, principal=_who(), plan_id=request.plan_id)
        return plan_pb2.ExportPlanResponse(
            filename=exported.filename, content_type=exported.content_type, content=exported.content
        )

    async def ExtendPlanEntry(
        self, request: plan_pb2.ExtendPlanEntryRequest, context: Ctx
    ) -> plan_pb2.ExtendPlanEntryResponse:
        entry = await plan_service.extend_entry(
            deps=self._deps,
            principal=_who(),
            entry_id=request.entry_id,
            expected_version=_version(request.version),
            months=request.months,
            reason=request.reason,
        )
        return plan_pb2.ExtendPlanEntryResponse(entry=_entry(entry))


class ApprovalServicer(approval_pb2_grpc.ApprovalServiceServicer):
    """Approval review, approvals, changes."""

    def __init__(self, deps: ReviewDeps) -> None:
        self._deps = deps

    async def SubmitApplication(
        self, request: approval_pb2.SubmitApplicationRequest, context: Ctx
    ) -> approval_pb2.ApplicationResponse:
        sign_off = None
        if request.HasField("sign_off"):
            s = request.sign_off
            sign_off = {
                "approved_by": s.approved_by,
                "reference": s.reference,
                "signed_on": s.signed_on,
                "funds_secured": s.funds_secured,
            }
        result = await approval_service.submit_application(
            deps=self._deps,
            principal=_who(),
            case_id=request.case_id,
            expected_version=_version(request.version),
            materials=_materials(request.materials),
            sign_off=sign_off,
        )
        return _application_response(result)

    async def ResubmitApplication(
        self, request: approval_pb2.SubmitApplicationRequest, context: Ctx
    ) -> approval_pb2.ApplicationResponse:
        result = await approval_service.resubmit_application(
            deps=self._deps,
            principal=_who(),
            case_id=request.case_id,
            expected_version=_version(request.version),
            materials=_materials(request.materials),
        )
        return _application_response(result)

    async def ListApplications(
        self, request: approval_pb2.ListApplicationsRequest, context: Ctx
    ) -> approval_pb2.ListApplicationsResponse:
        found = await approval_service.list_applications(
            deps=self._deps, principal=_who(), case_id=request.case_id
        )
        return approval_pb2.ListApplicationsResponse(applications=[_application(v) for v in found])

    async def ConcludeReview(
        self, request: approval_pb2.ConcludeReviewRequest, context: Ctx
    ) -> approval_pb2.ApplicationResponse:
        result = await approval_service.conclude_review(
            deps=self._deps,
            principal=_who(),
            case_id=request.case_id,
            expected_version=_version(request.version),
            passed=request.passed,
            comments=request.comments,
            items=list(request.items),
        )
        return _application_response(result)

    async def RecordStep(
        self, request: approval_pb2.RecordStepRequest, context: Ctx
    ) -> approval_pb2.RecordStepResponse:
        step = await approval_service.record_step(
            deps=self._deps,
            principal=_who(),
            step_id=request.step_id,
            expected_version=_version(request.version),
            reference=request.reference,
        )
        return approval_pb2.RecordStepResponse(step=_step(step))

    async def GrantApproval(
        self, request: approval_pb2.GrantApprovalRequest, context: Ctx
    ) -> approval_pb2.ApprovalResponse:
        approval = await approval_service.grant_approval(
            deps=self._deps,
            principal=_who(),
            case_id=request.case_id,
            expected_version=_version(request.version),
            approved_amount=_amount(request.approved_amount, "approved_amount"),
            conditions=list(request.conditions),
            content=request.content,
        )
        return approval_pb2.ApprovalResponse(approval=_approval(approval))

    async def RejectCase(
        self, request: approval_pb2.RejectCaseRequest, context: Ctx
    ) -> approval_pb2.RejectCaseResponse:
        case = await approval_service.reject_case(
            deps=self._deps,
            principal=_who(),
            case_id=request.case_id,
            expected_version=_version(request.version),
            reason=request.reason,
        )
        return approval_pb2.RejectCaseResponse(review_case=to_proto(case))

    async def GetApproval(
        self, request: approval_pb2.GetApprovalRequest, context: Ctx
    ) -> approval_pb2.ApprovalResponse:
        if not request.approval_id and not request.case_id:
            raise AppError(
                code="APPROVAL_ID_REQUIRED", message="请提供批复编号或案件编号。", kind=ErrorKind.INVALID
            )
        approval = await approval_service.get_approval(
            deps=self._deps,
            principal=_who(),
            approval_id=request.approval_id or None,
            case_id=request.case_id or None,
        )
        return approval_pb2.ApprovalResponse(approval=_approval(approval))

    async def ListApprovals(
        self, request: approval_pb2.ListApprovalsRequest, context: Ctx
    ) -> approval_pb2.ListApprovalsResponse:
        size, offset = _page(request.page_size, request.page_token)
        found = await approval_service.list_approvals(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id or None,
            limit=size,
            offset=offset,
        )
        next_token = str(offset + size) if len(found) == size else ""
        return approval_pb2.ListApprovalsResponse(
            approvals=[_approval(a) for a in found], next_page_token=next_token
        )

    async def GetApprovalDocument(
        self, request: approval_pb2.GetApprovalDocumentRequest, context: Ctx
    ) -> approval_pb2.GetApprovalDocumentResponse:
        found = await approval_service.approval_document(
            deps=self._deps, principal=_who(), approval_id=request.approval_id
        )
        return approval_pb2.GetApprovalDocumentResponse(
            filename=found.filename,
            content_type=found.content_type,
            content=found.content,
            sha256=found.sha256,
        )

    async def ListBaselines(
        self, request: approval_pb2.ListBaselinesRequest, context: Ctx
    ) -> approval_pb2.ListBaselinesResponse:
        found = await approval_service.baselines(
            deps=self._deps, principal=_who(), approval_id=request.approval_id
        )
        return approval_pb2.ListBaselinesResponse(baselines=[_baseline(b) for b in found])

    async def RequestChange(
        self, request: approval_pb2.RequestChangeRequest, context: Ctx
    ) -> approval_pb2.ChangeResponse:
        change = await change_service.request_change(
            deps=self._deps,
            principal=_who(),
            approval_id=request.approval_id,
            case_version=_version(request.case_version),
            kind=_enum(ChangeKind, request.kind, "kind"),
            description=request.description,
            new_amount=_optional_amount(request, "new_amount"),
            new_content=request.new_content,
            major_content_change=request.major_content_change,
        )
        return approval_pb2.ChangeResponse(change=_change(change))

    async def DecideChange(
        self, request: approval_pb2.DecideChangeRequest, context: Ctx
    ) -> approval_pb2.ChangeResponse:
        change = await change_service.decide_change(
            deps=self._deps,
            principal=_who(),
            change_id=request.change_id,
            case_version=_version(request.case_version),
            approve=request.approve,
            reason=request.reason,
        )
        return approval_pb2.ChangeResponse(change=_change(change))

    async def ListChanges(
        self, request: approval_pb2.ListChangesRequest, context: Ctx
    ) -> approval_pb2.ListChangesResponse:
        found = await change_service.list_changes(
            deps=self._deps, principal=_who(), approval_id=request.approval_id
        )
        return approval_pb2.ListChangesResponse(changes=[_change(c) for c in found])


class TaskServicer(tasks_pb2_grpc.TaskServiceServicer):
    """SLA work lists, reassignment, reminders and the sweep."""

    def __init__(self, deps: ReviewDeps) -> None:
        self._deps = deps

    async def ListMyTasks(
        self, request: tasks_pb2.ListMyTasksRequest, context: Ctx
    ) -> tasks_pb2.ListTasksResponse:
        urgency = [_enum(Urgency, u, "urgency") for u in request.urgency]
        found = await task_service.my_tasks(
            deps=self._deps, principal=_who(), urgency=urgency or None, role=request.role or None
        )
        return tasks_pb2.ListTasksResponse(tasks=[_task(v) for v in found])

    async def ListCaseTasks(
        self, request: tasks_pb2.ListCaseTasksRequest, context: Ctx
    ) -> tasks_pb2.ListTasksResponse:
        found = await task_service.case_tasks(deps=self._deps, principal=_who(), case_id=request.case_id)
        return tasks_pb2.ListTasksResponse(tasks=[_task(v) for v in found])

    async def ReassignTask(
        self, request: tasks_pb2.ReassignTaskRequest, context: Ctx
    ) -> tasks_pb2.TaskResponse:
        view = await task_service.reassign(
            deps=self._deps,
            principal=_who(),
            task_id=request.task_id,
            to_user=request.to_user,
            expected_version=_version(request.version),
        )
        return tasks_pb2.TaskResponse(task=_task(view))

    async def ListNotifications(
        self, request: tasks_pb2.ListNotificationsRequest, context: Ctx
    ) -> tasks_pb2.ListNotificationsResponse:
        limit = request.limit or PAGE_DEFAULT
        if not 1 <= limit <= PAGE_MAX:
            raise AppError(code="BAD_PAGE_SIZE", message="每页条数超出范围。", kind=ErrorKind.INVALID)
        rows = await task_service.my_notifications(deps=self._deps, principal=_who(), limit=limit)
        return tasks_pb2.ListNotificationsResponse(
            notifications=[
                tasks_pb2.Notification(
                    id=str(r.id),
                    task_id=str(r.task_id),
                    case_id=str(r.case_id),
                    kind=r.kind,
                    due_on=_day(r.due_on),
                    subject=r.subject,
                    body=r.body,
                    created_at=_day(r.created_at),
                    read_at=_day(r.read_at),
                    emailed_at=_day(r.emailed_at),
                )
                for r in rows
            ]
        )

    async def MarkNotificationRead(
        self, request: tasks_pb2.MarkNotificationReadRequest, context: Ctx
    ) -> tasks_pb2.MarkNotificationReadResponse:
        await task_service.mark_notification_read(
            deps=self._deps, principal=_who(), notification_id=request.notification_id
        )
        return tasks_pb2.MarkNotificationReadResponse()

    async def RunSweep(self, request: tasks_pb2.RunSweepRequest, context: Ctx) -> tasks_pb2.RunSweepResponse:
        report = await sweep_service.run_sweep_now(deps=self._deps, principal=_who())
        return tasks_pb2.RunSweepResponse(**report.__dict__)


def servicers(deps: ReviewDeps) -> list[tuple[Any, Any]]:
    """(registrar, servicer) pairs for the gRPC server."""
    return [
        (review_pb2_grpc.add_ReviewCaseServiceServicer_to_server, ReviewCaseServicer(deps)),
        (experts_pb2_grpc.add_ExpertServiceServicer_to_server, ExpertServicer(deps)),
        (plan_pb2_grpc.add_PlanServiceServicer_to_server, PlanServicer(deps)),
        (approval_pb2_grpc.add_ApprovalServiceServicer_to_server, ApprovalServicer(deps)),
        (tasks_pb2_grpc.add_TaskServiceServicer_to_server, TaskServicer(deps)),
    ]
