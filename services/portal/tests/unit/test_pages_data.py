"""What the pages are built from, with a fake backend (no network): the dashboard's sums over
pages of declarations, its chart series, and the tasks ordered by urgency with their project."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from govproj.intake.v1 import intake_pb2
from govproj.review.v1 import plan_pb2, review_pb2, tasks_pb2
from portal import service


class FakeBackend:
    """Answers the few reads the functions under test make; records the requests."""

    def __init__(self, pages: list[list[intake_pb2.Declaration]], *, review_down: bool = False) -> None:
        self.pages = pages
        self.review_down = review_down
        self.requests: list[Any] = []
        self.declarations = type("D", (), {"ListDeclarations": "ListDeclarations"})()
        self.plans = type("P", (), {"ListPlans": "ListPlans"})()
        self.tasks = type("T", (), {"ListMyTasks": "ListMyTasks"})()
        self.cases = type("C", (), {"GetCase": "GetCase"})()

    async def call(self, svc: str, method: str, request: Any, *, token: str) -> Any:
        assert token == "user-token"  # always the user's own token
        self.requests.append((method, request))
        if svc == "review" and self.review_down:
            raise AppError(
                code="SERVICE_UNAVAILABLE", message="联审与审批服务暂时不可用", kind=ErrorKind.UNAVAILABLE
            )
        if method == "ListDeclarations":
            index = int(request.page_token or "0")
            more = index + 1 < len(self.pages)
            return intake_pb2.ListDeclarationsResponse(
                declarations=self.pages[index], next_page_token=str(index + 1) if more else ""
            )
        if method == "ListPlans":
            return plan_pb2.ListPlansResponse(plans=[plan_pb2.AnnualPlan(id="p1", year=2027, status="draft")])
        if method == "ListMyTasks":
            tasks = [
                tasks_pb2.Task(id="t1", case_id="c1", urgency="on_track", due_on="2027-01-10"),
                tasks_pb2.Task(id="t2", case_id="c2", urgency="overdue", due_on="2027-01-05"),
                tasks_pb2.Task(id="t3", case_id="c1", urgency="due_soon", due_on="2027-01-08"),
            ]
            # As review does: only the urgencies asked for, all open tasks when none.
            return tasks_pb2.ListTasksResponse(
                tasks=[t for t in tasks if not request.urgency or t.urgency in request.urgency]
            )
        if method == "GetCase":
            if request.id == "c2":
                raise AppError(code="NOT_FOUND", message="未找到", kind=ErrorKind.NOT_FOUND)
            return review_pb2.GetCaseResponse(
                review_case=review_pb2.ReviewCase(id="c1", name="智慧教育", project_code="X-1")
            )
        raise AssertionError(method)


def declaration(year: int, status: int, org: str, amount: str) -> intake_pb2.Declaration:
    return intake_pb2.Declaration(
        target_year=year,
        status=status,
        org_id=org,
        amount=common_pb2.Money(amount=amount),  # type: ignore[arg-type]
    )


async def test_dashboard_sums_every_page_in_decimal() -> None:
    backend = FakeBackend(
        [
            [declaration(2027, 1, "unit-1", "0.10"), declaration(2027, 7, "unit-2", "0.20")],
            [declaration(2028, 7, "unit-1", "1000000.00")],
        ]
    )
    board = await service.dashboard(backend=backend, token="user-token")  # type: ignore[arg-type]
    assert board.rows == 3 and not board.truncated
    assert board.by_year["2027"] == {"count": 2, "amount": Decimal("0.30")}  # no float drift
    assert board.by_status["in_plan"]["count"] == 2 and board.by_org["unit-1"]["amount"] == Decimal(
        "1000000.10"
    )
    assert board.plans[0]["year"] == 2027 and board.overdue_tasks == 1
    chart = service.chart_data(board)
    assert chart["year"] == {"labels": ["2027", "2028"], "counts": [2, 1], "amounts": ["0.30", "1000000.00"]}
    assert "已列入计划" in chart["status"]["labels"]


async def test_dashboard_stops_at_its_row_cap(monkeypatch: Any) -> None:
    monkeypatch.setattr(service, "DASHBOARD_MAX_ROWS", 2)
    backend = FakeBackend([[declaration(2027, 1, "u", "1")] * 2] * 3)
    board = await service.dashboard(backend=backend, token="user-token")  # type: ignore[arg-type]
    assert board.truncated and board.rows == 2


async def test_dashboard_without_review_rights_still_counts_declarations() -> None:
    class Refusing(FakeBackend):
        async def call(self, svc: str, method: str, request: Any, *, token: str) -> Any:
            if method == "ListPlans":
                raise AppError(code="FORBIDDEN", message="无权限", kind=ErrorKind.FORBIDDEN)
            return await super().call(svc, method, request, token=token)

    board = await service.dashboard(backend=Refusing([[declaration(2027, 1, "u", "5")]]), token="user-token")  # type: ignore[arg-type]
    assert board.rows == 1 and board.plans == []


async def test_tasks_most_urgent_first_with_their_project() -> None:
    backend = FakeBackend([[]])
    tasks = await service.my_tasks(backend=backend, token="user-token")  # type: ignore[arg-type]
    assert [t["id"] for t in tasks] == ["t2", "t3", "t1"]
    assert tasks[1]["project_name"] == "智慧教育" and tasks[1]["project_code"] == "X-1"
    assert tasks[0]["project_name"] == ""  # a case the user may not read: the task stays listed
    cases_read = [r for m, r in backend.requests if m == "GetCase"]
    assert sorted(r.id for r in cases_read) == ["c1", "c2"]  # once per case
