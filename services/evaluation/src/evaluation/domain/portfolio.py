"""The portfolio: one row per project, folded from every service's events.

The fold is written so that the order in which events of different streams arrive does not change
the row: each field is owned by the events that set it (within one stream NATS keeps the order),
sums are kept per contract as maxima (a re-delivered payment changes nothing), dates that several
events may set keep the earliest or latest one, and the stage is derived from the milestones
reached rather than from the last event. That is what makes a rebuild from the streams equal to
the live read model whatever the interleaving.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.message import Message

from govproj.acceptance.events.v1 import events_pb2 as acceptance_pb2
from govproj.evaluation.events.v1 import events_pb2 as evaluation_pb2
from govproj.intake.events.v1 import events_pb2 as intake_pb2
from govproj.procurement.events.v1 import events_pb2 as procurement_pb2
from govproj.review.events.v1 import events_pb2 as review_pb2

ZERO = Decimal("0.00")
CHINA = ZoneInfo("Asia/Shanghai")


class Stage(StrEnum):
    """Where a project is, from the milestones it reached (the furthest wins)."""

    REVIEW = "review"
    PLANNED = "planned"
    APPROVED = "approved"
    PROCUREMENT = "procurement"
    CONSTRUCTION = "construction"
    ACCEPTANCE = "acceptance"
    OPERATION = "operation"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    TERMINATED = "terminated"


STAGE_ZH = {
    Stage.REVIEW: "审查中",
    Stage.PLANNED: "已列入计划",
    Stage.APPROVED: "已批复",
    Stage.PROCUREMENT: "采购中",
    Stage.CONSTRUCTION: "建设中",
    Stage.ACCEPTANCE: "验收中",
    Stage.OPERATION: "已验收运行",
    Stage.REJECTED: "未通过",
    Stage.WITHDRAWN: "已撤回",
    Stage.TERMINATED: "已终止",
}


@dataclass
class ProjectRow:
    """One project of the portfolio."""

    declaration_id: str
    tenant_id: str
    org_id: str = ""
    org_name: str = ""
    name: str = ""
    project_code: str = ""
    category: str = ""
    plan_year: int = 0
    level: str = ""
    performance_goals: str = ""
    declared_amount: Decimal | None = None
    planned_amount: Decimal | None = None
    approved_amount: Decimal | None = None
    contracts: dict[str, str] = field(default_factory=dict)  # contract id → amount
    payments: dict[str, str] = field(default_factory=dict)  # contract id → paid total
    # contract id → what the filing says of it (role, supplier, method, dates): the contracting
    # processes of the open-data export (OC4IDS), all from contract.filed.
    contract_details: dict[str, dict[str, str]] = field(default_factory=dict)
    submitted_on: date | None = None
    planned_on: date | None = None
    approved_on: date | None = None
    approval_valid_until: date | None = None
    procurement_started_on: date | None = None
    contracted_on: date | None = None
    contract_end_on: date | None = None
    trial_started_on: date | None = None
    accepted_on: date | None = None
    self_evaluation_opens_on: date | None = None
    self_evaluation_closes_on: date | None = None
    self_evaluated_on: date | None = None
    evaluated_on: date | None = None
    grade: str = ""
    total_score: Decimal | None = None
    om_outcome: str = ""
    plan_outcome: str = ""
    withdrawn: bool = False
    rejected: bool = False
    terminated: bool = False
    suspended: bool = False
    flags: list[str] = field(default_factory=list)
    last_event_at: datetime | None = None

    @property
    def contracted_amount(self) -> Decimal:
        """Σ of the filed contracts."""
        return sum((Decimal(v) for v in self.contracts.values()), ZERO)

    @property
    def paid_amount(self) -> Decimal:
        """Σ of what was paid on each contract (payment.recorded's paid_total)."""
        return sum((Decimal(v) for v in self.payments.values()), ZERO)

    @property
    def stage(self) -> Stage:
        """The furthest milestone (terminal states first)."""
        if self.terminated:
            return Stage.TERMINATED
        if self.withdrawn:
            return Stage.WITHDRAWN
        if self.accepted_on:
            return Stage.OPERATION
        if self.trial_started_on:
            return Stage.ACCEPTANCE
        if self.contracts:
            return Stage.CONSTRUCTION
        if self.procurement_started_on:
            return Stage.PROCUREMENT
        if self.approved_on:
            return Stage.APPROVED
        if self.rejected:
            return Stage.REJECTED
        if self.plan_outcome == "in_plan":
            return Stage.PLANNED
        return Stage.REVIEW

    def as_dict(self) -> dict[str, Any]:
        """All stored fields (what a rebuild is compared on)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


WindowFor = Callable[[str, date], tuple[date, date] | None]
"""(tenant, accepted_on) → the self-evaluation window the tenant's pack sets, or None."""


@dataclass(frozen=True)
class FoldContext:
    """What a fold step may use besides the event: the day the event occurred (carried by its
    envelope, so a replay sees the same) and the packs' self-evaluation windows."""

    occurred_on: date
    window_for: WindowFor


def _day(text: str) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _money(money: Any) -> Decimal | None:
    return Decimal(money.amount) if money is not None and money.amount else None


def _flag(row: ProjectRow, name: str) -> None:
    if name not in row.flags:
        row.flags.append(name)
        row.flags.sort()


def _min(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else max(a, b)


def _declaration(row: ProjectRow, d: intake_pb2.DeclarationSubmitted) -> None:
    row.org_id = d.org_id
    row.org_name = d.org_name
    row.name = d.name
    row.project_code = d.project_code or row.project_code
    row.category = d.category
    row.plan_year = d.plan_year or d.target_year
    row.performance_goals = d.performance_goals
    row.declared_amount = _money(d.amount)
    row.submitted_on = _min(row.submitted_on, _day(d.submitted_at))
    for finding in d.findings:
        _flag(row, f"screening:{finding.kind}")


def _on_submitted(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, intake_pb2.DeclarationSubmitted)
    _declaration(row, m)


def _on_resubmitted(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, intake_pb2.DeclarationResubmitted)
    _declaration(row, m.declaration)


def _on_withdrawn(row: ProjectRow, m: Message, _: FoldContext) -> None:
    row.withdrawn = True


def _on_rejected(row: ProjectRow, m: Message, _: FoldContext) -> None:
    row.rejected = True


def _on_returned(row: ProjectRow, m: Message, _: FoldContext) -> None:
    _flag(row, "returned")


def _on_plan_decided(row: ProjectRow, m: Message, ctx: FoldContext) -> None:
    assert isinstance(m, review_pb2.PlanDecided)
    row.plan_outcome = m.outcome
    if m.outcome == "in_plan":
        row.level = m.level
        row.planned_amount = _money(m.budget)
        row.planned_on = _min(row.planned_on, ctx.occurred_on)
    elif m.outcome == "rejected":
        row.rejected = True


def _on_approval(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, review_pb2.ApprovalGranted)
    row.project_code = m.project_code or row.project_code
    # A change re-approves within the same stream: the newest baseline wins.
    row.approved_amount = _money(m.approved_amount)
    row.approved_on = _min(row.approved_on, _day(m.approved_on))
    row.approval_valid_until = _day(m.valid_until)


def _on_approval_expired(row: ProjectRow, m: Message, _: FoldContext) -> None:
    _flag(row, "approval_expired")


def _on_change(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, review_pb2.ChangeDecided)
    if m.outcome in ("approved", "file_only") and _money(m.new_amount) is not None:
        row.approved_amount = _money(m.new_amount)


def _on_procurement(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, procurement_pb2.ProcurementStarted)
    row.procurement_started_on = _min(row.procurement_started_on, _day(m.started_on))


def _on_contract(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, procurement_pb2.ContractFiled)
    amount = _money(m.contract_amount)
    row.contracts = {**row.contracts, m.contract_id: str(amount if amount is not None else ZERO)}
    row.contract_details = {
        **row.contract_details,
        m.contract_id: {
            "role": m.role,
            "method": m.method,
            "supplier_name": m.supplier_name,
            "supplier_credit_code": m.supplier_credit_code,
            "signed_on": m.signed_on,
            "period_start": m.period_start,
            "period_end": m.period_end,
        },
    }
    row.contracted_on = _min(row.contracted_on, _day(m.signed_on))
    row.contract_end_on = _max(row.contract_end_on, _day(m.period_end))
    if m.overdue:
        _flag(row, "contract_filing_overdue")


def _on_filing_overdue(row: ProjectRow, m: Message, _: FoldContext) -> None:
    _flag(row, "contract_filing_overdue")


def _on_payment(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, procurement_pb2.PaymentRecorded)
    total = _money(m.paid_total) or _money(m.amount) or ZERO
    before = Decimal(row.payments.get(m.contract_id, "0"))
    row.payments = {**row.payments, m.contract_id: str(max(before, total))}


def _on_suspended(row: ProjectRow, m: Message, _: FoldContext) -> None:
    row.suspended = True
    _flag(row, "suspended")


def _on_resumed(row: ProjectRow, m: Message, _: FoldContext) -> None:
    row.suspended = False


def _on_terminated(row: ProjectRow, m: Message, _: FoldContext) -> None:
    row.terminated = True


def _on_trial(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, acceptance_pb2.TrialStarted)
    row.trial_started_on = _min(row.trial_started_on, _day(m.started_on))


def _on_accepted(row: ProjectRow, m: Message, ctx: FoldContext) -> None:
    assert isinstance(m, acceptance_pb2.AcceptancePassed)
    if m.stage and m.stage != "final":
        return
    accepted = _day(m.accepted_on)
    row.accepted_on = _min(row.accepted_on, accepted)
    row.project_code = m.project_code or row.project_code
    if row.accepted_on is not None:
        win = ctx.window_for(row.tenant_id, row.accepted_on)
        row.self_evaluation_opens_on, row.self_evaluation_closes_on = win if win else (None, None)


def _on_acceptance_failed(row: ProjectRow, m: Message, _: FoldContext) -> None:
    _flag(row, "acceptance_failed")


def _on_evaluated(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, evaluation_pb2.EvaluationCompleted)
    done = _day(m.completed_on)
    if m.kind == "self":
        row.self_evaluated_on = _min(row.self_evaluated_on, done)
    if row.evaluated_on is None or (done is not None and done >= row.evaluated_on):
        row.evaluated_on = done
        row.grade = m.grade
        row.total_score = Decimal(m.total_score) if m.total_score else None


def _on_om(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, evaluation_pb2.OmFundingDecided)
    row.om_outcome = m.outcome
    if m.outcome == "refused":
        _flag(row, "om_refused")


def _on_escalated(row: ProjectRow, m: Message, _: FoldContext) -> None:
    _flag(row, "rectification_escalated")


def _on_closure(row: ProjectRow, m: Message, _: FoldContext) -> None:
    assert isinstance(m, evaluation_pb2.ClosureDecided)
    if m.outcome == "approved":
        _flag(row, f"closure:{m.action}")


Fold = Callable[[ProjectRow, Message, FoldContext], None]

HANDLERS: Mapping[str, tuple[type[Message], Fold]] = {
    "govproj.intake.v1.declaration.submitted": (intake_pb2.DeclarationSubmitted, _on_submitted),
    "govproj.intake.v1.declaration.resubmitted": (intake_pb2.DeclarationResubmitted, _on_resubmitted),
    "govproj.intake.v1.declaration.withdrawn": (intake_pb2.DeclarationWithdrawn, _on_withdrawn),
    "govproj.review.v1.review.returned": (review_pb2.ReviewReturned, _on_returned),
    "govproj.review.v1.review.rejected": (review_pb2.ReviewRejected, _on_rejected),
    "govproj.review.v1.plan.decided": (review_pb2.PlanDecided, _on_plan_decided),
    "govproj.review.v1.approval.granted": (review_pb2.ApprovalGranted, _on_approval),
    "govproj.review.v1.approval.expired": (review_pb2.ApprovalExpired, _on_approval_expired),
    "govproj.review.v1.change.decided": (review_pb2.ChangeDecided, _on_change),
    "govproj.procurement.v1.procurement.started": (procurement_pb2.ProcurementStarted, _on_procurement),
    "govproj.procurement.v1.contract.filed": (procurement_pb2.ContractFiled, _on_contract),
    "govproj.procurement.v1.filing.overdue": (procurement_pb2.FilingOverdue, _on_filing_overdue),
    "govproj.procurement.v1.payment.recorded": (procurement_pb2.PaymentRecorded, _on_payment),
    "govproj.procurement.v1.project.suspended": (procurement_pb2.ProjectSuspended, _on_suspended),
    "govproj.procurement.v1.project.resumed": (procurement_pb2.ProjectResumed, _on_resumed),
    "govproj.procurement.v1.project.terminated": (procurement_pb2.ProjectTerminated, _on_terminated),
    "govproj.acceptance.v1.trial.started": (acceptance_pb2.TrialStarted, _on_trial),
    "govproj.acceptance.v1.acceptance.passed": (acceptance_pb2.AcceptancePassed, _on_accepted),
    "govproj.acceptance.v1.acceptance.failed": (acceptance_pb2.AcceptanceFailed, _on_acceptance_failed),
    "govproj.evaluation.v1.evaluation.completed": (evaluation_pb2.EvaluationCompleted, _on_evaluated),
    "govproj.evaluation.v1.om_funding.decided": (evaluation_pb2.OmFundingDecided, _on_om),
    "govproj.evaluation.v1.rectification.escalated": (evaluation_pb2.RectificationEscalated, _on_escalated),
    "govproj.evaluation.v1.closure.decided": (evaluation_pb2.ClosureDecided, _on_closure),
}


def declaration_of(message: Message) -> str:
    """The declaration id every project event carries (nested for resubmissions)."""
    if isinstance(message, intake_pb2.DeclarationResubmitted):
        return message.declaration.declaration_id
    return str(getattr(message, "declaration_id", "") or "")


def apply(
    row: ProjectRow | None,
    *,
    tenant: str,
    message: Message,
    fold: Fold,
    occurred_at: datetime,
    window_for: WindowFor,
) -> ProjectRow:
    """The row after one event (a copy: the row given is left as it was)."""
    out = (
        ProjectRow(declaration_id=declaration_of(message), tenant_id=tenant) if row is None else replace(row)
    )
    out.flags = list(out.flags)
    fold(out, message, FoldContext(occurred_on=occurred_at.astimezone(CHINA).date(), window_for=window_for))
    out.last_event_at = occurred_at if out.last_event_at is None else max(out.last_event_at, occurred_at)
    return out


# --- overdue items and risk, as of a day ------------------------------------------------------


@dataclass(frozen=True)
class ProjectFilter:
    """The 项目库's filters over the portfolio (None / empty = no filter)."""

    year: int | None = None
    stage: str | None = None
    org_id: str | None = None
    flagged: bool = False
    category: str | None = None
    amount_min: Decimal | None = None  # declared amount, inclusive
    amount_max: Decimal | None = None
    overdue_on: date | None = None  # only projects with something late on this day
    name_contains: str | None = None


def overdue_items(row: ProjectRow, *, today: date) -> list[str]:
    """What is late on the project today (derived, never stored: it changes with the calendar)."""
    items = []
    if (
        row.approval_valid_until
        and not row.procurement_started_on
        and not row.contracts
        and today > row.approval_valid_until
    ):
        items.append("approval_lapsed")
    if row.contract_end_on and not row.accepted_on and today > row.contract_end_on and not row.terminated:
        items.append("construction_overdue")
    if row.self_evaluation_closes_on and not row.self_evaluated_on and today > row.self_evaluation_closes_on:
        items.append("self_evaluation_missed")
    if "rectification_escalated" in row.flags:
        items.append("rectification_escalated")
    return items


OVERDUE_ZH = {
    "approval_lapsed": "批复有效期已过仍未采购",
    "construction_overdue": "超过合同工期仍未验收",
    "self_evaluation_missed": "逾期未开展绩效自评",
    "rectification_escalated": "整改逾期未完成",
}
