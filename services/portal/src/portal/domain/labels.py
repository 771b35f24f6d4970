"""Chinese labels of the codes the services send (statuses, roles, urgencies, outcomes)."""

from __future__ import annotations

DECLARATION_STATUS_ZH = {
    "draft": "草稿",
    "pending_signoff": "待单位审核",
    "submitted": "已报送",
    "withdrawn": "已撤回",
    "returned": "已退回补正",
    "rejected": "未通过",
    "in_plan": "已列入计划",
}
# proto enum number → REST/status name (intake.v1.DeclarationStatus)
DECLARATION_STATUS_BY_NUMBER = {
    1: "draft",
    2: "submitted",
    3: "withdrawn",
    4: "returned",
    5: "pending_signoff",
    6: "rejected",
    7: "in_plan",
}
CATEGORY_ZH = {
    "infrastructure": "基础设施类",
    "cross_department": "多跨协同类",
    "business_app": "业务应用类",
    "om_service": "运维服务类",
    "other": "其他",
}
CONSTRUCTION_TYPE_ZH = {"new": "新建", "upgrade": "升级改造", "expansion": "扩建", "om": "运维"}
ROLE_ZH = {
    "applicant": "建设单位经办人",
    "unit_head": "建设单位负责人",
    "tech_center": "大数据中心",
    "bureau_reviewer": "数据局审核人",
    "bureau_head": "数据局负责人",
    "finance": "财政局",
    "cyberspace": "网信办",
    "crypto": "密码管理局",
    "police": "公安局",
    "reform": "改革办",
    "ndrc": "发展和改革委员会",
    "archives": "档案局",
    "expert": "评审专家",
    "evaluator": "第三方评价机构",
    "auditor": "审计",
    "tenant_admin": "地区管理员",
    "platform_admin": "平台管理员",
}
URGENCY_ZH = {
    "no_deadline": "无时限",
    "paused": "已暂停计时",
    "on_track": "正常",
    "due_soon": "即将到期",
    "overdue": "已逾期",
}
VERDICT_ZH = {"agree": "同意", "agree_with_conditions": "有条件同意", "disagree": "不同意"}
PLAN_OUTCOME_ZH = {"in_plan": "列入计划", "returned": "退回补正", "rejected": "不予列入"}
PLAN_LEVEL_ZH = {"key": "重点项目", "general": "一般项目"}
OPINION_STATUS_ZH = {"pending": "待出具", "given": "已出具", "cancelled": "已取消"}
FORMAL_OUTCOME_ZH = {"passed": "通过", "incomplete": "材料不全/需补正"}
APPLICATION_STATUS_ZH = {
    "submitted": "审查中",
    "under_review": "审查中",
    "passed": "审查通过",
    "returned": "已退回修改",
    "granted": "已批复",
    "rejected": "未获批准",
}
STAGE_ZH = {"plan": "计划审核", "approval": "审批", "change": "变更"}
DOC_TYPE_ZH = {
    "application_form": "项目申报表",
    "feasibility_study": "可行性研究报告",
    "technical_scheme": "技术方案",
    "budget_estimate": "投资估算",
    "implementation_plan": "实施方案",
    "preliminary_design": "初步设计",
    "crypto_plan": "密码应用方案",
    "performance_assessment": "事前绩效评估报告",
}


def zh(table: dict[str, str], code: str) -> str:
    """The label of ``code`` in ``table``, the code itself when the table has none."""
    return table.get(code, code)


# The portfolio's lifecycle stages and overdue items (evaluation's codes).
PORTFOLIO_STAGE_ZH = {
    "review": "审查中",
    "planned": "已列入计划",
    "approved": "已批复",
    "procurement": "采购中",
    "construction": "建设中",
    "acceptance": "验收中",
    "operation": "已验收运行",
    "rejected": "未通过",
    "withdrawn": "已撤回",
    "terminated": "已终止",
}
OVERDUE_ZH = {
    "approval_lapsed": "批复有效期已过仍未采购",
    "construction_overdue": "超过合同工期仍未验收",
    "self_evaluation_missed": "逾期未开展绩效自评",
    "rectification_escalated": "整改逾期未完成",
}
