"""What each page shows, assembled from the services' gRPC reads with the user's token.

The portal stores nothing: these functions only read (the forms' writes are single calls in the
routes). A part of a page whose service is down, or that the user may not see, is left out with
its message instead of failing the whole page.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from govproj.evaluation.v1 import evaluation_pb2
from govproj.intake.v1 import intake_pb2
from govproj.review.v1 import approval_pb2, experts_pb2, plan_pb2, review_pb2, tasks_pb2
from portal.adapters.backend import Backend
from portal.domain.labels import DECLARATION_STATUS_BY_NUMBER, DECLARATION_STATUS_ZH, PORTFOLIO_STAGE_ZH

PAGE_SIZE = 20
# The dashboard reads at most this many declarations (pages of 200); beyond it says so.
DASHBOARD_MAX_ROWS = 5000
_DASHBOARD_PAGE = 200


def as_dict(message: Message) -> dict[str, Any]:
    """A proto message as plain data for a template (field names as in the proto, defaults kept)."""
    data: dict[str, Any] = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return data


def declaration_dict(message: intake_pb2.Declaration) -> dict[str, Any]:
    """A declaration with its status as the REST name (``draft`` …) instead of the enum's."""
    data = as_dict(message)
    data["status"] = DECLARATION_STATUS_BY_NUMBER.get(int(message.status), "unknown")
    data["amount_value"] = message.amount.amount if message.HasField("amount") else ""
    return data


@dataclass
class Section:
    """One part of a page: its data, or why it is missing."""

    data: Any = None
    error: AppError | None = None

    @property
    def unavailable(self) -> bool:
        """True when the service of this part did not answer."""
        return self.error is not None and self.error.kind is ErrorKind.UNAVAILABLE


async def _section(coro: Any) -> Section:
    try:
        return Section(data=await coro)
    except AppError as err:
        return Section(error=err)


async def my_tasks(*, backend: Backend, token: str) -> list[dict[str, Any]]:
    """The open tasks held by the user (by login, role or org), most urgent first."""
    response = await backend.call(
        "review", backend.tasks.ListMyTasks, tasks_pb2.ListMyTasksRequest(), token=token
    )
    order = {"overdue": 0, "due_soon": 1, "on_track": 2, "paused": 3, "no_deadline": 4}
    items = [as_dict(t) for t in response.tasks]
    # The project each task is about, by name and code (one read per case, concurrently).
    case_ids = sorted({t["case_id"] for t in items if t["case_id"]})

    async def case_of(case_id: str) -> dict[str, Any] | None:
        try:
            got = await backend.call(
                "review", backend.cases.GetCase, review_pb2.GetCaseRequest(id=case_id), token=token
            )
        except AppError:
            return None
        return as_dict(got.review_case)

    cases = dict(zip(case_ids, await asyncio.gather(*(case_of(c) for c in case_ids)), strict=True))
    for task in items:
        case = cases.get(task["case_id"]) or {}
        task["project_name"] = case.get("name", "")
        task["project_code"] = case.get("project_code", "")
    items.sort(key=lambda t: (order.get(t["urgency"], 9), t["due_on"] or "9999"))
    return items


@dataclass(frozen=True)
class ProjectFilters:
    """The project library's filters (those intake's ListDeclarations answers)."""

    status: str = ""
    target_year: int = 0
    org_id: str = ""
    name_contains: str = ""
    supplementary: str = ""
    category: str = ""
    amount_min: str = ""  # decimal strings, already checked by the form
    amount_max: str = ""
    page_token: str = ""

    def request(self, page_size: int = PAGE_SIZE) -> intake_pb2.ListDeclarationsRequest:
        """The gRPC request for these filters."""
        return intake_pb2.ListDeclarationsRequest(
            status=[self.status] if self.status else [],
            target_year=self.target_year,
            org_id=self.org_id,
            name_contains=self.name_contains,
            supplementary=self.supplementary,
            category=self.category,
            amount_min=common_pb2.Money(amount=self.amount_min) if self.amount_min else None,
            amount_max=common_pb2.Money(amount=self.amount_max) if self.amount_max else None,
            page_size=page_size,
            page_token=self.page_token,
        )


async def project_list(*, backend: Backend, token: str, filters: ProjectFilters) -> dict[str, Any]:
    """One page of the declarations the user may see."""
    response = await backend.call(
        "intake", backend.declarations.ListDeclarations, filters.request(), token=token
    )
    return {
        "items": [declaration_dict(d) for d in response.declarations],
        "next_page_token": response.next_page_token,
        "total": response.total,
    }


@dataclass
class ProjectDetail:
    """Everything the project page shows, by section."""

    declaration: dict[str, Any]
    materials: Section
    case: Section
    tasks: Section = field(default_factory=Section)
    formal_reviews: Section = field(default_factory=Section)
    checklist: Section = field(default_factory=Section)
    opinions: Section = field(default_factory=Section)
    panel: Section = field(default_factory=Section)
    panel_summary: Section = field(default_factory=Section)
    plan_decisions: Section = field(default_factory=Section)
    applications: Section = field(default_factory=Section)
    approvals: Section = field(default_factory=Section)
    declaration_readable: bool = True


def _from_case(case: dict[str, Any], declaration_id: str) -> dict[str, Any]:
    """What the review case records of a declaration the user may not read in intake."""
    return {
        "id": declaration_id,
        "name": case["name"],
        "project_code": case["project_code"],
        "status": "",  # intake's status is not the reader's to see; the case's is shown
        "org_id": case["declaring_org_id"],
        "construction_unit": case["org_name"],
        "category": "",
        "construction_type": "",
        "amount_value": (case.get("amount") or {}).get("amount", ""),
        "target_year": case["target_year"],
        "created_by": "",
        "created_at": case["opened_at"],
        "submitted_at": "",
        "signoff_by": "",
        "citations": [],
        "findings": [],
        "send_back_reason": "",
        "return_reason": "",
        "return_items": [],
    }


async def project_detail(*, backend: Backend, token: str, declaration_id: str) -> ProjectDetail:
    """The declaration and its review timeline (each review part fetched on its own).

    A department giving an opinion, or an expert, may read the review case but not the unit's
    declaration in intake: the page then shows the case's summary of it.
    """

    async def materials() -> dict[str, Any]:
        listed = await backend.call(
            "intake",
            backend.declarations.ListMaterials,
            intake_pb2.ListMaterialsRequest(declaration_id=declaration_id),
            token=token,
        )
        return as_dict(listed)

    async def case() -> dict[str, Any] | None:
        try:
            response = await backend.call(
                "review",
                backend.cases.GetCase,
                review_pb2.GetCaseRequest(declaration_id=declaration_id),
                token=token,
            )
        except AppError as err:
            if err.kind in (ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN):
                return None  # not reviewed yet, or not the user's to see
            raise
        return as_dict(response.review_case)

    try:
        got = await backend.call(
            "intake",
            backend.declarations.GetDeclaration,
            intake_pb2.GetDeclarationRequest(id=declaration_id),
            token=token,
        )
    except AppError as err:
        if err.kind not in (ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN):
            raise
        seen = await _section(case())
        if not seen.data:
            raise  # neither intake nor review lets this user see the project
        declaration = _from_case(seen.data, declaration_id)
        detail = ProjectDetail(
            declaration=declaration,
            materials=Section(error=err),
            case=seen,
            declaration_readable=False,
        )
    else:
        listed, seen = await asyncio.gather(_section(materials()), _section(case()))
        detail = ProjectDetail(declaration=declaration_dict(got.declaration), materials=listed, case=seen)
    if not detail.case.data:
        return detail
    case_id = detail.case.data["id"]

    async def read(service_call: Any, request: Any) -> dict[str, Any]:
        return as_dict(await backend.call("review", service_call, request, token=token))

    # The review parts are independent reads: made concurrently, each may fail on its own.
    (
        detail.tasks,
        detail.formal_reviews,
        detail.checklist,
        detail.opinions,
        detail.panel,
        detail.panel_summary,
        detail.plan_decisions,
        detail.applications,
        detail.approvals,
    ) = await asyncio.gather(
        _section(read(backend.tasks.ListCaseTasks, tasks_pb2.ListCaseTasksRequest(case_id=case_id))),
        _section(read(backend.cases.ListFormalReviews, review_pb2.ListFormalReviewsRequest(case_id=case_id))),
        _section(read(backend.cases.GetChecklist, review_pb2.GetChecklistRequest(case_id=case_id))),
        _section(read(backend.cases.ListOpinions, review_pb2.ListOpinionsRequest(case_id=case_id))),
        _section(read(backend.experts.GetPanel, experts_pb2.GetPanelRequest(case_id=case_id))),
        _section(read(backend.experts.GetPanelSummary, experts_pb2.GetPanelSummaryRequest(case_id=case_id))),
        _section(read(backend.cases.ListPlanDecisions, review_pb2.ListPlanDecisionsRequest(case_id=case_id))),
        _section(
            read(backend.approvals.ListApplications, approval_pb2.ListApplicationsRequest(case_id=case_id))
        ),
        _section(
            read(
                backend.approvals.ListApprovals,
                approval_pb2.ListApprovalsRequest(declaration_id=declaration_id),
            )
        ),
    )
    return detail


@dataclass
class Dashboard:
    """Counts and amounts by year, status and org, plus the annual plans' totals."""

    by_year: dict[str, dict[str, Any]]
    by_status: dict[str, dict[str, Any]]
    by_org: dict[str, dict[str, Any]]
    plans: list[dict[str, Any]]
    rows: int
    truncated: bool
    overdue_tasks: int


def _bucket() -> dict[str, Any]:
    return {"count": 0, "amount": Decimal("0")}


async def dashboard(*, backend: Backend, token: str) -> Dashboard:
    """Aggregate what intake and review expose to this user (their visibility, their tenant)."""
    by_year: dict[str, dict[str, Any]] = defaultdict(_bucket)
    by_status: dict[str, dict[str, Any]] = defaultdict(_bucket)
    by_org: dict[str, dict[str, Any]] = defaultdict(_bucket)
    rows, token_page, truncated = 0, "", False
    while True:
        response = await backend.call(
            "intake",
            backend.declarations.ListDeclarations,
            intake_pb2.ListDeclarationsRequest(page_size=_DASHBOARD_PAGE, page_token=token_page),
            token=token,
        )
        for d in response.declarations:
            amount = Decimal(d.amount.amount or "0")
            status = DECLARATION_STATUS_BY_NUMBER.get(int(d.status), "unknown")
            for table, key in (
                (by_year, str(d.target_year or d.plan_year or "")),
                (by_status, status),
                (by_org, d.org_id),
            ):
                table[key]["count"] += 1
                table[key]["amount"] += amount
            rows += 1
        token_page = response.next_page_token
        if not token_page:
            break
        if rows >= DASHBOARD_MAX_ROWS:
            truncated = True
            break
    plans: list[dict[str, Any]] = []
    overdue = 0
    try:
        listed = await backend.call(
            "review", backend.plans.ListPlans, plan_pb2.ListPlansRequest(), token=token
        )
        plans = [as_dict(p) for p in listed.plans]
        tasks = await backend.call(
            "review",
            backend.tasks.ListMyTasks,
            tasks_pb2.ListMyTasksRequest(urgency=["overdue"]),
            token=token,
        )
        overdue = len(tasks.tasks)
    except AppError as err:
        if err.kind is ErrorKind.UNAVAILABLE:
            raise
    return Dashboard(
        by_year=dict(sorted(by_year.items())),
        by_status=dict(by_status),
        by_org=dict(sorted(by_org.items())),
        plans=plans,
        rows=rows,
        truncated=truncated,
        overdue_tasks=overdue,
    )


def chart_data(board: Dashboard) -> dict[str, Any]:
    """The series the dashboard's charts draw (amounts as decimal strings, never floats)."""
    return {
        "year": {
            "labels": list(board.by_year),
            "counts": [b["count"] for b in board.by_year.values()],
            "amounts": [str(b["amount"]) for b in board.by_year.values()],
        },
        "status": {
            "labels": [DECLARATION_STATUS_ZH.get(k, k) for k in board.by_status],
            "counts": [b["count"] for b in board.by_status.values()],
        },
        "org": {
            "labels": list(board.by_org),
            "amounts": [str(b["amount"]) for b in board.by_org.values()],
        },
    }


# ------------------------------------------------------------------------------------------------
# The portfolio (evaluation): 项目库 across the lifecycle, 统计看板
# ------------------------------------------------------------------------------------------------

LIFECYCLE_PAGE_SIZE = 20
OVERDUE_SHOWN = 10
DASHBOARD_GROUPS = ("year", "stage", "tenant", "department")


@dataclass(frozen=True)
class LifecycleFilters:
    """The 项目库's filters over the portfolio (every stage, from declaration to operation)."""

    year: int = 0
    tenant_id: str = ""
    org_id: str = ""
    stage: str = ""
    category: str = ""
    amount_min: str = ""  # decimal strings, already checked by the form
    amount_max: str = ""
    overdue: bool = False
    name_contains: str = ""
    page: int = 1

    def request(self, page_size: int = LIFECYCLE_PAGE_SIZE) -> evaluation_pb2.ListProjectsRequest:
        """The gRPC request for these filters and this page."""
        return evaluation_pb2.ListProjectsRequest(
            year=self.year,
            tenant_id=self.tenant_id,
            org_id=self.org_id,
            stage=self.stage,
            category=self.category,
            amount_min=common_pb2.Money(amount=self.amount_min) if self.amount_min else None,
            amount_max=common_pb2.Money(amount=self.amount_max) if self.amount_max else None,
            overdue=self.overdue,
            name_contains=self.name_contains,
            limit=page_size,
            offset=(max(self.page, 1) - 1) * page_size,
        )


def project_dict(message: evaluation_pb2.Project) -> dict[str, Any]:
    """A portfolio row for a template, with the declared amount as a plain string."""
    data = as_dict(message)
    data["amount_value"] = message.declared_amount.amount if message.HasField("declared_amount") else ""
    return data


async def lifecycle_list(*, backend: Backend, token: str, filters: LifecycleFilters) -> dict[str, Any]:
    """One page of the projects the user may see across the lifecycle, with the total and pages."""
    response = await backend.call(
        "evaluation", backend.portfolio.ListProjects, filters.request(), token=token
    )
    pages = max(1, -(-int(response.total) // LIFECYCLE_PAGE_SIZE))
    return {
        "items": [project_dict(p) for p in response.projects],
        "total": int(response.total),
        "page": filters.page,
        "pages": pages,
    }


@dataclass
class PortfolioBoard:
    """统计看板 from the portfolio: one section per read, each may fail on its own."""

    groups: dict[str, Section]  # by year, stage, tenant, department: rows of DashboardRow dicts
    overdue: Section  # {"total": n, "items": [...]} (the first OVERDUE_SHOWN)
    timings: Section  # TimingsResponse as a dict
    year: int = 0


async def portfolio_board(*, backend: Backend, token: str, year: int = 0) -> PortfolioBoard:
    """Counts and amounts by year, stage, tenant and department, the overdue projects and the
    approval/acceptance times in working days: six reads of evaluation's portfolio, concurrently."""

    async def group(by: str) -> list[dict[str, Any]]:
        got = await backend.call(
            "evaluation",
            backend.portfolio.Dashboard,
            evaluation_pb2.DashboardRequest(by=by, year=year),
            token=token,
        )
        rows = [as_dict(r) for r in got.rows]
        for r in rows:
            r["projects"] = int(r["projects"])  # int64 comes out of MessageToDict as a string
        return rows

    async def overdue() -> dict[str, Any]:
        return await lifecycle_list(
            backend=backend,
            token=token,
            filters=LifecycleFilters(year=year, overdue=True),
        )

    async def timings() -> dict[str, Any]:
        got = await backend.call(
            "evaluation", backend.portfolio.Timings, evaluation_pb2.TimingsRequest(year=year), token=token
        )
        data = as_dict(got)
        for row in [data.setdefault("overall", {}), *data.get("by_year", [])]:
            for name in ("approval", "acceptance"):
                stats = row.setdefault(name, {})
                stats["projects"] = int(stats.get("projects", 0))
        return data

    *grouped, late, timed = await asyncio.gather(
        *(_section(group(by)) for by in DASHBOARD_GROUPS), _section(overdue()), _section(timings())
    )
    return PortfolioBoard(
        groups=dict(zip(DASHBOARD_GROUPS, grouped, strict=True)), overdue=late, timings=timed, year=year
    )


def _amount(row: dict[str, Any], name: str) -> str:
    return str((row.get(name) or {}).get("amount") or "0")


def portfolio_chart_data(board: PortfolioBoard) -> dict[str, Any]:
    """The series the portfolio charts draw (amounts as decimal strings, never floats)."""
    out: dict[str, Any] = {}
    for by, section in board.groups.items():
        rows = section.data or []
        labels = [
            PORTFOLIO_STAGE_ZH.get(r["key"], r["key"]) if by == "stage" else (r["key"] or "—") for r in rows
        ]
        out[by] = {
            "labels": labels,
            "counts": [int(r["projects"]) for r in rows],
            "declared": [_amount(r, "declared") for r in rows],
            "approved": [_amount(r, "approved") for r in rows],
        }
    by_year = (board.timings.data or {}).get("by_year", [])
    out["timings"] = {
        "labels": [r["key"] for r in by_year],
        "approval": [(r.get("approval") or {}).get("mean_workdays", 0) for r in by_year],
        "acceptance": [(r.get("acceptance") or {}).get("mean_workdays", 0) for r in by_year],
    }
    return out
