"""Helpers of the whole-lifecycle end-to-end tests (test_lifecycle_*): a platform of every back-end
service whose policy folder puts the demo city under lhasa's measures (rules are data), the way from
a declaration to a real acceptance, and the platform's dev clock (govkit.clock) to let months and
years pass. Tokens keep the real clock; only the domain's "now" moves.

test_acceptance's policy-folder stack and acceptance helpers are imported, not copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from devstack.issuer.testing import get_token
from devstack.stack import Stack
from govkit import credit_code
from govkit.clock import set_dev_clock
from tests.e2e.helpers import (  # noqa: F401 - approve, ok, UserClient re-exported
    PDF,
    UserClient,
    approve,
    checked_pdf,
    create_draft,
    ensure_call,
    material_refs,
    ok,
    submit_to_bureau,
    wait_for_case,
    wait_until,
)
from tests.e2e.platforms import PolicyFolderStack, policies_with  # noqa: F401
from tests.e2e.test_acceptance import (  # noqa: F401 - re-exported for the lifecycle modules
    acceptance_project,
    findings,
    today,
)

BEIJING = timezone(timedelta(hours=8))
LHASA = "city"  # under lhasa on the lifecycle platform
SERVICES = ("intake", "review", "procurement", "acceptance", "evaluation")


def lhasa_policies(folder: Path) -> Path:
    """The shipped packs, with the city moved to lhasa's measures."""
    return policies_with(folder, {LHASA: "lhasa"})


def user_clients(stack: Stack) -> UserClient:
    """as_user("applicant.city", "evaluation") → a client with that user's real token."""
    tokens: dict[str, str] = {}

    def client(username: str, service: str) -> httpx.Client:
        if username not in tokens:
            tokens[username] = get_token(stack.issuer_url, username)
        return httpx.Client(
            base_url=stack.http_url(service),
            headers={"Authorization": f"Bearer {tokens[username]}"},
            timeout=15,
        )

    return client


@dataclass
class DomainClock:
    """The platform's domain date, moved by writing the stack's clock file (09:00 Beijing time)."""

    stack: Stack

    def move_to(self, day: date) -> None:
        """Every service's "now" becomes ``day`` at 09:00 in China and runs on from there."""
        set_dev_clock(self.stack.clock_file, datetime.combine(day, time(9, 0), tzinfo=BEIJING))

    def reset(self) -> None:
        """Back to the system clock."""
        self.stack.clock_file.unlink(missing_ok=True)


def new_credit_code(seed: int) -> str:
    """A valid unified social credit code (GB 32100-2015 check character) distinct per seed."""
    body = f"91230500MA{seed % 10**7:07d}"
    return body + credit_code.check_character(body)


def pass_acceptance(
    as_user: UserClient, tenant: str, project: dict[str, Any], *, specialty: str
) -> dict[str, Any]:
    """Trial run, initial acceptance (the unit head), final acceptance with a panel drawn from
    review's library (``specialty``) decided by the bureau head; returns the accepted project."""
    pid = project["id"]
    with (
        as_user(f"applicant.{tenant}", "acceptance") as unit,
        as_user(f"unit_head.{tenant}", "acceptance") as head,
        as_user(f"bureau_reviewer.{tenant}", "acceptance") as bureau,
        as_user(f"bureau_head.{tenant}", "acceptance") as bureau_head,
    ):
        started = ok(
            unit.post(
                f"/v1/projects/{pid}/trial", json={"started_on": today(), "version": project["version"]}
            )
        )
        initial = ok(
            unit.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "initial", "version": started["version"]}
            ),
            201,
        )
        ok(
            head.post(
                f"/v1/acceptances/{initial['id']}/decision",
                json={"version": initial["version"], "findings": findings(initial), "opinion": "初验合格"},
            )
        )
        current = ok(unit.get(f"/v1/projects/{pid}"))["project"]
        final = ok(
            unit.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "final", "version": current["version"]}
            ),
            201,
        )
        final = ok(
            bureau.post(
                f"/v1/acceptances/{final['id']}/panel",
                json={"version": final["version"], "size": 2, "specialty": specialty},
            )
        )
        passed = ok(
            bureau_head.post(
                f"/v1/acceptances/{final['id']}/decision",
                json={"version": final["version"], "findings": findings(final), "opinion": "同意通过验收。"},
            )
        )
        assert passed["status"] == "passed", passed
        accepted: dict[str, Any] = ok(unit.get(f"/v1/projects/{pid}"))["project"]
    assert accepted["status"] == "accepted"
    return accepted


def evidence(client: httpx.Client, evaluation_id: str, filename: str) -> str:
    """Upload a PDF as an evaluation's evidence; its SHA-256."""
    uploaded = ok(
        client.post(
            f"/v1/evaluations/{evaluation_id}/evidence", files={"file": (filename, PDF, "application/pdf")}
        ),
        201,
    )
    sha: str = uploaded["sha256"]
    return sha


def signed_procurement(unit: httpx.Client, declaration_id: str, *, role: str) -> dict[str, Any]:
    """A procurement of ``role`` started by the unit (its procurement client), its files uploaded
    and its contract signed today; the signed procurement."""

    def known() -> dict[str, Any] | None:
        response = unit.get(f"/v1/projects/{declaration_id}")
        return response.json() if response.status_code == 200 else None

    project = wait_until(known, what=f"procurement knows {declaration_id}")["project"]
    started = ok(
        unit.post(
            f"/v1/projects/{declaration_id}/procurements",
            json={
                "version": project["version"],
                "role": role,
                "method": "open_tender",
                "title": f"{role}采购",
            },
        ),
        201,
    )
    for kind in ("tender_documents", "award_notice", "contract"):
        ok(
            unit.post(
                f"/v1/procurements/{started['id']}/documents",
                data={"kind": kind},
                files={"file": (f"{kind}.pdf", PDF, "application/pdf")},
            ),
            201,
        )
    current = unit.get(f"/v1/procurements/{started['id']}").json()
    signed = ok(
        unit.post(
            f"/v1/procurements/{started['id']}/signing",
            json={"version": current["version"], "signed_on": today()},
        )
    )
    return signed


def file_filing(
    unit: httpx.Client, procurement: dict[str, Any], *, supplier: str, code: str, amount: str
) -> httpx.Response:
    """POST the contract filing of a signed procurement (the response, refused or not)."""
    return unit.post(
        f"/v1/procurements/{procurement['id']}/filing",
        json={
            "version": procurement["version"],
            "contract_no": f"HT-{procurement['role']}-{procurement['id'][:8]}",
            "supplier_name": supplier,
            "supplier_credit_code": code,
            "amount": amount,
            "signed_on": today(),
            "period_start": today(),
            "period_end": f"{int(today()[:4]) + 1}{today()[4:]}",
            "warranty_months": 36,
            "ip_clause": "定制开发软件的知识产权归建设单位所有。",
            "termination_clause": "一方严重违约的，另一方可解除合同。",
        },
    )


def file_contract(
    as_user: UserClient, tenant: str, declaration_id: str, *, role: str, supplier: str, code: str, amount: str
) -> dict[str, Any]:
    """A contract of ``role`` procured, signed and filed today; the filing."""
    with as_user(f"applicant.{tenant}", "procurement") as unit:
        signed = signed_procurement(unit, declaration_id, role=role)
        return ok(file_filing(unit, signed, supplier=supplier, code=code, amount=amount), 201)
