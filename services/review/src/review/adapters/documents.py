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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table

from govkit.pdf import format_date_zh, format_money, format_wan, format_yuan, grid, render_pdf, styles
from govkit.pdf import paragraph as _p

NO_VALIDITY = "管理办法未规定有效期"


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
    return grid(rows, (32, 128), st["cell"], header=False)


def _story(approval: ApprovalDocument) -> list[Any]:
    st = styles()
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
    return render_pdf(
        _story(approval),
        title=f"{approval.document_number} {approval.title or approval.project_name}",
        author=approval.issuing_org,
        subject=f"{approval.tenant_name} {approval.project_code}",
        creator="govproj review",
        footer=approval.footer,
    )


__all__ = [
    "ApprovalDocument",
    "format_date_zh",
    "format_money",
    "format_wan",
    "format_yuan",
    "render_approval_pdf",
]
