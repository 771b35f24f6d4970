"""The portal's pure rules: where a service's refusal lands on a form, money and list inputs."""

from __future__ import annotations

import base64
import hashlib

import pytest

from govkit.errors import AppError, ErrorKind
from portal.adapters.oidc import new_pending_login, safe_next_path
from portal.domain.forms import FormErrors, errors_from, lines, parse_amount, parse_int


def refusal(code: str, fields: list[dict[str, str]] | None = None, cite: list[str] | None = None) -> AppError:
    details = {"fields": fields} if fields is not None else {}
    return AppError(
        code=code, message="提交的内容有误。", kind=ErrorKind.INVALID, details=details, cite=cite or []
    )


def test_field_details_land_next_to_their_inputs() -> None:
    error = refusal("VALIDATION_FAILED", [{"field": "name", "message": "请填写项目名称"}])
    placed = errors_from(error, form="declaration", known_fields={"name", "amount"})
    assert placed.fields == {"name": "请填写项目名称"} and not placed.message


def test_nested_field_names_fall_back_to_the_form_field() -> None:
    error = refusal("VALIDATION_FAILED", [{"field": "breakdown.software", "message": "金额不能为负数"}])
    exact = errors_from(error, form="declaration", known_fields={"breakdown.software"})
    assert exact.fields == {"breakdown.software": "金额不能为负数"}
    parent = errors_from(error, form="declaration", known_fields={"breakdown"})
    assert parent.fields == {"breakdown": "金额不能为负数"}


def test_error_codes_without_details_map_to_the_form_field() -> None:
    error = refusal("PLAN_BUDGET_EXCEEDS_DECLARED", cite=["wuxing-2023 §12"])
    placed = errors_from(error, form="plan_decision", known_fields={"budget", "reason"})
    assert placed.fields == {"budget": "提交的内容有误。"} and placed.cite == ["wuxing-2023 §12"]
    assert placed.code == "PLAN_BUDGET_EXCEEDS_DECLARED"


def test_unplaceable_refusal_is_the_form_message_with_its_articles() -> None:
    error = refusal("DECLARATION_PROHIBITED", cite=["shuangyashan-2024 §13"])
    placed = errors_from(error, form="declaration", known_fields={"name"})
    assert placed.message == "提交的内容有误。" and not placed.fields and bool(placed)


@pytest.mark.parametrize(
    ("raw", "expected", "message"),
    [
        ("1280000", "1280000.00", None),
        ("1,280,000.5", "1280000.50", None),
        ("12.345", None, "金额最多两位小数"),
        ("abc", None, "请填写有效的金额（元，最多两位小数）"),
        ("-1", None, "金额不能为负数"),
        ("", None, "请填写金额"),
    ],
)
def test_amounts_are_decimal_strings(raw: str, expected: str | None, message: str | None) -> None:
    errors = FormErrors()
    assert parse_amount(raw, name="amount", errors=errors) == expected
    assert errors.fields.get("amount") == message


def test_optional_amount_and_ints_and_lines() -> None:
    errors = FormErrors()
    assert parse_amount("", name="budget", errors=errors, required=False) is None and not errors
    assert parse_int("x", name="year", errors=errors) is None and errors.fields["year"] == "请填写整数"
    assert lines(" a \n\n b ") == ["a", "b"]


def test_pkce_challenge_is_s256_of_the_verifier() -> None:
    pending = new_pending_login("/projects")
    digest = hashlib.sha256(pending.code_verifier.encode()).digest()
    assert pending.code_challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert len(pending.code_verifier) >= 43 and pending.state != pending.nonce


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/projects?x=1", "/projects?x=1"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        (None, "/"),
        ("/\\evil", "/"),
    ],
)
def test_only_local_paths_follow_the_login(value: str | None, expected: str) -> None:
    assert safe_next_path(value) == expected
