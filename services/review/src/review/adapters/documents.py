"""The approval document (批复, with its 审批表) as a PDF.

reportlab with its built-in CJK CID font ``STSong-Light`` (Adobe-GB1): the PDF names the font and
every reader ships it, so no font file is needed in the image. Output is deterministic
(``invariant=1``: no creation date, a content-derived document id), so the same approval renders
to the same bytes and the SHA-256 stored with the document proves which text was issued.

Amounts are :class:`~decimal.Decimal` yuan (元); the document shows them in 万元 and 元 with
thousands separators. Nothing here decides anything: the caller passes the number, conditions and
citations the review produced.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
NO_VALIDITY = "管理办法未规定有效期"
_WAN = Decimal(10_000)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class ApprovalDocument:
    """What the approval document says. Amounts in 元; lists are stored as tuples (frozen)."""

    document_number: str  # 文号, e.g. 双数审〔2025〕007号 (govkit.policy.format_document_number)
    tenant_name: str  # 示范市本级
    issuing_org: str  # the bureau issuing the approval, e.g. 示范市数据局
    issued_on: date
    project_name: str
    project_code: str
    declaring_org: str  # 申报单位 (the construction unit)
    approved_amount: Decimal  # 批复金额, 元
    planned_budget: Decimal  # 计划预算, 元
    conditions: Sequence[str]  # 批复条件 / 审查意见, one per item
    valid_until: date | None  # 批复有效期至; None where the measures set no validity (e.g. wuxing-2023)
    citations: Sequence[str]  # "shuangyashan-2024 §40: text"
    footer: str  # one line at the bottom of every page
    title: str = field(default="")  # defaults to 关于<project_name>的批复

    def __post_init__(self) -> None:
        # Lists in, tuples kept: the document is frozen and hashable, and rendering cannot be
        # changed behind its back by mutating a caller's list.
        object.__setattr__(self, "conditions", tuple(self.conditions))
        object.__setattr__(self, "citations", tuple(self.citations))
        for name in ("approved_amount", "planned_budget"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise TypeError(f"{name} must be a finite Decimal (money is never a float)")


def format_yuan(amount: Decimal) -> str:
    """``1234567.8`` → ``1,234,567.80`` (元, two decimals, half-up)."""
    return f"{amount.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"


def format_wan(amount: Decimal) -> str:
    """Yuan shown in 万元 with thousands separators: ``1234567.89`` → ``123.46`` (two decimals, half-up).

    The 元 figure printed next to it is the exact amount; 万元 is the customary headline unit.
    """
    return f"{(amount / _WAN).quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"


def format_money(amount: Decimal) -> str:
    """``123.46万元（1,234,567.89元）``: both units, as approvals quote them."""
    return f"{format_wan(amount)}万元（{format_yuan(amount)}元）"


def format_date_zh(day: date) -> str:
    """``2025年3月1日`` (no leading zeros, as on official documents)."""
    return f"{day.year}年{day.month}月{day.day}日"


def _ensure_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=11, leading=18, wordWrap="CJK")
    return {
        "org": ParagraphStyle("org", parent=base, fontSize=20, leading=28, alignment=TA_CENTER),
        "number": ParagraphStyle("number", parent=base, alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=24, alignment=TA_CENTER),
        "body": ParagraphStyle("body", parent=base, firstLineIndent=22),
        "plain": base,
        "heading": ParagraphStyle("heading", parent=base, fontSize=12, leading=20, spaceBefore=6),
        "item": ParagraphStyle("item", parent=base, leftIndent=22),
        "cell": ParagraphStyle("cell", parent=base, fontSize=10, leading=15),
        "sign": ParagraphStyle("sign", parent=base, alignment=TA_RIGHT),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _form(approval: ApprovalDocument, st: dict[str, ParagraphStyle]) -> Table:
    """The 审批表: the facts of the approval in a two-column table."""
    rows = [
        ("项目名称", approval.project_name),
        ("项目编码", approval.project_code),
        ("申报单位", approval.declaring_org),
        ("计划预算", format_money(approval.planned_budget)),
        ("批复金额", format_money(approval.approved_amount)),
        ("批复有效期至", format_date_zh(approval.valid_until) if approval.valid_until else NO_VALIDITY),
        ("批复文号", approval.document_number),
    ]
    table = Table(
        [[_p(k, st["cell"]), _p(v, st["cell"])] for k, v in rows],
        colWidths=[32 * mm, 128 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#EEEEEE")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def _story(approval: ApprovalDocument) -> list[Any]:
    st = _styles()
    title = approval.title or f"关于{approval.project_name}的批复"
    story: list[Any] = [
        _p(approval.issuing_org, st["org"]),
        Spacer(1, 2 * mm),
        _p(approval.document_number, st["number"]),
        Spacer(1, 6 * mm),
        _p(title, st["title"]),
        Spacer(1, 6 * mm),
        _p(f"{approval.declaring_org}：", st["plain"]),
        _p(
            f"你单位报送的《{approval.project_name}》（项目编码：{approval.project_code}）申报材料收悉。"
            "经审查，现批复如下：",
            st["body"],
        ),
        _p(
            f"一、同意该项目建设，批复金额{format_money(approval.approved_amount)}，"
            f"计划预算{format_money(approval.planned_budget)}。",
            st["body"],
        ),
    ]
    if approval.conditions:
        story.append(_p("二、请按以下要求实施：", st["body"]))
        story += [_p(f"（{i}）{text}", st["item"]) for i, text in enumerate(approval.conditions, 1)]
        validity_no = "三"
    else:
        validity_no = "二"
    if approval.valid_until is not None:
        story.append(
            _p(
                f"{validity_no}、本批复有效期至{format_date_zh(approval.valid_until)}，逾期未实施的须重新申报。",
                st["body"],
            )
        )
    story += [Spacer(1, 4 * mm), _p("审批表", st["heading"]), Spacer(1, 2 * mm), _form(approval, st)]
    if approval.citations:
        story.append(_p("依据", st["heading"]))
        story += [_p(c, st["item"]) for c in approval.citations]
    story += [
        Spacer(1, 12 * mm),
        _p(approval.issuing_org, st["sign"]),
        _p(format_date_zh(approval.issued_on), st["sign"]),
    ]
    return story


def render_approval_pdf(approval: ApprovalDocument) -> bytes:
    """The approval as A4 PDF bytes; the same ``approval`` always gives the same bytes."""
    _ensure_font()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=25 * mm,
        title=f"{approval.document_number} {approval.title or approval.project_name}",
        author=approval.issuing_org,
        subject=f"{approval.tenant_name} {approval.project_code}",
        creator="govproj review",
        producer="govproj review",
        invariant=1,
    )

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 9)
        canvas.drawCentredString(A4[0] / 2, 15 * mm, f"{approval.footer}  第{canvas.getPageNumber()}页")
        canvas.restoreState()

    doc.build(_story(approval), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


__all__ = [
    "ApprovalDocument",
    "format_date_zh",
    "format_money",
    "format_wan",
    "format_yuan",
    "render_approval_pdf",
]
