"""govkit.pdf: byte-stable CJK documents and reading their text back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from govkit.pdf import format_date_zh, format_money, grid, page_texts, paragraph, render_pdf, styles


def _render(title: str) -> bytes:
    st = styles()
    story = [
        paragraph(title, st["title"]),
        paragraph("验收金额" + format_money(Decimal("1234567.89")), st["body"]),
        grid([["项目编码", "2025-230500-65-01-000007"]], (32, 128), st["cell"], header=False),
    ]
    return render_pdf(story, title=title, author="示范市数据局", subject="s", creator="govkit", footer="页脚")


def test_same_story_same_bytes_and_text_readable() -> None:
    first = _render("竣工验收报告")
    assert first == _render("竣工验收报告")
    assert first != _render("初步验收报告")
    assert b"/BaseFont /STSong-Light" in first
    (text,) = page_texts(first)
    assert "竣工验收报告" in text
    assert "123.46万元（1,234,567.89元）" in text
    assert "2025-230500-65-01-000007" in text
    assert "页脚  第1页" in text


def test_user_text_is_not_markup() -> None:
    (text,) = page_texts(_render("<b>标题</b> & 说明"))
    assert "<b>标题</b> & 说明" in text


def test_date_in_chinese() -> None:
    assert format_date_zh(date(2025, 3, 1)) == "2025年3月1日"
