"""The back half's procurement, construction and acceptance forms as data: 采购备案, 进度报告, 支付,
验收申请 and 验收结论; and where procurement's and acceptance's refusals land on them.

Nothing here decides a rule: procurement and acceptance validate (their packs give the filing
deadline, the warranty minimum, §17's exclusions, the trial run, the checklist); the portal lays
out the inputs and places the messages beside them, each with the articles it cites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from govkit.errors import AppError
from portal.domain.forms import FormErrors
from portal.domain.formspec import Field

ROLE_ZH = {"construction": "承建合同", "supervision": "监理合同", "testing": "检测（测评）合同"}
# The Government Procurement Law's seven methods, and work the unit procures itself.
METHOD_ZH = {
    "open_tender": "公开招标",
    "invited_tender": "邀请招标",
    "competitive_negotiation": "竞争性谈判",
    "competitive_consultation": "竞争性磋商",
    "single_source": "单一来源",
    "inquiry": "询价",
    "framework_agreement": "框架协议",
    "self_procured": "单位自行采购",
}
DOC_ZH = {
    "tender_documents": "招标（采购）文件",
    "award_notice": "中标（成交）通知书",
    "self_procurement_explanation": "自行采购书面说明",
    "contract": "合同文本",
}
PAYMENT_ZH = {"advance": "预付款", "progress": "进度款", "final": "尾款（最终付款）", "warranty": "质保金"}
STAGE_ZH = {"initial": "初步验收", "final": "竣工验收"}
# The packs' acceptance organizers (acceptance_organizer); an unknown one shows as its code.
ORGANIZER_ZH = {
    "bureau": "数据局组织",
    "unit": "建设单位自行组织",
    "unit_with_bureau_spot_check": "建设单位组织，数据局抽查",
    "unit_with_bureau_supervision": "建设单位组织，数据局监督",
    "department_with_bureau": "主管部门组织，数据局参与",
}
EVIDENCE_ZH = {
    "mlps": "网络安全等级保护测评报告",
    "crypto": "密码应用安全性评估报告",
    "security_risk": "安全风险评估报告",
    "third_party_test": "第三方验收测评报告",
    "resource_catalog": "资源目录登记证明",
    "user_participation": "服务对象参与测试记录",
}
CONCLUSION_ZH = {"pass": "通过（合格）", "fail": "不通过"}
FINDING_ZH = {"": "（请选择）", "pass": "符合", "fail": "不符合"}

# Who may act, as the services check it (links shown only to them; the services still decide).
UNIT_ROLES = ("applicant", "unit_head")
BUREAU_ROLES = ("bureau_reviewer", "bureau_head", "tech_center")
# Rectification rows offered on the result form.
RECTIFICATION_ROWS = 3

# The filing's clauses and terms (the files follow, by the procurement's method).
FILING_TERMS = (
    Field("contract_no", "合同编号", required=True, help="交易中心已推送的，可不填（按预填）"),
    Field("supplier_name", "供应商名称", required=True),
    Field(
        "supplier_credit_code", "供应商统一社会信用代码", required=True, help="18位，按 GB 32100-2015 校验"
    ),
    Field("amount", "合同金额（元）", "money", required=True),
    Field("signed_on", "合同签订日期", "date", required=True),
    Field("period_start", "合同工期起", "date", required=True),
    Field("period_end", "合同工期止", "date", required=True),
    Field("warranty_months", "质保期（月）", "number", required=True, help="不少于管理办法规定的年限"),
    Field("ip_clause", "知识产权归属条款", "textarea", required=True),
    Field("termination_clause", "合同解除（终止）条款", "textarea", required=True),
    Field(
        "schedule", "进度计划（每行一个节点：名称 YYYY-MM-DD）", "textarea", help="如：系统上线 2027-03-31"
    ),
)


def start_fields() -> tuple[Field, ...]:
    """The inputs that begin a procurement (shown until it is begun)."""
    return (
        Field("method", "采购方式", "select", tuple(METHOD_ZH.items()), required=True),
        Field("title", "采购项目名称"),
    )


def document_fields(method: str, uploaded: Sequence[str]) -> tuple[Field, ...]:
    """The file inputs of a filing: for self-procured work the unit's written explanation instead
    of the award notice (procurement's required files); a file already uploaded may be replaced."""
    kinds = (
        ("self_procurement_explanation", "contract")
        if method == "self_procured"
        else ("tender_documents", "award_notice", "contract")
    )
    return tuple(
        Field(
            f"doc.{k}",
            DOC_ZH[k],
            "file",
            required=k not in uploaded,
            help="已上传，可不再选择" if k in uploaded else "PDF、Word、OFD 或图片",
        )
        for k in kinds
    )


PROGRESS_TAIL = (
    Field("percent", "完成进度（%）", "number", required=True, help="0–100，不得低于上次报告"),
    Field("note", "进展说明", "textarea"),
)

PAYMENT = (
    Field("kind", "付款类型", "select", tuple(PAYMENT_ZH.items()), required=True),
    Field("amount", "付款金额（元）", "money", required=True),
    Field("paid_on", "付款日期", "date", required=True),
    Field("note", "备注", "textarea"),
)

TRIAL = (
    Field("trial_started_on", "试运行开始日期", "date", required=True),
    Field("completed_on", "建设完成日期", "date", help="不填表示与试运行开始同日"),
)

APPLY_STAGE = (Field("stage", "申请验收阶段", "select", tuple(STAGE_ZH.items()), required=True),)

# 验收专家抽取 (acceptance's DrawPanel, drawn through review's expert library).
PANEL = (
    Field("size", "抽取人数", "number", required=True, help="从专家库中随机抽取的专家人数"),
    Field("specialty", "专业领域", "text", help="不填表示不限专业"),
    Field(
        "avoid_orgs",
        "另需回避的单位",
        "textarea",
        help="每行一个；建设单位和本项目的承建、监理等合同单位已自动回避",
    ),
    Field("seed", "随机种子", "text", help="不填由系统生成；记录在案，可复现抽取结果"),
)


# 整改完成 (acceptance's CompleteRectification: the unit's account; the date is the service's today).
RECTIFICATION_DONE = (
    Field("note", "整改完成情况", "textarea", required=True, help="说明整改内容、完成情况及佐证材料"),
)


# 验收结果备案 (acceptance's FileResult: the filing date is the service's today).
RESULT_FILING = (
    Field(
        "confirm",
        "确认报备：验收意见和验收报告已核对无误，报送数据局备案",
        "checkbox",
        required=True,
    ),
)


# 延期申请 (acceptance's RequestExtension: only where the pack provides one, heze-2021 §23).
EXTENSION = (
    Field("reason", "延期理由", "textarea", required=True, help="写明未能按期申请竣工验收的原因"),
    Field("requested_until", "申请延期至", "date", required=True, help="应晚于原定期限和今天"),
)


# 延期申请审核 (acceptance's DecideExtension): the bureau agrees or refuses, a refusal with its reason.
EXTENSION_DECISION = (
    Field(
        "decision",
        "审核结果",
        "select",
        (("approve", "同意延期"), ("reject", "不同意延期")),
        required=True,
    ),
    Field("note", "审核意见", "textarea", help="不同意延期时须写明理由"),
)


# 暂停/终止 (procurement's Intervene): the bureau's, on one of the pack's grounds.
INTERVENTION_ZH = {"suspension": "暂停实施", "termination": "终止项目", "resumption": "恢复实施"}


def intervention_fields(status: str, grounds: Sequence[Mapping[str, Any]]) -> tuple[Field, ...]:
    """The kind (resumption only of a suspended project), the pack's grounds as procurement gives
    them (label and article), the reason."""
    kinds = ("resumption", "termination") if status == "suspended" else ("suspension", "termination")
    options = tuple(
        (str(g["code"]), f"{g['label_zh']}（{cite_text(g.get('citations') or [])}）") for g in grounds
    )
    return (
        Field("kind", "处置", "select", tuple((k, INTERVENTION_ZH[k]) for k in kinds), required=True),
        Field("ground", "情形", "select", (("", "（请选择）"), *options), help="恢复实施时不填"),
        Field("reason", "理由", "textarea", required=True),
    )


def evidence_fields(kind: str, label: str) -> tuple[Field, ...]:
    """One required assessment's inputs (its report file and what it concluded)."""
    head = (Field(f"{kind}.conclusion", f"{label}：结论", "select", tuple(CONCLUSION_ZH.items())),)
    level = (Field(f"{kind}.level", f"{label}：等保级别", "number", help="1–5"),) if kind == "mlps" else ()
    return (
        *head,
        *level,
        Field(f"{kind}.issued_by", f"{label}：出具机构"),
        Field(f"{kind}.issued_on", f"{label}：出具日期", "date"),
        Field(f"{kind}.file", f"{label}：报告文件", "file", help="选择文件后随申请一并上传（SHA-256 留档）"),
    )


def decision_fields(checklist: Sequence[Mapping[str, Any]]) -> tuple[Field, ...]:
    """The result form: every checklist item's finding and note, the opinion, rectification rows."""
    items: list[Field] = []
    for item in checklist:
        cites = "；".join(c.get("ref", "") for c in item.get("citations") or [])
        items.append(
            Field(
                f"finding.{item['code']}",
                str(item["label_zh"]),
                "select",
                tuple(FINDING_ZH.items()),
                required=True,
                help=f"依据：{cites}" if cites else "",
            )
        )
        items.append(Field(f"note.{item['code']}", f"{item['label_zh']}：说明"))
    rows = [
        part
        for n in range(1, RECTIFICATION_ROWS + 1)
        for part in (
            Field(f"rect.{n}.description", f"整改事项 {n}", "textarea"),
            Field(f"rect.{n}.owner", f"整改事项 {n}：责任单位"),
            Field(f"rect.{n}.due_on", f"整改事项 {n}：整改期限", "date", help="不填按管理办法规定的期限"),
        )
    ]
    return (*items, Field("opinion", "验收意见", "textarea", required=True), *rows)


def filled_rectifications(values: Mapping[str, str]) -> list[tuple[int, str, str, str]]:
    """(row, description, owner, due_on) of the rows the user filled in."""
    out = []
    for n in range(1, RECTIFICATION_ROWS + 1):
        description, owner, due_on = (
            values.get(f"rect.{n}.{p}", "").strip() for p in ("description", "owner", "due_on")
        )
        if description or owner or due_on:
            out.append((n, description, owner, due_on))
    return out


@dataclass(frozen=True)
class ScheduleLine:
    """One milestone typed as ``名称 YYYY-MM-DD``."""

    name: str
    due_on: str


def parse_schedule(raw: str, *, errors: FormErrors) -> list[ScheduleLine]:
    """The schedule textarea's lines; a line without a valid date is the field's error."""
    out = []
    for line in (raw or "").splitlines():
        text = line.strip()
        if not text:
            continue
        name, _, day = text.rpartition(" ")
        try:
            date.fromisoformat(day.strip())
        except ValueError:
            errors.add("schedule", f"“{text}”应写为：节点名称 YYYY-MM-DD")
            continue
        if not name.strip():
            errors.add("schedule", f"“{text}”缺少节点名称")
            continue
        out.append(ScheduleLine(name.strip(), day.strip()))
    return out


def cite_text(cites: Sequence[Any]) -> str:
    """Articles as the forms show them."""
    refs = [c.get("ref", "") if isinstance(c, Mapping) else str(c) for c in cites]
    return "；".join(r for r in refs if r)


# A filing's blocking checks → the field the unit has to change.
CHECK_FIELD = {
    "AMOUNT_WITHIN_APPROVAL": "amount",
    "WARRANTY_MINIMUM": "warranty_months",
    "SUPPLIER_NOT_DISCREDITED": "supplier_credit_code",
    "SUPERVISOR_INDEPENDENT": "supplier_credit_code",
    "DESIGNER_SUPERVISOR_TESTER_EXCLUDED": "supplier_credit_code",
    "APPROVAL_VALID_AT_SIGNING": "signed_on",
}

# Error codes without field details → the field they are about, per form.
FIELD_BY_CODE: dict[str, dict[str, str]] = {
    "filing": {
        "CREDIT_CODE_LENGTH": "supplier_credit_code",
        "CREDIT_CODE_CHARACTERS": "supplier_credit_code",
        "CREDIT_CODE_CHECK_DIGIT": "supplier_credit_code",
    },
    "progress": {"PROGRESS_BACKWARDS": "percent", "NOT_CONSTRUCTION_CONTRACT": "filing_id"},
    "payment": {"FINAL_PAYMENT_BEFORE_ACCEPTANCE": "kind", "PAYMENT_EXCEEDS_CONTRACT": "amount"},
    "apply": {
        "TRIAL_START_IN_FUTURE": "trial_started_on",
        "TRIAL_BEFORE_CONTRACT": "trial_started_on",
        "COMPLETION_AFTER_TRIAL": "completed_on",
        "TRIAL_RUN_TOO_SHORT": "stage",
        "TRIAL_NOT_STARTED": "trial_started_on",
        "TRIAL_ALREADY_STARTED": "trial_started_on",
        "INITIAL_ALREADY_PASSED": "stage",
        "INITIAL_ACCEPTANCE_REQUIRED": "stage",
        "RECTIFICATION_OPEN": "stage",
        "FINAL_ACCEPTANCE_OVERDUE": "stage",
        "ACCEPTANCE_OPEN": "stage",
        "ALREADY_ACCEPTED": "stage",
    },
    "decide": {"RECTIFICATION_REQUIRED": "rect.1.description"},
    "extension": {
        "EXTENSION_REASON_REQUIRED": "reason",
        "EXTENSION_DATE_INVALID": "requested_until",
        "EXTENSION_PENDING": "requested_until",
        "ALREADY_ACCEPTED": "requested_until",
    },
    "extension_decision": {
        "EXTENSION_NOTE_REQUIRED": "note",
        "NO_EXTENSION_PENDING": "decision",
        "ALREADY_ACCEPTED": "decision",
    },
    "intervention": {
        "UNKNOWN_SUSPENSION_GROUND": "ground",
        "PROJECT_NOT_SUSPENDABLE": "kind",
        "PROJECT_NOT_SUSPENDED": "kind",
        "PROJECT_NOT_TERMINABLE": "kind",
    },
    "result": {"ALREADY_FILED": "confirm", "FILING_NOT_APPLICABLE": "confirm"},
    "rectification": {"RECTIFICATION_DONE": "note"},
    "panel": {"EXPERT_POOL_TOO_SMALL": "size", "PANEL_SIZE_INVALID": "size", "PANEL_ALREADY_DRAWN": "size"},
}
_UPLOAD_CODES = ("UPLOAD_NAME_INVALID", "UPLOAD_EMPTY", "UPLOAD_TOO_LARGE", "UPLOAD_TYPE_NOT_ALLOWED")


def _with_cite(message: str, cites: Sequence[Any]) -> str:
    text = cite_text(cites)
    return f"{message}（依据：{text}）" if text else message


def place_errors(error: AppError, *, form: str, known_fields: set[str], prefix: str = "") -> FormErrors:
    """A refusal on the form: each field message beside its input (with the articles where the
    refusal cites any), the rest above the form.

    ``prefix`` names the row a refusal of one part of a composite form belongs to (an evidence
    report's ``mlps.``); procurement's and acceptance's own field names are otherwise the form's.
    """
    result = FormErrors(code=error.code, cite=list(error.cite))
    details = error.details or {}
    for item in details.get("fields") or []:
        if not isinstance(item, Mapping):
            continue
        name = _form_name(form, str(item.get("field", "")), prefix)
        message = str(item.get("message", "")) or error.message
        if name in known_fields:
            result.add(name, message)
    if error.code == "FILING_REFUSED":
        for check in details.get("checks") or []:
            if check.get("blocking") and not check.get("passed"):
                target = CHECK_FIELD.get(str(check.get("code")), "")
                if target in known_fields:
                    result.add(target, _with_cite(str(check.get("message", "")), check.get("cite") or []))
    if error.code == "FILING_DOCUMENTS_MISSING":
        for kind in details.get("missing") or []:
            if f"doc.{kind}" in known_fields:
                result.add(f"doc.{kind}", f"请上传{DOC_ZH.get(kind, kind)}")
    if error.code == "CHECKLIST_INCOMPLETE":
        for code in details.get("missing") or []:
            if f"finding.{code}" in known_fields:
                result.add(f"finding.{code}", "请对该项给出结论")
    if error.code == "RECTIFICATION_TOO_LATE" and isinstance(details.get("index"), int):
        name = f"rect.{details['index'] + 1}.due_on"
        if name in known_fields:
            result.add(name, _with_cite(error.message, error.cite))
    mapped = FIELD_BY_CODE.get(form, {}).get(error.code)
    if mapped is None and prefix and (error.code in _UPLOAD_CODES or error.code in _EVIDENCE_CODES):
        mapped = f"{prefix}{_EVIDENCE_CODES.get(error.code, 'file')}"
    if mapped and mapped in known_fields:
        result.add(mapped, _with_cite(error.message, error.cite))
    if not result.fields:
        result.message = error.message
    return result


# acceptance's evidence refusals without field details → the part of the evidence row.
_EVIDENCE_CODES = {
    "MLPS_LEVEL_REQUIRED": "level",
    "LEVEL_NOT_APPLICABLE": "level",
    "ISSUER_REQUIRED": "issued_by",
    "ISSUED_IN_FUTURE": "issued_on",
}


def _form_name(form: str, name: str, prefix: str) -> str:
    """A service's field name as the form names it."""
    if form == "decide" and name.startswith("rectifications"):
        # rectifications[n].due_on → rect.<n+1>.due_on; rectifications[n] → its description.
        index, _, part = name.removeprefix("rectifications[").partition("]")
        if index.isdigit():
            return f"rect.{int(index) + 1}.{part.removeprefix('.') or 'description'}"
        return "rect.1.description"
    if prefix:
        return f"{prefix}{name}"
    return name
