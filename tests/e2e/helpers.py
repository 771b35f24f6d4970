"""Small helpers shared by the e2e tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

DRAFT = {
    "name": "县域智慧教育云平台",
    "category": "business_app",
    "construction_type": "new",
    "amount": "1280000.00",
    "necessity": "各学校系统分散建设，数据不能共享。",
    "goals": "建成统一的教育业务平台。",
    "contact": "王老师 0451-88888888",
}


def create_draft(intake: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """POST a draft and return it."""
    response = intake.post("/v1/declarations", json={**DRAFT, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for_case(review: httpx.Client, declaration_id: str, *, timeout: float = 20.0) -> dict[str, Any]:
    """Poll review until the declaration's case appears."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = review.get("/v1/cases", params={"declaration_id": declaration_id})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if items:
            return items[0]
        time.sleep(0.05)
    raise AssertionError(f"no review case for {declaration_id} after {timeout}s")
