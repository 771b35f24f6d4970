"""The declaration (项目申报) aggregate, its state machine and who may do what with it.

States (DOMAIN.md, intake's segment)::

    draft ──submit_for_signoff──▶ pending_signoff ──sign_off──▶ submitted ──withdraw──▶ withdrawn
      ▲                               │ send_back                 │  (only before any review event)
      └───────────────────────────────┘                           ├─ review.returned ─▶ returned
                                                                  ├─ review.rejected ─▶ rejected
                                                                  └─ plan.decided ────▶ in_plan
    returned ──(edit)── submit_for_signoff ─▶ pending_signoff ─ sign_off ─▶ submitted (resubmitted)
    returned ──resubmit (unit head)──▶ submitted (resubmitted)

Signing off is the *submission* to the bureau (wuxing-2023 §7: the department reviews and
consolidates its units' declarations); screening, quota, project code and the event happen there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden


class DeclarationStatus(StrEnum):
    """Where a declaration stands in intake."""

    DRAFT = "draft"
    PENDING_SIGNOFF = "pending_signoff"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    RETURNED = "returned"
    REJECTED = "rejected"
    IN_PLAN = "in_plan"


STATUS_LABELS_ZH: dict[DeclarationStatus, str] = {
    DeclarationStatus.DRAFT: "草稿",
    DeclarationStatus.PENDING_SIGNOFF: "待单位审核",
    DeclarationStatus.SUBMITTED: "已报送",
    DeclarationStatus.WITHDRAWN: "已撤回",
    DeclarationStatus.RETURNED: "已退回补正",
    DeclarationStatus.REJECTED: "未通过",
    DeclarationStatus.IN_PLAN: "已列入计划",
}


class Category(StrEnum):
    """项目类别 (the policy contract's `category` fact)."""

    INFRASTRUCTURE = "infrastructure"
    CROSS_DEPARTMENT = "cross_department"
    BUSINESS_APP = "business_app"
    OM_SERVICE = "om_service"
    OTHER = "other"


class ConstructionType(StrEnum):
    """新建/升级改造/扩建/运维 (the policy contract's `construction_type` fact)."""

    NEW = "new"
    UPGRADE = "upgrade"
    EXPANSION = "expansion"
    OM = "om"


class ConstructionItem(StrEnum):
    """What a project builds, expands or buys among the kinds the measures restrict (form checkboxes)."""

    MACHINE_ROOM = "machine_room"
    CLOUD_PLATFORM = "cloud_platform"
    DATA_CENTER = "data_center"
    PRIVATE_NETWORK = "private_network"
    SERVER_PURCHASE = "server_purchase"


BREAKDOWN_PARTS: tuple[str, ...] = (
    "hardware",
    "software",
    "services",
    "security",
    "supervision",
    "third_party_testing",
    "other",
)
BREAKDOWN_LABELS_ZH = {
    "hardware": "硬件购置费",
    "software": "软件开发及购置费",
    "services": "服务费",
    "security": "安全建设费",
    "supervision": "监理费",
    "third_party_testing": "第三方测评费",
    "other": "其他费用",
}


@dataclass(frozen=True)
class AmountBreakdown:
    """投资估算构成 (Decimal CNY); the parts must add up to the declaration's amount."""

    hardware: Decimal = Decimal("0")
    software: Decimal = Decimal("0")
    services: Decimal = Decimal("0")
    security: Decimal = Decimal("0")
    supervision: Decimal = Decimal("0")
    third_party_testing: Decimal = Decimal("0")
    other: Decimal = Decimal("0")

    def total(self) -> Decimal:
        """The sum of the parts."""
        return sum((getattr(self, p) for p in BREAKDOWN_PARTS), Decimal("0"))

    def as_dict(self) -> dict[str, Decimal]:
        """Part name → amount."""
        return {p: getattr(self, p) for p in BREAKDOWN_PARTS}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AmountBreakdown:
        """From a mapping of part → amount (missing parts are zero)."""
        return cls(**{p: Decimal(str(values.get(p, "0"))) for p in BREAKDOWN_PARTS})


def check_breakdown(amount: Decimal, breakdown: AmountBreakdown) -> None:
    """The parts must be non-negative and add up exactly to the amount (Decimal, no rounding)."""
    negative = [p for p, v in breakdown.as_dict().items() if v < 0]
    if negative:
        raise AppError(
            code="VALIDATION_FAILED",
            message="提交的内容有误，请按提示修改后重试。",
            kind=ErrorKind.INVALID,
            details={"fields": [{"field": f"breakdown.{p}", "message": "金额不能为负数"} for p in negative]},
        )
    total = breakdown.total()
    if total != amount:
        raise AppError(
            code="BREAKDOWN_MISMATCH",
            message=f"投资估算构成合计 {total} 元与总投资 {amount} 元不一致，请核对各分项金额。",
            kind=ErrorKind.INVALID,
            details={"amount": str(amount), "breakdown_total": str(total), "difference": str(amount - total)},
        )


@dataclass(frozen=True)
class StoredFinding:
    """A screening finding as kept with the declaration and shown to reviewers."""

    kind: str
    score: float
    related_ids: tuple[str, ...]
    message: str
    citations: tuple[str, ...]
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        """JSON form (stored in the declarations table and returned by the APIs)."""
        return {
            "kind": self.kind,
            "score": self.score,
            "related_ids": list(self.related_ids),
            "message": self.message,
            "citations": list(self.citations),
            "details": dict(self.details),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredFinding:
        """From the stored JSON."""
        return cls(
            kind=str(data["kind"]),
            score=float(data.get("score", 0.0)),
            related_ids=tuple(str(x) for x in data.get("related_ids", [])),
            message=str(data.get("message", "")),
            citations=tuple(str(x) for x in data.get("citations", [])),
            details=dict(data.get("details") or {}),
        )


@dataclass(frozen=True)
class Declaration:
    """A construction unit's application for a project."""

    id: str
    tenant_id: str
    org_id: str
    name: str
    category: Category
    construction_type: ConstructionType
    amount: Decimal
    necessity: str
    goals: str
    contact: str
    status: DeclarationStatus
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    project_code: str | None = None
    construction_unit: str = ""
    breakdown: AmountBreakdown | None = None
    funding_source: str = ""
    content: str = ""
    performance_goals: str = ""
    cloud_deployment: bool = False
    data_sharing_entries: tuple[str, ...] = ()
    mlps_level: int = 0
    crypto_plan: str = ""
    related_systems: tuple[str, ...] = ()
    public_facing: bool = False
    public_video: bool = False
    goods_and_services_only: bool = False
    simple: bool = False
    emergency: bool = False
    designer_org: str = ""
    construction_items: tuple[ConstructionItem, ...] = ()
    call_id: str | None = None
    target_year: int | None = None
    plan_year: int | None = None
    supplementary: bool = False
    funds_secured: bool = False
    supplementary_reason: str = ""
    supplementary_approved_by: str = ""
    late_route: str = ""
    round: int = 0
    provincial_code: str | None = None
    findings: tuple[StoredFinding, ...] = ()
    citations: tuple[str, ...] = ()
    signoff_by: str | None = None
    signoff_at: datetime | None = None
    send_back_reason: str = ""
    return_reason: str = ""
    return_items: tuple[str, ...] = ()
    return_stage: str = ""
    review_started: bool = False
    withdrawn_reason: str = ""

    @property
    def cross_department(self) -> bool:
        """多跨协同: the category says so (the reform office gives its opinion, wuxing-2023 §9)."""
        return self.category is Category.CROSS_DEPARTMENT


# What an applicant fills in; everything else is set by the use cases.
EDITABLE_FIELDS: tuple[str, ...] = (
    "name",
    "construction_unit",
    "category",
    "construction_type",
    "amount",
    "breakdown",
    "funding_source",
    "necessity",
    "goals",
    "content",
    "performance_goals",
    "cloud_deployment",
    "data_sharing_entries",
    "mlps_level",
    "crypto_plan",
    "related_systems",
    "contact",
    "public_facing",
    "public_video",
    "goods_and_services_only",
    "simple",
    "emergency",
    "designer_org",
    "construction_items",
    "call_id",
    "supplementary",
    "funds_secured",
    "supplementary_reason",
)
# Screened text: a change to these makes the similarity index re-read the declaration.
SCREENED_FIELDS = frozenset({"name", "content", "goals", "necessity", "amount"})
FIELD_LABELS_ZH: dict[str, str] = {
    "name": "项目名称",
    "construction_unit": "建设单位",
    "category": "项目类别",
    "construction_type": "建设性质",
    "amount": "总投资",
    "breakdown": "投资估算构成",
    "funding_source": "资金来源",
    "necessity": "建设必要性",
    "goals": "建设目标",
    "content": "建设内容",
    "performance_goals": "绩效目标",
    "contact": "联系人及电话",
    "mlps_level": "等保级别",
}
# Filled before the applicant may hand the declaration to the unit head (form completeness, not policy).
REQUIRED_FOR_SUBMISSION: tuple[str, ...] = (
    "name",
    "construction_unit",
    "category",
    "construction_type",
    "amount",
    "breakdown",
    "funding_source",
    "necessity",
    "goals",
    "content",
    "contact",
)
MLPS_LEVELS = range(0, 6)  # 0 = not yet determined; 1..5 (GB/T 22239 第一级…第五级)

EDITABLE = frozenset({DeclarationStatus.DRAFT, DeclarationStatus.RETURNED})
# Roles that read every declaration of their tenant; everyone else sees only their own org's.
TENANT_WIDE_READERS = frozenset(
    {"bureau_reviewer", "bureau_head", "tech_center", "auditor", "tenant_admin", "platform_admin"}
)
AUTHORS = frozenset({"applicant"})
SIGNERS = frozenset({"unit_head"})
BUREAU = frozenset({"bureau_reviewer", "bureau_head"})


def can_read(principal: Principal, declaration: Declaration) -> bool:
    """Bureaus see their tenant's declarations; a unit sees only its own org's."""
    if principal.tenant != declaration.tenant_id:
        return False
    if principal.has_role(*TENANT_WIDE_READERS):
        return True
    return principal.org is not None and principal.org == declaration.org_id


def reads_whole_tenant(principal: Principal) -> bool:
    """Whether the principal lists the whole tenant's declarations (else only its org's)."""
    return principal.has_role(*TENANT_WIDE_READERS)


def ensure_author(principal: Principal) -> tuple[str, str]:
    """The caller must be an applicant of a construction unit; returns (tenant, org)."""
    if not principal.has_role(*AUTHORS) or principal.tenant is None or principal.org is None:
        raise forbidden("declaration.write")
    return principal.tenant, principal.org


def _ensure_member(
    principal: Principal, declaration: Declaration, roles: frozenset[str], action: str
) -> None:
    if not principal.has_role(*roles) or principal.org != declaration.org_id:
        raise forbidden(action)


def _wrong_state(declaration: Declaration, code: str, message: str) -> AppError:
    return AppError(
        code=code,
        message=message,
        kind=ErrorKind.PRECONDITION,
        details={"status": declaration.status.value, "status_zh": STATUS_LABELS_ZH[declaration.status]},
    )


def ensure_can_edit(principal: Principal, declaration: Declaration) -> None:
    """Only the declaring unit's applicants change a declaration, and only while it is editable."""
    ensure_author(principal)
    if principal.org != declaration.org_id:
        raise forbidden("declaration.write")
    if declaration.status not in EDITABLE:
        raise _wrong_state(
            declaration,
            "DECLARATION_NOT_EDITABLE",
            "该申报已提交，不能再修改。如需修改，请等待退回补正或由单位负责人退回。",
        )


def apply_changes(declaration: Declaration, changes: Mapping[str, object], *, at: datetime) -> Declaration:
    """A declaration with the given editable fields changed (version bump is the repository's).

    The breakdown, when there is one, must still add up to the amount afterwards.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise AppError(
            code="UNKNOWN_FIELDS",
            message="包含不可修改的字段。",
            kind=ErrorKind.INVALID,
            details={"fields": sorted(unknown)},
        )
    changed = replace(declaration, **changes, updated_at=at)  # type: ignore[arg-type]
    if changed.breakdown is not None and ("breakdown" in changes or "amount" in changes):
        check_breakdown(changed.amount, changed.breakdown)
    return changed


def missing_for_submission(declaration: Declaration) -> list[dict[str, str]]:
    """Form fields still empty that a submission needs, with Chinese messages."""
    missing = []
    for name in REQUIRED_FOR_SUBMISSION:
        value = getattr(declaration, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append({"field": name, "message": f"请填写{FIELD_LABELS_ZH.get(name, name)}"})
    return missing


def ensure_complete(declaration: Declaration) -> None:
    """Refuse a submission with empty required fields or a breakdown that does not add up."""
    missing = missing_for_submission(declaration)
    if missing:
        raise AppError(
            code="DECLARATION_INCOMPLETE",
            message="申报信息不完整，请补充后再提交。",
            kind=ErrorKind.PRECONDITION,
            details={"fields": missing},
        )
    assert declaration.breakdown is not None
    check_breakdown(declaration.amount, declaration.breakdown)


def submit_for_signoff(principal: Principal, declaration: Declaration, *, at: datetime) -> Declaration:
    """draft/returned → pending_signoff: the applicant hands the declaration to the unit head."""
    ensure_can_edit(principal, declaration)
    ensure_complete(declaration)
    return replace(declaration, status=DeclarationStatus.PENDING_SIGNOFF, send_back_reason="", updated_at=at)


def ensure_signer(principal: Principal, declaration: Declaration) -> None:
    """Only the unit head of the declaring unit signs off or sends back."""
    _ensure_member(principal, declaration, SIGNERS, "declaration.signoff")


def send_back(principal: Principal, declaration: Declaration, *, reason: str, at: datetime) -> Declaration:
    """pending_signoff → draft (or back to returned for a resubmission), with the head's reason."""
    ensure_signer(principal, declaration)
    if declaration.status is not DeclarationStatus.PENDING_SIGNOFF:
        raise _wrong_state(declaration, "DECLARATION_NOT_PENDING_SIGNOFF", "该申报不在待单位审核状态。")
    if not reason.strip():
        raise AppError(
            code="VALIDATION_FAILED",
            message="提交的内容有误，请按提示修改后重试。",
            kind=ErrorKind.INVALID,
            details={"fields": [{"field": "reason", "message": "请填写退回原因"}]},
        )
    back_to = DeclarationStatus.RETURNED if declaration.round > 0 else DeclarationStatus.DRAFT
    return replace(declaration, status=back_to, send_back_reason=reason.strip(), updated_at=at)


@dataclass(frozen=True)
class Submission:
    """What the use case decided at submission, applied to the declaration by :func:`sign_off`."""

    project_code: str
    target_year: int | None
    plan_year: int | None
    call_id: str | None
    late_route: str
    supplementary_approved_by: str
    findings: tuple[StoredFinding, ...]
    citations: tuple[str, ...]


def ensure_can_sign_off(principal: Principal, declaration: Declaration) -> None:
    """The unit head may sign off only a declaration waiting for sign-off."""
    ensure_signer(principal, declaration)
    if declaration.status is not DeclarationStatus.PENDING_SIGNOFF:
        raise _wrong_state(declaration, "DECLARATION_NOT_PENDING_SIGNOFF", "该申报不在待单位审核状态。")


def sign_off(
    principal: Principal, declaration: Declaration, decided: Submission, *, at: datetime
) -> Declaration:
    """pending_signoff → submitted: the declaration goes to the bureau (round + 1)."""
    ensure_can_sign_off(principal, declaration)
    return _to_bureau(declaration, decided, by=principal.username, at=at)


def ensure_can_resubmit(principal: Principal, declaration: Declaration) -> None:
    """The unit head resubmits a returned declaration directly (it signs the corrected version off)."""
    ensure_signer(principal, declaration)
    if declaration.status is not DeclarationStatus.RETURNED:
        raise _wrong_state(declaration, "DECLARATION_NOT_RETURNED", "只有被退回补正的申报才能重新提交。")
    ensure_complete(declaration)


def resubmit(
    principal: Principal, declaration: Declaration, decided: Submission, *, at: datetime
) -> Declaration:
    """returned → submitted (round + 1), signed off by the unit head."""
    ensure_can_resubmit(principal, declaration)
    return _to_bureau(declaration, decided, by=principal.username, at=at)


def _to_bureau(declaration: Declaration, decided: Submission, *, by: str, at: datetime) -> Declaration:
    return replace(
        declaration,
        status=DeclarationStatus.SUBMITTED,
        submitted_at=declaration.submitted_at or at,
        project_code=declaration.project_code or decided.project_code,
        target_year=decided.target_year,
        plan_year=decided.plan_year,
        call_id=decided.call_id,
        late_route=decided.late_route,
        supplementary_approved_by=decided.supplementary_approved_by,
        findings=decided.findings,
        citations=decided.citations,
        round=declaration.round + 1,
        signoff_by=by,
        signoff_at=at,
        send_back_reason="",
        review_started=False,
        updated_at=at,
    )


def is_resubmission(declaration: Declaration) -> bool:
    """Whether a submission of this declaration is a resubmission (it went to the bureau before)."""
    return declaration.round > 0


def withdraw(principal: Principal, declaration: Declaration, *, reason: str, at: datetime) -> Declaration:
    """submitted → withdrawn, by the unit's applicant or head, only before review has started."""
    _ensure_member(principal, declaration, AUTHORS | SIGNERS, "declaration.withdraw")
    if declaration.status is not DeclarationStatus.SUBMITTED:
        raise _wrong_state(
            declaration, "DECLARATION_NOT_WITHDRAWABLE", "只有已报送且尚未开始审查的申报可以撤回。"
        )
    if declaration.review_started:
        raise _wrong_state(
            declaration, "REVIEW_ALREADY_STARTED", "审查已经开始，不能撤回。如需调整，请联系数据局。"
        )
    return replace(
        declaration, status=DeclarationStatus.WITHDRAWN, withdrawn_reason=reason.strip(), updated_at=at
    )


# --- effects of review events (no principal: the review service decided) ---------------------

# Only a declaration under review goes back to its unit: once in the plan, a return concerns the
# approval application, which is corrected and resubmitted in review; the project stays in the plan.
_RETURNABLE = frozenset({DeclarationStatus.SUBMITTED})
_REJECTABLE = frozenset({DeclarationStatus.SUBMITTED, DeclarationStatus.RETURNED, DeclarationStatus.IN_PLAN})


def mark_review_started(declaration: Declaration, *, at: datetime) -> Declaration | None:
    """Any review event means the bureau has started: withdrawal is closed (None if nothing changes)."""
    if declaration.review_started or declaration.status is not DeclarationStatus.SUBMITTED:
        return None
    return replace(declaration, review_started=True, updated_at=at)


def mark_returned(
    declaration: Declaration, *, stage: str, items: tuple[str, ...], reason: str, at: datetime
) -> Declaration | None:
    """review.returned → returned (补正); None when the declaration is not in a returnable state."""
    if declaration.status not in _RETURNABLE:
        return None
    return replace(
        declaration,
        status=DeclarationStatus.RETURNED,
        return_stage=stage,
        return_items=items,
        return_reason=reason,
        review_started=True,
        updated_at=at,
    )


def mark_rejected(declaration: Declaration, *, reason: str, at: datetime) -> Declaration | None:
    """review.rejected → rejected; None when it does not apply."""
    if declaration.status not in _REJECTABLE:
        return None
    return replace(
        declaration,
        status=DeclarationStatus.REJECTED,
        return_reason=reason,
        review_started=True,
        updated_at=at,
    )


def mark_in_plan(declaration: Declaration, *, at: datetime) -> Declaration | None:
    """plan.decided with outcome in_plan → in_plan; None when it does not apply."""
    if declaration.status is not DeclarationStatus.SUBMITTED:
        return None
    return replace(declaration, status=DeclarationStatus.IN_PLAN, review_started=True, updated_at=at)


def ensure_can_record_provincial_code(principal: Principal, declaration: Declaration) -> None:
    """The unit (applicant or head) or the bureau records the provincial platform's code, once coded."""
    in_unit = principal.has_role(*(AUTHORS | SIGNERS)) and principal.org == declaration.org_id
    if not (in_unit or principal.has_role(*BUREAU)):
        raise forbidden("declaration.provincial_code")
    if declaration.project_code is None:
        raise _wrong_state(
            declaration,
            "DECLARATION_NOT_SUBMITTED",
            "申报报送并取得本平台项目代码后，才能登记省平台项目代码。",
        )
