"""evaluation's gRPC API (package govproj.evaluation.v1): the discredited list, rectification
orders, evaluations, O&M funding, self-checks and closures, the portfolio.

Thin adapters from the generated messages to the same use cases as REST; errors are AppErrors
that govkit's server interceptor turns into statuses with the platform's error body.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc

from evaluation.domain.closure import Action, ClosureRequest
from evaluation.domain.discredited import DiscreditedEntry, Scope, SubjectKind
from evaluation.domain.evaluation import Evaluation, Kind
from evaluation.domain.om_funding import Declared, OmRequest
from evaluation.domain.portfolio import ProjectFilter, ProjectRow, Stage, overdue_items
from evaluation.domain.rectification import RectificationOrder
from evaluation.domain.scoring import ScoreInput
from evaluation.service import EvaluationDeps
from evaluation.service import closure as closure_service
from evaluation.service import discredited as discredited_service
from evaluation.service import evaluations as evaluation_service
from evaluation.service import om_funding as om_service
from evaluation.service import portfolio as portfolio_service
from evaluation.service import rectification as rectification_service
from evaluation.service import sweep as sweep_service
from govkit.auth import Principal, current_grpc_principal
from govkit.errors import AppError, ErrorKind, invalid_field
from govkit.grpckit.fields import optional_date, required_date
from govproj.common.v1 import common_pb2
from govproj.evaluation.v1 import evaluation_pb2 as pb
from govproj.evaluation.v1 import evaluation_pb2_grpc as rpc

SERVICE_NAMES = [
    "govproj.evaluation.v1.DiscreditedService",
    "govproj.evaluation.v1.RectificationService",
    "govproj.evaluation.v1.EvaluationService",
    "govproj.evaluation.v1.OmFundingService",
    "govproj.evaluation.v1.ClosureService",
    "govproj.evaluation.v1.PortfolioService",
]
PAGE_MAX = 200
PAGE_DEFAULT = 50
_NAME_FILTER_MAX = 100
SCORE_MAX = Decimal(100)
_TWO_PLACES = -2
Ctx = grpc.aio.ServicerContext


def _who() -> Principal:
    return current_grpc_principal()


def _decimal(text: str, field: str, *, low: Decimal, high: Decimal | None = None) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise invalid_field(field, "请填写有效的数值") from None
    exponent = value.as_tuple().exponent
    if not value.is_finite() or value < low or (high is not None and value > high):
        raise invalid_field(field, "数值超出范围")
    if isinstance(exponent, int) and exponent < _TWO_PLACES:
        raise invalid_field(field, "最多两位小数")
    return value


def _enum(enum: Any, value: str, field: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise invalid_field(field, f"取值应为 {', '.join(e.value for e in enum)}") from None


def _version(value: int) -> int:
    if value < 1:
        raise invalid_field("version", "请提供读取时的版本号")
    return value


def _cite(refs: Sequence[str]) -> list[common_pb2.Citation]:
    return [common_pb2.Citation(ref=r) for r in refs]


def _day(value: date | datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _money(value: Decimal | None) -> common_pb2.Money | None:
    return common_pb2.Money(amount=str(value)) if value is not None else None


# --- conversions ------------------------------------------------------------------------------


def _entry(e: DiscreditedEntry, today: date) -> pb.DiscreditedEntry:
    return pb.DiscreditedEntry(
        id=e.id,
        scope=e.scope.value,
        subject_kind=e.subject_kind.value,
        credit_code=e.credit_code,
        expert_id=e.expert_id,
        name=e.name,
        grounds=e.grounds,
        period_from=_day(e.period_from),
        period_until=_day(e.period_until),
        active_today=e.active_on(today),
        listed_by=e.listed_by,
        listed_at=_day(e.listed_at),
        removed_at=_day(e.removed_at),
        removal_reason=e.removal_reason,
        citations=_cite(e.cite),
        version=e.version,
    )


def _order(o: RectificationOrder) -> pb.RectificationOrder:
    return pb.RectificationOrder(
        id=o.id,
        declaration_id=o.declaration_id,
        project_code=o.project_code,
        org_id=o.org_id,
        stage=o.stage,
        owner=o.owner,
        items=list(o.items),
        grounds=o.grounds,
        due_on=_day(o.due_on),
        status=o.status.value,
        escalated_on=_day(o.escalated_on),
        resolution=o.resolution,
        citations=_cite(sorted({*o.cite, *o.escalation_cite})),
        version=o.version,
    )


def _evaluation(e: Evaluation) -> pb.Evaluation:
    return pb.Evaluation(
        id=e.id,
        declaration_id=e.declaration_id,
        project_code=e.project_code,
        org_id=e.org_id,
        kind=e.kind.value,
        status=e.status.value,
        evaluator=e.evaluator,
        started_on=_day(e.started_on),
        due_on=_day(e.due_on),
        late=e.late,
        indicators=[
            pb.Indicator(
                code=s.code,
                label_zh=s.label_zh,
                weight=str(s.weight),
                target=s.target,
                actual=s.actual,
                score=str(s.score),
                evidence_sha256=list(s.evidence),
            )
            for s in e.indicators
        ],
        total_score=str(e.total_score) if e.total_score is not None else "",
        grade=e.grade,
        completed_on=_day(e.completed_on),
        report_sha256=e.report_sha256,
        summary=e.summary,
        pack=e.pack_id,
        citations=_cite(e.cite),
        version=e.version,
    )


def _om(r: OmRequest) -> pb.OmRequest:
    return pb.OmRequest(
        id=r.id,
        declaration_id=r.declaration_id,
        project_code=r.project_code,
        org_id=r.org_id,
        budget_year=r.budget_year,
        amount=_money(r.amount),
        free_maintenance_ends_on=_day(r.free_maintenance_ends_on),
        deadline=_day(r.deadline),
        evaluation_id=r.evaluation_id or "",
        outcome=r.outcome.value,
        refusals=[pb.Refusal(code=x.code, message=x.message, citations=_cite(x.cite)) for x in r.refusals],
        citations=_cite(r.cite),
        decided_on=_day(r.decided_on),
        version=r.version,
    )


def _closure(c: ClosureRequest) -> pb.Closure:
    return pb.Closure(
        id=c.id,
        declaration_id=c.declaration_id,
        org_id=c.org_id,
        action=c.action.value,
        reason=c.reason,
        status=c.status.value,
        self_check_id=c.self_check_id or "",
        decided_by=c.decided_by or "",
        decided_on=_day(c.decided_on),
        decision_reason=c.decision_reason,
        citations=_cite(c.cite),
        version=c.version,
    )


def _project(r: ProjectRow, today: date) -> pb.Project:
    return pb.Project(
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
        declared_amount=_money(r.declared_amount),
        planned_amount=_money(r.planned_amount),
        approved_amount=_money(r.approved_amount),
        contracted_amount=_money(r.contracted_amount),
        paid_amount=_money(r.paid_amount),
        submitted_on=_day(r.submitted_on),
        approved_on=_day(r.approved_on),
        contracted_on=_day(r.contracted_on),
        accepted_on=_day(r.accepted_on),
        self_evaluation_opens_on=_day(r.self_evaluation_opens_on),
        self_evaluation_closes_on=_day(r.self_evaluation_closes_on),
        grade=r.grade,
        suspended=r.suspended,
        flags=list(r.flags),
        overdue=overdue_items(r, today=today),
    )


# --- servicers --------------------------------------------------------------------------------


class DiscreditedServicer(rpc.DiscreditedServiceServicer):
    """The discredited list."""

    def __init__(self, deps: EvaluationDeps) -> None:
        self._deps = deps

    async def AddEntry(self, request: pb.AddEntryRequest, context: Ctx) -> pb.EntryResponse:
        fields = discredited_service.EntryCreate(
            scope=_enum(Scope, request.scope or Scope.TENANT.value, "scope"),
            subject_kind=_enum(SubjectKind, request.subject_kind, "subject_kind"),
            credit_code=request.credit_code.strip(),
            expert_id=request.expert_id.strip(),
            name=request.name.strip(),
            grounds=request.grounds.strip(),
            period_from=required_date(request.period_from, "period_from"),
            period_until=optional_date(request.period_until, "period_until"),
        )
        if not fields.name:
            raise invalid_field("name", "请填写名称")
        entry = await discredited_service.add_entry(deps=self._deps, principal=_who(), fields=fields)
        return pb.EntryResponse(entry=_entry(entry, self._deps.today()))

    async def RemoveEntry(self, request: pb.RemoveEntryRequest, context: Ctx) -> pb.EntryResponse:
        entry = await discredited_service.remove_entry(
            deps=self._deps,
            principal=_who(),
            entry_id=request.id,
            expected_version=_version(request.version),
            reason=request.reason.strip(),
        )
        return pb.EntryResponse(entry=_entry(entry, self._deps.today()))

    async def ListEntries(self, request: pb.ListEntriesRequest, context: Ctx) -> pb.EntriesResponse:
        found = await discredited_service.list_entries(
            deps=self._deps, principal=_who(), include_removed=request.include_removed
        )
        return pb.EntriesResponse(entries=[_entry(e, self._deps.today()) for e in found])

    async def CheckSubject(self, request: pb.CheckSubjectRequest, context: Ctx) -> pb.EntriesResponse:
        if not request.credit_code and not request.expert_id:
            raise AppError(code="SUBJECT_REQUIRED", message="请提供统一社会信用代码或专家编号。")
        found = await discredited_service.check(
            deps=self._deps,
            principal=_who(),
            credit_code=request.credit_code or None,
            expert_id=request.expert_id or None,
            on=optional_date(request.on, "on"),
        )
        return pb.EntriesResponse(entries=[_entry(e, self._deps.today()) for e in found])


class RectificationServicer(rpc.RectificationServiceServicer):
    """Rectification orders and their escalation."""

    def __init__(self, deps: EvaluationDeps) -> None:
        self._deps = deps

    async def IssueOrder(self, request: pb.IssueOrderRequest, context: Ctx) -> pb.OrderResponse:
        if not request.declaration_id:
            raise invalid_field("declaration_id", "请填写项目")
        fields = rectification_service.OrderCreate(
            declaration_id=request.declaration_id,
            stage=request.stage,
            owner=request.owner.strip(),
            items=tuple(i.strip() for i in request.items),
            grounds=request.grounds.strip(),
            due_on=required_date(request.due_on, "due_on"),
        )
        if not fields.grounds:
            raise invalid_field("grounds", "请填写整改依据")
        order = await rectification_service.issue_order(deps=self._deps, principal=_who(), fields=fields)
        return pb.OrderResponse(order=_order(order))

    async def ResolveOrder(self, request: pb.ResolveOrderRequest, context: Ctx) -> pb.OrderResponse:
        order = await rectification_service.resolve_order(
            deps=self._deps,
            principal=_who(),
            order_id=request.id,
            expected_version=_version(request.version),
            resolution=request.resolution.strip(),
        )
        return pb.OrderResponse(order=_order(order))

    async def GetOrder(self, request: pb.GetOrderRequest, context: Ctx) -> pb.OrderResponse:
        order = await rectification_service.get_order(deps=self._deps, principal=_who(), order_id=request.id)
        return pb.OrderResponse(order=_order(order))

    async def ListOrders(self, request: pb.ListOrdersRequest, context: Ctx) -> pb.OrdersResponse:
        found = await rectification_service.list_orders(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id or None,
            status=request.status or None,
        )
        return pb.OrdersResponse(orders=[_order(o) for o in found])

    async def RunSweep(self, request: pb.RunSweepRequest, context: Ctx) -> pb.RunSweepResponse:
        return pb.RunSweepResponse(
            escalated=await sweep_service.run_sweep_now(deps=self._deps, principal=_who())
        )


class EvaluationServicer(rpc.EvaluationServiceServicer):
    """Evaluations and the self-evaluation lists."""

    def __init__(self, deps: EvaluationDeps, max_upload_bytes: int) -> None:
        self._deps = deps
        self._max_upload_bytes = max_upload_bytes

    async def StartEvaluation(
        self, request: pb.StartEvaluationRequest, context: Ctx
    ) -> pb.EvaluationResponse:
        if not request.declaration_id:
            raise invalid_field("declaration_id", "请填写项目")
        fields = evaluation_service.EvaluationStart(
            declaration_id=request.declaration_id,
            kind=_enum(Kind, request.kind, "kind"),
            evaluator_org=request.evaluator_org.strip(),
        )
        found = await evaluation_service.start_evaluation(deps=self._deps, principal=_who(), fields=fields)
        return pb.EvaluationResponse(evaluation=_evaluation(found))

    async def UploadEvidence(
        self, request: pb.UploadEvidenceRequest, context: Ctx
    ) -> pb.UploadEvidenceResponse:
        stored = await evaluation_service.upload_evidence(
            deps=self._deps,
            principal=_who(),
            evaluation_id=request.evaluation_id,
            filename=request.filename,
            content_type=request.content_type,
            data=request.content,
            max_bytes=self._max_upload_bytes,
        )
        return pb.UploadEvidenceResponse(
            id=stored["id"], sha256=stored["sha256"], size=stored["size"], content_type=stored["content_type"]
        )

    async def CompleteEvaluation(
        self, request: pb.CompleteEvaluationRequest, context: Ctx
    ) -> pb.EvaluationResponse:
        scores = [
            ScoreInput(
                code=i.code,
                label_zh=i.label_zh,
                target=i.target,
                actual=i.actual.strip(),
                score=_decimal(i.score, f"indicators[{n}].score", low=Decimal(0), high=SCORE_MAX),
                evidence=tuple(i.evidence_sha256),
            )
            for n, i in enumerate(request.indicators)
        ]
        found = await evaluation_service.complete_evaluation(
            deps=self._deps,
            principal=_who(),
            evaluation_id=request.id,
            expected_version=_version(request.version),
            scores=scores,
            report_sha256=request.report_sha256,
            summary=request.summary,
        )
        return pb.EvaluationResponse(evaluation=_evaluation(found))

    async def GetEvaluation(self, request: pb.GetEvaluationRequest, context: Ctx) -> pb.EvaluationResponse:
        found, sheet = await evaluation_service.scoring_sheet(
            deps=self._deps, principal=_who(), evaluation_id=request.id
        )
        message = _evaluation(found)
        # Unscored: target, weight and label only (actual and score are the evaluator's to enter).
        message.sheet.extend(
            pb.Indicator(code=s.code, label_zh=s.label_zh, weight=str(s.weight), target=s.target)
            for s in sheet
        )
        return pb.EvaluationResponse(evaluation=message)

    async def ListEvaluations(
        self, request: pb.ListEvaluationsRequest, context: Ctx
    ) -> pb.EvaluationsResponse:
        kind = _enum(Kind, request.kind, "kind").value if request.kind else None
        found = await evaluation_service.list_evaluations(
            deps=self._deps, principal=_who(), kind=kind, declaration_id=request.declaration_id or None
        )
        return pb.EvaluationsResponse(evaluations=[_evaluation(e) for e in found])

    async def ListSelfEvaluations(
        self, request: pb.ListSelfEvaluationsRequest, context: Ctx
    ) -> pb.ListSelfEvaluationsResponse:
        rows = await evaluation_service.self_evaluation_lists(
            deps=self._deps, principal=_who(), org_id=request.org_id or None
        )
        return pb.ListSelfEvaluationsResponse(
            items=[
                pb.SelfEvaluationWindow(
                    declaration_id=r.project.declaration_id,
                    name=r.project.name,
                    org_id=r.project.org_id,
                    accepted_on=_day(r.project.accepted_on),
                    opens_on=_day(r.window.opens_on if r.window else None),
                    closes_on=_day(r.window.closes_on if r.window else None),
                    state=r.state.value,
                    citations=_cite(r.window.cite if r.window else ()),
                )
                for r in rows
                if not request.state or r.state.value == request.state
            ]
        )


class OmFundingServicer(rpc.OmFundingServiceServicer):
    """O&M funding requests."""

    def __init__(self, deps: EvaluationDeps) -> None:
        self._deps = deps

    async def FileRequest(self, request: pb.FileOmRequestRequest, context: Ctx) -> pb.OmRequestResponse:
        if not request.declaration_id:
            raise invalid_field("declaration_id", "请填写项目")
        amount = _decimal(request.amount.amount, "amount", low=Decimal("0.01"))
        fields = om_service.OmRequestCreate(
            declaration_id=request.declaration_id,
            budget_year=request.budget_year,
            amount=amount,
            free_maintenance_ends_on=required_date(
                request.free_maintenance_ends_on, "free_maintenance_ends_on"
            ),
            declared=Declared(
                data_shared=request.data_shared,
                in_resource_catalog=request.in_resource_catalog,
                security_compliant=request.security_compliant,
                crypto_compliant=request.crypto_compliant,
            ),
            evaluation_id=request.evaluation_id or None,
        )
        found = await om_service.file_request(deps=self._deps, principal=_who(), fields=fields)
        return pb.OmRequestResponse(request=_om(found))

    async def GetRequest(self, request: pb.GetOmRequestRequest, context: Ctx) -> pb.OmRequestResponse:
        found = await om_service.get_request(deps=self._deps, principal=_who(), request_id=request.id)
        return pb.OmRequestResponse(request=_om(found))

    async def ListRequests(self, request: pb.ListOmRequestsRequest, context: Ctx) -> pb.OmRequestsResponse:
        found = await om_service.list_requests(deps=self._deps, principal=_who())
        return pb.OmRequestsResponse(requests=[_om(r) for r in found])


class ClosureServicer(rpc.ClosureServiceServicer):
    """Self-checks and 关停并转 requests."""

    def __init__(self, deps: EvaluationDeps) -> None:
        self._deps = deps

    async def RecordSelfCheck(self, request: pb.RecordSelfCheckRequest, context: Ctx) -> pb.SelfCheckResponse:
        check = await closure_service.record_self_check(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id,
            compliant=request.compliant,
            findings=tuple(f.strip() for f in request.findings if f.strip()),
        )
        return pb.SelfCheckResponse(
            id=check.id,
            declaration_id=check.declaration_id,
            checked_on=_day(check.checked_on),
            compliant=check.compliant,
            findings=list(check.findings),
            citations=_cite(check.cite),
        )

    async def RequestClosure(self, request: pb.RequestClosureRequest, context: Ctx) -> pb.ClosureResponse:
        found = await closure_service.request_closure(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id,
            action=_enum(Action, request.action, "action"),
            reason=request.reason.strip(),
            self_check_id=request.self_check_id or None,
        )
        return pb.ClosureResponse(closure=_closure(found))

    async def DecideClosure(self, request: pb.DecideClosureRequest, context: Ctx) -> pb.ClosureResponse:
        found = await closure_service.decide_closure(
            deps=self._deps,
            principal=_who(),
            request_id=request.id,
            expected_version=_version(request.version),
            approve=request.approve,
            reason=request.reason.strip(),
        )
        return pb.ClosureResponse(closure=_closure(found))

    async def ListClosures(self, request: pb.ListClosuresRequest, context: Ctx) -> pb.ClosuresResponse:
        found = await closure_service.list_closures(deps=self._deps, principal=_who())
        return pb.ClosuresResponse(closures=[_closure(c) for c in found])


_YEARS = (2000, 2100)


def _project_filter(request: pb.ListProjectsRequest) -> ProjectFilter:
    """The list's filters, each checked (a bad one is INVALID with its field)."""
    if request.year and not _YEARS[0] <= request.year <= _YEARS[1]:
        raise invalid_field("year", "年度超出范围")
    low = (
        _decimal(request.amount_min.amount, "amount_min", low=Decimal(0))
        if request.amount_min.amount
        else None
    )
    high = (
        _decimal(request.amount_max.amount, "amount_max", low=Decimal(0))
        if request.amount_max.amount
        else None
    )
    if low is not None and high is not None and high < low:
        raise invalid_field("amount_max", "金额上限不能小于下限")
    if len(request.name_contains) > _NAME_FILTER_MAX:
        raise invalid_field("name_contains", "项目名称关键词过长")
    return ProjectFilter(
        year=request.year or None,
        stage=_enum(Stage, request.stage, "stage").value if request.stage else None,
        org_id=request.org_id.strip() or None,
        flagged=request.flagged,
        category=request.category.strip() or None,
        amount_min=low,
        amount_max=high,
        name_contains=request.name_contains.strip() or None,
    )


def _timing(stats: portfolio_service.TimingStats | None) -> pb.TimingStats:
    if stats is None or not stats.projects:
        return pb.TimingStats()
    return pb.TimingStats(
        projects=stats.projects,
        mean_workdays=stats.mean or 0.0,
        median_workdays=stats.median or 0,
        max_workdays=stats.maximum or 0,
    )


class PortfolioServicer(rpc.PortfolioServiceServicer):
    """The portfolio and its reports."""

    def __init__(self, deps: EvaluationDeps) -> None:
        self._deps = deps

    async def GetProject(self, request: pb.GetProjectRequest, context: Ctx) -> pb.ProjectResponse:
        row = await portfolio_service.get_project(
            deps=self._deps, principal=_who(), declaration_id=request.declaration_id
        )
        return pb.ProjectResponse(project=_project(row, self._deps.today()))

    async def ListProjects(self, request: pb.ListProjectsRequest, context: Ctx) -> pb.ProjectsResponse:
        limit = request.limit or PAGE_DEFAULT
        if not 1 <= limit <= PAGE_MAX or request.offset < 0:
            raise AppError(code="BAD_PAGE_SIZE", message="每页条数超出范围。", kind=ErrorKind.INVALID)
        filters = _project_filter(request)
        rows, total = await portfolio_service.list_projects(
            deps=self._deps,
            principal=_who(),
            tenant_id=request.tenant_id.strip() or None,
            filters=filters,
            overdue=request.overdue,
            limit=limit,
            offset=request.offset,
        )
        today = self._deps.today()
        return pb.ProjectsResponse(projects=[_project(r, today) for r in rows], total=total)

    async def Timings(self, request: pb.TimingsRequest, context: Ctx) -> pb.TimingsResponse:
        if request.year and not _YEARS[0] <= request.year <= _YEARS[1]:
            raise invalid_field("year", "年度超出范围")
        report = await portfolio_service.timing_report(
            deps=self._deps, principal=_who(), year=request.year or None
        )

        def row(key: str) -> pb.TimingRow:
            found = report.get(key, {})
            return pb.TimingRow(
                key=key,
                approval=_timing(found.get("approval")),
                acceptance=_timing(found.get("acceptance")),
            )

        return pb.TimingsResponse(overall=row(""), by_year=[row(k) for k in sorted(report) if k])

    async def Dashboard(self, request: pb.DashboardRequest, context: Ctx) -> pb.DashboardResponse:
        rows = await portfolio_service.dashboard(
            deps=self._deps, principal=_who(), by=request.by or "stage", year=request.year or None
        )
        return pb.DashboardResponse(
            rows=[
                pb.DashboardRow(
                    key=str(r["key"]),
                    projects=int(r["projects"]),
                    declared=_money(Decimal(r["declared"])),
                    planned=_money(Decimal(r["planned"])),
                    approved=_money(Decimal(r["approved"])),
                    contracted=_money(Decimal(r["contracted"])),
                    paid=_money(Decimal(r["paid"])),
                )
                for r in rows
            ]
        )

    async def ListRisks(self, request: pb.ListRisksRequest, context: Ctx) -> pb.ListRisksResponse:
        lister = portfolio_service.overdue if request.overdue_only else portfolio_service.risks
        found = await lister(deps=self._deps, principal=_who())
        today = self._deps.today()
        return pb.ListRisksResponse(
            risks=[pb.Risk(project=_project(r, today), items=items) for r, items in found]
        )

    async def ExportExcel(self, request: pb.ExportRequest, context: Ctx) -> pb.ExcelResponse:
        return pb.ExcelResponse(
            content=await portfolio_service.export_excel(deps=self._deps, principal=_who())
        )

    async def ExportOcds(self, request: pb.ExportRequest, context: Ctx) -> pb.OcdsResponse:
        package = await portfolio_service.export_ocds(deps=self._deps, principal=_who())
        return pb.OcdsResponse(package_json=json.dumps(package, ensure_ascii=False))

    async def ExportOc4ids(self, request: pb.ExportRequest, context: Ctx) -> pb.Oc4idsResponse:
        package = await portfolio_service.export_oc4ids(deps=self._deps, principal=_who())
        return pb.Oc4idsResponse(package_json=json.dumps(package, ensure_ascii=False))


def servicers(deps: EvaluationDeps, *, max_upload_bytes: int = 50 * 1024 * 1024) -> list[tuple[Any, Any]]:
    """(registrar, servicer) pairs for the gRPC server."""
    return [
        (rpc.add_DiscreditedServiceServicer_to_server, DiscreditedServicer(deps)),
        (rpc.add_RectificationServiceServicer_to_server, RectificationServicer(deps)),
        (rpc.add_EvaluationServiceServicer_to_server, EvaluationServicer(deps, max_upload_bytes)),
        (rpc.add_OmFundingServiceServicer_to_server, OmFundingServicer(deps)),
        (rpc.add_ClosureServiceServicer_to_server, ClosureServicer(deps)),
        (rpc.add_PortfolioServiceServicer_to_server, PortfolioServicer(deps)),
    ]
