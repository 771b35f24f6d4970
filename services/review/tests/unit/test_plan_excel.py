"""The annual plan workbook: read back with openpyxl the way a bureau clerk's Excel would show it."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from review.adapters.plan_excel import (
    CITATION_SHEET,
    HEADERS,
    PLAN_SHEET,
    PlanExport,
    PlanExportEntry,
    render_plan_xlsx,
    to_wan,
)


def _entry(code: str, department: str, declared: str, budget: str, **kw: Any) -> PlanExportEntry:
    return PlanExportEntry(
        project_code=code,
        project_name=f"{department}{code}系统建设项目",
        construction_org=kw.pop("construction_org", f"{department}信息中心"),
        department=department,
        category=kw.pop("category", "业务应用"),
        nature=kw.pop("nature", "新建"),
        plan_type=kw.pop("plan_type", "general"),
        declared_amount=Decimal(declared),
        planned_budget=Decimal(budget),
        opinion=kw.pop("opinion", "同意列入计划"),
        citations=kw.pop("citations", ["wuxing-2023 §7: 年度计划"]),
    )


ENTRIES = [
    _entry("P-001", "市财政局", "1234567.89", "1000000", plan_type="key"),
    _entry("P-002", "市公安局", "500000", "450000.50", citations=["wuxing-2023 §10: 跨部门项目报市级"]),
    _entry("P-003", "市财政局", "0.01", "0", nature="运维", opinion="压减后列入"),
    _entry("P-004", "市卫健委", "3000000", "2999999.99", plan_type="key"),
    _entry("P-005", "市公安局", "700000.10", "700000.10", citations=[]),
]
PLAN = PlanExport(
    tenant_name="示范市甲县",
    year=2026,
    entries=ENTRIES,
    citations=["wuxing-2023 §9: 县数据局编制年度计划"],
    generated_on=date(2025, 11, 30),
)


def _sheet(plan: PlanExport = PLAN) -> Worksheet:
    workbook = load_workbook(io.BytesIO(render_plan_xlsx(plan)))
    assert workbook.sheetnames == [PLAN_SHEET, CITATION_SHEET]
    sheet = workbook[PLAN_SHEET]
    assert isinstance(sheet, Worksheet)
    return sheet


def _rows(sheet: Worksheet) -> list[tuple[Any, ...]]:
    return list(sheet.iter_rows(min_row=4, values_only=True))


def _dec(value: Any) -> Decimal:
    """Back from the cell to Decimal: via str so 123.456789 stays 123.456789."""
    return Decimal(str(value))


def test_title_and_headers() -> None:
    sheet = _sheet()
    assert sheet["A1"].value == "示范市甲县2026年度政务信息化项目计划"
    assert "金额单位：万元" in sheet["A2"].value
    assert "2025-11-30" in sheet["A2"].value
    assert tuple(c.value for c in sheet[3]) == HEADERS
    assert HEADERS == (
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
    assert sheet.freeze_panes == "A4"  # headers stay visible while scrolling
    assert "A1:L1" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet.column_dimensions["C"].width >= 30


def test_rows_grouped_by_department_with_subtotals_and_a_grand_total() -> None:
    rows = _rows(_sheet())
    layout = [(r[0], r[1], r[4]) for r in rows]
    assert layout == [
        (1, "P-001", "市财政局"),
        (2, "P-003", "市财政局"),
        ("小计", None, "市财政局"),
        (3, "P-002", "市公安局"),
        (4, "P-005", "市公安局"),
        ("小计", None, "市公安局"),
        (5, "P-004", "市卫健委"),
        ("小计", None, "市卫健委"),
        ("合计", None, None),
    ]
    declared, budget = HEADERS.index("申报金额(万元)"), HEADERS.index("计划预算(万元)")
    subtotals: dict[str, tuple[Decimal, Decimal]] = {}
    running = [Decimal(0), Decimal(0)]
    for row in rows:
        if row[0] == "小计":
            subtotals[row[4]] = (running[0], running[1])
            assert (_dec(row[declared]), _dec(row[budget])) == (running[0], running[1])
            running = [Decimal(0), Decimal(0)]
        elif row[0] != "合计":
            running[0] += _dec(row[declared])
            running[1] += _dec(row[budget])
    total = rows[-1]
    assert _dec(total[declared]) == sum((s[0] for s in subtotals.values()), Decimal(0))
    assert _dec(total[budget]) == sum((s[1] for s in subtotals.values()), Decimal(0))


def test_amounts_are_exact_in_wan_yuan() -> None:
    rows = {r[1]: r for r in _rows(_sheet()) if r[1]}
    declared, budget = HEADERS.index("申报金额(万元)"), HEADERS.index("计划预算(万元)")
    assert _dec(rows["P-001"][declared]) == Decimal("123.456789")
    assert _dec(rows["P-003"][declared]) == Decimal("0.000001")  # one fen is not lost
    assert _dec(rows["P-004"][budget]) == Decimal("299.999999")
    total = _rows(_sheet())[-1]
    yuan = sum((e.declared_amount for e in ENTRIES), Decimal(0))
    assert yuan == Decimal("5434568.00")
    assert _dec(total[declared]) * 10_000 == yuan
    assert _dec(total[budget]) * 10_000 == sum((e.planned_budget for e in ENTRIES), Decimal(0))


def test_row_contents_and_formats() -> None:
    sheet = _sheet()
    first = _rows(sheet)[0]
    assert first[1:12] == (
        "P-001",
        "市财政局P-001系统建设项目",
        "市财政局信息中心",
        "市财政局",
        "业务应用",
        "新建",
        "重点",
        123.456789,
        100,
        "同意列入计划",
        "wuxing-2023 §7: 年度计划",
    )
    assert _rows(sheet)[1][7] == "一般"
    amount_cell = sheet.cell(row=4, column=HEADERS.index("申报金额(万元)") + 1)
    assert amount_cell.number_format == "#,##0.00####"
    total_row = 4 + len(_rows(sheet)) - 1
    assert sheet.cell(row=total_row, column=1).font.b


def test_citation_sheet_lists_each_citation_once_with_its_projects() -> None:
    workbook = load_workbook(io.BytesIO(render_plan_xlsx(PLAN)))
    rows = list(workbook[CITATION_SHEET].iter_rows(values_only=True))
    assert rows == [
        ("序号", "依据", "涉及项目"),
        (1, "wuxing-2023 §9: 县数据局编制年度计划", "全部"),
        (2, "wuxing-2023 §7: 年度计划", "P-001、P-003、P-004"),
        (3, "wuxing-2023 §10: 跨部门项目报市级", "P-002"),
    ]


def test_an_empty_plan_still_has_headers_and_a_zero_total() -> None:
    rows = _rows(_sheet(replace(PLAN, entries=[], citations=[])))
    assert len(rows) == 1
    assert rows[0][0] == "合计"
    assert _dec(rows[0][HEADERS.index("申报金额(万元)")]) == 0


def test_to_wan_has_no_exponent() -> None:
    assert str(to_wan(Decimal("5E+6"))) == "500"
    assert str(to_wan(Decimal("0.01"))) == "0.000001"


def test_bad_entries_are_refused() -> None:
    with pytest.raises(ValueError, match="plan_type"):
        _entry("X", "市财政局", "1", "1", plan_type="urgent")
    with pytest.raises(TypeError, match="Decimal"):
        replace(ENTRIES[0], declared_amount=1.5)
