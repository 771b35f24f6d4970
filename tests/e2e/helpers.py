"""Small helpers shared by the e2e tests."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any, TypeVar

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


# --- helpers of the front-half tests (issue 5) ------------------------------------------------------

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], *, what: str, timeout: float = 20.0) -> T:
    """Poll ``probe`` until it returns something other than None (events cross services async)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what}: not reached after {timeout}s")


def wait_for_declaration(intake: httpx.Client, declaration_id: str, status: str) -> dict[str, Any]:
    """Poll intake until the declaration reaches ``status`` (set by review's events)."""

    def probe() -> dict[str, Any] | None:
        response = intake.get(f"/v1/declarations/{declaration_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["status"] == status else None

    return wait_until(probe, what=f"declaration {declaration_id} {status}")


def wait_for_case_status(review: httpx.Client, case_id: str, status: str) -> dict[str, Any]:
    """Poll review until the case reaches ``status``."""

    def probe() -> dict[str, Any] | None:
        response = review.get(f"/v1/cases/{case_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["status"] == status else None

    return wait_until(probe, what=f"case {case_id} {status}")


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the platform's error shape with this status and code; return the error."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


def race(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run the calls at the same moment, one thread each, released together by a barrier.

    Give every call its own client (its own connection), already connected, so that the requests
    really are in flight together rather than queued on one socket.
    """
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=60) for future in futures]


def material_refs(intake: httpx.Client, declaration_id: str) -> list[dict[str, Any]]:
    """The declaration's uploaded files as review's application takes them (intake keeps the bytes)."""
    listed = intake.get(f"/v1/declarations/{declaration_id}/materials")
    assert listed.status_code == 200, listed.text
    return [
        {key: m[key] for key in ("doc_type", "filename", "sha256", "size", "content_type")}
        for m in listed.json()["items"]
    ]


def xlsx_rows(content: bytes) -> list[tuple[Any, ...]]:
    """The first sheet of a workbook, row by row."""
    from openpyxl import load_workbook

    return list(load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True))


def checked_pdf(response: httpx.Response, sha256: str) -> bytes:
    """A downloaded PDF: 200, a PDF, its SHA-256 the one the API reported (header and record)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    digest = hashlib.sha256(response.content).hexdigest()
    assert digest == sha256 == response.headers["x-content-sha256"]
    return response.content


UserClient = Callable[[str, str], httpx.Client]


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The JSON body of a response with this status."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def approve(
    as_user: UserClient,
    tenant: str,
    name: str,
    amount: str,
    *,
    level: str = "general",
    reviewer: str | None = None,
    concluder: str | None = None,
) -> dict[str, Any]:
    """Draft → sign-off → formal review → opinions → plan (``level``, general by default) →
    application → approval;
    returns the declaration as submitted (with its project code). ``reviewer`` does the technical
    review and ``concluder`` the application's conclusion where the tenant's own bureau reviewer
    does not (county-b delegates to the city; qiaokou's tech center concludes below 50万)."""
    reviewer = reviewer or f"bureau_reviewer.{tenant}"
    with (
        as_user(f"applicant.{tenant}", "intake") as intake,
        as_user(f"unit_head.{tenant}", "intake") as head_intake,
        as_user(f"bureau_reviewer.{tenant}", "intake") as bureau_intake,
        as_user(reviewer, "review") as review,
        as_user(concluder or reviewer, "review") as conclude,
        as_user(f"bureau_head.{tenant}", "review") as head,
        as_user(f"applicant.{tenant}", "review") as unit,
    ):
        ensure_call(bureau_intake)
        draft = create_draft(intake, name=name, amount=amount, breakdown={"software": amount})
        submitted = submit_to_bureau(intake, head_intake, draft)
        case = wait_for_case(review, draft["id"])
        formal = ok(review.post(f"/v1/cases/{case['id']}/formal-review", json={"version": case["version"]}))
        assert formal["review"]["outcome"] == "passed"
        for opinion in review.get(f"/v1/cases/{case['id']}/opinions").json()["items"]:
            with as_user(f"{opinion['department']}.{tenant}", "review") as department:
                ok(
                    department.post(
                        f"/v1/opinions/{opinion['id']}",
                        json={"version": opinion["version"], "verdict": "agree"},
                    )
                )
        current = head.get(f"/v1/cases/{case['id']}").json()
        decided = ok(
            head.post(
                f"/v1/cases/{case['id']}/plan-decision",
                json={"version": current["version"], "outcome": "in_plan", "level": level, "budget": amount},
            )
        )
        applied = ok(
            unit.post(
                f"/v1/cases/{case['id']}/application",
                json={"version": decided["case"]["version"], "materials": material_refs(intake, draft["id"])},
            ),
            201,
        )
        concluded = ok(
            conclude.post(
                f"/v1/cases/{case['id']}/review-conclusion",
                json={"version": applied["case"]["version"], "passed": True, "comments": "方案可行"},
            )
        )
        for step in concluded["application"].get("steps") or []:
            if step["status"] != "done":
                ok(
                    review.post(
                        f"/v1/steps/{step['id']}",
                        json={"version": step["version"], "reference": "发改联〔2026〕1号"},
                    )
                )
        version = head.get(f"/v1/cases/{case['id']}").json()["version"]
        granted = ok(
            head.post(
                f"/v1/cases/{case['id']}/approval", json={"version": version, "approved_amount": amount}
            ),
            201,
        )
        checked_pdf(unit.get(f"/v1/approvals/{granted['id']}/document.pdf"), granted["document_sha256"])
    return submitted
