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

# 审计记录: the services' audit actions and entity types (a code without a label shows as is).
AUDIT_ACTION_ZH = {
    "declaration.created": "创建申报",
    "declaration.updated": "修改申报",
    "declaration.submitted_for_signoff": "提交单位审核",
    "declaration.sent_back": "单位退回修改",
    "declaration.submitted": "单位审核通过并报送",
    "declaration.resubmitted": "补正后重新报送",
    "declaration.withdrawn": "撤回申报",
    "declaration.review_started": "进入联审",
    "declaration.approval_returned": "审批退回",
    "declaration.provincial_code_recorded": "登记省级赋码",
    "declaration.in_plan": "列入年度计划",
    "declaration.rejected": "不予列入",
    "material.uploaded": "上传材料",
    "material.deleted": "删除材料",
    "case.opened": "受理联审",
    "case.formal_review_passed": "形式审查通过",
    "case.returned": "退回补正",
    "case.resubmitted": "补正后重新受理",
    "case.withdrawn": "联审撤回",
    "opinion.requested": "征求部门意见",
    "opinion.given": "出具部门意见",
    "task.reassigned": "任务转办",
    "panel.drawn": "抽取评审专家",
    "panel.drawn_for": "抽取评审专家",
    "panel.member_accepted": "专家接受邀请",
    "panel.member_declined": "专家谢绝邀请",
    "panel.replacement_drawn": "补抽专家",
    "scores.submitted": "专家提交评分",
    "plan.decided": "计划决定",
    "plan.compiled": "编制年度计划",
    "plan.published": "发布年度计划",
    "plan_entry.extended": "计划延期",
    "plan_entry.lapsed": "计划失效",
    "application.submitted": "提交审批申请",
    "application.resubmitted": "重新提交审批申请",
    "application.concluded": "审批审查结论",
    "step.recorded": "登记审批环节",
    "approval.granted": "项目批复",
    "approval.rejected": "不予批复",
    "approval.expired": "批复过期",
    "approval.procurement_started": "批复后开始采购",
    "change.requested": "申请变更",
    "change.decided": "变更决定",
    "project.approved": "登记批复项目",
    "project.approval_expired": "批复有效期届满",
    "project.baseline_changed": "批复基线变更",
    "project.serious_delay": "严重滞后",
    "project.accepted": "项目验收通过",
    "procurement.started": "开始采购",
    "procurement.document_uploaded": "上传采购文件",
    "procurement.signed": "签订合同",
    "contract.filed": "合同备案",
    "filing.overdue": "逾期备案",
    "progress.reported": "报告建设进度",
    "payment.recorded": "登记合同付款",
    "ocds.release_matched": "关联交易中心公告",
    "extension.requested": "申请延期",
    "evidence.recorded": "登记验收材料",
    "trial.started": "开始试运行",
    "acceptance.applied": "申请验收",
    "acceptance.panel_drawn": "抽取验收专家",
    "acceptance.filed": "登记验收结论",
    "acceptance.passed": "验收通过",
    "rectification.issued": "下发整改通知",
    "rectification.resolved": "整改完成",
    "rectification.completed": "整改完成",
    "rectification.escalated": "整改逾期升级",
    "evaluation.started": "开始绩效评价",
    "evaluation.self": "绩效自评",
    "evaluation.third_party": "第三方评价",
    "evaluation.evidence_uploaded": "上传评价材料",
    "evaluation.completed": "完成绩效评价",
    "om_funding.decided": "运维经费决定",
    "self_check.recorded": "登记自查",
    "closure.requested": "申请结项",
    "closure.decided": "结项决定",
}
AUDIT_ENTITY_ZH = {
    "declaration": "申报",
    "material": "材料",
    "review_case": "联审案件",
    "task": "任务",
    "opinion": "部门意见",
    "formal_review": "形式审查",
    "draw": "专家抽取",
    "panel_member": "评审专家",
    "score_sheet": "评分表",
    "plan_decision": "计划决定",
    "plan_entry": "年度计划条目",
    "approval_application": "审批申请",
    "approval_step": "审批环节",
    "approval": "批复",
    "change_request": "变更申请",
    "project": "项目",
    "procurement": "采购",
    "filing": "合同备案",
    "payment": "付款",
    "progress_report": "进度报告",
    "evidence": "验收材料",
    "acceptance": "验收",
    "rectification": "整改项",
    "evaluation": "绩效评价",
    "om_request": "运维经费申请",
    "rectification_order": "整改通知",
    "self_check": "自查",
    "closure_request": "结项申请",
}
# The states an audit record moves between, where the code means the same for every object
# (a state without a label shows as its code).
AUDIT_STATE_ZH = {
    "draft": "草稿",
    "pending_signoff": "待单位审核",
    "submitted": "已提交",
    "open": "审查中",
    "returned": "已退回",
    "in_plan": "已列入计划",
    "awaiting_application": "待申请审批",
    "approval_review": "审批审查中",
    "approved": "已批复",
    "rejected": "未通过",
    "withdrawn": "已撤回",
    "lapsed": "已失效",
    "expired": "已过期",
    "pending": "待办",
    "given": "已出具",
    "drawn": "已抽取",
    "done": "已完成",
}
