"""Small helpers shared by the e2e tests."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import httpx

DRAFT = {
    "name": "县域智慧教育云平台",
    "category": "business_app",
    "construction_type": "new",
    "amount": "1280000.00",
    "breakdown": {
        "hardware": "300000.00",
        "software": "800000.00",
        "services": "60000.00",
        "security": "80000.00",
        "supervision": "40000.00",
    },
    "necessity": "各学校系统分散建设，数据不能共享。",
    "goals": "建成统一的教育业务平台。",
    "content": "建设学籍、教务、家校互动子系统，部署在政务云。",
    "performance_goals": "覆盖全县中小学，家校互动月活跃用户不少于2万人。",
    "funding_source": "县级财政资金",
    "cloud_deployment": True,
    "contact": "王老师 0451-88888888",
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def create_draft(intake: httpx.Client, **overrides: Any) -> dict[str, Any]:
    """POST a draft and return it."""
    response = intake.post("/v1/declarations", json={**DRAFT, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ensure_call(bureau_intake: httpx.Client) -> dict[str, Any]:
    """The tenant's open annual call, opened by the bureau if there is none yet.

    Two years ahead with a deadline two months away, so that whatever today's date and whichever
    pack governs the tenant (fixed or announced deadline), declarations made now are on time.
    """
    response = bureau_intake.get("/v1/calls", params={"status": "open"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    if items:
        return items[0]
    today = date.today()
    opened = bureau_intake.post(
        "/v1/calls",
        json={"target_year": today.year + 2, "deadline": (today + timedelta(days=60)).isoformat()},
    )
    assert opened.status_code == 201, opened.text
    body: dict[str, Any] = opened.json()
    return body


def upload_required(intake: httpx.Client, declaration_id: str) -> None:
    """Upload a small PDF for every document the tenant's pack requires for the declaration."""
    listed = intake.get(f"/v1/declarations/{declaration_id}/materials")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    for doc_type in [*body["missing_doc_types"], *(group[0] for group in body["missing_one_of"])]:
        uploaded = intake.post(
            f"/v1/declarations/{declaration_id}/materials",
            data={"doc_type": doc_type},
            files={"file": (f"{doc_type}.pdf", PDF, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text


def submit_to_bureau(
    applicant: httpx.Client, unit_head: httpx.Client, draft: dict[str, Any]
) -> dict[str, Any]:
    """Upload the required documents, hand the draft to the unit head, who signs it off."""
    upload_required(applicant, draft["id"])
    pending = applicant.post(f"/v1/declarations/{draft['id']}/submit", json={"version": draft["version"]})
    assert pending.status_code == 200, pending.text
    assert pending.json()["status"] == "pending_signoff"
    signed = unit_head.post(
        f"/v1/declarations/{draft['id']}/sign-off", json={"version": pending.json()["version"]}
    )
    assert signed.status_code == 200, signed.text
    body: dict[str, Any] = signed.json()
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
