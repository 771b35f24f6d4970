"""Annual calls and late declarations, per pack (lhasa §7, wuxing-2023 §7, qiaokou-2022 §10/§14)."""

from datetime import UTC, date, datetime

import pytest

from govkit.errors import AppError, ErrorKind
from govkit.policy import Pack, PolicyRegistry
from intake.domain.calls import (
    AnnualCall,
    CallStatus,
    LateRoute,
    call_terms,
    close,
    ensure_open,
    route_declaration,
)

REGISTRY = PolicyRegistry.load()
TODAY = date(2026, 7, 1)


def pack(pack_id: str) -> Pack:
    return REGISTRY.get(pack_id)


def call_for(p: Pack, *, target_year: int = 2027, announced: date | None = None) -> AnnualCall:
    terms = call_terms(p, target_year=target_year, today=TODAY, announced=announced)
    return AnnualCall(
        id="c1",
        tenant_id="t",
        target_year=target_year,
        status=CallStatus.OPEN,
        opens_on=TODAY,
        deadline=terms.deadline,
        deadline_source=terms.deadline_source,
        late_route=terms.late_route,
        title="",
        notes="",
        opened_by="bureau",
        opened_at=datetime(2026, 7, 1, tzinfo=UTC),
        citations=terms.citations,
        version=1,
    )


def test_lhasa_deadline_is_31_august_of_the_year_before_the_plan() -> None:
    call = call_for(pack("lhasa"))
    assert call.deadline == date(2026, 8, 31) and call.deadline_source == "pack"
    assert call.late_route is LateRoute.NEXT_PLAN and "lhasa §7" in call.citations


def test_lhasa_on_time_goes_to_the_plan_late_goes_to_the_plan_after_next() -> None:
    call = call_for(pack("lhasa"))
    on_time = route_declaration(
        pack("lhasa"), call, submitted_on=date(2026, 8, 31), supplementary=False, funds_secured=False
    )
    assert on_time.late_route is LateRoute.ON_TIME and on_time.plan_year == 2027
    late = route_declaration(
        pack("lhasa"), call, submitted_on=date(2026, 9, 1), supplementary=False, funds_secured=False
    )
    assert late.late_route is LateRoute.NEXT_PLAN and late.plan_year == 2028
    assert late.citations == ("lhasa §7",)


def test_wuxing_deadline_is_announced_by_the_bureau_and_required() -> None:
    with pytest.raises(AppError) as err:
        call_for(pack("wuxing-2023"))
    assert err.value.code == "CALL_DEADLINE_REQUIRED" and err.value.cite == ["wuxing-2023 §7"]
    call = call_for(pack("wuxing-2023"), announced=date(2026, 9, 20))
    assert call.deadline == date(2026, 9, 20) and call.deadline_source == "bureau"
    assert call.late_route is LateRoute.SUPPLEMENTARY


def test_wuxing_late_only_through_the_supplementary_route_with_funds_secured() -> None:
    p = pack("wuxing-2023")
    call = call_for(p, announced=date(2026, 9, 20))
    late_day = date(2026, 9, 21)
    with pytest.raises(AppError) as err:
        route_declaration(p, call, submitted_on=late_day, supplementary=False, funds_secured=True)
    assert err.value.code == "LATE_DECLARATION_SUPPLEMENTARY_ONLY" and err.value.cite == ["wuxing-2023 §7"]
    assert err.value.kind is ErrorKind.PRECONDITION
    with pytest.raises(AppError) as err:
        route_declaration(p, call, submitted_on=late_day, supplementary=True, funds_secured=False)
    assert err.value.code == "SUPPLEMENTARY_FUNDS_NOT_SECURED" and err.value.cite == ["wuxing-2023 §7"]
    routed = route_declaration(p, call, submitted_on=late_day, supplementary=True, funds_secured=True)
    assert routed.late_route is LateRoute.SUPPLEMENTARY and routed.plan_year == 2027


def test_qiaokou_bureau_may_announce_an_earlier_day_but_not_a_later_one() -> None:
    p = pack("qiaokou-2022")
    assert call_for(p).deadline == date(2026, 9, 15)
    assert call_for(p, announced=date(2026, 9, 12)).deadline_source == "bureau"
    with pytest.raises(AppError) as err:
        call_for(p, announced=date(2026, 9, 30))
    assert err.value.code == "CALL_DEADLINE_AFTER_PACK" and err.value.cite == ["qiaokou-2022 §10"]
    late = route_declaration(
        p, call_for(p), submitted_on=date(2026, 9, 16), supplementary=True, funds_secured=False
    )
    assert late.late_route is LateRoute.SUPPLEMENTARY and late.citations == ("qiaokou-2022 §14",)


def test_a_pack_without_a_deadline_takes_the_bureaus_day_or_none() -> None:
    p = pack("shuangyashan-2024")
    assert call_for(p).deadline is None
    call = call_for(p, announced=date(2026, 7, 31))
    on_late_day = route_declaration(
        p, call, submitted_on=date(2026, 8, 5), supplementary=False, funds_secured=False
    )
    assert on_late_day.late_route is LateRoute.ON_TIME  # the document sets no late rule


def test_target_year_and_deadline_are_checked() -> None:
    with pytest.raises(AppError) as err:
        call_terms(pack("lhasa"), target_year=2040, today=TODAY, announced=None)
    assert err.value.details["fields"][0]["field"] == "target_year"
    with pytest.raises(AppError) as err:
        call_terms(pack("wuxing-2023"), target_year=2027, today=TODAY, announced=date(2026, 6, 1))
    assert err.value.details["fields"][0]["field"] == "deadline"


def test_a_closed_call_takes_no_declarations() -> None:
    call = close(call_for(pack("lhasa")))
    with pytest.raises(AppError) as err:
        ensure_open(call)
    assert err.value.code == "CALL_CLOSED"
    with pytest.raises(AppError):
        close(call)
