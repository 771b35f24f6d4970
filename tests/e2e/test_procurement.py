"""Issue 6 (procurement) across the real services: county-b's qiaokou-2022 project approved by
review (the front half's county_b flow) becomes procurement's project through approval.granted; the
unit begins the procurement (review sees procurement.started: the approval stops expiring); the
trading center pushes an OCDS release package through the signed webhook (a replay refused, the
same releases again changing nothing); the unit files the contract from the prefill; a final payment
is refused with qiaokou-2022 §29 before acceptance; other tenants see none of it.

A late filing: the supervision contract signed today and filed after the dev clock (govkit.clock)
moved two weeks on is accepted and marked overdue with qiaokou-2022 §25."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.stack import DEV_TRADING_WEBHOOK_SECRET
from govkit import signing
from govkit.clock import set_dev_clock
from tests.e2e.front_half import Done, china_today
from tests.e2e.helpers import PDF, wait_until

pytestmark = pytest.mark.e2e

SAMPLE = Path(__file__).resolve().parents[2] / "services/procurement/tests/data/ocds-release-package.json"


def package_for(project_code: str, today: date, suffix: str) -> bytes:
    """The sample package moved to this project and to today (the contract signed today)."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    day = today.isoformat()
    for release in data["releases"]:
        release["ocid"] = release["ocid"] + "-" + suffix
        release["id"] = release["id"] + "-" + suffix
        release["date"] = f"{day}T09:00:00+08:00"
        budget = release.get("planning", {}).get("budget", {})
        if budget.get("projectID") == "2025-230522-65-01-000123":
            budget["projectID"] = project_code
        for contract in release.get("contracts", []):
            contract["dateSigned"] = f"{day}T08:00:00+08:00"
            contract["period"] = {
                "startDate": f"{day}T00:00:00+08:00",
                "endDate": f"{today.year + 1}-06-30T00:00:00+08:00",
            }
    return json.dumps(data, ensure_ascii=False).encode()


def test_county_b_from_approval_through_the_trading_center_to_a_filed_contract(  # type: ignore[no-untyped-def]
    county_b: Done,
    login,
    stack,
) -> None:
    declaration_id = county_b.declaration["id"]
    approval = county_b.approval
    unit = login("applicant.county-b").client("procurement")
    head = login("bureau_head.county-b").client("procurement")
    review = login("bureau_head.county-b").client("review")

    def project() -> dict[str, Any] | None:
        response = unit.get(f"/v1/projects/{declaration_id}")
        return response.json() if response.status_code == 200 else None

    view = wait_until(project, what="procurement's project from approval.granted")
    assert view["project"]["status"] == "approved" and view["project"]["pack_id"] == "qiaokou-2022"
    assert view["project"]["approved_amount"] == "880000.00"
    assert view["project"]["approval_id"] == approval["id"]
    assert view["final_payment_blocked"] and view["final_payment_cite"] == ["qiaokou-2022 §29"]
    code = view["project"]["project_code"]

    started = unit.post(
        f"/v1/projects/{declaration_id}/procurements",
        json={
            "version": view["project"]["version"],
            "method": "open_tender",
            "title": "乙县智慧水务平台建设",
        },
    )
    assert started.status_code == 201, started.text
    procurement_id = started.json()["id"]

    def review_knows() -> dict[str, Any] | None:
        body: dict[str, Any] = review.get(f"/v1/approvals/{approval['id']}").json()
        return body if body.get("procurement_started_on") else None

    assert wait_until(review_knows, what="review consuming procurement.started")["status"] == "valid"

    # The trading center pushes its releases (signed with the dev key).
    body = package_for(code, china_today(), declaration_id[:8])
    webhook = httpx.Client(base_url=stack.http_url("procurement"), timeout=30)
    url = "/v1/trading/webhook/county-b"
    headers = signing.signed_headers(DEV_TRADING_WEBHOOK_SECRET, body)
    pushed = webhook.post(url, content=body, headers=headers)
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["matched"] == 3 and pushed.json()["unmatched"] == 1
    assert webhook.post(url, content=body, headers=headers).status_code == 409  # the same nonce: a replay
    again = webhook.post(url, content=body, headers=signing.signed_headers(DEV_TRADING_WEBHOOK_SECRET, body))
    assert again.status_code == 200 and again.json()["duplicates"] == 4 and again.json()["matched"] == 0
    forged = webhook.post(url, content=body, headers=signing.signed_headers("not-the-key", body))
    assert forged.status_code == 401

    current = unit.get(f"/v1/procurements/{procurement_id}").json()
    assert current["status"] == "signed" and current["ocid"].startswith("ocds-213czf-230522-2025-0042")
    assert current["prefill"]["supplier_name"] == "示范市智城信息技术有限公司"
    assert current["filing_due_on"]  # five working days after the signing (qiaokou-2022 §25)
    for kind in ("tender_documents", "award_notice", "contract"):
        uploaded = unit.post(
            f"/v1/procurements/{procurement_id}/documents",
            data={"kind": kind},
            files={"file": (f"{kind}.pdf", PDF + kind.encode(), "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
    version = unit.get(f"/v1/procurements/{procurement_id}").json()["version"]
    filed = unit.post(
        f"/v1/procurements/{procurement_id}/filing",
        json={
            "version": version,
            "warranty_months": 36,
            "ip_clause": "定制开发软件及数据的知识产权归建设单位所有。",
            "termination_clause": "承建单位严重违约的，建设单位可解除合同。",
        },
    )
    assert filed.status_code == 201, filed.text
    filing = filed.json()
    assert filing["source"] == "ocds" and filing["amount"] == "750000.00" and not filing["overdue"]
    assert {"qiaokou-2022 §25"} <= set(filing["cite"])

    after = project()
    assert after is not None and after["project"]["status"] == "construction"
    final = unit.post(
        f"/v1/projects/{declaration_id}/payments",
        json={
            "version": after["project"]["version"],
            "filing_id": filing["id"],
            "kind": "final",
            "amount": "750000.00",
            "paid_on": china_today().isoformat(),
        },
    )
    assert final.status_code == 422 and final.json()["error"]["cite"] == ["qiaokou-2022 §29"]
    # A late filing: the supervision contract signed today, filed after the dev clock moved two weeks on.
    after = project()
    assert after is not None
    supervision = unit.post(
        f"/v1/projects/{declaration_id}/procurements",
        json={"version": after["project"]["version"], "method": "inquiry", "role": "supervision"},
    )
    assert supervision.status_code == 201, supervision.text
    sid = supervision.json()["id"]
    signed = unit.post(
        f"/v1/procurements/{sid}/signing",
        json={"version": supervision.json()["version"], "signed_on": china_today().isoformat()},
    )
    assert signed.status_code == 200, signed.text
    for kind in ("tender_documents", "award_notice", "contract"):
        uploaded = unit.post(
            f"/v1/procurements/{sid}/documents",
            data={"kind": kind},
            files={"file": (f"jl-{kind}.pdf", PDF + b"jl" + kind.encode(), "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
    try:
        set_dev_clock(stack.clock_file, datetime.now(UTC) + timedelta(days=14))
        late = unit.post(
            f"/v1/procurements/{sid}/filing",
            json={
                "version": unit.get(f"/v1/procurements/{sid}").json()["version"],
                "contract_no": "JL-2025-07",
                "supplier_name": "示范市监理咨询有限公司",
                "supplier_credit_code": "91230500MA1D2M5N72",
                "amount": "36000.00",
                "signed_on": china_today().isoformat(),
                "period_start": china_today().isoformat(),
                "period_end": f"{china_today().year + 1}-06-30",
                "warranty_months": 36,
                "ip_clause": "监理成果归建设单位。",
                "termination_clause": "监理单位失职可解除合同。",
            },
        )
    finally:
        stack.clock_file.unlink(missing_ok=True)
    assert late.status_code == 201, late.text
    assert late.json()["overdue"] and late.json()["due_on"] == signed.json()["filing_due_on"]
    mark = next(c for c in late.json()["checks"] if c["code"] == "FILED_WITHIN_DEADLINE")
    assert not mark["passed"] and mark["cite"] == ["qiaokou-2022 §25"]

    mismatches = head.get("/v1/trading/mismatches", params={"declaration_id": declaration_id})
    assert mismatches.status_code == 200 and mismatches.json()["items"] == []

    # Other tenants and units: nothing of county-b's project exists for them.
    for outsider in ("bureau_head.city", "applicant.county-a"):
        other = login(outsider).client("procurement")
        assert other.get(f"/v1/projects/{declaration_id}").status_code == 404
        assert other.get(f"/v1/procurements/{procurement_id}").status_code == 404
        assert (
            other.post(
                f"/v1/procurements/{procurement_id}/filing",
                json={"version": 1, "warranty_months": 1, "ip_clause": "x", "termination_clause": "x"},
            ).status_code
            == 404
        )
    assert login("bureau_head.city").client("procurement").get("/v1/trading/mismatches").json()["items"] == []
    unknown = webhook.post(
        "/v1/trading/webhook/nowhere",
        content=body,
        headers=signing.signed_headers(DEV_TRADING_WEBHOOK_SECRET, body),
    )
    assert unknown.status_code == 404


def test_the_cli_streams_a_package_file_through_the_signed_webhook(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from bench.scenarios.ocds_import import write_package

    path = tmp_path / "package.json"
    with path.open("w", encoding="utf-8") as fp:
        write_package(fp, 120)
    command = [
        str(Path(sys.executable).parent / "govproj"),
        "procurement",
        "import-ocds",
        str(path),
        "--tenant",
        "county-b",
        "--url",
        stack.http_url("procurement"),
        "--batch",
        "50",
        "--quiet",
    ]
    env = {**os.environ, "GOVPROJ_PROCUREMENT_TRADING_WEBHOOK_SECRET": DEV_TRADING_WEBHOOK_SECRET}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["received"] == 120 and summary["unmatched"] == 120 and summary["invalid"] == 0
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(again.stdout)["duplicates"] == 120
    wrong = subprocess.run(
        command,
        env={**env, "GOVPROJ_PROCUREMENT_TRADING_WEBHOOK_SECRET": "wrong"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert wrong.returncode == 2 and "HTTP 401" in wrong.stderr
