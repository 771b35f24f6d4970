"""What a form shows after the service refused it: each message next to its field, in Chinese.

The services say which field is wrong in ``details.fields`` (``[{"field", "message"}]``); some
refusals carry only an error code. Each form names the field those codes belong to, so that the
message still lands beside the input the clerk has to change. Anything else is shown above the
form with the service's message and the articles it cites.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from govkit.errors import AppError

# Error codes without field details → the form field they are about (per form).
FIELD_BY_CODE: dict[str, dict[str, str]] = {
    "plan_decision": {
        "PLAN_LEVEL_AND_BUDGET_REQUIRED": "budget",
        "PLAN_BUDGET_EXCEEDS_DECLARED": "budget",
        "DECISION_REASON_REQUIRED": "reason",
    },
    "opinion": {"OPINION_TEXT_REQUIRED": "text"},
    "conclusion": {"REVIEW_FEEDBACK_REQUIRED": "comments"},
    "approval": {"APPROVED_AMOUNT_EXCEEDS_PLAN": "approved_amount"},
    "scores": {"SCORE_INVALID": "scores", "SCORE_SHEET_MISMATCH": "scores"},
    "material": {
        "UPLOAD_NAME_INVALID": "file",
        "UPLOAD_EMPTY": "file",
        "UPLOAD_TOO_LARGE": "file",
        "UPLOAD_TYPE_NOT_ALLOWED": "file",
    },
    "expert": {"EXPERT_FIELDS_REQUIRED": "name"},
    "draw": {"PANEL_SIZE_INVALID": "size", "EXPERT_POOL_TOO_SMALL": "size"},
    "step": {"STEP_REFERENCE_REQUIRED": "reference"},
    "org": {},
    "projects": {"TENANT_NOT_VISIBLE": "tenant"},
    "plan_compile": {},
    "application": {},
}
_AMOUNT_PLACES = Decimal("0.01")


@dataclass
class FormErrors:
    """Messages by field, plus the form's own message and the articles cited."""

    fields: dict[str, str] = field(default_factory=dict)
    message: str = ""
    code: str = ""
    cite: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.message)

    def add(self, name: str, message: str) -> None:
        """Keep the first message of a field (the service lists the most important first)."""
        self.fields.setdefault(name, message)


def errors_from(error: AppError, *, form: str, known_fields: set[str]) -> FormErrors:
    """Place a service refusal on the form: field messages beside their inputs, the rest above."""
    result = FormErrors(code=error.code, cite=list(error.cite))
    for item in (error.details or {}).get("fields") or []:
        if not isinstance(item, Mapping):
            continue
        name = str(item.get("field", ""))
        message = str(item.get("message", "")) or error.message
        top = name.split(".")[0]
        if name in known_fields:
            result.add(name, message)
        elif top in known_fields:
            result.add(top, message)
    mapped = FIELD_BY_CODE.get(form, {}).get(error.code)
    if mapped and mapped in known_fields:
        result.add(mapped, error.message)
    if not result.fields:
        result.message = error.message
    return result


def parse_amount(raw: str | None, *, name: str, errors: FormErrors, required: bool = True) -> str | None:
    """A money input as a decimal string with two places, or a field error (never a float)."""
    text = (raw or "").strip().replace(",", "").replace("，", "")
    if not text:
        if required:
            errors.add(name, "请填写金额")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.add(name, "请填写有效的金额（元，最多两位小数）")
        return None
    if not value.is_finite() or value < 0:
        errors.add(name, "金额不能为负数")
        return None
    if value != value.quantize(_AMOUNT_PLACES):
        errors.add(name, "金额最多两位小数")
        return None
    return str(value.quantize(_AMOUNT_PLACES))


def parse_int(raw: str | None, *, name: str, errors: FormErrors, required: bool = True) -> int | None:
    """A whole number input, or a field error."""
    text = (raw or "").strip()
    if not text:
        if required:
            errors.add(name, "请填写数字")
        return None
    try:
        return int(text)
    except ValueError:
        errors.add(name, "请填写整数")
        return None


def lines(raw: str | None) -> list[str]:
    """A textarea's non-empty lines (lists such as return items or conditions)."""
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The text values of a submitted form (file parts left out), to refill the inputs."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
