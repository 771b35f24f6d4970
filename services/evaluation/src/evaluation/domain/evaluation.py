"""Performance evaluation of accepted projects: the unit's self-evaluation in the pack's window
(lhasa §22, heze §24: months 12–24 after acceptance; shuangyashan §31: 6–12), the bureau's or
finance's key-project evaluation that must start within the pack's working days of the
self-evaluation (lhasa §22: 10), the third-party post-evaluation assigned to an evaluator org
(shuangyashan §31, heze §24) and the application evaluation of key projects in operation for over
a year (qiaokou §39). All four record scores the same way (:mod:`evaluation.domain.scoring`)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from evaluation.domain.scoring import IndicatorScore
from govkit.errors import AppError, ErrorKind


class Kind(StrEnum):
    """Who evaluates."""

    SELF = "self"
    KEY = "key"
    THIRD_PARTY = "third_party"
    APPLICATION = "application"


class Status(StrEnum):
    """started → completed."""

    STARTED = "started"
    COMPLETED = "completed"


KIND_ZH = {
    Kind.SELF: "绩效自评",
    Kind.KEY: "重点项目绩效评价",
    Kind.THIRD_PARTY: "第三方后评价",
    Kind.APPLICATION: "应用评估",
}


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Window:
    """The self-evaluation window of one accepted project."""

    opens_on: date
    closes_on: date
    cite: tuple[str, ...]


class WindowState(StrEnum):
    """Where a project stands against its window today."""

    UPCOMING = "upcoming"  # due: the window opens later
    OPEN = "open"
    MISSED = "missed"
    DONE = "done"
    NO_WINDOW = "no_window"  # the pack sets none: any time after acceptance


_BOUNDS = 2  # the pack's window is [from, to] months


def window(accepted_on: date, months: object, cite: tuple[str, ...]) -> Window | None:
    """The window from the pack's ``self_evaluation_window_months`` ([from, to]) or None."""
    if not isinstance(months, list | tuple) or len(months) != _BOUNDS:
        return None
    start, end = int(months[0]), int(months[1])
    return Window(add_months(accepted_on, start), add_months(accepted_on, end), cite)


def window_state(win: Window | None, *, today: date, self_evaluated: bool) -> WindowState:
    """The state a due/open/missed list sorts by."""
    if self_evaluated:
        return WindowState.DONE
    if win is None:
        return WindowState.NO_WINDOW
    if today < win.opens_on:
        return WindowState.UPCOMING
    if today <= win.closes_on:
        return WindowState.OPEN
    return WindowState.MISSED


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of one project."""

    id: str
    tenant_id: str
    declaration_id: str
    project_code: str
    org_id: str
    kind: Kind
    status: Status
    evaluator: str  # the unit, "bureau", "finance" or the evaluator org
    started_on: date
    pack_id: str
    cite: tuple[str, ...]
    created_by: str
    created_at: datetime
    due_on: date | None = None  # key evaluation: start deadline; self: the window's end
    late: bool = False
    indicators: tuple[IndicatorScore, ...] = ()
    total_score: Decimal | None = None
    grade: str = ""
    completed_on: date | None = None
    report_sha256: str = ""
    summary: str = ""
    version: int = 1


def check_self_evaluation(*, accepted_on: date | None, win: Window | None, today: date) -> None:
    """A self-evaluation needs an accepted project and, when the pack sets a window, must be in it."""
    if accepted_on is None:
        raise AppError(
            code="PROJECT_NOT_ACCEPTED",
            message="项目尚未通过竣工验收，不能开展绩效自评。",
            kind=ErrorKind.PRECONDITION,
        )
    if win is not None and not (win.opens_on <= today <= win.closes_on):
        raise AppError(
            code="OUTSIDE_SELF_EVALUATION_WINDOW",
            message=f"绩效自评应在{win.opens_on.isoformat()}至{win.closes_on.isoformat()}之间开展。",
            kind=ErrorKind.PRECONDITION,
            details={"opens_on": win.opens_on.isoformat(), "closes_on": win.closes_on.isoformat()},
            cite=list(win.cite),
        )


def check_application_evaluation(
    *, accepted_on: date | None, key: bool, months: int | None, cite: tuple[str, ...], today: date
) -> None:
    """qiaokou §39: key projects in operation for over the pack's months."""
    if months is None:
        raise AppError(
            code="APPLICATION_EVALUATION_NOT_IN_PACK",
            message="本地区管理办法未规定应用评估。",
            kind=ErrorKind.PRECONDITION,
        )
    if not key:
        raise AppError(
            code="NOT_A_KEY_PROJECT",
            message="应用评估仅针对重点项目。",
            kind=ErrorKind.PRECONDITION,
            cite=list(cite),
        )
    if accepted_on is None or add_months(accepted_on, months) > today:
        raise AppError(
            code="NOT_IN_OPERATION_LONG_ENOUGH",
            message=f"项目投入运行未满{months}个月，暂不开展应用评估。",
            kind=ErrorKind.PRECONDITION,
            details={"accepted_on": accepted_on.isoformat() if accepted_on else None, "months": months},
            cite=list(cite),
        )


def complete(
    evaluation: Evaluation,
    *,
    scores: tuple[IndicatorScore, ...],
    total: Decimal,
    grade: str,
    on: date,
    report_sha256: str,
    summary: str,
) -> Evaluation:
    """Record the scores once; a completed evaluation is not re-scored."""
    if evaluation.status is Status.COMPLETED:
        raise AppError(
            code="EVALUATION_ALREADY_COMPLETED",
            message="该评价已完成，不能重复评分。",
            kind=ErrorKind.CONFLICT,
            details={"evaluation_id": evaluation.id},
        )
    return replace(
        evaluation,
        status=Status.COMPLETED,
        indicators=scores,
        total_score=total,
        grade=grade,
        completed_on=on,
        report_sha256=report_sha256,
        summary=summary,
    )
