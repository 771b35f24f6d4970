"""Helpers of the back half's end-to-end tests (procurement → acceptance) that run on the platform's
dev clock: the services read "now" from the stack's clock file (govkit.clock), so a test moves the
domain's date through a trial run of months instead of waiting. Tokens keep the real clock.

The front half's way to an approved project and the acceptance helpers are test_acceptance's
(imported, not copied)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from devstack.stack import DEV_TRADING_WEBHOOK_SECRET, Stack
from govkit import signing
from govkit.clock import set_dev_clock
from tests.e2e.helpers import PDF, UserClient, ok  # noqa: F401 - re-exported

BEIJING = timezone(timedelta(hours=8))
SAMPLE = Path(__file__).resolve().parents[2] / "services/procurement/tests/data/ocds-release-package.json"
SAMPLE_PROJECT_CODE = "2025-230522-65-01-000123"
FILING_DOCUMENTS = ("tender_documents", "award_notice", "contract")


@dataclass
class DomainClock:
    """The platform's domain date, moved by writing the stack's clock file (09:00 Beijing time)."""

    stack: Stack
    day: date | None = None

    def move_to(self, day: date) -> None:
        """Every service's "now" becomes ``day`` at 09:00 in China and runs on from there."""
        set_dev_clock(self.stack.clock_file, datetime.combine(day, time(9, 0), tzinfo=BEIJING))
        self.day = day

    def today(self) -> date:
        """The domain's date as last set (a test does not run past midnight from 09:00)."""
        assert self.day is not None, "the domain clock was not set"
        return self.day

    def reset(self) -> None:
        """Back to the system clock."""
        self.stack.clock_file.unlink(missing_ok=True)
        self.day = None


def open_call(bureau_intake: httpx.Client, today: date) -> dict[str, Any]:
    """The tenant's annual call for next year with a deadline two months after the domain's today
    (helpers.ensure_call counts from the system date, which the dev clock does not move)."""
    listed = ok(bureau_intake.get("/v1/calls", params={"status": "open"}))["items"]
    if listed:
        return dict(listed[0])
    return ok(
        bureau_intake.post(
            "/v1/calls",
            json={"target_year": today.year + 1, "deadline": (today + timedelta(days=60)).isoformat()},
        ),
        201,
    )


def begin_procurement(
    unit: httpx.Client, declaration_id: str, *, role: str, method: str, title: str
) -> dict[str, Any]:
    """The unit begins a procurement of the project (at the project's current version)."""
    version = ok(unit.get(f"/v1/projects/{declaration_id}"))["project"]["version"]
    return ok(
        unit.post(
            f"/v1/projects/{declaration_id}/procurements",
            json={"version": version, "role": role, "method": method, "title": title},
        ),
        201,
    )


def upload_filing_documents(unit: httpx.Client, procurement_id: str) -> None:
    """Tender documents, award notice and contract (distinct bytes: each kept with its SHA-256)."""
    for kind in FILING_DOCUMENTS:
        ok(
            unit.post(
                f"/v1/procurements/{procurement_id}/documents",
                data={"kind": kind},
                files={
                    "file": (f"{kind}.pdf", PDF + procurement_id.encode() + kind.encode(), "application/pdf")
                },
            ),
            201,
        )


def contract(
    *, contract_no: str, supplier: str, code: str, amount: str, signed_on: date, period_end: date
) -> dict[str, Any]:
    """A contract's terms as the filing takes them (clauses and warranty per wuxing-2023 §16, §27)."""
    return {
        "contract_no": contract_no,
        "supplier_name": supplier,
        "supplier_credit_code": code,
        "amount": amount,
        "signed_on": signed_on.isoformat(),
        "period_start": signed_on.isoformat(),
        "period_end": period_end.isoformat(),
        **CLAUSES,
    }


CLAUSES: dict[str, Any] = {
    "warranty_months": 36,
    "ip_clause": "定制开发软件、源代码、测试文档及数据资源的知识产权归建设单位所有。",
    "termination_clause": "一方严重违约的，另一方可书面通知解除合同。",
}


def package_for(project_code: str, *, signed_on: date, period_end: date, suffix: str) -> bytes:
    """The repository's sample release package moved to this project, signed on ``signed_on``."""
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    day = signed_on.isoformat()
    for release in data["releases"]:
        release["ocid"] = f"{release['ocid']}-{suffix}"
        release["id"] = f"{release['id']}-{suffix}"
        release["date"] = f"{day}T09:00:00+08:00"
        budget = release.get("planning", {}).get("budget", {})
        if budget.get("projectID") == SAMPLE_PROJECT_CODE:
            budget["projectID"] = project_code
        for signed in release.get("contracts", []):
            signed["dateSigned"] = f"{day}T08:00:00+08:00"
            signed["period"] = {
                "startDate": f"{day}T00:00:00+08:00",
                "endDate": f"{period_end.isoformat()}T00:00:00+08:00",
            }
    return json.dumps(data, ensure_ascii=False).encode()


def signed(body: bytes) -> dict[str, str]:
    """The trading center's signature headers (the dev key, the real time: the signature window is
    not domain time, so a moved dev clock does not make them stale)."""
    return signing.signed_headers(DEV_TRADING_WEBHOOK_SECRET, body)


def push(stack: Stack, tenant: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """A push to procurement's webhook with these signature headers (the same ones again: a replay)."""
    with httpx.Client(base_url=stack.http_url("procurement"), timeout=30) as center:
        return center.post(f"/v1/trading/webhook/{tenant}", content=body, headers=headers)
