"""A servicer's field readers: the one validation error shape, ISO dates."""

from datetime import date

import pytest

from govkit.errors import AppError, ErrorKind, invalid_field
from govkit.grpckit.fields import optional_date, required_date


def test_an_invalid_field_names_the_field_with_a_message_for_the_form() -> None:
    error = invalid_field("amount", "金额过大")
    assert error.code == "VALIDATION_FAILED" and error.kind is ErrorKind.INVALID
    assert error.details == {"fields": [{"field": "amount", "message": "金额过大"}]}


def test_dates_are_iso_days_and_an_empty_one_is_missing() -> None:
    assert optional_date("2025-10-01", "on") == date(2025, 10, 1)
    assert optional_date("", "on") is None
    assert required_date("2025-10-01", "on") == date(2025, 10, 1)
    with pytest.raises(AppError) as missing:
        required_date("", "signed_on")
    assert missing.value.details["fields"][0]["field"] == "signed_on"
    for bad in ("2025-13-01", "10/01/2025", "明天"):
        with pytest.raises(AppError) as refused:
            optional_date(bad, "due_on")
        assert refused.value.details["fields"] == [
            {"field": "due_on", "message": "请填写有效的日期（YYYY-MM-DD）"}
        ]
