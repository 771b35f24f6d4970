"""The approval PDF: stable bytes for the same approval, every fact on the page, CJK without font files.

No PDF library is installed, so the test reads the PDF the way a reader would at its simplest:
decode the content streams (ASCII85 + Flate, as reportlab writes them) and collect the strings
shown with ``Tj`` (UCS-2 big-endian for the STSong-Light CID font).
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from review.adapters.documents import (
    ApprovalDocument,
    format_money,
    format_wan,
    format_yuan,
    render_approval_pdf,
)

APPROVAL = ApprovalDocument(
    document_number="示数审〔2025〕7号",
    tenant_name="示范市本级",
    issuing_org="示范市数据局",
    issued_on=date(2025, 3, 1),
    project_name="示范市一网通办平台升级改造项目",
    project_code="2025-230500-65-01-000007",
    declaring_org="示范市政务服务中心",
    approved_amount=Decimal("1234567.89"),
    planned_budget=Decimal("1300000"),
    conditions=["按网络安全等级保护三级要求同步建设安全防护。", "项目建成后6个月内申请验收。"],
    valid_until=date(2026, 2, 28),
    citations=["shuangyashan-2024 §40: 可行性研究报告经市数据局审查后由发改部门审批"],
    footer="示范市数据局办公室 2025年3月1日印发",
)

_STREAM_RE = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_STRING_RE = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESCAPES = {
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b"b": b"\b",
    b"f": b"\f",
    b"(": b"(",
    b")": b")",
    b"\\": b"\\",
}


def _unescape(literal: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(literal):
        byte = literal[i : i + 1]
        if byte != b"\\":
            out += byte
            i += 1
            continue
        octal = re.match(rb"[0-7]{1,3}", literal[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8))
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(literal[i + 1 : i + 2], b"")
            i += 2
    return bytes(out)


def _page_texts(pdf: bytes) -> list[str]:
    """The text of each content stream (one per page here), strings joined in drawing order."""
    texts = []
    for match in _STREAM_RE.finditer(pdf):
        raw = match.group(1).strip()
        try:
            content = zlib.decompress(base64.a85decode(raw, adobe=True))
        except ValueError:
            continue
        if b" Tj" not in content:
            continue
        texts.append("".join(_unescape(s).decode("utf-16-be") for s in _STRING_RE.findall(content)))
    return texts


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def test_same_approval_same_bytes() -> None:
    first = render_approval_pdf(APPROVAL)
    second = render_approval_pdf(replace(APPROVAL))
    assert first == second
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    assert render_approval_pdf(replace(APPROVAL, document_number="示数审〔2025〕8号")) != first


def test_a_one_page_pdf_with_the_chinese_font_named_not_embedded() -> None:
    pdf = render_approval_pdf(APPROVAL)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert _page_count(pdf) == 1
    assert b"/BaseFont /STSong-Light" in pdf
    assert b"/Encoding /UniGB-UCS2-H" in pdf
    assert b"/FontFile" not in pdf  # no font program embedded: readers ship Adobe-GB1 fonts
    # invariant=1: reportlab's fixed date instead of the clock, so the hash depends on the text only.
    assert b"/CreationDate (D:20000101000000+00'00')" in pdf


def test_every_fact_of_the_approval_is_on_the_page() -> None:
    (text,) = _page_texts(render_approval_pdf(APPROVAL))
    for expected in (
        "示范市数据局",
        "示数审〔2025〕7号",
        "关于示范市一网通办平台升级改造项目的批复",
        "示范市政务服务中心：",
        "2025-230500-65-01-000007",
        "批复金额123.46万元（1,234,567.89元）",
        "计划预算130.00万元（1,300,000.00元）",
        "（1）按网络安全等级保护三级要求同步建设安全防护。",
        "（2）项目建成后6个月内申请验收。",
        "本批复有效期至2026年2月28日",
        "shuangyashan-2024 §40: 可行性研究报告经市数据局审查后由发改部门审批",
        "2025年3月1日",
        "示范市数据局办公室 2025年3月1日印发",
        "审批表",
    ):
        assert expected in text, expected


def test_many_conditions_flow_onto_more_pages_each_with_the_footer() -> None:
    many = replace(
        APPROVAL, conditions=[f"第{i}项实施要求：按批复内容组织建设，不得擅自变更。" for i in range(1, 80)]
    )
    pdf = render_approval_pdf(many)
    pages = _page_texts(pdf)
    assert _page_count(pdf) == len(pages) >= 2
    for number, text in enumerate(pages, 1):
        assert f"示范市数据局办公室 2025年3月1日印发  第{number}页" in text
    assert "（79）第79项实施要求" in "".join(pages)


def test_without_conditions_the_validity_is_item_two() -> None:
    (text,) = _page_texts(render_approval_pdf(replace(APPROVAL, conditions=[])))
    assert "二、本批复有效期至2026年2月28日" in text
    assert "请按以下要求实施" not in text


def test_markup_in_user_text_is_printed_not_interpreted() -> None:
    (text,) = _page_texts(render_approval_pdf(replace(APPROVAL, project_name="<b>平台</b> & 接口")))
    assert "关于<b>平台</b> & 接口的批复" in text


def test_lists_are_frozen_and_money_must_be_decimal() -> None:
    conditions = ["一"]
    doc = replace(APPROVAL, conditions=conditions)
    conditions.append("二")
    assert doc.conditions == ("一",)
    with pytest.raises(TypeError, match="Decimal"):
        replace(APPROVAL, approved_amount=1234567.89)


@pytest.mark.parametrize(
    ("amount", "wan", "yuan"),
    [
        (Decimal("1234567.89"), "123.46", "1,234,567.89"),
        (Decimal("50000"), "5.00", "50,000.00"),
        (Decimal("123456789012.345"), "12,345,678.90", "123,456,789,012.35"),
        (Decimal("0.004"), "0.00", "0.00"),
        (Decimal("45"), "0.00", "45.00"),
        (Decimal("50"), "0.01", "50.00"),  # half-up, not banker's rounding
    ],
)
def test_money_formats(amount: Decimal, wan: str, yuan: str) -> None:
    assert format_wan(amount) == wan
    assert format_yuan(amount) == yuan
    assert format_money(amount) == f"{wan}万元（{yuan}元）"
