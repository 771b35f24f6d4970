"""The portfolio as an Excel workbook (openpyxl): one row per project, amounts as numbers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Font

from evaluation.domain.portfolio import OVERDUE_ZH, STAGE_ZH, ProjectRow, overdue_items

COLUMNS = (
    "项目编号",
    "项目名称",
    "建设单位",
    "计划年度",
    "类别",
    "阶段",
    "申报金额（元）",
    "计划金额（元）",
    "批复金额（元）",
    "合同金额（元）",
    "已支付（元）",
    "批复日期",
    "验收日期",
    "绩效等级",
    "逾期事项",
    "风险标记",
)


def portfolio_workbook(rows: Sequence[ProjectRow], *, today: date) -> bytes:
    """The workbook's bytes."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "项目总览"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append(
            [
                r.project_code or r.declaration_id,
                r.name,
                r.org_name or r.org_id,
                r.plan_year or None,
                r.category,
                STAGE_ZH[r.stage],
                r.declared_amount,
                r.planned_amount,
                r.approved_amount,
                r.contracted_amount,
                r.paid_amount,
                r.approved_on,
                r.accepted_on,
                r.grade,
                "；".join(OVERDUE_ZH.get(i, i) for i in overdue_items(r, today=today)),
                "；".join(r.flags),
            ]
        )
    for column in "GHIJK":
        for cell in sheet[column][1:]:
            cell.number_format = "#,##0.00"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
