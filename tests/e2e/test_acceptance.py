"""Issue 6, acceptance end to end: intake, review, procurement and acceptance as real processes,
real PostgreSQL and NATS, the demo users' real tokens. A project is approved (front half), its
contracts are filed through procurement's REST, acceptance learns them from contract.filed, and
the acceptance panel is drawn from review's expert library over gRPC with acceptance's service
token.

This module runs its own platform whose policy folder puts the city under lhasa (rules are data):
lhasa sets no minimum trial run, so its acceptance can be applied for on the day the trial run
starts — the real clock could not wait out another pack's month. There: the final acceptance
before the initial one refused with lhasa §17, a failed final acceptance with a rectification item,
a second one that passes, the report PDFs with the project code and the result, gRPC reads. County-a
stays under wuxing-2023: the trial run cannot start before the security assessment (§20), and an
acceptance within its one-month trial run is refused with the article. Another tenant and another
unit are refused on every endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest

from devstack.issuer.testing import get_token
from devstack.stack import Stack
from govkit.pdf import page_texts
from govproj.acceptance.v1 import acceptance_pb2, acceptance_pb2_grpc
from tests.e2e.helpers import (  # noqa: F401 - approve and ok re-exported
    PDF,
    UserClient,
    approve,
    checked_pdf,
    create_draft,
    ensure_call,
    material_refs,
    ok,
    refused,
    submit_to_bureau,
    wait_for_case,
    wait_until,
)
from tests.e2e.platforms import PolicyFolderStack, running_policy_stack  # noqa: F401 - re-exported

pytestmark = pytest.mark.e2e

LHASA = "city"  # under lhasa on this module's platform
WUXING = "county-a"  # wuxing-2023 as shipped
CONTRACTOR = "示范软件有限公司"
CONTRACTOR_CODE = "91230500MA1B2C3D4X"
SUPERVISOR = "示范工程监理有限公司"
SUPERVISOR_CODE = "91230500MA1B2C3E52"
SPECIALTY = "验收（端到端）"


@pytest.fixture(scope="module")
def platform() -> Iterator[Stack]:
    """intake, review, procurement and acceptance with the city under lhasa."""
    with running_policy_stack(
        "govproj-e2e-acceptance-",
        {LHASA: "lhasa"},
        services=("intake", "review", "procurement", "acceptance"),
        with_portal=False,
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def tokens(platform: Stack) -> Callable[[str], str]:
    """A user's real access token (cached)."""
    cache: dict[str, str] = {}

    def token(username: str) -> str:
        if username not in cache:
            cache[username] = get_token(platform.issuer_url, username)
        return cache[username]

    return token


@pytest.fixture(scope="module")
def as_user(platform: Stack, tokens: Callable[[str], str]) -> UserClient:
    """as_user("applicant.city", "acceptance") → a client with that user's token."""

    def client(username: str, service: str) -> httpx.Client:
        return httpx.Client(
            base_url=platform.http_url(service),
            headers={"Authorization": f"Bearer {tokens(username)}"},
            timeout=15,
        )

    return client


def today() -> str:
    """Today where the services count deadlines."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


# --------------------------------------------------------------------------------------------
# The way there: an approved project and its filed contracts
# --------------------------------------------------------------------------------------------


def file_contract(
    as_user: UserClient, tenant: str, declaration_id: str, *, role: str, supplier: str, code: str, amount: str
) -> dict[str, Any]:
    """Procurement started, its files uploaded, the contract signed today and filed."""
    with as_user(f"applicant.{tenant}", "procurement") as unit:

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
        filed = ok(
            unit.post(
                f"/v1/procurements/{started['id']}/filing",
                json={
                    "version": signed["version"],
                    "contract_no": f"HT-{role}-{declaration_id[:8]}",
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
            ),
            201,
        )
    return filed


def acceptance_project(
    as_user: UserClient, tenant: str, declaration_id: str, contracts: int
) -> dict[str, Any]:
    """acceptance's project once it learned ``contracts`` filed contracts."""
    with as_user(f"bureau_reviewer.{tenant}", "acceptance") as bureau:

        def learned() -> dict[str, Any] | None:
            response = bureau.get(f"/v1/projects/by-declaration/{declaration_id}")
            if response.status_code != 200:
                return None
            body: dict[str, Any] = response.json()
            return body if len(body["contract_ids"]) >= contracts else None

        return wait_until(learned, what=f"acceptance learns {declaration_id}")


def findings(acceptance: dict[str, Any], failed: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every checklist item passed except ``failed``."""
    return [
        {
            "code": i["code"],
            "passed": i["code"] not in failed,
            "note": "未达要求" if i["code"] in failed else "",
        }
        for i in acceptance["checklist"]
    ]


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lhasa_project(as_user: UserClient) -> dict[str, Any]:
    """The city's approved project (lhasa) with its supervision and construction contracts filed."""
    declaration = approve(as_user, LHASA, "城市运行一网统管平台", "900000.00")
    # lhasa §13: the supervisor is contracted before the contractor.
    file_contract(
        as_user,
        LHASA,
        declaration["id"],
        role="supervision",
        supplier=SUPERVISOR,
        code=SUPERVISOR_CODE,
        amount="30000.00",
    )
    construction = file_contract(
        as_user,
        LHASA,
        declaration["id"],
        role="construction",
        supplier=CONTRACTOR,
        code=CONTRACTOR_CODE,
        amount="850000.00",
    )
    with as_user(f"applicant.{LHASA}", "procurement") as procurement:
        assert ok(procurement.get(f"/v1/projects/{declaration['id']}"))["final_payment_blocked"]
    project = acceptance_project(as_user, LHASA, declaration["id"], 2)
    assert project["pack_id"] == "lhasa" and project["status"] == "contracted"
    assert construction["id"] in project["contract_ids"] and project["contract_amount"] == "850000.00"
    return project


def test_lhasa_failed_acceptance_rectified_then_passed_with_the_reports(  # type: ignore[no-untyped-def]
    as_user, lhasa_project, platform, tokens
) -> None:
    pid = lhasa_project["id"]
    with (
        as_user(f"applicant.{LHASA}", "acceptance") as unit,
        as_user(f"unit_head.{LHASA}", "acceptance") as head,
        as_user(f"bureau_reviewer.{LHASA}", "acceptance") as bureau,
        as_user(f"bureau_head.{LHASA}", "acceptance") as bureau_head,
        as_user(f"bureau_reviewer.{LHASA}", "review") as library,
    ):
        # The city's expert library; the contractor's expert must not judge its own work.
        made = {}
        for name, org in (("钱教授", "示范大学"), ("孙研究员", "省信息中心"), ("李工", CONTRACTOR)):
            made[name] = ok(
                library.post("/v1/experts", json={"name": name, "org": org, "specialties": [SPECIALTY]}), 201
            )

        started = ok(
            unit.post(
                f"/v1/projects/{pid}/trial", json={"started_on": today(), "version": lhasa_project["version"]}
            )
        )
        assert started["status"] == "trial_run" and started["trial_min_months"] is None
        assert started["trial_ends_on"] == today()  # lhasa sets no minimum trial run

        early = unit.post(
            f"/v1/projects/{pid}/acceptances", json={"stage": "final", "version": started["version"]}
        )
        assert refused(early, 422, "INITIAL_ACCEPTANCE_REQUIRED")["cite"] == ["lhasa §17"]
        initial = ok(
            unit.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "initial", "version": started["version"]}
            ),
            201,
        )
        assert initial["organizer"] == "unit" and initial["checklist"]
        assert initial["needs_panel"] is False  # the unit's own initial acceptance: a panel is optional
        initial = ok(
            head.post(
                f"/v1/acceptances/{initial['id']}/decision",
                json={"version": initial["version"], "findings": findings(initial), "opinion": "初验合格"},
            )
        )
        assert initial["status"] == "passed"
        project = ok(unit.get(f"/v1/projects/{pid}"))["project"]
        assert project["status"] == "initial_passed" and project["final_due_citations"] == ["lhasa §17"]

        final = ok(
            unit.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "final", "version": project["version"]}
            ),
            201,
        )
        assert final["organizer"] == "bureau" and final["organizer_citations"] == ["lhasa §17"]
        refused(
            bureau.post(
                f"/v1/acceptances/{final['id']}/decision",
                json={"version": final["version"], "findings": findings(final)},
            ),
            422,
            "PANEL_REQUIRED",
        )
        final = ok(
            bureau.post(
                f"/v1/acceptances/{final['id']}/panel",
                json={"version": final["version"], "size": 2, "specialty": SPECIALTY, "seed": "e2e-1"},
            )
        )
        panel = final["panel"]
        assert {e["name"] for e in panel["experts"]} == {"钱教授", "孙研究员"}
        assert panel["excluded"][made["李工"]["id"]] == "bidder" and panel["draw_reference"]
        failed = ok(
            bureau_head.post(
                f"/v1/acceptances/{final['id']}/decision",
                json={
                    "version": final["version"],
                    "findings": findings(final, (final["checklist"][0]["code"],)),
                    "opinion": "项目档案不完整，限期整改。",
                    "rectifications": [
                        {
                            "description": "补齐项目档案",
                            "owner": CONTRACTOR,
                            "due_on": f"{int(today()[:4]) + 1}-01-31",
                        }
                    ],
                },
            )
        )
        assert failed["status"] == "failed" and failed["result_zh"] == "验收不通过"
        text = "".join(
            page_texts(
                checked_pdf(unit.get(f"/v1/acceptances/{failed['id']}/report.pdf"), failed["report_sha256"])
            )
        )
        assert (
            lhasa_project["project_code"] in text
            and "验收不通过" in text
            and "钱教授" in text
            and "补齐项目档案" in text
        )

        project = ok(unit.get(f"/v1/projects/{pid}"))["project"]
        refused(
            unit.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "final", "version": project["version"]}
            ),
            422,
            "RECTIFICATION_OPEN",
        )
        (item,) = failed["rectifications"]
        ok(
            unit.post(
                f"/v1/rectifications/{item['id']}/completion",
                json={"version": item["version"], "note": "档案已补齐"},
            )
        )
        project = ok(unit.get(f"/v1/projects/{pid}"))["project"]
        assert project["status"] == "initial_passed"

        second = ok(
            unit.post(
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
                    "opinion": "同意通过验收。",
                },
            )
        )
        assert passed["status"] == "passed" and passed["result_zh"] == "验收通过"
        text = "".join(
            page_texts(
                checked_pdf(bureau.get(f"/v1/acceptances/{passed['id']}/report.pdf"), passed["report_sha256"])
            )
        )
        assert lhasa_project["project_code"] in text and "验收通过" in text and "验收不通过" not in text
        accepted = ok(unit.get(f"/v1/projects/{pid}"))["project"]
        assert accepted["status"] == "accepted" and accepted["accepted_on"] == today()

    # procurement learns acceptance.passed: the final payment is no longer held (qiaokou-2022 §29 ...).
    with as_user(f"applicant.{LHASA}", "procurement") as procurement:

        def released() -> dict[str, Any] | None:
            body: dict[str, Any] = ok(procurement.get(f"/v1/projects/{lhasa_project['declaration_id']}"))
            return None if body["final_payment_blocked"] else body

        wait_until(released, what="procurement releases the final payment")

    # gRPC shows the same, with the unit's token.
    with grpc.insecure_channel(platform.grpc_target("acceptance")) as channel:
        stub = acceptance_pb2_grpc.AcceptanceServiceStub(channel)
        meta = (("authorization", f"Bearer {tokens(f'applicant.{LHASA}')}"),)
        shown = stub.GetProject(acceptance_pb2.GetProjectRequest(id=pid), metadata=meta, timeout=10)
        assert shown.project.status == "accepted"
        assert [a.status for a in shown.acceptances] == ["passed", "failed", "passed"]
        assert [(a.stage, a.needs_panel) for a in shown.acceptances] == [
            ("initial", False),
            ("final", True),
            ("final", True),
        ]
        report = stub.GetReport(
            acceptance_pb2.GetReportRequest(acceptance_id=passed["id"]), metadata=meta, timeout=10
        )
        assert report.sha256 == passed["report_sha256"]
        other = (("authorization", f"Bearer {tokens(f'applicant.{WUXING}')}"),)
        with pytest.raises(grpc.RpcError) as cross:
            stub.GetProject(acceptance_pb2.GetProjectRequest(id=pid), metadata=other, timeout=10)
        assert cross.value.code() is grpc.StatusCode.NOT_FOUND


def test_wuxing_assessment_before_the_trial_and_a_trial_too_short_refused_with_its_article(  # type: ignore[no-untyped-def]
    as_user, lhasa_project
) -> None:
    declaration = approve(as_user, WUXING, "县域政务服务效能监测系统", "800000.00")
    file_contract(
        as_user,
        WUXING,
        declaration["id"],
        role="construction",
        supplier=CONTRACTOR,
        code="91230521MA1B2C3F6K",
        amount="780000.00",
    )
    project = acceptance_project(as_user, WUXING, declaration["id"], 1)
    assert project["pack_id"] == "wuxing-2023"
    pid = project["id"]
    with as_user(f"applicant.{WUXING}", "acceptance") as unit:
        early = unit.post(
            f"/v1/projects/{pid}/trial", json={"started_on": today(), "version": project["version"]}
        )
        error = refused(early, 422, "EVIDENCE_MISSING")
        assert error["cite"] == ["wuxing-2023 §20"] and error["details"]["missing"] == ["security_risk"]
        uploaded = ok(
            unit.post(
                f"/v1/projects/{pid}/evidence",
                data={
                    "kind": "security_risk",
                    "conclusion": "pass",
                    "issued_by": "某网络安全测评中心",
                    "issued_on": today(),
                },
                files={"file": ("安全评估报告.pdf", PDF, "application/pdf")},
            ),
            201,
        )
        download = unit.get(f"/v1/projects/{pid}/evidence/{uploaded['id']}/content")
        assert download.content == PDF and download.headers["x-content-sha256"] == uploaded["sha256"]
        started = ok(
            unit.post(
                f"/v1/projects/{pid}/trial", json={"started_on": today(), "version": project["version"]}
            )
        )
        assert started["trial_min_months"] == 1 and started["trial_citations"] == ["wuxing-2023 §20"]
        short = unit.post(
            f"/v1/projects/{pid}/acceptances", json={"stage": "initial", "version": started["version"]}
        )
        error = refused(short, 422, "TRIAL_RUN_TOO_SHORT")
        assert (
            error["cite"] == ["wuxing-2023 §20"] and error["details"]["ends_on"] == started["trial_ends_on"]
        )

    # Another tenant (the city) and another unit of county-a see nothing of it, on every endpoint;
    # county-a's users see nothing of the city's project either.
    lhasa_id = lhasa_project["id"]
    for username, target in (
        (f"bureau_reviewer.{LHASA}", pid),
        (f"applicant.{LHASA}", pid),
        (f"applicant2.{WUXING}", pid),
        (f"bureau_reviewer.{WUXING}", lhasa_id),
        (f"applicant.{WUXING}", lhasa_id),
    ):
        with as_user(username, "acceptance") as other:
            calls = [
                ("get", f"/v1/projects/{target}", None),
                ("post", f"/v1/projects/{target}/trial", {"started_on": today(), "version": 1}),
                ("get", f"/v1/projects/{target}/evidence/{uploaded['id']}/content", None),
                (
                    "post",
                    f"/v1/projects/{target}/extension",
                    {"reason": "x", "requested_until": "2099-01-01", "version": 1},
                ),
                ("post", f"/v1/projects/{target}/extension/decision", {"approve": True, "version": 1}),
                ("post", f"/v1/projects/{target}/acceptances", {"stage": "final", "version": 1}),
            ]
            for method, url, body in calls:
                response = other.request(method, url, json=body)
                assert response.status_code == 404, (username, method, url, response.text)
            listed = ok(other.get("/v1/projects"))["items"]
            assert target not in [p["id"] for p in listed]
    with as_user(f"bureau_reviewer.{LHASA}", "acceptance") as city:
        lhasa = ok(city.get(f"/v1/projects/{lhasa_id}"))
        acceptance_ids = [a["id"] for a in lhasa["acceptances"]]
        item_ids = [r["id"] for r in lhasa["rectifications"]]
    with as_user(f"bureau_reviewer.{WUXING}", "acceptance") as other:
        for aid in acceptance_ids:
            for method, url, body in (
                ("get", f"/v1/acceptances/{aid}", None),
                ("post", f"/v1/acceptances/{aid}/panel", {"size": 1, "version": 1}),
                (
                    "post",
                    f"/v1/acceptances/{aid}/decision",
                    {"version": 1, "findings": [{"code": "x", "passed": True}]},
                ),
                ("post", f"/v1/acceptances/{aid}/filing", {"version": 1}),
                ("get", f"/v1/acceptances/{aid}/report.pdf", None),
            ):
                response = other.request(method, url, json=body)
                assert response.status_code == 404, (method, url, response.text)
        for rid in item_ids:
            response = other.post(f"/v1/rectifications/{rid}/completion", json={"note": "x", "version": 1})
            assert response.status_code == 404, response.text
