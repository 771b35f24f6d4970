"""A procurement (采购) of an approved project and its contract filing (合同备案), with the checks
the packs ask of a filing, each with the articles it rests on.

A procurement has a role: ``construction`` (承建), ``supervision`` (监理) or ``testing`` (检测/测评:
a third-party test or assessment service procured for the project). Once its contract is
signed the filing clock runs (the pack's contract_filing_workdays, e.g. qiaokou-2022 §25: 5 working
days); a late filing is accepted but marked overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from govkit import credit_code
from govkit.errors import AppError, ErrorKind, invalid_field


class Method(StrEnum):
    """Procurement methods of the Government Procurement Law, and work a unit procures itself."""

    OPEN_TENDER = "open_tender"
    INVITED_TENDER = "invited_tender"
    COMPETITIVE_NEGOTIATION = "competitive_negotiation"
    COMPETITIVE_CONSULTATION = "competitive_consultation"
    SINGLE_SOURCE = "single_source"
    INQUIRY = "inquiry"
    FRAMEWORK_AGREEMENT = "framework_agreement"
    SELF_PROCURED = "self_procured"


METHOD_ZH = {
    Method.OPEN_TENDER: "公开招标",
    Method.INVITED_TENDER: "邀请招标",
    Method.COMPETITIVE_NEGOTIATION: "竞争性谈判",
    Method.COMPETITIVE_CONSULTATION: "竞争性磋商",
    Method.SINGLE_SOURCE: "单一来源",
    Method.INQUIRY: "询价",
    Method.FRAMEWORK_AGREEMENT: "框架协议",
    Method.SELF_PROCURED: "单位自行采购",
}
METHOD_BY_ZH = {v: k for k, v in METHOD_ZH.items()}


class Role(StrEnum):
    """What the contract is for."""

    CONSTRUCTION = "construction"
    SUPERVISION = "supervision"
    TESTING = "testing"  # 检测/测评 (e.g. the third-party acceptance test, a security assessment)


ROLE_ZH = {Role.CONSTRUCTION: "承建合同", Role.SUPERVISION: "监理合同", Role.TESTING: "检测（测评）合同"}


class ProcurementStatus(StrEnum):
    """started → signed (the filing clock runs) → filed."""

    STARTED = "started"
    SIGNED = "signed"
    FILED = "filed"


class DocKind(StrEnum):
    """Files of a filing (qiaokou-2022 §25: tender documents, award notice or the written
    explanation of self-procured work, the contract and its schedule)."""

    TENDER_DOCUMENTS = "tender_documents"
    AWARD_NOTICE = "award_notice"
    SELF_PROCUREMENT_EXPLANATION = "self_procurement_explanation"
    CONTRACT = "contract"
    SCHEDULE = "schedule"
    OTHER = "other"


DOC_ZH = {
    DocKind.TENDER_DOCUMENTS: "招标（采购）文件",
    DocKind.AWARD_NOTICE: "中标（成交）通知书",
    DocKind.SELF_PROCUREMENT_EXPLANATION: "自行采购书面说明",
    DocKind.CONTRACT: "合同文本",
    DocKind.SCHEDULE: "工程进度计划",
    DocKind.OTHER: "其他材料",
}


@dataclass(frozen=True)
class Document:
    """A stored file of a filing."""

    kind: DocKind
    filename: str
    sha256: str
    size: int
    key: str
    content_type: str
    uploaded_at: datetime


@dataclass(frozen=True)
class Procurement:
    """One procurement of a project."""

    id: str
    tenant_id: str
    declaration_id: str
    role: Role
    method: Method
    started_on: date
    status: ProcurementStatus
    created_by: str
    version: int = 1
    title: str = ""
    signed_on: date | None = None
    filing_due_on: date | None = None
    overdue_notified_on: date | None = None
    ocid: str = ""
    prefill: dict[str, Any] = field(default_factory=dict)
    documents: tuple[Document, ...] = ()
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class Milestone:
    """A line of the contract's schedule."""

    name: str
    due_on: date


@dataclass(frozen=True)
class ContractTerms:
    """What the unit files of a signed contract."""

    contract_no: str
    supplier_name: str
    supplier_credit_code: str
    amount: Decimal
    signed_on: date
    period_start: date
    period_end: date
    warranty_months: int
    ip_clause: str
    termination_clause: str
    schedule: tuple[Milestone, ...] = ()

    @property
    def period_days(self) -> int:
        """The contract period in calendar days (both ends counted)."""
        return (self.period_end - self.period_start).days + 1


@dataclass(frozen=True)
class Check:
    """One rule applied to a filing: passed or not, blocking or a mark, with its articles."""

    code: str
    passed: bool
    blocking: bool
    message: str
    cite: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "code": self.code,
            "passed": self.passed,
            "blocking": self.blocking,
            "message": self.message,
            "cite": list(self.cite),
        }


@dataclass(frozen=True)
class Filing:
    """A filed contract (合同备案)."""

    id: str
    tenant_id: str
    procurement_id: str
    declaration_id: str
    role: Role
    method: Method
    terms: ContractTerms
    filed_on: date
    filed_at: datetime
    filed_by: str
    due_on: date
    overdue: bool
    checks: tuple[Check, ...]
    cite: tuple[str, ...] = ()
    version: int = 1
    source: str = "manual"  # "manual" | "ocds"


@dataclass(frozen=True)
class FilingContext:
    """What the checks need besides the terms: the project, the pack's answers, the other parties."""

    approved_amount: Decimal
    approval_valid_at_signing: bool
    approval_cite: tuple[str, ...]
    amount_cite: tuple[str, ...]
    other_contracts_total: Decimal  # construction contracts of the project already filed
    filing_workdays: int | None
    filing_cite: tuple[str, ...]
    due_on: date
    filed_on: date
    warranty_min_years: int | None
    warranty_cite: tuple[str, ...]
    supervision_required: bool | None
    supervision_cite: tuple[str, ...]
    supervisor_credit_codes: tuple[str, ...]  # filed supervision contracts' suppliers
    contractor_credit_codes: tuple[str, ...]  # filed construction contracts' suppliers
    independence_cite: tuple[str, ...]
    excluded_parties: tuple[str, ...]  # name/credit code of the declaration's designer
    exclusion_cite: tuple[str, ...]
    discredited: bool
    discredited_cite: tuple[str, ...]
    ip_cite: tuple[str, ...]
    termination_cite: tuple[str, ...]
    months_per_year: int = 12
    tester_credit_codes: tuple[str, ...] = ()  # filed testing contracts' suppliers


def validate_terms(terms: ContractTerms) -> None:
    """Input rules of a contract (not policy): a valid credit code, a period that ends after it starts."""
    found = credit_code.problem(terms.supplier_credit_code)
    if found is not None:
        raise AppError(
            code=found.code,
            message=found.message,
            kind=ErrorKind.INVALID,
            details={"fields": [{"field": "supplier_credit_code", "message": found.message}]},
        )
    if terms.period_end < terms.period_start:
        raise invalid_field("period_end", "合同工期结束日期不能早于开始日期")
    if terms.period_start < terms.signed_on:
        raise invalid_field("period_start", "合同工期不能早于合同签订日期")
    if not terms.ip_clause.strip():
        raise invalid_field("ip_clause", "请填写合同中的知识产权归属条款")
    if not terms.termination_clause.strip():
        raise invalid_field("termination_clause", "请填写合同中的解除（终止）条款")
    for m in terms.schedule:
        if not terms.period_start <= m.due_on <= terms.period_end:
            raise invalid_field("schedule", f"进度节点“{m.name}”的日期应在合同工期内")


def required_documents(method: Method) -> tuple[DocKind, ...]:
    """qiaokou-2022 §25: tender documents and the award notice, or for self-procured work the unit's
    written explanation instead of the award notice; always the contract."""
    if method is Method.SELF_PROCURED:
        return (DocKind.SELF_PROCUREMENT_EXPLANATION, DocKind.CONTRACT)
    return (DocKind.TENDER_DOCUMENTS, DocKind.AWARD_NOTICE, DocKind.CONTRACT)


def missing_documents(procurement: Procurement) -> list[DocKind]:
    """Required files not uploaded yet."""
    have = {d.kind for d in procurement.documents}
    return [k for k in required_documents(procurement.method) if k not in have]


def _same_party(a: str, b: str) -> bool:
    return bool(a.strip()) and a.strip().upper() == b.strip().upper()


def check_filing(role: Role, terms: ContractTerms, ctx: FilingContext) -> list[Check]:
    """Every rule of a filing, in order; the blocking ones that fail refuse the filing."""
    checks: list[Check] = []
    on_time = ctx.filed_on <= ctx.due_on
    if ctx.filing_workdays is not None:
        checks.append(
            Check(
                "FILED_WITHIN_DEADLINE",
                on_time,
                blocking=False,
                message=(
                    f"合同签订后{ctx.filing_workdays}个工作日内备案（截止{ctx.due_on.isoformat()}）"
                    + ("" if on_time else "；已逾期，备案予以受理并标记为逾期")
                ),
                cite=ctx.filing_cite,
            )
        )
    checks.append(
        Check(
            "APPROVAL_VALID_AT_SIGNING",
            ctx.approval_valid_at_signing,
            blocking=True,
            message="合同签订时项目批复应在有效期内"
            + ("" if ctx.approval_valid_at_signing else "；签订日不在批复有效期内"),
            cite=ctx.approval_cite,
        )
    )
    if role is Role.CONSTRUCTION:
        total = ctx.other_contracts_total + terms.amount
        within = total <= ctx.approved_amount
        checks.append(
            Check(
                "AMOUNT_WITHIN_APPROVAL",
                within,
                blocking=True,
                message=(
                    f"合同金额（累计{total}元）不得超过批复金额{ctx.approved_amount}元"
                    + ("" if within else "；已超出，须按程序报批变更")
                ),
                cite=ctx.amount_cite,
            )
        )
    if ctx.warranty_min_years is not None:
        enough = terms.warranty_months >= ctx.warranty_min_years * ctx.months_per_year
        checks.append(
            Check(
                "WARRANTY_MINIMUM",
                enough,
                blocking=True,
                message=f"质保期不少于{ctx.warranty_min_years}年（合同约定{terms.warranty_months}个月）",
                cite=ctx.warranty_cite,
            )
        )
    checks.append(
        Check(
            "SUPPLIER_NOT_DISCREDITED",
            not ctx.discredited,
            blocking=True,
            message="供应商（监理单位）不得在失信主体名单内"
            + ("；该单位在名单期内" if ctx.discredited else ""),
            cite=ctx.discredited_cite,
        )
    )
    if ctx.ip_cite:
        checks.append(
            Check(
                "IP_OWNERSHIP_STATED", True, blocking=True, message="合同明确知识产权归属", cite=ctx.ip_cite
            )
        )
    if ctx.termination_cite:
        checks.append(
            Check(
                "TERMINATION_CLAUSE_STATED",
                True,
                blocking=True,
                message="合同明确解除（终止）机制",
                cite=ctx.termination_cite,
            )
        )
    if role is Role.SUPERVISION:
        clash = any(_same_party(terms.supplier_credit_code, c) for c in ctx.contractor_credit_codes)
        checks.append(
            Check(
                "SUPERVISOR_INDEPENDENT",
                not clash,
                blocking=True,
                message="监理单位与承建单位应当相互独立" + ("；监理单位即承建单位" if clash else ""),
                cite=ctx.independence_cite,
            )
        )
    elif role is Role.CONSTRUCTION:
        clash = any(_same_party(terms.supplier_credit_code, c) for c in ctx.supervisor_credit_codes)
        checks.append(
            Check(
                "SUPERVISOR_INDEPENDENT",
                not clash,
                blocking=True,
                message="承建单位与监理单位应当相互独立" + ("；承建单位即本项目监理单位" if clash else ""),
                cite=ctx.independence_cite,
            )
        )
    exclusion = exclusion_check(role, terms, ctx)
    if exclusion is not None:
        checks.append(exclusion)
    return checks


# What each role's supplier may not also be (wuxing-2023 §17: whoever designs, supervises or tests
# the project takes no other part in its procurement). A supervisor who is the contractor is
# SUPERVISOR_INDEPENDENT's finding on the supervision contract, so it is not repeated there.
_EXCLUDED_ROLES: dict[Role, tuple[str, ...]] = {
    Role.CONSTRUCTION: ("designer", "supervisor", "tester"),
    Role.SUPERVISION: ("designer", "tester"),
    Role.TESTING: ("designer", "supervisor", "contractor"),
}
_PARTY_ZH = {
    "designer": "设计单位",
    "supervisor": "监理单位",
    "tester": "检测（测评）单位",
    "contractor": "承建单位",
}
_EXCLUSION_MESSAGE = {
    Role.CONSTRUCTION: "为项目提供整体设计、监理、检测服务的供应商不得承建本项目",
    Role.SUPERVISION: "为项目提供整体设计、检测服务的供应商不得再承担本项目监理",
    Role.TESTING: "为项目提供整体设计、监理服务的供应商及承建单位不得承担本项目检测（测评）",
}


def exclusion_check(role: Role, terms: ContractTerms, ctx: FilingContext) -> Check | None:
    """The supplier is none of the project's other excluded parties (designer by name or credit
    code, filed supervisors, testers and contractors by credit code); None where the pack has no
    such rule."""
    if not ctx.exclusion_cite:
        return None
    parties: dict[str, tuple[str, ...]] = {
        "designer": ctx.excluded_parties,
        "supervisor": ctx.supervisor_credit_codes,
        "tester": ctx.tester_credit_codes,
        "contractor": ctx.contractor_credit_codes,
    }
    found = [
        party
        for party in _EXCLUDED_ROLES[role]
        if any(
            _same_party(terms.supplier_credit_code, p)
            or (party == "designer" and _same_party(terms.supplier_name, p))
            for p in parties[party]
        )
    ]
    return Check(
        "DESIGNER_SUPERVISOR_TESTER_EXCLUDED",
        not found,
        blocking=True,
        message=_EXCLUSION_MESSAGE[role]
        + ("；该供应商为本项目的" + "、".join(_PARTY_ZH[p] for p in found) if found else ""),
        cite=ctx.exclusion_cite,
    )


def supervision_check(*, required: bool | None, filed_supervision: bool, cite: Sequence[str]) -> Check | None:
    """Where the pack requires supervision, the construction contract needs a filed supervision
    contract first (wuxing-2023 §17: the supervisor comes in before the contractor; lhasa §13)."""
    if not required:
        return None
    return Check(
        "SUPERVISION_CONTRACT_PRESENT",
        filed_supervision,
        blocking=True,
        message="本项目须实行工程监理，应先备案监理合同"
        + ("" if filed_supervision else "；尚未备案监理合同"),
        cite=tuple(cite),
    )


def failures(checks: Sequence[Check]) -> list[Check]:
    """The blocking checks that failed."""
    return [c for c in checks if c.blocking and not c.passed]


def signed(procurement: Procurement, *, on: date, due_on: date) -> Procurement:
    """The contract was signed: the filing clock runs to ``due_on``."""
    if procurement.status is ProcurementStatus.FILED:
        raise AppError(code="ALREADY_FILED", message="该采购的合同已备案。", kind=ErrorKind.CONFLICT)
    return replace(procurement, status=ProcurementStatus.SIGNED, signed_on=on, filing_due_on=due_on)


def filing_late(procurement: Procurement, today: date) -> bool:
    """Signed, not filed, and its filing deadline has passed."""
    return (
        procurement.status is ProcurementStatus.SIGNED
        and procurement.filing_due_on is not None
        and today > procurement.filing_due_on
    )


def overdue_unfiled(procurement: Procurement, today: date) -> bool:
    """Signed, not filed, deadline passed, not yet reported."""
    return filing_late(procurement, today) and procurement.overdue_notified_on is None
