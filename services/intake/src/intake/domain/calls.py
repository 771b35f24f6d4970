"""Annual calls (年度计划征集) and what happens to a declaration made after the deadline.

The call's window comes from the tenant's pack: a fixed yearly deadline (lhasa §7: 31 August;
qiaokou-2022 §10: mid-September), or one the bureau announces each year (wuxing-2023 §7), or none.
Late declarations follow the pack's ``late_declarations`` route: lhasa §7 sends them to the plan
after next; wuxing-2023 §7 and qiaokou-2022 §14 accept them only through the supplementary route
(wuxing with the funds already secured).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden, invalid_field
from govkit.policy import Pack
from govkit.policy.model import Announced, MonthDay


class CallStatus(StrEnum):
    """Whether units may still declare into the call."""

    OPEN = "open"
    CLOSED = "closed"


class LateRoute(StrEnum):
    """Where a late declaration goes (the event's ``late_route``)."""

    ON_TIME = ""
    NEXT_PLAN = "next_plan"
    SUPPLEMENTARY = "supplementary"
    NOT_ACCEPTED = "not_accepted"


# The pack's vocabulary → the event contract's.
_PACK_ROUTES = {
    "plan_after_next": LateRoute.NEXT_PLAN,
    "supplementary_only": LateRoute.SUPPLEMENTARY,
    "not_accepted": LateRoute.NOT_ACCEPTED,
}
CALL_OPENERS = frozenset({"bureau_reviewer", "bureau_head"})
MAX_YEARS_AHEAD = 3


@dataclass(frozen=True)
class AnnualCall:
    """One tenant's call for the projects of ``target_year``."""

    id: str
    tenant_id: str
    target_year: int
    status: CallStatus
    opens_on: date
    deadline: date | None
    deadline_source: str  # "pack" | "bureau" | ""
    late_route: LateRoute
    title: str
    notes: str
    opened_by: str
    opened_at: datetime
    citations: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class CallTerms:
    """The deadline and late route a new call gets, with the articles."""

    deadline: date | None
    deadline_source: str
    late_route: LateRoute
    citations: tuple[str, ...]


def ensure_call_opener(principal: Principal) -> str:
    """Only the data bureau opens and closes calls; returns the tenant."""
    if not principal.has_role(*CALL_OPENERS) or principal.tenant is None:
        raise forbidden("call.write")
    return principal.tenant


def _fixed_deadline(rule: MonthDay, declared_in: int) -> date:
    last_day = calendar.monthrange(declared_in, rule.month)[1]
    return date(declared_in, rule.month, min(rule.day, last_day))


def call_terms(pack: Pack, *, target_year: int, today: date, announced: date | None) -> CallTerms:
    """The terms of a call for ``target_year`` opened on ``today`` under ``pack``.

    Units declare in the year before the plan year. A fixed deadline comes from the pack; the
    bureau may announce an earlier day (qiaokou-2022 §10 leaves the exact day to its notice) but
    not a later one. Where the pack leaves the deadline to the bureau (wuxing-2023 §7) it must be
    given. Where the pack sets none, the bureau's day, if any, is used.
    """
    if not today.year <= target_year <= today.year + MAX_YEARS_AHEAD:
        raise invalid_field(
            "target_year", f"计划年度应在 {today.year} 至 {today.year + MAX_YEARS_AHEAD} 年之间"
        )
    cal = pack.call_calendar
    rule = cal.declaration_deadline
    cites: list[str] = []
    late = cal.late_declarations
    late_route = _PACK_ROUTES[late.route] if late is not None else LateRoute.ON_TIME
    if late is not None:
        cites += list(late.cite)
    if isinstance(rule, MonthDay):
        fixed = _fixed_deadline(rule, target_year - 1)
        cites += list(rule.cite)
        if announced is not None and announced > fixed:
            raise AppError(
                code="CALL_DEADLINE_AFTER_PACK",
                message=f"申报截止日期不能晚于管理办法规定的 {fixed.isoformat()}。",
                kind=ErrorKind.PRECONDITION,
                details={"pack_deadline": fixed.isoformat(), "given": announced.isoformat()},
                cite=pack.cite(list(rule.cite)),
            )
        deadline: date | None
        deadline, source = (announced, "bureau") if announced is not None else (fixed, "pack")
    elif isinstance(rule, Announced):
        cites += list(rule.cite)
        if announced is None:
            raise AppError(
                code="CALL_DEADLINE_REQUIRED",
                message="本地区管理办法规定申报时限由数据局通知，请填写申报截止日期。",
                kind=ErrorKind.INVALID,
                details={"fields": [{"field": "deadline", "message": "请填写申报截止日期"}]},
                cite=pack.cite(list(rule.cite)),
            )
        deadline, source = announced, "bureau"
    else:
        deadline, source = announced, ("bureau" if announced is not None else "")
    # A day the bureau announces must lie ahead; a day the pack fixes may have passed already
    # (a call opened late still takes late declarations by the pack's route).
    if source == "bureau" and deadline is not None and deadline < today:
        raise invalid_field("deadline", "申报截止日期不能早于今天")
    return CallTerms(
        deadline=deadline, deadline_source=source, late_route=late_route, citations=tuple(pack.cite(cites))
    )


def ensure_open(call: AnnualCall) -> None:
    """A closed call takes no declarations."""
    if call.status is not CallStatus.OPEN:
        raise AppError(
            code="CALL_CLOSED",
            message="该年度计划征集已关闭，不能再申报。紧急项目请按计划外（增补）项目申报。",
            kind=ErrorKind.PRECONDITION,
            details={"call_id": call.id, "target_year": call.target_year},
        )


def close(call: AnnualCall) -> AnnualCall:
    """open → closed."""
    if call.status is CallStatus.CLOSED:
        raise AppError(
            code="CALL_CLOSED", message="该年度计划征集已经关闭。", kind=ErrorKind.PRECONDITION, details={}
        )
    return replace(call, status=CallStatus.CLOSED)


@dataclass(frozen=True)
class Routing:
    """Where a declaration submitted into a call goes."""

    late_route: LateRoute
    plan_year: int
    citations: tuple[str, ...]


def route_declaration(
    pack: Pack, call: AnnualCall, *, submitted_on: date, supplementary: bool, funds_secured: bool
) -> Routing:
    """On time → the call's plan year. Late → the pack's route, or a refusal with its articles.

    lhasa §7: the plan after next (plan year + 1). wuxing-2023 §7 / qiaokou-2022 §14: only as a
    supplementary project (wuxing: with the funds already secured). Where the pack sets no late
    rule, a late declaration is taken as on time (the document does not forbid it).
    """
    if call.deadline is None or submitted_on <= call.deadline:
        return Routing(LateRoute.ON_TIME, call.target_year, ())
    late = pack.call_calendar.late_declarations
    if late is None:
        return Routing(LateRoute.ON_TIME, call.target_year, ())
    route = _PACK_ROUTES[late.route]
    cites = tuple(pack.cite(list(late.cite)))
    details = {"deadline": call.deadline.isoformat(), "submitted_on": submitted_on.isoformat()}
    if route is LateRoute.NEXT_PLAN:
        return Routing(route, call.target_year + 1, cites)
    if route is LateRoute.SUPPLEMENTARY:
        if not supplementary:
            raise AppError(
                code="LATE_DECLARATION_SUPPLEMENTARY_ONLY",
                message=f"已超过申报截止日期（{call.deadline.isoformat()}），只能按计划外（增补）项目程序申报。",
                kind=ErrorKind.PRECONDITION,
                details=details,
                cite=list(cites),
            )
        supp = pack.call_calendar.supplementary
        if supp is not None and supp.requires_secured_funds and not funds_secured:
            raise AppError(
                code="SUPPLEMENTARY_FUNDS_NOT_SECURED",
                message="逾期申报的项目须资金已经落实，方可通过增补程序申报。",
                kind=ErrorKind.PRECONDITION,
                details=details,
                cite=sorted({*cites, *pack.cite(list(supp.cite))}),
            )
        return Routing(route, call.target_year, cites)
    raise AppError(
        code="LATE_DECLARATION_NOT_ACCEPTED",
        message=f"已超过申报截止日期（{call.deadline.isoformat()}），本年度不再受理申报。",
        kind=ErrorKind.PRECONDITION,
        details=details,
        cite=list(cites),
    )
