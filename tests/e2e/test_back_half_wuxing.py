"""Issue 6 end to end under wuxing-2023 (county-a as shipped), from the approval to the accepted
project and its released final payment, on the platform's dev clock (govkit.clock) so that the
trial run's month passes in seconds: intake, review, procurement and acceptance as real processes,
real PostgreSQL and NATS, the demo users' real tokens.

The domain's time starts on Monday 2 March 2026 (working days on the official calendar):
- approval of a 1,200,000 CNY project (wuxing-2023 §13: 发改's contact sheet; §17: supervision);
- the supervision contract filed first (§17: the supervisor before the contractor);
- the construction contract from the trading center's signed push (OCDS; a replay refused),
  filed from the prefill two weeks after its signing: accepted, marked overdue with §15;
- the tester (检测/测评) contract: the contractor refused with §17, an independent tester filed;
- a final payment refused before the acceptance;
- acceptance learns the three contracts; the security assessment before the trial run (§20);
  an initial acceptance inside the trial's month refused with §20; the initial acceptance after
  it; the final acceptance needing the IRS catalog evidence (§18), organised by the bureau (§20)
  with a panel drawn from review's library (the contractor's expert excluded), failed with a
  rectification item due in the pack's 3 months (§20), rectified, and passed in a second round;
  report PDFs with the project code and the result;
- procurement learns acceptance.passed: the final payment is recorded;
- another tenant and another unit of county-a see nothing of it on any endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from devstack.issuer.testing import get_token
from devstack.stack import Stack
from govkit.credit_code import check_character
from govkit.pdf import page_texts
from tests.e2e.back_half import (
    CLAUSES,
    DomainClock,
    UserClient,
    begin_procurement,
    contract,
    ok,
    open_call,
    package_for,
    push,
    signed,
    upload_filing_documents,
)
from tests.e2e.helpers import PDF, approve, checked_pdf, refused, wait_until
from tests.e2e.platforms import running_policy_stack
from tests.e2e.test_acceptance import acceptance_project, findings

pytestmark = pytest.mark.e2e

TENANT = "county-a"  # wuxing-2023
OTHER_TENANT = "city"  # shuangyashan-2024
PACK = "wuxing-2023"
CONTRACTOR = "示范市智城信息技术有限公司"  # the sample package's supplier
CONTRACTOR_CODE = "91230500MA1C7QXK2H"
SUPERVISOR = "示范工程监理有限公司"
SUPERVISOR_CODE = "91230500MA1B2C3E52"
TESTER = "示范软件测评中心有限公司"
TESTER_CODE = "91330502MA2B3C4D5" + check_character("91330502MA2B3C4D5")
SPECIALTY = "验收（吴兴端到端）"

START = date(2026, 3, 2)  # Monday: approval, supervision contract, construction contract signed
LATE = date(2026, 3, 16)  # two weeks on: past §15's 5 working days (due 9 March)
TRIAL = date(2026, 4, 1)  # the trial run starts (construction completed the day before)
AFTER_TRIAL = date(2026, 5, 6)  # the first working day after the May Day holiday
RECTIFIED = date(2026, 6, 1)


@pytest.fixture(scope="module")
def platform() -> Iterator[Stack]:
    """intake, review, procurement and acceptance (no portal, no evaluation), packs as shipped."""
    with running_policy_stack(
        "govproj-e2e-wuxing-",
        {},
        services=("intake", "review", "procurement", "acceptance"),
        with_portal=False,
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def clock(platform: Stack) -> Iterator[DomainClock]:
    """The platform's domain clock, from 2 March 2026; the system clock again afterwards."""
    moved = DomainClock(platform)
    moved.move_to(START)
    yield moved
    moved.reset()


@pytest.fixture(scope="module")
def as_user(platform: Stack) -> UserClient:
    """as_user("applicant.county-a", "procurement") → a client with that user's real token."""
    tokens: dict[str, str] = {}

    def client(username: str, service: str) -> httpx.Client:
        if username not in tokens:
            tokens[username] = get_token(platform.issuer_url, username)
        return httpx.Client(
            base_url=platform.http_url(service),
            headers={"Authorization": f"Bearer {tokens[username]}"},
            timeout=15,
        )

    return client


def _failed(error: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in error["details"]["checks"] if not c["passed"]]


def _project(unit: httpx.Client, declaration_id: str) -> dict[str, Any]:
    return ok(unit.get(f"/v1/projects/{declaration_id}"))


def test_wuxing_from_approval_through_procurement_and_acceptance_to_the_final_payment(  # type: ignore[no-untyped-def]
    platform: Stack, clock: DomainClock, as_user: Callable[[str, str], httpx.Client]
) -> None:
    with as_user(f"bureau_reviewer.{TENANT}", "intake") as bureau_intake:
        open_call(bureau_intake, clock.today())
    declaration = approve(as_user, TENANT, "县域基层治理数字化协同平台", "1200000.00")
    declaration_id = declaration["id"]

    # --- procurement: supervision first, construction from the trading center, the tester -----
    unit = as_user(f"applicant.{TENANT}", "procurement")

    def known() -> dict[str, Any] | None:
        response = unit.get(f"/v1/projects/{declaration_id}")
        return response.json() if response.status_code == 200 else None

    view = wait_until(known, what="procurement learns approval.granted")
    assert view["project"]["pack_id"] == PACK and view["project"]["approved_amount"] == "1200000.00"
    assert view["project"]["approved_on"] == START.isoformat()
    code = view["project"]["project_code"]
    period_end = date(2026, 3, 31)

    supervision = begin_procurement(
        unit, declaration_id, role="supervision", method="inquiry", title="平台建设监理"
    )
    upload_filing_documents(unit, supervision["id"])
    current = ok(unit.get(f"/v1/procurements/{supervision['id']}"))
    filed_supervision = ok(
        unit.post(
            f"/v1/procurements/{supervision['id']}/filing",
            json={
                "version": current["version"],
                **contract(
                    contract_no="JL-2026-001",
                    supplier=SUPERVISOR,
                    code=SUPERVISOR_CODE,
                    amount="36000.00",
                    signed_on=START,
                    period_end=date(2026, 6, 30),
                ),
            },
        ),
        201,
    )
    assert not filed_supervision["overdue"] and filed_supervision["due_on"] == "2026-03-09"

    construction = begin_procurement(
        unit, declaration_id, role="construction", method="open_tender", title="平台建设"
    )
    body = package_for(code, signed_on=START, period_end=period_end, suffix=declaration_id[:8])
    headers = signed(body)
    first = ok(push(platform, TENANT, body, headers))
    assert first["matched"] == 3 and first["unmatched"] == 1
    refused(push(platform, TENANT, body, headers), 409, "WEBHOOK_REPLAYED")
    again = ok(push(platform, TENANT, body, signed(body)))
    assert again["duplicates"] == 4 and again["matched"] == 0  # the same releases change nothing
    prefilled = ok(unit.get(f"/v1/procurements/{construction['id']}"))
    assert prefilled["status"] == "signed" and prefilled["signed_on"] == START.isoformat()
    assert prefilled["prefill"]["supplier_credit_code"] == CONTRACTOR_CODE
    assert prefilled["filing_due_on"] == "2026-03-09"  # §15: 5 working days after signing
    upload_filing_documents(unit, construction["id"])

    clock.move_to(LATE)
    current = ok(unit.get(f"/v1/procurements/{construction['id']}"))
    filing = ok(
        unit.post(
            f"/v1/procurements/{construction['id']}/filing", json={"version": current["version"], **CLAUSES}
        ),
        201,
    )
    assert filing["source"] == "ocds" and filing["amount"] == "750000.00" and filing["overdue"]
    checks = {c["code"]: c for c in filing["checks"]}
    assert not checks["FILED_WITHIN_DEADLINE"]["passed"] and checks["FILED_WITHIN_DEADLINE"]["cite"] == [
        f"{PACK} §15"
    ]
    assert checks["SUPERVISION_CONTRACT_PRESENT"]["passed"]
    assert checks["DESIGNER_SUPERVISOR_TESTER_EXCLUDED"]["cite"] == [f"{PACK} §17"]

    testing = begin_procurement(
        unit, declaration_id, role="testing", method="inquiry", title="第三方验收测试"
    )
    assert testing["role_zh"] == "检测（测评）合同"
    upload_filing_documents(unit, testing["id"])
    current = ok(unit.get(f"/v1/procurements/{testing['id']}"))
    tester_terms = {
        "contract_no": "JC-2026-001",
        "amount": "24000.00",
        "signed_on": LATE.isoformat(),
        "period_start": LATE.isoformat(),
        "period_end": "2026-06-30",
        **CLAUSES,
    }
    by_contractor = unit.post(
        f"/v1/procurements/{testing['id']}/filing",
        json={
            "version": current["version"],
            **tester_terms,
            "supplier_name": CONTRACTOR,
            "supplier_credit_code": CONTRACTOR_CODE,
        },
    )
    error = refused(by_contractor, 422, "FILING_REFUSED")
    assert error["cite"] == [f"{PACK} §17"]
    (failed,) = _failed(error)
    assert failed["code"] == "DESIGNER_SUPERVISOR_TESTER_EXCLUDED" and "承建单位" in failed["message"]
    tester = ok(
        unit.post(
            f"/v1/procurements/{testing['id']}/filing",
            json={
                "version": current["version"],
                **tester_terms,
                "supplier_name": TESTER,
                "supplier_credit_code": TESTER_CODE,
            },
        ),
        201,
    )
    assert tester["role"] == "testing" and not tester["overdue"]

    # Payments: progress yes, the final one not before the acceptance.
    view = _project(unit, declaration_id)
    assert view["project"]["status"] == "construction" and view["final_payment_blocked"]
    progress = ok(
        unit.post(
            f"/v1/projects/{declaration_id}/payments",
            json={
                "version": view["project"]["version"],
                "filing_id": filing["id"],
                "kind": "progress",
                "amount": "300000.00",
                "paid_on": LATE.isoformat(),
            },
        ),
        201,
    )
    assert progress["kind"] == "progress"
    early_final = unit.post(
        f"/v1/projects/{declaration_id}/payments",
        json={
            "version": _project(unit, declaration_id)["project"]["version"],
            "filing_id": filing["id"],
            "kind": "final",
            "amount": "450000.00",
            "paid_on": LATE.isoformat(),
        },
    )
    refused(early_final, 422, "FINAL_PAYMENT_BEFORE_ACCEPTANCE")

    # --- acceptance ------------------------------------------------------------------------
    project = acceptance_project(as_user, TENANT, declaration_id, 3)
    assert project["pack_id"] == PACK and project["status"] == "contracted"
    assert project["contract_amount"] == "750000.00"  # the construction contract only
    pid = project["id"]
    with (
        as_user(f"applicant.{TENANT}", "acceptance") as accept_unit,
        as_user(f"unit_head.{TENANT}", "acceptance") as head,
        as_user(f"bureau_reviewer.{TENANT}", "acceptance") as bureau,
        as_user(f"bureau_head.{TENANT}", "acceptance") as bureau_head,
        as_user(f"bureau_reviewer.{TENANT}", "review") as library,
    ):
        made = {
            name: ok(
                library.post("/v1/experts", json={"name": name, "org": org, "specialties": [SPECIALTY]}), 201
            )
            for name, org in (("周教授", "示范大学"), ("吴研究员", "省信息中心"), ("郑工", CONTRACTOR))
        }

        clock.move_to(TRIAL)
        evidence = ok(
            accept_unit.post(
                f"/v1/projects/{pid}/evidence",
                data={
                    "kind": "security_risk",
                    "conclusion": "pass",
                    "issued_by": "某网络安全测评中心",
                    "issued_on": TRIAL.isoformat(),
                },
                files={"file": ("网络安全评估报告.pdf", PDF + b"risk", "application/pdf")},
            ),
            201,
        )
        assert evidence["sha256"]
        started = ok(
            accept_unit.post(
                f"/v1/projects/{pid}/trial",
                json={
                    "started_on": TRIAL.isoformat(),
                    "completed_on": "2026-03-31",
                    "version": project["version"],
                },
            )
        )
        assert started["status"] == "trial_run" and started["trial_citations"] == [f"{PACK} §20"]
        assert started["trial_ends_on"] == "2026-05-01"  # one month (§20)
        short = accept_unit.post(
            f"/v1/projects/{pid}/acceptances", json={"stage": "initial", "version": started["version"]}
        )
        assert refused(short, 422, "TRIAL_RUN_TOO_SHORT")["cite"] == [f"{PACK} §20"]

        clock.move_to(AFTER_TRIAL)
        initial = ok(
            accept_unit.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "initial", "version": started["version"]}
            ),
            201,
        )
        initial = ok(
            head.post(
                f"/v1/acceptances/{initial['id']}/decision",
                json={"version": initial["version"], "findings": findings(initial), "opinion": "初验合格"},
            )
        )
        assert initial["status"] == "passed"
        project = ok(accept_unit.get(f"/v1/projects/{pid}"))["project"]
        assert project["status"] == "initial_passed"
        no_catalog = accept_unit.post(
            f"/v1/projects/{pid}/acceptances", json={"stage": "final", "version": project["version"]}
        )
        error = refused(no_catalog, 422, "EVIDENCE_MISSING")
        assert error["cite"] == [f"{PACK} §18"] and error["details"]["missing"] == ["resource_catalog"]
        ok(
            accept_unit.post(
                f"/v1/projects/{pid}/evidence",
                data={
                    "kind": "resource_catalog",
                    "conclusion": "pass",
                    "issued_by": "区大数据局IRS",
                    "issued_on": AFTER_TRIAL.isoformat(),
                },
                files={"file": ("IRS目录登记.pdf", PDF + b"irs", "application/pdf")},
            ),
            201,
        )
        project = ok(accept_unit.get(f"/v1/projects/{pid}"))["project"]
        final = ok(
            accept_unit.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "final", "version": project["version"]}
            ),
            201,
        )
        assert final["organizer"] == "bureau" and final["organizer_citations"] == [f"{PACK} §20"]
        checklist = {i["code"] for i in final["checklist"]}
        assert {"archives", "contract_performance", "data_sharing"} <= checklist  # §21
        final = ok(
            bureau.post(
                f"/v1/acceptances/{final['id']}/panel",
                json={"version": final["version"], "size": 2, "specialty": SPECIALTY, "seed": "wuxing-e2e"},
            )
        )
        assert {e["name"] for e in final["panel"]["experts"]} == {"周教授", "吴研究员"}
        assert final["panel"]["excluded"][made["郑工"]["id"]] == "bidder"
        failed_acceptance = ok(
            bureau_head.post(
                f"/v1/acceptances/{final['id']}/decision",
                json={
                    "version": final["version"],
                    "findings": findings(final, ("archives",)),
                    "opinion": "项目档案不完整，限期整改。",
                    "rectifications": [{"description": "补齐项目档案", "owner": CONTRACTOR}],
                },
            )
        )
        assert failed_acceptance["status"] == "failed"
        (item,) = failed_acceptance["rectifications"]
        assert item["due_on"] == "2026-08-06" and item["citations"] == [f"{PACK} §20"]  # 3 months
        text = "".join(
            page_texts(
                checked_pdf(
                    accept_unit.get(f"/v1/acceptances/{failed_acceptance['id']}/report.pdf"),
                    failed_acceptance["report_sha256"],
                )
            )
        )
        assert code in text and "验收不通过" in text and "补齐项目档案" in text

        clock.move_to(RECTIFIED)
        ok(
            accept_unit.post(
                f"/v1/rectifications/{item['id']}/completion",
                json={"version": item["version"], "note": "档案已补齐"},
            )
        )
        project = ok(accept_unit.get(f"/v1/projects/{pid}"))["project"]
        second = ok(
            accept_unit.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "final", "version": project["version"]}
            ),
            201,
        )
        assert second["round"] == 2
        second = ok(
            bureau.post(
                f"/v1/acceptances/{second['id']}/panel",
                json={"version": second["version"], "size": 2, "specialty": SPECIALTY},
            )
        )
        passed = ok(
            bureau_head.post(
                f"/v1/acceptances/{second['id']}/decision",
                json={
                    "version": second["version"],
                    "findings": findings(second),
                    "opinion": "同意通过竣工验收。",
                },
            )
        )
        assert passed["status"] == "passed"
        text = "".join(
            page_texts(
                checked_pdf(bureau.get(f"/v1/acceptances/{passed['id']}/report.pdf"), passed["report_sha256"])
            )
        )
        assert code in text and "验收通过" in text and "验收不通过" not in text
        accepted = ok(accept_unit.get(f"/v1/projects/{pid}"))["project"]
        assert accepted["status"] == "accepted" and accepted["accepted_on"] == RECTIFIED.isoformat()

    # --- procurement learns acceptance.passed: the final payment is released -----------------
    def released() -> dict[str, Any] | None:
        body = _project(unit, declaration_id)
        return None if body["final_payment_blocked"] else body

    view = wait_until(released, what="procurement releases the final payment")
    assert view["project"]["status"] == "accepted" and view["project"]["accepted_on"] == RECTIFIED.isoformat()
    final_payment = ok(
        unit.post(
            f"/v1/projects/{declaration_id}/payments",
            json={
                "version": view["project"]["version"],
                "filing_id": filing["id"],
                "kind": "final",
                "amount": "450000.00",
                "paid_on": RECTIFIED.isoformat(),
            },
        ),
        201,
    )
    assert final_payment["kind"] == "final" and final_payment["amount"] == "450000.00"

    # --- another tenant and another unit: nothing of it exists ------------------------------
    for outsider in (f"applicant.{OTHER_TENANT}", f"bureau_head.{OTHER_TENANT}", f"applicant2.{TENANT}"):
        with (
            as_user(outsider, "procurement") as other_procurement,
            as_user(outsider, "acceptance") as other_acceptance,
        ):
            for pid_ in (supervision["id"], construction["id"], testing["id"]):
                assert other_procurement.get(f"/v1/procurements/{pid_}").status_code == 404, outsider
                assert (
                    other_procurement.post(
                        f"/v1/procurements/{pid_}/filing", json={"version": 1, **tester_terms}
                    ).status_code
                    == 404
                ), outsider
            assert other_procurement.get(f"/v1/projects/{declaration_id}").status_code == 404, outsider
            assert (
                other_procurement.post(
                    f"/v1/projects/{declaration_id}/payments",
                    json={
                        "version": 1,
                        "filing_id": filing["id"],
                        "kind": "final",
                        "amount": "1.00",
                        "paid_on": RECTIFIED.isoformat(),
                    },
                ).status_code
                == 404
            ), outsider
            assert other_acceptance.get(f"/v1/projects/{pid}").status_code == 404, outsider
            assert other_acceptance.get(f"/v1/acceptances/{passed['id']}/report.pdf").status_code == 404, (
                outsider
            )
