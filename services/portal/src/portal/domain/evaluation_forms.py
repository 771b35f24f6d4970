"""The back half's evaluation forms as data: 绩效评价 (self, key, third-party), 运维经费申请,
整改通知 and 失信名单; and where evaluation's refusals land on them.

Nothing here decides a rule: evaluation validates (its packs give the windows, the no-O&M years,
the articles); the portal lays out the inputs and places the messages beside them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from govkit.errors import AppError
from portal.domain.forms import FormErrors
from portal.domain.formspec import Field

EVALUATION_KIND_ZH = {
    "self": "绩效自评",
    "key": "重点项目绩效评价",
    "application": "应用成效评价",
    "third_party": "第三方后评价",
}
EVALUATION_STATUS_ZH = {"started": "评价中", "completed": "已完成"}
WINDOW_STATE_ZH = {
    "upcoming": "未到自评期",
    "open": "自评期内",
    "missed": "逾期未自评",
    "done": "已自评",
    "no_window": "办法未规定自评期",
}
OM_OUTCOME_ZH = {"granted": "同意安排", "refused": "不予安排"}
ORDER_STATUS_ZH = {"open": "整改中", "escalated": "逾期未整改（已上报）", "resolved": "已整改"}
# evaluation's rectification stages (domain.rectification.STAGES), in Chinese.
ORDER_STAGE_ZH = {
    "declaration": "申报",
    "review": "联审",
    "approval": "审批",
    "procurement": "采购",
    "construction": "建设",
    "acceptance": "验收",
    "operation": "运行维护",
}
SUBJECT_KIND_ZH = {
    "supplier": "供应商",
    "supervisor": "监理单位",
    "third_party": "第三方机构",
    "expert": "评审专家",
}
SCOPE_ZH = {"tenant": "本地区名单", "platform": "全平台名单（平台管理员）"}

# Who may do what, as evaluation's use cases check it (the links are shown only to them; the
# service still decides).
UNIT_ROLES = ("applicant", "unit_head")
BUREAU_ROLES = ("bureau_reviewer", "bureau_head")
FINANCE_ROLES = ("finance",)
ORDER_ISSUERS = (*BUREAU_ROLES, *FINANCE_ROLES, "auditor")
LIST_READERS = (*BUREAU_ROLES, *FINANCE_ROLES, "auditor", "tenant_admin", "platform_admin")
LIST_EDITORS = (*BUREAU_ROLES, "platform_admin")
ORDER_READERS = (*LIST_READERS, *UNIT_ROLES)
# Kinds the bureau (or finance) starts; third-party names the evaluator organisation.
BUREAU_KINDS = ("key", "application", "third_party")

# Unit-named indicators when the pack lists none (lhasa): up to this many rows.
OWN_INDICATOR_ROWS = 3
OWN_PREFIX = "custom-"

START_THIRD_PARTY = (
    Field(
        "evaluator_org",
        "承担后评价的第三方机构",
        required=True,
        help="第三方评价人员的登录账号（如 evaluator.city）或其单位标识：由其登录后评分",
    ),
)

OM_REQUEST_STATIC = (
    Field("budget_year", "预算年度", "number", required=True, help="申请安排运维经费的年度，如 2030"),
    Field("amount", "申请金额（元）", "money", required=True),
    Field(
        "free_maintenance_ends_on",
        "免费运维期截止日",
        "date",
        required=True,
        help="按合同约定的免费运维（质保）期，据此计算申请期限",
    ),
    Field("data_shared", "系统数据已按要求共享", "checkbox"),
    Field("in_resource_catalog", "已编制数据资源目录并纳入目录管理", "checkbox"),
    Field("security_compliant", "网络安全等级保护测评合格", "checkbox"),
    Field("crypto_compliant", "商用密码应用安全性评估合格", "checkbox"),
)

ORDER_STATIC = (
    Field("stage", "项目阶段", "select", tuple(ORDER_STAGE_ZH.items()), required=True),
    Field("owner", "整改责任人", required=True, help="如：建设单位负责人 张三"),
    Field("items", "整改事项（每行一条）", "textarea", required=True),
    Field("grounds", "整改依据", "textarea", required=True, help="发现问题的检查、督查或审计事实"),
    Field("due_on", "整改期限", "date", required=True),
)

RESOLVE = (Field("resolution", "整改完成情况", "textarea", required=True),)

DISCREDITED = (
    Field("scope", "名单范围", "select", tuple(SCOPE_ZH.items()), required=True),
    Field("subject_kind", "主体类别", "select", tuple(SUBJECT_KIND_ZH.items()), required=True),
    Field("name", "名称或姓名", required=True),
    Field("credit_code", "统一社会信用代码", help="单位必填（18位）；专家不填"),
    Field("expert_id", "专家编号", help="列入评审专家时填写专家库中的编号"),
    Field("grounds", "列入事实和理由", "textarea", required=True),
    Field("period_from", "失信期限起", "date", required=True),
    Field("period_until", "失信期限止", "date", help="不填表示长期"),
)

REMOVE = (Field("reason", "移出理由", "textarea", required=True),)

# Error codes without field details → the field they are about, per form.
FIELD_BY_CODE: dict[str, dict[str, str]] = {
    "start": {"EVALUATOR_ORG_REQUIRED": "evaluator_org"},
    "score": {
        "UPLOAD_NAME_INVALID": "report",
        "UPLOAD_EMPTY": "report",
        "UPLOAD_TOO_LARGE": "report",
        "UPLOAD_TYPE_NOT_ALLOWED": "report",
    },
    "om": {},
    "order": {
        "ITEMS_REQUIRED": "items",
        "STAGE_UNKNOWN": "stage",
        "OWNER_REQUIRED": "owner",
        "DUE_DATE_PAST": "due_on",
    },
    "resolve": {"RESOLUTION_REQUIRED": "resolution"},
    "discredited": {
        "CREDIT_CODE_INVALID": "credit_code",
        "EXPERT_ID_REQUIRED": "expert_id",
        "GROUNDS_REQUIRED": "grounds",
        "PERIOD_INVERTED": "period_until",
        "EXPERT_TENANT_SCOPE_ONLY": "scope",
    },
    "remove": {"REASON_REQUIRED": "reason"},
}
# Scoring refusals naming the indicator in details.code → the input of that indicator.
_SCORE_CODES = {"SCORE_OUT_OF_RANGE": "score", "ACTUAL_REQUIRED": "actual"}


@dataclass(frozen=True)
class IndicatorRow:
    """One indicator on the scoring form: the pack's (label and weight given) or the unit's own."""

    code: str
    label: str
    weight: str
    target: str
    own: bool = False

    def field(self, part: str) -> str:
        """The input name of one part (target, actual, score, evidence, label) of this row."""
        return f"{part}.{self.code}"

    def fields(self) -> tuple[Field, ...]:
        """The row's inputs (labels bound; an own indicator also takes its name)."""
        named = "（自定指标）" if self.own else f"（{self.label}）"
        head = (Field(self.field("label"), f"指标名称{named}", required=True),) if self.own else ()
        return (
            *head,
            Field(self.field("target"), f"绩效目标{named}", "textarea", help="默认取申报时填写的绩效目标"),
            Field(self.field("actual"), f"实际完成值{named}", required=True),
            Field(self.field("score"), f"得分（0–100）{named}", "number", required=True),
            Field(
                self.field("evidence"), f"佐证材料{named}", "file", help="PDF、Word、Excel、图片、OFD 或 ZIP"
            ),
        )


def indicator_rows(sheet: Sequence[Mapping[str, str]], *, goals: str) -> tuple[IndicatorRow, ...]:
    """The pack's indicators from evaluation's sheet, or own rows when the pack lists none."""
    if sheet:
        return tuple(
            IndicatorRow(
                code=i["code"],
                label=i["label_zh"],
                weight=i.get("weight", ""),
                target=i.get("target", "") or goals,
            )
            for i in sheet
        )
    return tuple(
        IndicatorRow(code=f"{OWN_PREFIX}{n}", label=f"自定指标 {n}", weight="", target=goals, own=True)
        for n in range(1, OWN_INDICATOR_ROWS + 1)
    )


SCORE_TAIL = (
    Field("report", "评价报告", "file", help="上传后随评价一并留档（SHA-256）"),
    Field("summary", "评价结论", "textarea"),
)


def score_fields(rows: Sequence[IndicatorRow]) -> tuple[Field, ...]:
    """Every input of the scoring form (for placing the service's messages)."""
    return (*(f for r in rows for f in r.fields()), *SCORE_TAIL)


def place_errors(
    error: AppError,
    *,
    form: str,
    known_fields: set[str],
    indicator_codes: Sequence[str] = (),
) -> FormErrors:
    """A refusal on the form: each field message beside its input, the rest above the form.

    evaluation names fields as they are in its request (``indicators[2].score``); the scoring form
    names them by indicator (``score.<code>``).
    """
    result = FormErrors(code=error.code, cite=list(error.cite))
    details = error.details or {}
    for item in details.get("fields") or []:
        if not isinstance(item, Mapping):
            continue
        name = _form_name(str(item.get("field", "")), indicator_codes)
        message = str(item.get("message", "")) or error.message
        if name in known_fields:
            result.add(name, message)
    part = _SCORE_CODES.get(error.code)
    if part and f"{part}.{details.get('code', '')}" in known_fields:
        result.add(f"{part}.{details['code']}", error.message)
    mapped = FIELD_BY_CODE.get(form, {}).get(error.code)
    if mapped and mapped in known_fields:
        result.add(mapped, error.message)
    if not result.fields:
        result.message = error.message
    return result


def _form_name(name: str, codes: Sequence[str]) -> str:
    """``indicators[n].part`` → ``part.<code of row n>``; other names unchanged."""
    if name.startswith("indicators[") and "]." in name:
        index, _, part = name.removeprefix("indicators[").partition("].")
        if index.isdigit() and int(index) < len(codes):
            return f"{part}.{codes[int(index)]}"
    return name
