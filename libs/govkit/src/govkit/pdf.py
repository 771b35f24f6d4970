"""Official documents as PDF: reportlab with the built-in CJK CID font, byte-stable output.

``STSong-Light`` (Adobe-GB1) is named in the PDF, not embedded: every reader ships it, so no font
file is needed in the image. :func:`render_pdf` builds with ``invariant=1`` (no creation date, a
content-derived document id), so the same story renders to the same bytes and the SHA-256 stored
with a document proves which text was issued. The services keep their own layouts (review's
approval, acceptance's report) and share the font, styles, number formats and the build here.

:func:`page_texts` reads back the text of a PDF made here (ASCII85 + Flate content streams,
UCS-2 strings shown with ``Tj``), for tests and checks; it is no general PDF parser.
"""

from __future__ import annotations

import base64
import io
import re
import zlib
from collections.abc import Sequence
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
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

FONT = "STSong-Light"
_WAN = Decimal(10_000)
_CENT = Decimal("0.01")


def format_yuan(amount: Decimal) -> str:
    """``1234567.8`` → ``1,234,567.80`` (元, two decimals, half-up)."""
    return f"{amount.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"


def format_wan(amount: Decimal) -> str:
    """Yuan shown in 万元 with thousands separators: ``1234567.89`` → ``123.46`` (two decimals, half-up)."""
    return f"{(amount / _WAN).quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"


def format_money(amount: Decimal) -> str:
    """``123.46万元（1,234,567.89元）``: both units, as official documents quote them."""
    return f"{format_wan(amount)}万元（{format_yuan(amount)}元）"


def format_date_zh(day: date) -> str:
    """``2025年3月1日`` (no leading zeros, as on official documents)."""
    return f"{day.year}年{day.month}月{day.day}日"


def ensure_font() -> None:
    """Register the CID font once per process."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def styles() -> dict[str, ParagraphStyle]:
    """The house styles: org (letterhead), number, title, body, plain, heading, item, cell, sign.

    Registers the font first: reportlab resolves a style's font when a paragraph is built.
    """
    ensure_font()
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


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped: user text never becomes markup)."""
    return Paragraph(escape(text), style)


def grid(
    rows: Sequence[Sequence[str]], widths_mm: Sequence[float], style: ParagraphStyle, *, header: bool
) -> Table:
    """A ruled table of text cells; the first column (or, with ``header``, the first row) shaded."""
    table = Table(
        [[paragraph(cell, style) for cell in row] for row in rows], colWidths=[w * mm for w in widths_mm]
    )
    shaded = (0, 0), (-1, 0) if header else (0, -1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", shaded[0], shaded[1], colors.HexColor("#EEEEEE")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def render_pdf(
    story: list[Any], *, title: str, author: str, subject: str, creator: str, footer: str
) -> bytes:
    """A4 PDF bytes of ``story`` with ``footer`` and the page number on every page; deterministic."""
    ensure_font()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=25 * mm,
        title=title,
        author=author,
        subject=subject,
        creator=creator,
        producer=creator,
        invariant=1,
    )

    def draw_footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 9)
        canvas.drawCentredString(A4[0] / 2, 15 * mm, f"{footer}  第{canvas.getPageNumber()}页")
        canvas.restoreState()

    doc.build(story, onFirstPage=draw_footer, onLaterPages=draw_footer)
    return buffer.getvalue()


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


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page of a PDF rendered by :func:`render_pdf`, strings in drawing order."""
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


__all__ = [
    "FONT",
    "ensure_font",
    "format_date_zh",
    "format_money",
    "format_wan",
    "format_yuan",
    "grid",
    "page_texts",
    "paragraph",
    "render_pdf",
    "styles",
]
