"""Reading a request message's dates in a servicer: ISO days in proto3 strings, "" when unset."""

from __future__ import annotations

from datetime import date

from govkit.errors import invalid_field


def optional_date(value: str, field: str) -> date | None:
    """An ISO date (YYYY-MM-DD), or None when the field is empty; anything else is refused."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid_field(field, "请填写有效的日期（YYYY-MM-DD）") from None


def required_date(value: str, field: str) -> date:
    """An ISO date that must be given."""
    day = optional_date(value, field)
    if day is None:
        raise invalid_field(field, "请填写日期（YYYY-MM-DD）")
    return day
