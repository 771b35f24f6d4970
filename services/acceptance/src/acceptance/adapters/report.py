"""The acceptance report (验收报告) as PDF: project code, panel, checklist and result, in Chinese.

Built on govkit.pdf (the CID font STSong-Light, byte-stable output), so the same acceptance
renders to the same bytes and the SHA-256 sent with acceptance.passed / acceptance.failed proves
which report was issued. Nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from govkit.pdf import format_date_zh, format_money, grid, paragraph, render_pdf, styles


@dataclass(frozen=True)
class ReportRectification:
    """A rectification item as printed."""

    description: str
    owner: str
    due_on: date


@dataclass(frozen=True)
class ReportDocument:
    """What the report says."""

    tenant_name: str
    project_name: str
    project_code: str
    org_id: str
    stage_zh: str  # 竣工验收 / 初步验收
    round: int
    organizer_zh: str
    decided_on: date
    result_zh: str  # 验收通过 / 验收不通过
    contract_amount: Decimal
    panel: Sequence[tuple[str, str]]  # (name, org)
    checklist: Sequence[tuple[str, bool, str, str]]  # (label, passed, note, articles)
    opinion: str
    rectifications: Sequence[ReportRectification] = field(default=())
    citations: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        for name in ("panel", "checklist", "rectifications", "citations"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


def _story(doc: ReportDocument) -> list[Any]:
    st = styles()
    story: list[Any] = [
        paragraph(f"{doc.project_name}{doc.stage_zh}报告", st["title"]),
        Spacer(1, 6 * mm),
        grid(
            [
                ("项目名称", doc.project_name),
                ("项目编码", doc.project_code),
                ("建设单位", doc.org_id),
                ("合同金额", format_money(doc.contract_amount)),
                ("验收类别", f"{doc.stage_zh}（第{doc.round}次）"),
                ("组织方式", doc.organizer_zh),
                ("验收日期", format_date_zh(doc.decided_on)),
                ("验收结论", doc.result_zh),
            ],
            (32, 128),
            st["cell"],
            header=False,
        ),
        paragraph("验收专家组", st["heading"]),
    ]
    if doc.panel:
        rows = [
            ("序号", "姓名", "单位"),
            *((str(n), name, org) for n, (name, org) in enumerate(doc.panel, 1)),
        ]
        story.append(grid(rows, (16, 40, 104), st["cell"], header=True))
    else:
        story.append(paragraph("建设单位自行组织验收，未抽取专家组。", st["plain"]))
    story.append(paragraph("验收内容", st["heading"]))
    checks: list[tuple[str, ...]] = [("验收事项", "结论", "说明", "依据")]
    checks += [
        (label, "合格" if ok else "不合格", note or "—", cite) for label, ok, note, cite in doc.checklist
    ]
    story.append(grid(checks, (62, 18, 40, 40), st["cell"], header=True))
    if doc.opinion:
        story += [paragraph("验收意见", st["heading"]), paragraph(doc.opinion, st["body"])]
    if doc.rectifications:
        story.append(paragraph("整改要求", st["heading"]))
        items: list[tuple[str, ...]] = [("整改事项", "责任单位", "整改期限")]
        items += [(r.description, r.owner, format_date_zh(r.due_on)) for r in doc.rectifications]
        story.append(grid(items, (90, 40, 30), st["cell"], header=True))
    if doc.citations:
        story.append(paragraph("依据", st["heading"]))
        story += [paragraph(c, st["item"]) for c in doc.citations]
    story += [
        Spacer(1, 10 * mm),
        paragraph(f"验收结论：{doc.result_zh}", st["sign"]),
        paragraph(format_date_zh(doc.decided_on), st["sign"]),
    ]
    return story


def render_report_pdf(doc: ReportDocument) -> bytes:
    """The report as A4 PDF bytes; the same ``doc`` always gives the same bytes."""
    return render_pdf(
        _story(doc),
        title=f"{doc.project_code} {doc.stage_zh}报告",
        author=doc.tenant_name,
        subject=f"{doc.project_code} {doc.result_zh}",
        creator="govproj acceptance",
        footer=f"{doc.tenant_name} {doc.project_code} {doc.stage_zh}报告",
    )
