"""The portal's forms as data: one list of fields per form, rendered by one template macro.

Each field has a visible label bound to its input (accessibility), a kind that picks the input,
and options for selects. Nothing here decides a rule: the services validate, the portal shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.domain.labels import (
    CATEGORY_ZH,
    CONSTRUCTION_TYPE_ZH,
    DOC_TYPE_ZH,
    PLAN_LEVEL_ZH,
    PLAN_OUTCOME_ZH,
    VERDICT_ZH,
)


@dataclass(frozen=True)
class Field:
    """One input of a form."""

    name: str
    label: str
    kind: str = "text"  # text | textarea | select | money | number | file | checkbox | date
    options: tuple[tuple[str, str], ...] = ()
    required: bool = False
    help: str = ""


def _options(table: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(table.items())


BREAKDOWN_PARTS = (
    ("hardware", "硬件"),
    ("software", "软件"),
    ("services", "服务"),
    ("security", "安全"),
    ("supervision", "监理"),
    ("third_party_testing", "第三方测评"),
    ("other", "其他"),
)

DECLARATION = (
    Field("name", "项目名称", required=True),
    Field("construction_unit", "建设单位"),
    Field("category", "项目类别", "select", _options(CATEGORY_ZH), required=True),
    Field("construction_type", "建设性质", "select", _options(CONSTRUCTION_TYPE_ZH), required=True),
    Field("amount", "总投资（元）", "money", required=True, help="例如 1280000.00；各分项之和须等于总投资"),
    *(Field(f"breakdown.{part}", f"投资估算：{label}（元）", "money") for part, label in BREAKDOWN_PARTS),
    Field("funding_source", "资金来源"),
    Field("necessity", "建设必要性", "textarea"),
    Field("goals", "建设目标", "textarea"),
    Field("content", "建设内容", "textarea"),
    Field("performance_goals", "绩效目标", "textarea"),
    Field("contact", "联系人及电话"),
    Field(
        "mlps_level", "等保级别", "select", (("0", "未定级"), *((str(i), f"第{i}级") for i in range(1, 6)))
    ),
    Field("cloud_deployment", "部署在政务云", "checkbox"),
)

MATERIAL = (
    Field("doc_type", "材料类型", "select", _options(DOC_TYPE_ZH), required=True),
    Field("file", "文件（PDF 等）", "file", required=True),
)

SIGNOFF = (
    Field(
        "decision",
        "审核意见",
        "select",
        (("sign_off", "同意报送"), ("send_back", "退回经办人修改")),
        required=True,
    ),
    Field("reason", "退回原因/审核说明", "textarea", help="退回时必须填写"),
)

FORMAL_REVIEW = (Field("notes", "审查发现的问题（每行一条；不填表示按清单审查）", "textarea"),)

OPINION = (
    Field("verdict", "意见", "select", _options(VERDICT_ZH), required=True),
    Field("text", "意见内容", "textarea", help="有条件同意或不同意时必须写明理由"),
)

PLAN_DECISION = (
    Field("outcome", "决定", "select", _options(PLAN_OUTCOME_ZH), required=True),
    Field("level", "项目等级", "select", (("", "（不适用）"), *_options(PLAN_LEVEL_ZH))),
    Field("budget", "计划安排资金（元）", "money", help="列入计划时必须填写"),
    Field("reason", "理由", "textarea", help="退回或不予列入时必须填写"),
    Field("items", "需补正的事项（每行一条）", "textarea"),
)

CALL = (
    Field("target_year", "计划年度", "number", required=True),
    Field(
        "deadline", "申报截止日期", "date", help="管理办法规定截止日的，按办法执行；由数据局确定的，在此填写"
    ),
    Field("title", "征集通知标题"),
)

PLAN_COMPILE = (Field("year", "计划年度", "number", required=True),)

DRAW = (
    Field("size", "抽取人数", "number", required=True),
    Field("specialty", "专业领域"),
)

APPLICATION = (
    Field(
        "sign_off_approved_by",
        "计划外项目的批准机关",
        "select",
        (
            ("", "（非计划外项目不填）"),
            ("city_government", "市政府"),
            ("district_government", "区县政府"),
            ("bureau", "数据局"),
        ),
    ),
    Field("sign_off_reference", "批准文件文号"),
    Field("sign_off_signed_on", "批准日期", "date"),
)

STEP = (Field("reference", "文号或编号", required=True, help="如：甲发改联〔2026〕8号"),)

CONCLUSION = (
    Field(
        "passed", "审查结论", "select", (("yes", "通过"), ("no", "不通过，书面反馈修改意见")), required=True
    ),
    Field("comments", "审查意见", "textarea", help="不通过时必须写明修改意见"),
    Field("items", "需修改的事项（每行一条）", "textarea"),
)

APPROVAL = (
    Field("approved_amount", "批复金额（元）", "money", required=True),
    Field("content", "批复建设内容", "textarea"),
    Field("conditions", "批复条件（每行一条）", "textarea"),
)

EXPERT = (
    Field("name", "姓名", required=True),
    Field("org", "工作单位", required=True),
    Field("specialties", "专业领域（逗号分隔）"),
    Field("contact", "联系方式"),
    Field("username", "登录账号（评分时使用）"),
    Field("affiliations", "关联单位（回避用，逗号分隔）"),
)

ORG = (
    Field("id", "单位标识（小写字母、数字、-）", required=True),
    Field("name", "单位名称", required=True),
    Field(
        "org_type",
        "单位类型",
        "select",
        tuple(
            (k, k)
            for k in (
                "construction_unit",
                "data_bureau",
                "tech_center",
                "finance",
                "cyberspace",
                "crypto",
                "police",
                "reform",
                "ndrc",
                "archives",
                "audit",
                "other",
            )
        ),
        required=True,
    ),
    Field("dept_code", "部门代码（2位数字）"),
    Field("budget_units", "预算单位数", "number"),
)


def names(fields: tuple[Field, ...]) -> set[str]:
    """The field names of a form (for placing the services' field errors)."""
    return {f.name for f in fields}
