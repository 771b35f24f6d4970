"""Approval review (审批): the application, its review rounds and steps, the approval and its expiry.

Everything numeric comes from the pack: the approver (``approver``), the documents
(``required_documents`` / ``alternative_documents``), the working-day limits of each step
(``review_sla_workdays``: lhasa §11 5 / 2 / 2 / 3 / 3, shuangyashan §17–§19 15 / 8 / 20), the
limit on review rounds (``max_review_rounds``: lhasa §11, after two failed rounds the materials
are prepared anew), the 发改 documents and the city review recorded as steps
(``ndrc_documents``, ``city_review_required``), the supplementary sign-off
(``call_calendar.supplementary``) and the approval's validity (``approval_validity_months``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from govkit.errors import AppError, ErrorKind
from govkit.policy import Pack, Requirements
from review.domain.declaration import Material
from review.domain.formal_review import document_label
from review.domain.plan import add_months
from review.domain.tasks import sla_workdays

# Which review_sla_workdays key limits which step (the contract's step names, first match wins).
FIRST_REVIEW_KEYS = ("formal_review", "bureau_review")
SECOND_REVIEW_KEYS = ("second_review", "formal_review", "bureau_review")
ISSUE_KEYS = ("issue_approval",)
REVISION_KEYS = ("applicant_revision",)
NDRC_KEYS = ("ndrc_approval",)
DESIGN_REVIEW_KEYS = ("design_review",)

APPROVER_ROLES = {
    "tech_center": frozenset({"tech_center"}),
    "bureau": frozenset({"bureau_reviewer", "bureau_head"}),
}
APPROVER_TASK_ROLE = {"tech_center": "tech_center", "bureau": "bureau_reviewer"}
# Who issues the document: the bureau head; where the big data center reviews (qiaokou §17(1)),
# the center issues its review opinion and files it with the bureau.
ISSUER_ROLES = {
    "tech_center": frozenset({"tech_center", "bureau_head"}),
    "bureau": frozenset({"bureau_head"}),
}
SIGN_OFF_ZH = {"city_government": "市人民政府", "district_government": "区人民政府", "bureau": "数据局"}


class ApplicationStatus(StrEnum):
    """Where an approval application stands."""

    UNDER_REVIEW = "under_review"
    PASSED = "passed"  # the review passed; the approval is to be issued
    RETURNED = "returned"  # back with the applicant for revision
    VOID = "void"  # rounds exhausted: the materials must be prepared anew
    GRANTED = "granted"
    REJECTED = "rejected"
    CLOSED = "closed"  # the case was withdrawn or lapsed meanwhile


class Consequence(StrEnum):
    """What a review conclusion leads to."""

    ISSUE = "issue"
    RETURN = "return"
    PREPARE_ANEW = "prepare_anew"


class StepStatus(StrEnum):
    """A recorded step: pending or done."""

    PENDING = "pending"
    DONE = "done"


class ApprovalStatus(StrEnum):
    """An approval is valid until it expires (or is superseded by the lifecycle's later stages)."""

    VALID = "valid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Step:
    """A step the pack requires beside the review itself (发改 documents, city review, sign-off)."""

    kind: str
    label_zh: str
    blocking: bool  # must be done before the approval is issued
    holder_role: str
    workdays: int | None
    cite: tuple[str, ...]


@dataclass(frozen=True)
class StepRecord:
    """A step of one application, as recorded."""

    id: str
    tenant_id: str
    application_id: str
    case_id: str
    kind: str
    label_zh: str
    blocking: bool
    status: StepStatus
    version: int = 1
    reviewing_tenant_id: str | None = None
    reference: str = ""
    recorded_by: str | None = None
    recorded_on: date | None = None
    task_id: str | None = None
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Application:
    """An application for approval with its documents."""

    id: str
    tenant_id: str
    case_id: str
    attempt: int  # 1 for the first application; a new one after rounds are exhausted
    round: int  # review round within this application
    status: ApplicationStatus
    approver: str
    materials: tuple[Material, ...]
    submitted_by: str
    submitted_at: datetime
    version: int = 1
    reviewing_tenant_id: str | None = None
    sign_off: dict[str, Any] | None = None
    conclusion: str = ""
    items: tuple[str, ...] = ()
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Approval:
    """An issued approval (审批表/批复)."""

    id: str
    tenant_id: str
    case_id: str
    declaration_id: str
    application_id: str
    document_number: str
    approved_amount: Decimal
    approved_on: date
    status: ApprovalStatus
    issued_by: str
    version: int = 1
    reviewing_tenant_id: str | None = None
    project_code: str | None = None
    valid_until: date | None = None
    conditions: tuple[str, ...] = ()
    content: str = ""
    document_key: str = ""
    document_sha256: str = ""
    baseline_version: int = 1
    procurement_started_on: date | None = None
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Baseline:
    """An approved baseline (amount, content, conditions); every version is kept, none overwritten."""

    id: str
    tenant_id: str
    approval_id: str
    version: int
    amount: Decimal
    content: str
    conditions: tuple[str, ...]
    created_by: str
    created_at: datetime
    reviewing_tenant_id: str | None = None
    change_id: str | None = None
    cite: tuple[str, ...] = ()


def approver_of(reqs: Requirements) -> tuple[str, list[str]]:
    """Who reviews (tech_center / bureau) and why; a pack without the rule leaves it to the bureau."""
    req = reqs["approver"]
    if req.value in APPROVER_ROLES:
        return str(req.value), list(req.cite)
    return "bureau", list(req.cite)


def steps(
    pack: Pack, reqs: Requirements, *, supplementary: bool, delegated: bool, delegation_cite: Sequence[str]
) -> list[Step]:
    """The steps beside the review itself that this application's facts call for."""
    out: list[Step] = []
    sla = reqs["review_sla_workdays"]
    limits: Mapping[str, Any] = sla.value or {}
    ndrc = reqs["ndrc_documents"]
    ndrc_days = sla_workdays(limits, NDRC_KEYS)
    for doc in ndrc.value or []:
        label = {"contact_sheet": "发改部门出具联系单", "project_proposal": "发改部门批复项目建议书"}.get(
            doc, f"发改部门批复{document_label(doc)}"
        )
        out.append(
            Step(
                kind=f"ndrc_{doc}",
                label_zh=label,
                blocking=False,
                holder_role="ndrc",
                workdays=ndrc_days,
                cite=tuple(sorted(set(ndrc.cite) | (set(sla.cite) if ndrc_days else set()))),
            )
        )
    design_days = sla_workdays(limits, DESIGN_REVIEW_KEYS)
    if design_days is not None and "preliminary_design" in (reqs["required_documents"].value or []):
        out.append(
            Step(
                kind="design_review",
                label_zh="第三方机构评估初步设计方案",
                blocking=True,
                holder_role="bureau_reviewer",
                workdays=design_days,
                cite=tuple(sla.cite),
            )
        )
    city = reqs["city_review_required"]
    if city.value is True and not delegated:
        out.append(
            Step(
                kind="city_review",
                label_zh="报市级数据主管部门审核",
                blocking=True,
                holder_role="bureau_reviewer",
                workdays=None,
                cite=tuple(city.cite),
            )
        )
    if supplementary:
        rule = pack.call_calendar.supplementary
        by = SIGN_OFF_ZH.get(rule.approved_by, rule.approved_by) if rule else "上级"
        out.append(
            Step(
                kind="supplementary_sign_off",
                label_zh=f"计划外项目经{by}批准",
                blocking=True,
                holder_role="bureau_head",
                workdays=None,
                cite=tuple(pack.cite(list(rule.cite))) if rule else (),
            )
        )
    del delegation_cite  # the delegated city review is the review itself; cited on the case
    return out


def sign_off_rule(pack: Pack) -> tuple[str | None, bool, list[str]]:
    """Who must approve a supplementary project, whether funds must be secured, and the articles."""
    rule = pack.call_calendar.supplementary
    if rule is None:
        return None, False, []
    return rule.approved_by, rule.requires_secured_funds, pack.cite(list(rule.cite))


def check_sign_off(pack: Pack, sign_off: Mapping[str, Any] | None) -> list[str]:
    """A supplementary application must carry the higher sign-off its pack requires."""
    approved_by, needs_funds, cite = sign_off_rule(pack)
    if approved_by is None:
        return cite
    problems = []
    if (
        not sign_off
        or sign_off.get("approved_by") != approved_by
        or not str(sign_off.get("reference", "")).strip()
    ):
        problems.append(f"须附{SIGN_OFF_ZH.get(approved_by, approved_by)}批准文件（文号）")
    if needs_funds and not (sign_off or {}).get("funds_secured"):
        problems.append("须说明资金已经落实")
    if problems:
        raise AppError(
            code="SUPPLEMENTARY_SIGN_OFF_REQUIRED",
            message="计划外项目申请审批" + "，".join(problems) + "。",
            kind=ErrorKind.PRECONDITION,
            details={"approved_by": approved_by, "requires_secured_funds": needs_funds},
            cite=cite,
        )
    return cite


def merge_materials(old: Iterable[Material], new: Iterable[Material]) -> tuple[Material, ...]:
    """A revision replaces documents of the same type and keeps the others."""
    by_type = {m.doc_type: m for m in old}
    for material in new:
        by_type[material.doc_type] = material
    return tuple(by_type.values())


def _require_status(app: Application, *allowed: ApplicationStatus) -> None:
    if app.status not in allowed:
        raise AppError(
            code="APPLICATION_STATE_INVALID",
            message="审批申请当前状态不允许此操作。",
            kind=ErrorKind.PRECONDITION,
            details={"status": app.status.value},
        )


def conclude(
    app: Application, *, passed: bool, comments: str, items: Sequence[str], max_rounds: int | None
) -> tuple[Application, Consequence]:
    """The reviewer's conclusion of the current round.

    Failing the last allowed round voids the application: the unit prepares its materials anew
    (lhasa §11). Without a limit in the pack, rounds go on.
    """
    _require_status(app, ApplicationStatus.UNDER_REVIEW)
    if passed:
        return replace(
            app, status=ApplicationStatus.PASSED, conclusion=comments.strip(), items=()
        ), Consequence.ISSUE
    if not items and not comments.strip():
        raise AppError(
            code="REVIEW_FEEDBACK_REQUIRED",
            message="评审未通过时须书面反馈评审意见。",
            kind=ErrorKind.INVALID,
        )
    status, consequence = ApplicationStatus.RETURNED, Consequence.RETURN
    if max_rounds is not None and app.round >= max_rounds:
        status, consequence = ApplicationStatus.VOID, Consequence.PREPARE_ANEW
    return replace(app, status=status, conclusion=comments.strip(), items=tuple(items)), consequence


def resubmit(app: Application, materials: Sequence[Material]) -> Application:
    """The unit's revised materials start the next round."""
    _require_status(app, ApplicationStatus.RETURNED)
    return replace(
        app,
        status=ApplicationStatus.UNDER_REVIEW,
        round=app.round + 1,
        materials=merge_materials(app.materials, materials),
        items=(),
    )


def validity(reqs: Requirements, approved_on: date) -> tuple[date | None, list[str]]:
    """The approval's last valid day (validity months from the day of issue); None without a rule."""
    req = reqs["approval_validity_months"]
    if req.value is None:
        return None, []
    return add_months(approved_on, int(req.value)) - timedelta(days=1), list(req.cite)


def check_amount(amount: Decimal, ceiling: Decimal) -> None:
    """The approved amount is positive and at most the planned budget."""
    if amount <= 0 or amount > ceiling:
        raise AppError(
            code="APPROVED_AMOUNT_EXCEEDS_PLAN",
            message=f"批复金额须大于零且不超过计划金额（{ceiling}元）。",
            kind=ErrorKind.INVALID,
            details={"approved_amount": str(amount), "ceiling": str(ceiling)},
        )


def expires(approval: Approval, today: date) -> bool:
    """Validity passed and procurement never started (qiaokou §22: 有效期内未开工或未招标采购的自动失效)."""
    return (
        approval.status is ApprovalStatus.VALID
        and approval.valid_until is not None
        and today > approval.valid_until
        and approval.procurement_started_on is None
    )
