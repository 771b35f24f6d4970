"""The annual project plan (年度项目计划) as an Excel workbook.

Sheet 年度项目计划: a title row, the column headers (frozen), one row per project grouped by
主管部门 with a 小计 row after each department and a 合计 row at the end; sheet 依据: every
citation the plan rests on and the projects citing it.

Amounts come in as :class:`~decimal.Decimal` yuan and are written in 万元, exactly (yuan / 10 000
has at most six decimals for amounts in fen); subtotals and the total are summed in Decimal, not
by Excel, so the file carries the same figures the database does. The caller decides order and
content; this module only lays them out.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

PlanType = Literal["key", "general"]
PLAN_TYPE_LABELS: dict[str, str] = {"key": "重点", "general": "一般"}

PLAN_SHEET = "年度项目计划"
CITATION_SHEET = "依据"
HEADERS: tuple[str, ...] = (
    "序号",
    "项目编码",
    "项目名称",
    "建设单位",
    "主管部门",
    "项目类别",
    "建设性质",
    "计划类型(重点/一般)",
    "申报金额(万元)",
    "计划预算(万元)",
    "审查意见",
    "依据",
)
# Widths in Excel character units; CJK characters count about two.
_WIDTHS: tuple[float, ...] = (6, 26, 36, 24, 18, 14, 12, 18, 16, 16, 40, 40)
TITLE_ROW = 1
UNIT_ROW = 2
HEADER_ROW = 3
FIRST_DATA_ROW = 4
DECLARED_COL = HEADERS.index("申报金额(万元)") + 1
BUDGET_COL = HEADERS.index("计划预算(万元)") + 1
SUBTOTAL_LABEL = "小计"
TOTAL_LABEL = "合计"
_WAN = Decimal(10_000)
_MONEY_FORMAT = "#,##0.00####"  # two decimals shown, up to six kept (yuan with fen, in 万元)
_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_SUBTOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
_TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")


@dataclass(frozen=True)
class PlanExportEntry:
    """One project in the plan. Amounts in 元; labels already in Chinese (from the pack)."""

    project_code: str
    project_name: str
    construction_org: str  # 建设单位
    department: str  # 主管部门: rows are grouped and subtotalled by it
    category: str  # 项目类别, e.g. 业务应用
    nature: str  # 建设性质, e.g. 新建 / 升级改造 / 运维
    plan_type: PlanType  # 重点 / 一般
    declared_amount: Decimal  # 申报金额, 元
    planned_budget: Decimal  # 计划预算, 元
    opinion: str = ""  # 审查意见
    citations: Sequence[str] = ()  # "wuxing-2023 §7: ..." behind this entry

    def __post_init__(self) -> None:
        object.__setattr__(self, "citations", tuple(self.citations))
        if self.plan_type not in PLAN_TYPE_LABELS:
            raise ValueError(f"plan_type must be one of {sorted(PLAN_TYPE_LABELS)}, not {self.plan_type!r}")
        for name in ("declared_amount", "planned_budget"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise TypeError(f"{name} must be a finite Decimal (money is never a float)")


@dataclass(frozen=True)
class PlanExport:
    """The plan of one tenant for one year, in the order the rows should appear."""

    tenant_name: str
    year: int
    entries: Sequence[PlanExportEntry]
    citations: Sequence[str] = ()  # plan-level articles (e.g. who compiles and publishes the plan)
    generated_on: date | None = None  # shown under the title and kept as the file's dates
    title: str = field(default="")  # defaults to <tenant><year>年度政务信息化项目计划

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "citations", tuple(self.citations))


def to_wan(amount: Decimal) -> Decimal:
    """Yuan → 万元, exact and without exponent notation (so the cell text is a plain number)."""
    return Decimal(format(amount / _WAN, "f"))


def group_by_department(entries: Sequence[PlanExportEntry]) -> dict[str, list[PlanExportEntry]]:
    """Entries per 主管部门, departments in order of first appearance, entries in given order."""
    groups: dict[str, list[PlanExportEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.department, []).append(entry)
    return groups


def _style_row(ws: Worksheet, row: int, *, fill: PatternFill | None = None, bold: bool = False) -> None:
    for col in range(1, len(HEADERS) + 1):
        cell = ws.cell(row=row, column=col)
        cell.border = _BORDER
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        if fill is not None:
            cell.fill = fill
        if bold:
            cell.font = Font(bold=True)
        if col in {DECLARED_COL, BUDGET_COL}:
            cell.number_format = _MONEY_FORMAT


def _sum_row(
    ws: Worksheet, row: int, label: str, department: str | None, declared: Decimal, budget: Decimal
) -> None:
    ws.cell(row=row, column=1, value=label)
    if department is not None:
        ws.cell(row=row, column=HEADERS.index("主管部门") + 1, value=department)
    ws.cell(row=row, column=DECLARED_COL, value=to_wan(declared))
    ws.cell(row=row, column=BUDGET_COL, value=to_wan(budget))


def _plan_sheet(ws: Worksheet, plan: PlanExport) -> None:
    last_col = get_column_letter(len(HEADERS))
    title = plan.title or f"{plan.tenant_name}{plan.year}年度政务信息化项目计划"
    ws.cell(row=TITLE_ROW, column=1, value=title).font = Font(bold=True, size=16)
    ws.cell(row=TITLE_ROW, column=1).alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A{TITLE_ROW}:{last_col}{TITLE_ROW}")
    ws.row_dimensions[TITLE_ROW].height = 30
    unit = "金额单位：万元"
    if plan.generated_on is not None:
        unit += f"    生成日期：{plan.generated_on.isoformat()}"
    ws.cell(row=UNIT_ROW, column=1, value=unit).alignment = Alignment(horizontal="right")
    ws.merge_cells(f"A{UNIT_ROW}:{last_col}{UNIT_ROW}")
    for col, header in enumerate(HEADERS, 1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for col, width in enumerate(_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=1)

    row = FIRST_DATA_ROW
    seq = 0
    total_declared = total_budget = Decimal(0)
    for department, entries in group_by_department(plan.entries).items():
        sub_declared = sub_budget = Decimal(0)
        for entry in entries:
            seq += 1
            values = (
                seq,
                entry.project_code,
                entry.project_name,
                entry.construction_org,
                entry.department,
                entry.category,
                entry.nature,
                PLAN_TYPE_LABELS[entry.plan_type],
                to_wan(entry.declared_amount),
                to_wan(entry.planned_budget),
                entry.opinion,
                "\n".join(entry.citations),
            )
            for col, value in enumerate(values, 1):
                ws.cell(row=row, column=col, value=value)
            _style_row(ws, row)
            sub_declared += entry.declared_amount
            sub_budget += entry.planned_budget
            row += 1
        _sum_row(ws, row, SUBTOTAL_LABEL, department, sub_declared, sub_budget)
        _style_row(ws, row, fill=_SUBTOTAL_FILL, bold=True)
        total_declared += sub_declared
        total_budget += sub_budget
        row += 1
    _sum_row(ws, row, TOTAL_LABEL, None, total_declared, total_budget)
    _style_row(ws, row, fill=_TOTAL_FILL, bold=True)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _citation_sheet(ws: Worksheet, plan: PlanExport) -> None:
    """Every citation once, in first-seen order (plan-level first), with the projects citing it."""
    cited_by: dict[str, list[str]] = {c: [] for c in plan.citations}
    for entry in plan.entries:
        for citation in entry.citations:
            codes = cited_by.setdefault(citation, [])
            if entry.project_code not in codes:
                codes.append(entry.project_code)
    for col, (header, width) in enumerate((("序号", 6), ("依据", 80), ("涉及项目", 40)), 1):
        cell = ws.cell(row=1, column=col, value=header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        ws.column_dimensions[get_column_letter(col)].width = width
    for i, (citation, codes) in enumerate(cited_by.items(), 1):
        for col, value in enumerate((i, citation, "、".join(codes) or "全部"), 1):
            cell = ws.cell(row=i + 1, column=col, value=value)
            cell.border = _BORDER
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    ws.freeze_panes = "A2"


def render_plan_xlsx(plan: PlanExport) -> bytes:
    """The plan as .xlsx bytes (sheets 年度项目计划 and 依据)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new Workbook always has one sheet
    ws.title = PLAN_SHEET
    _plan_sheet(ws, plan)
    _citation_sheet(wb.create_sheet(CITATION_SHEET), plan)
    if plan.generated_on is not None:
        # The file's own dates follow the plan, not the clock of the machine that exported it.
        stamp = datetime(plan.generated_on.year, plan.generated_on.month, plan.generated_on.day)
        wb.properties.created = stamp
        wb.properties.modified = stamp
    wb.properties.title = plan.title or f"{plan.tenant_name}{plan.year}年度政务信息化项目计划"
    wb.properties.creator = "govproj review"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


__all__ = [
    "CITATION_SHEET",
    "HEADERS",
    "PLAN_SHEET",
    "PLAN_TYPE_LABELS",
    "PlanExport",
    "PlanExportEntry",
    "PlanType",
    "group_by_department",
    "render_plan_xlsx",
    "to_wan",
]
