"""The review case (审查案件): one per submitted declaration, from plan review to approval and changes.

The case's life (DOMAIN.md "The lifecycle")::

    open (plan review: formal ∥ opinions ∥ experts) ──return──▶ returned ──resubmit──▶ open
    open ──decide in_plan──▶ in_plan ──apply──▶ approval_review ──grant──▶ approved
    supplementary: awaiting_application ──apply──▶ approval_review
    approval_review ──return──▶ returned(stage approval) ──resubmit──▶ approval_review
    approval_review ──rounds exhausted──▶ in_plan / awaiting_application (prepare anew)
    approved ──change needs re-review──▶ approval_review(stage change) ──decide──▶ approved
    in_plan ──validity passed──▶ lapsed;  approved ──validity passed, no procurement──▶ expired
    open / approval_review ──reject──▶ rejected;  any live state ──withdrawn──▶ withdrawn

Who may act (DESIGN.md "Roles", principle 4): the technical review (formal review, expert panel,
approval review) is done by the reviewing tenant (a county's delegation to the city puts
``reviewing_tenant_id`` on the case); decisions (plan, approval, changes) by the case's own
bureau; opinions by the departments; auditors only read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden
from review.domain.declaration import DeclarationSnapshot


class CaseStatus(StrEnum):
    """Where a case stands."""

    OPEN = "open"  # plan review running
    RETURNED = "returned"  # waiting for the applicant's correction (补正); SLA clocks paused
    IN_PLAN = "in_plan"  # in the annual plan; waiting for the approval application
    AWAITING_APPLICATION = "awaiting_application"  # supplementary project: no plan review
    APPROVAL_REVIEW = "approval_review"  # approval application (or a change) under review
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"  # plan entry not approved within its validity
    EXPIRED = "expired"  # approval validity passed before procurement started


class Stage(StrEnum):
    """Which review the case is in."""

    PLAN = "plan"
    APPROVAL = "approval"
    CHANGE = "change"


TERMINAL = frozenset({CaseStatus.REJECTED, CaseStatus.WITHDRAWN, CaseStatus.LAPSED, CaseStatus.EXPIRED})

STATUS_ZH = {
    CaseStatus.OPEN: "计划审查中",
    CaseStatus.RETURNED: "退回补正",
    CaseStatus.IN_PLAN: "已列入年度计划",
    CaseStatus.AWAITING_APPLICATION: "待提交审批申请",
    CaseStatus.APPROVAL_REVIEW: "审批审查中",
    CaseStatus.APPROVED: "已批复",
    CaseStatus.REJECTED: "不予通过",
    CaseStatus.WITHDRAWN: "已撤回",
    CaseStatus.LAPSED: "计划已失效",
    CaseStatus.EXPIRED: "批复已失效",
}


class Action(StrEnum):
    """State changes of a case."""

    RETURN = "return"
    RESUBMIT = "resubmit"
    DECIDE_IN_PLAN = "decide_in_plan"
    APPLY = "apply"
    PREPARE_ANEW = "prepare_anew"
    GRANT = "grant"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    LAPSE = "lapse"
    EXPIRE = "expire"
    REOPEN_FOR_CHANGE = "reopen_for_change"
    CLOSE_CHANGE = "close_change"


# (action, from status, from stage) → (to status, to stage); the stage None matches any.
_TRANSITIONS: dict[tuple[Action, CaseStatus, Stage | None], tuple[CaseStatus, Stage]] = {
    (Action.RETURN, CaseStatus.OPEN, Stage.PLAN): (CaseStatus.RETURNED, Stage.PLAN),
    (Action.RETURN, CaseStatus.APPROVAL_REVIEW, Stage.APPROVAL): (CaseStatus.RETURNED, Stage.APPROVAL),
    (Action.RESUBMIT, CaseStatus.RETURNED, Stage.PLAN): (CaseStatus.OPEN, Stage.PLAN),
    (Action.RESUBMIT, CaseStatus.RETURNED, Stage.APPROVAL): (CaseStatus.APPROVAL_REVIEW, Stage.APPROVAL),
    (Action.DECIDE_IN_PLAN, CaseStatus.OPEN, Stage.PLAN): (CaseStatus.IN_PLAN, Stage.PLAN),
    (Action.APPLY, CaseStatus.IN_PLAN, None): (CaseStatus.APPROVAL_REVIEW, Stage.APPROVAL),
    (Action.APPLY, CaseStatus.AWAITING_APPLICATION, None): (CaseStatus.APPROVAL_REVIEW, Stage.APPROVAL),
    (Action.GRANT, CaseStatus.APPROVAL_REVIEW, Stage.APPROVAL): (CaseStatus.APPROVED, Stage.APPROVAL),
    (Action.REJECT, CaseStatus.OPEN, Stage.PLAN): (CaseStatus.REJECTED, Stage.PLAN),
    (Action.REJECT, CaseStatus.RETURNED, Stage.PLAN): (CaseStatus.REJECTED, Stage.PLAN),
    (Action.REJECT, CaseStatus.APPROVAL_REVIEW, Stage.APPROVAL): (CaseStatus.REJECTED, Stage.APPROVAL),
    (Action.REJECT, CaseStatus.RETURNED, Stage.APPROVAL): (CaseStatus.REJECTED, Stage.APPROVAL),
    (Action.LAPSE, CaseStatus.IN_PLAN, None): (CaseStatus.LAPSED, Stage.PLAN),
    (Action.LAPSE, CaseStatus.APPROVAL_REVIEW, Stage.APPROVAL): (CaseStatus.LAPSED, Stage.PLAN),
    (Action.LAPSE, CaseStatus.RETURNED, Stage.APPROVAL): (CaseStatus.LAPSED, Stage.PLAN),
    (Action.EXPIRE, CaseStatus.APPROVED, None): (CaseStatus.EXPIRED, Stage.APPROVAL),
    (Action.REOPEN_FOR_CHANGE, CaseStatus.APPROVED, None): (CaseStatus.APPROVAL_REVIEW, Stage.CHANGE),
    (Action.CLOSE_CHANGE, CaseStatus.APPROVAL_REVIEW, Stage.CHANGE): (CaseStatus.APPROVED, Stage.CHANGE),
}
_WITHDRAWABLE = frozenset(
    {
        CaseStatus.OPEN,
        CaseStatus.RETURNED,
        CaseStatus.IN_PLAN,
        CaseStatus.AWAITING_APPLICATION,
        CaseStatus.APPROVAL_REVIEW,
    }
)

# Who reads every case of their tenant (or of the tenants that delegate to it).
TENANT_WIDE_READERS = frozenset(
    {"bureau_reviewer", "bureau_head", "tech_center", "auditor", "tenant_admin", "platform_admin"}
)
TECHNICAL_REVIEWERS = frozenset({"bureau_reviewer", "bureau_head", "tech_center"})
DECIDERS = frozenset({"bureau_head"})
APPLICANTS = frozenset({"applicant", "unit_head"})
DEPARTMENTS = frozenset({"finance", "cyberspace", "crypto", "police", "reform", "ndrc"})


@dataclass(frozen=True)
class ReviewCase:
    """A declaration under review."""

    id: str
    tenant_id: str
    declaration_id: str
    declaring_org_id: str
    name: str
    amount: Decimal
    project_code: str | None
    status: CaseStatus
    opened_at: datetime
    version: int
    reviewing_tenant_id: str | None = None
    stage: Stage = Stage.PLAN
    org_name: str = ""
    supplementary: bool = False
    pack_id: str = ""
    target_year: int | None = None
    round: int = 1
    declaration: DeclarationSnapshot | None = None
    plan_level: str | None = None
    plan_budget: Decimal | None = None
    delegation_cite: tuple[str, ...] = ()
    updated_at: datetime | None = None

    @property
    def acting_tenant(self) -> str:
        """The tenant that does the technical review (itself unless delegated)."""
        return self.reviewing_tenant_id or self.tenant_id

    @property
    def ceiling(self) -> Decimal:
        """The most an approval may grant: the planned budget, else the declared amount."""
        return self.plan_budget if self.plan_budget is not None else self.amount

    @property
    def live(self) -> bool:
        """Not closed for good."""
        return self.status not in TERMINAL


def _state_error(case: ReviewCase, action: Action) -> AppError:
    return AppError(
        code="CASE_STATE_INVALID",
        message=f"案件当前状态为“{STATUS_ZH[case.status]}”，不能执行此操作。",
        kind=ErrorKind.PRECONDITION,
        details={"status": case.status.value, "stage": case.stage.value, "action": action.value},
    )


def can(case: ReviewCase, action: Action) -> bool:
    """Whether ``action`` is allowed from the case's state."""
    if action is Action.WITHDRAW:
        return case.status in _WITHDRAWABLE
    return (action, case.status, case.stage) in _TRANSITIONS or (action, case.status, None) in _TRANSITIONS


def transition(case: ReviewCase, action: Action, *, at: datetime) -> ReviewCase:
    """The case after ``action``; a 422 ``CASE_STATE_INVALID`` when its state does not allow it."""
    if action is Action.WITHDRAW:
        if case.status not in _WITHDRAWABLE:
            raise _state_error(case, action)
        return replace(case, status=CaseStatus.WITHDRAWN, updated_at=at)
    target = _TRANSITIONS.get((action, case.status, case.stage)) or _TRANSITIONS.get(
        (action, case.status, None)
    )
    if target is None:
        raise _state_error(case, action)
    status, stage = target
    return replace(case, status=status, stage=stage, updated_at=at)


def prepare_anew(case: ReviewCase, *, at: datetime) -> ReviewCase:
    """Review rounds exhausted (lhasa §11): the application is void and the unit prepares its
    materials anew; the case waits for a new application where it waited before."""
    if not (case.status is CaseStatus.APPROVAL_REVIEW and case.stage is Stage.APPROVAL):
        raise _state_error(case, Action.PREPARE_ANEW)
    status = CaseStatus.AWAITING_APPLICATION if case.supplementary else CaseStatus.IN_PLAN
    return replace(case, status=status, stage=Stage.APPROVAL, updated_at=at)


def require(case: ReviewCase, action: Action) -> None:
    """Raise the 422 unless ``action`` is allowed now."""
    if not can(case, action):
        raise _state_error(case, action)


# --------------------------------------------------------------------------------------------
# Who may see and do what
# --------------------------------------------------------------------------------------------


def in_reach(principal: Principal, case: ReviewCase) -> bool:
    """The caller's tenant is the case's or the one it delegates its review to (RLS says the same)."""
    return principal.tenant is not None and principal.tenant in {case.tenant_id, case.reviewing_tenant_id}


def can_read(principal: Principal, case: ReviewCase, *, involved: bool = False) -> bool:
    """Bureaus (of the case's tenant or its reviewing tenant) and auditors see the case; a unit sees
    its own org's cases; departments and experts see the cases they were asked about (``involved``)."""
    if not in_reach(principal, case):
        return False
    if principal.has_role(*TENANT_WIDE_READERS):
        return True
    if (
        principal.tenant == case.tenant_id
        and principal.org is not None
        and principal.org == case.declaring_org_id
    ):
        return True
    return involved


def ensure_not_read_only(principal: Principal) -> None:
    """Auditors read everything and change nothing (unless they also hold an acting role)."""
    acting = TECHNICAL_REVIEWERS | DECIDERS | APPLICANTS | DEPARTMENTS | {"expert", "tenant_admin"}
    if principal.has_role("auditor") and not principal.has_role(*acting):
        raise forbidden("auditor is read-only")


def ensure_technical_reviewer(
    principal: Principal, case: ReviewCase, roles: frozenset[str] | None = None
) -> None:
    """The technical review belongs to the reviewing tenant's reviewers (the case's own without a
    delegation)."""
    ensure_not_read_only(principal)
    if principal.tenant != case.acting_tenant or not principal.has_role(*(roles or TECHNICAL_REVIEWERS)):
        raise forbidden("review.technical")


def ensure_decider(principal: Principal, case: ReviewCase, roles: frozenset[str] | None = None) -> None:
    """Decisions (plan, approval, changes) belong to the case's own bureau head."""
    ensure_not_read_only(principal)
    if principal.tenant != case.tenant_id or not principal.has_role(*(roles or DECIDERS)):
        raise forbidden("review.decide")


def ensure_applicant(principal: Principal, case: ReviewCase) -> None:
    """Approval applications and change requests come from the declaring unit."""
    ensure_not_read_only(principal)
    if (
        principal.tenant != case.tenant_id
        or principal.org != case.declaring_org_id
        or not principal.has_role(*APPLICANTS)
    ):
        raise forbidden("review.apply")
