"""项目库 and 统计看板 over evaluation's portfolio, and org switching in the session, with a fake
backend (no network): the requests the filters make, the board's six reads, the chart series, the
org every call acts for."""

from __future__ import annotations

from typing import Any

import pytest

from govkit.auth import ACTIVE_ORG_HEADER, Membership, Principal
from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from govproj.evaluation.v1 import evaluation_pb2 as pb
from portal import service
from portal.adapters.sessions import PortalSession, acting_for, active_org_metadata


class FakePortfolio:
    """evaluation's PortfolioService as the portal calls it; records requests and the active org."""

    def __init__(self, *, timings_down: bool = False) -> None:
        self.timings_down = timings_down
        self.requests: list[tuple[str, Any, tuple[tuple[str, str], ...]]] = []
        self.portfolio = type(
            "P", (), {"ListProjects": "ListProjects", "Dashboard": "Dashboard", "Timings": "Timings"}
        )()

    async def call(self, svc: str, method: str, request: Any, *, token: str) -> Any:
        assert svc == "evaluation" and token == "user-token"
        self.requests.append((method, request, active_org_metadata()))
        money = common_pb2.Money
        if method == "ListProjects":
            project = pb.Project(
                declaration_id="d1",
                name="智慧城管",
                stage="construction",
                overdue=["construction_overdue"],
                declared_amount=money(amount="800000.00"),
            )
            return pb.ProjectsResponse(projects=[project], total=45)
        if method == "Dashboard":
            return pb.DashboardResponse(
                rows=[pb.DashboardRow(key="construction", projects=3, declared=money(amount="1200000.00"))]
            )
        if method == "Timings":
            if self.timings_down:
                raise AppError(
                    code="SERVICE_UNAVAILABLE", message="绩效评价服务暂时不可用", kind=ErrorKind.UNAVAILABLE
                )
            stats = pb.TimingStats(projects=2, mean_workdays=10.5, median_workdays=10, max_workdays=11)
            return pb.TimingsResponse(
                overall=pb.TimingRow(approval=stats, acceptance=pb.TimingStats()),
                by_year=[pb.TimingRow(key="2025", approval=stats, acceptance=pb.TimingStats())],
            )
        raise AssertionError(method)


async def test_lifecycle_filters_become_one_request_with_paging() -> None:
    backend = FakePortfolio()
    filters = service.LifecycleFilters(
        year=2025,
        tenant_id="county-a",
        org_id="unit-1",
        stage="construction",
        category="business_app",
        amount_min="100.00",
        amount_max="900000.00",
        overdue=True,
        name_contains="城管",
        page=3,
    )
    listing = await service.lifecycle_list(backend=backend, token="user-token", filters=filters)  # type: ignore[arg-type]
    ((_, request, _),) = backend.requests
    assert (request.year, request.tenant_id, request.org_id, request.stage) == (
        2025,
        "county-a",
        "unit-1",
        "construction",
    )
    assert (request.amount_min.amount, request.amount_max.amount, request.overdue) == (
        "100.00",
        "900000.00",
        True,
    )
    assert (request.limit, request.offset) == (20, 40)  # page 3 of 20
    assert (
        listing["total"] == 45
        and listing["pages"] == 3
        and listing["items"][0]["amount_value"] == "800000.00"
    )


async def test_board_reads_four_groups_overdue_and_timings_each_on_its_own() -> None:
    backend = FakePortfolio(timings_down=True)
    board = await service.portfolio_board(backend=backend, token="user-token", year=2025)  # type: ignore[arg-type]
    asked = sorted((m, getattr(r, "by", "")) for m, r, _ in backend.requests)
    assert asked == [
        ("Dashboard", "department"),
        ("Dashboard", "stage"),
        ("Dashboard", "tenant"),
        ("Dashboard", "year"),
        ("ListProjects", ""),
        ("Timings", ""),
    ]
    assert all(r.year == 2025 for _, r, _ in backend.requests)
    (row,) = board.groups["stage"].data
    assert row["key"] == "construction" and row["projects"] == 3  # an int, not int64's string
    assert board.overdue.data["total"] == 45
    assert board.timings.unavailable  # one part down: the rest of the board still shows
    charts = service.portfolio_chart_data(board)
    assert charts["stage"] == {
        "labels": ["建设中"],
        "counts": [3],
        "declared": ["1200000.00"],
        "approved": ["0"],
    }
    assert charts["timings"] == {"labels": [], "approval": [], "acceptance": []}
    board = await service.portfolio_board(backend=FakePortfolio(), token="user-token")  # type: ignore[arg-type]
    assert board.timings.data["overall"]["approval"]["projects"] == 2
    assert service.portfolio_chart_data(board)["timings"]["approval"] == [10.5]


def _session(memberships: tuple[Membership, ...]) -> PortalSession:
    principal = Principal(
        sub="u",
        username="bureau_reviewer.multi",
        tenant="county-a",
        org="bureau",
        roles=frozenset({"bureau_reviewer"}),
        memberships=memberships,
    )
    return PortalSession(
        id="s",
        csrf_token="c",
        principal=principal,
        display_name="x",
        access_token="user-token",
        refresh_token=None,
        id_token=None,
        expires_at=0.0,
    )


async def test_every_call_carries_the_session_s_chosen_org() -> None:
    session = _session((Membership("county-a", "bureau"), Membership("city", "bureau")))
    assert session.can_switch and session.active_org_header == "county-a/bureau"
    session.switch_to("city/bureau")
    backend = FakePortfolio()
    with acting_for(session):
        await service.portfolio_board(backend=backend, token="user-token")  # type: ignore[arg-type]
    assert {md for _, _, md in backend.requests} == {((ACTIVE_ORG_HEADER, "city/bureau"),)}
    assert active_org_metadata() == ()  # outside the request, nothing leaks
    with pytest.raises(AppError) as info:
        session.switch_to("county-b/bureau")
    assert info.value.code == "ACTIVE_ORG_NOT_GRANTED"
    assert session.principal.tenant == "city"  # a refused switch changes nothing
    # A refreshed token keeps the choice while it still grants it.
    session.replace_principal(_session(session.granted).principal)
    assert session.principal.tenant == "city"


def test_single_org_users_send_no_active_org() -> None:
    session = _session(())
    assert not session.can_switch and session.active_org_header is None
    with acting_for(session):
        assert active_org_metadata() == ()
