"""Department opinions (部门意见): which departments the pack asks for these facts, and their answers.

Routing is the pack's: ``opinion_departments`` (a contract key) decides the list and its articles;
the pack's ``opinions`` section says what each department reviews. When the rule still waits for a
fact, every department whose opinion may apply is asked (asking one too many costs a day; missing
one breaks the measures).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from govkit.errors import AppError, ErrorKind
from govkit.policy import Pack, evaluate, opinions

DEPARTMENT_ZH = {
    "reform": "改革办",
    "finance": "财政局",
    "cyberspace": "网信办",
    "crypto": "机要（密码）局",
    "police": "公安局",
    "ndrc": "发展改革部门",
}


class Verdict(StrEnum):
    """A department's answer."""

    AGREE = "agree"
    AGREE_WITH_CONDITIONS = "agree_with_conditions"
    DISAGREE = "disagree"


VERDICT_ZH = {
    Verdict.AGREE: "同意",
    Verdict.AGREE_WITH_CONDITIONS: "有条件同意",
    Verdict.DISAGREE: "不同意",
}


class OpinionStatus(StrEnum):
    """Asked, answered, or no longer needed."""

    PENDING = "pending"
    GIVEN = "given"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class RoutedDepartment:
    """A department the case goes to, with what it reviews and why."""

    department: str
    reviews_zh: str
    cite: tuple[str, ...]


@dataclass(frozen=True)
class Opinion:
    """One department's opinion on one case."""

    id: str
    tenant_id: str
    case_id: str
    department: str
    reviews_zh: str
    status: OpinionStatus
    requested_at: datetime
    version: int = 1
    reviewing_tenant_id: str | None = None
    task_id: str | None = None
    verdict: Verdict | None = None
    text: str = ""
    given_by: str | None = None
    given_at: datetime | None = None
    cite: tuple[str, ...] = ()


def route(pack: Pack, facts: Mapping[str, Any]) -> list[RoutedDepartment]:
    """The departments to ask for these facts, in the pack's order, each with its articles."""
    rule = evaluate(pack, facts)["opinion_departments"]
    listed = {o["department"]: o for o in opinions(pack, facts)}
    if rule.value is not None:
        chosen = list(rule.value)
        rule_cite = list(rule.cite)
    else:
        # No rule, or one waiting for a fact: the opinions section decides, unknown counts as yes.
        chosen = [d for d, o in listed.items() if o.get("applies") is not False]
        rule_cite = []
    out = []
    for department in chosen:
        item = listed.get(department)
        cite = sorted(set(rule_cite) | set(item["cite"] if item else []))
        reviews = item["reviews_zh"] if item else f"{DEPARTMENT_ZH.get(department, department)}意见"
        out.append(RoutedDepartment(department=department, reviews_zh=reviews, cite=tuple(cite)))
    return out


def give(opinion: Opinion, *, verdict: Verdict, text: str, by: str, at: datetime) -> Opinion:
    """Record the department's answer; conditions and disagreement must say why."""
    if opinion.status is not OpinionStatus.PENDING:
        raise AppError(
            code="OPINION_ALREADY_GIVEN",
            message="该部门意见已出具或已取消，不能重复出具。",
            kind=ErrorKind.PRECONDITION,
            details={"opinion_id": opinion.id, "status": opinion.status.value},
        )
    text = text.strip()
    if verdict is not Verdict.AGREE and not text:
        raise AppError(
            code="OPINION_TEXT_REQUIRED",
            message="有条件同意或不同意时，须写明意见内容。",
            kind=ErrorKind.INVALID,
            details={"verdict": verdict.value},
        )
    return replace(opinion, status=OpinionStatus.GIVEN, verdict=verdict, text=text, given_by=by, given_at=at)


def cancel(opinion: Opinion) -> Opinion:
    """No longer needed (the case closed)."""
    if opinion.status is not OpinionStatus.PENDING:
        return opinion
    return replace(opinion, status=OpinionStatus.CANCELLED)
