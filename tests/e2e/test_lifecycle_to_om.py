"""Issue 7 end to end, from a declaration to O&M funding, on a platform of every back-end service as
real processes (real PostgreSQL and NATS, the demo users' real tokens) whose policy folder puts the
city under lhasa's measures. Nothing is published by the test: acceptance.passed comes from a real
acceptance, discredited.changed from evaluation's list.

Months and years pass on the platform's dev clock (govkit.clock; every service reads the stack's
clock file): the self-evaluation window opens 12 months after acceptance (lhasa §22), the key
evaluation starts within its 10 working days (§22), an O&M request inside the three no-O&M years is
refused with §20 and one after them granted (§27: before 31 August of the year before free
maintenance ends, with the evaluation report). A supplier put on the discredited list (§22) is
refused at procurement's contract filing; the OC4IDS export of the flow's projects validates against
the official schema; the portfolio rebuilt from the streams equals the live one.
"""

from __future__ import annotations

import calendar
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import grpc
import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource

from devstack.issuer.testing import get_token
from devstack.stack import REPO_ROOT, Stack
from govkit.workdays import add_workdays
from govproj.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from tests.e2e.helpers import create_draft, ensure_call, refused, submit_to_bureau, wait_until
from tests.e2e.lifecycle import (
    LHASA,
    SERVICES,
    DomainClock,
    UserClient,
    acceptance_project,
    approve,
    evidence,
    file_contract,
    file_filing,
    new_credit_code,
    ok,
    pass_acceptance,
    signed_procurement,
    today,
    user_clients,
)
from tests.e2e.platforms import running_policy_stack

pytestmark = pytest.mark.e2e

SPECIALTY = "绩效全流程（端到端）"
CONTRACTOR, CONTRACTOR_CODE = "示范软件有限公司", new_credit_code(1001)
SUPERVISOR, SUPERVISOR_CODE = "示范工程监理有限公司", new_credit_code(1002)
DISCREDITED, DISCREDITED_CODE = "某失信监理有限公司", new_credit_code(1003)
OC4IDS_SCHEMA = REPO_ROOT / "services/evaluation/src/evaluation/adapters/oc4ids_schema"


@pytest.fixture(scope="module")
def platform() -> Iterator[Stack]:
    """intake, review, procurement, acceptance and evaluation with the city under lhasa."""
    with running_policy_stack(
        "govproj-e2e-lifecycle-", {LHASA: "lhasa"}, services=SERVICES, with_portal=False
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def as_user(platform: Stack) -> UserClient:
    """as_user("applicant.city", "evaluation") → a client with that user's real token."""
    return user_clients(platform)


@pytest.fixture
def clock(platform: Stack) -> Iterator[DomainClock]:
    """The platform's domain clock; the system clock again after the test."""
    domain = DomainClock(platform)
    yield domain
    domain.reset()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when shorter), as the packs count."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def test_a_discredited_supplier_is_refused_at_procurements_contract_filing(as_user: UserClient) -> None:
    declaration = approve(as_user, LHASA, "城市供水调度平台", "400000.00", level="general")
    with (
        as_user(f"bureau_head.{LHASA}", "evaluation") as evaluation,
        as_user(f"bureau_head.{LHASA}", "procurement") as procurement,
    ):
        listed = ok(
            evaluation.post(
                "/v1/discredited",
                json={
                    "subject_kind": "supplier",
                    "credit_code": DISCREDITED_CODE,
                    "name": DISCREDITED,
                    "grounds": "监理过程中出具虚假报告",
                    "period_from": today(),
                },
            ),
            201,
        )
        assert listed["citations"] == ["lhasa §22"]  # 建立失信主体名单

        def applied() -> dict[str, Any] | None:
            items = procurement.get("/v1/discredited", params={"limit": 200}).json()["items"]
            return next((dict(i) for i in items if i.get("credit_code") == DISCREDITED_CODE), None)

        wait_until(applied, what="discredited.changed applied by procurement")

    with as_user(f"applicant.{LHASA}", "procurement") as unit:
        signed = signed_procurement(unit, declaration["id"], role="supervision")
        attempt = file_filing(unit, signed, supplier=DISCREDITED, code=DISCREDITED_CODE, amount="20000.00")
        error = refused(attempt, 422, "FILING_REFUSED")
        failed = [c for c in error["details"]["checks"] if not c["passed"]]
        assert [(c["code"], c["cite"]) for c in failed] == [("SUPPLIER_NOT_DISCREDITED", ["lhasa §22"])]
        assert error["cite"] == ["lhasa §22"] and "失信" in error["message"]
        # Nothing was half-written: the same signed procurement files with another supervisor.
        filed = ok(
            file_filing(unit, signed, supplier=SUPERVISOR, code=SUPERVISOR_CODE, amount="20000.00"), 201
        )
        assert filed["supplier_credit_code"] == SUPERVISOR_CODE


@pytest.fixture(scope="module")
def accepted(as_user: UserClient) -> dict[str, Any]:
    """The city's key project approved, its supervision and construction contracts filed, its
    acceptance passed by a panel drawn from review's library (all on today's date)."""
    with as_user(f"bureau_reviewer.{LHASA}", "review") as library:
        for name, org in (("钱教授", "示范大学"), ("孙研究员", "省信息中心")):
            ok(library.post("/v1/experts", json={"name": name, "org": org, "specialties": [SPECIALTY]}), 201)
    declaration = approve(as_user, LHASA, "城市运行一网统管平台", "900000.00", level="key")
    file_contract(
        as_user,
        LHASA,
        declaration["id"],
        role="supervision",  # lhasa §13: the supervisor before the contractor
        supplier=SUPERVISOR,
        code=SUPERVISOR_CODE,
        amount="30000.00",
    )
    file_contract(
        as_user,
        LHASA,
        declaration["id"],
        role="construction",
        supplier=CONTRACTOR,
        code=CONTRACTOR_CODE,
        amount="850000.00",
    )
    project = acceptance_project(as_user, LHASA, declaration["id"], 2)
    done = pass_acceptance(as_user, LHASA, project, specialty=SPECIALTY)
    assert done["accepted_on"] == today()
    return {**declaration, "accepted_on": date.fromisoformat(done["accepted_on"])}


def _om_request(unit: Any, declaration_id: str, *, accepted_on: date, evaluation_id: str) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        unit.post(
            "/v1/om-requests",
            json={
                "declaration_id": declaration_id,
                "budget_year": accepted_on.year + 4,
                "amount": "60000.00",
                # Free maintenance to the end of the fifth year: lhasa §27's deadline is 31 August
                # of the year before, after the three no-O&M years.
                "free_maintenance_ends_on": date(accepted_on.year + 5, 12, 31).isoformat(),
                "data_shared": True,
                "in_resource_catalog": True,
                "security_compliant": True,
                "crypto_compliant": True,
                "evaluation_id": evaluation_id,
            },
        ),
        201,
    )
    return body


def test_acceptance_self_evaluation_key_evaluation_then_om_refused_in_the_three_years_and_granted_after(
    as_user: UserClient, accepted: dict[str, Any], clock: DomainClock
) -> None:
    did, accepted_on = accepted["id"], accepted["accepted_on"]
    with (
        as_user(f"applicant.{LHASA}", "evaluation") as unit,
        as_user(f"finance.{LHASA}", "evaluation") as finance,
        as_user(f"bureau_head.{LHASA}", "evaluation") as bureau,
    ):
        # evaluation learned the acceptance from acceptance.passed: the window is due, not open.
        def listed(state: str) -> dict[str, Any] | None:
            items = unit.get("/v1/self-evaluations", params={"state": state}).json()["items"]
            return next((dict(i) for i in items if i["declaration_id"] == did), None)

        due = wait_until(lambda: listed("upcoming"), what="the self-evaluation window due")
        opens_on = date.fromisoformat(due["opens_on"])
        assert due["accepted_on"] == accepted_on.isoformat() and due["citations"] == ["lhasa §22"]
        assert (
            opens_on == add_months(accepted_on, 12)
            and due["closes_on"] == add_months(accepted_on, 24).isoformat()
        )
        early = unit.post("/v1/evaluations", json={"declaration_id": did, "kind": "self"})
        assert refused(early, 422, "OUTSIDE_SELF_EVALUATION_WINDOW")["cite"] == ["lhasa §22"]

        # Twelve months on, the window is open and the unit evaluates itself.
        clock.move_to(opens_on)
        assert listed("open") is not None
        started = ok(unit.post("/v1/evaluations", json={"declaration_id": did, "kind": "self"}), 201)
        assert started["started_on"] == opens_on.isoformat() and started["citations"] == ["lhasa §22"]
        sha = evidence(unit, started["id"], "自评报告.pdf")
        self_done = ok(
            unit.post(
                f"/v1/evaluations/{started['id']}/complete",
                json={
                    "version": started["version"],
                    "report_sha256": sha,
                    "indicators": [
                        {
                            "code": "coverage",
                            "label_zh": "覆盖率",
                            "actual": "全市覆盖",
                            "score": "92",
                            "evidence": [sha],
                        },
                        {"code": "usage", "label_zh": "使用频度", "actual": "日均3000次", "score": "86"},
                    ],
                },
            )
        )
        assert self_done["status"] == "completed" and self_done["completed_on"] == opens_on.isoformat()
        assert self_done["total_score"] == "89.00" and self_done["grade"] == "良"
        assert self_done["indicators"][0]["target"] == accepted["performance_goals"]

        # lhasa §22: finance starts the key evaluation within 10 working days of the self-evaluation.
        deadline = add_workdays(opens_on, 10).date
        row = wait_until(lambda: listed("done"), what="the self-evaluation done")
        assert row["key_evaluation_due_on"] == deadline.isoformat() and not row["key_evaluation_started"]
        assert row["key_evaluation_citations"] == ["lhasa §22"]
        clock.move_to(add_workdays(opens_on, 9).date)
        key = ok(finance.post("/v1/evaluations", json={"declaration_id": did, "kind": "key"}), 201)
        assert key["evaluator"] == "finance" and key["citations"] == ["lhasa §22"]
        assert key["due_on"] == deadline.isoformat() and key["late"] is False
        report = evidence(finance, key["id"], "重点项目绩效评价报告.pdf")
        key_done = ok(
            finance.post(
                f"/v1/evaluations/{key['id']}/complete",
                json={
                    "version": key["version"],
                    "report_sha256": report,
                    "indicators": [
                        {"code": "effect", "label_zh": "应用成效", "actual": "达到预期", "score": "95"},
                        {"code": "cost", "label_zh": "经济性", "actual": "未超概算", "score": "91"},
                    ],
                },
            )
        )
        assert key_done["grade"] == "优" and key_done["total_score"] == "93.00"
        started_row = listed("done")
        assert started_row is not None and started_row["key_evaluation_started"]

        # Inside the three no-O&M years after acceptance (lhasa §20): refused with the article only.
        inside = _om_request(unit, did, accepted_on=accepted_on, evaluation_id=key["id"])
        assert inside["outcome"] == "refused"
        assert [(r["code"], r["citations"]) for r in inside["refusals"]] == [
            ("OM_WITHIN_FREE_YEARS", ["lhasa §20"])
        ]
        assert add_months(accepted_on, 36).isoformat() in inside["refusals"][0]["message"]
        assert inside["deadline"] == date(accepted_on.year + 4, 8, 31).isoformat()  # lhasa §27

        # Three years and a day after acceptance, before lhasa §27's deadline: granted.
        clock.move_to(add_months(accepted_on, 36) + timedelta(days=1))
        granted = _om_request(unit, did, accepted_on=accepted_on, evaluation_id=key["id"])
        assert granted["outcome"] == "granted" and granted["refusals"] == []
        assert granted["decided_on"] == (add_months(accepted_on, 36) + timedelta(days=1)).isoformat()
        listed_requests = ok(bureau.get("/v1/om-requests"))["items"]
        assert {r["id"]: r["outcome"] for r in listed_requests if r["declaration_id"] == did} == {
            inside["id"]: "refused",
            granted["id"]: "granted",
        }

        # The portfolio folded every stream's events of the flow.
        def settled() -> dict[str, Any] | None:
            body: dict[str, Any] = bureau.get(f"/v1/portfolio/projects/{did}").json()
            return body if body["om_outcome"] == "granted" and body["grade"] == "优" else None

        project = wait_until(settled, what="the portfolio showing the O&M decision")
        assert project["stage"] == "operation" and project["level"] == "key"
        assert project["accepted_on"] == accepted_on.isoformat()
        assert project["self_evaluated_on"] == opens_on.isoformat()
        assert project["contracted_amount"] == "880000.00" and project["approved_amount"] == "900000.00"
        assert "om_refused" in project["flags"]


def _oc4ids_validator() -> Draft4Validator:
    """The kept official schemas, loaded here on their own (not through the product's code)."""
    project = json.loads((OC4IDS_SCHEMA / "project-schema.json").read_text(encoding="utf-8"))
    package = json.loads((OC4IDS_SCHEMA / "project-package-schema.json").read_text(encoding="utf-8"))
    assert project["id"].endswith("/0__9__3/project-schema.json")
    registry: Registry = Registry().with_resource(project["id"], Resource.from_contents(project))
    return Draft4Validator(package, registry=registry)


def test_the_oc4ids_export_of_the_flow_validates_and_publishes_only_what_is_public(  # type: ignore[no-untyped-def]
    as_user: UserClient, accepted: dict[str, Any], platform: Stack
) -> None:
    with (
        # A second unit: lhasa §7 allows a unit two declarations a year, the first unit has both.
        as_user(f"applicant2.{LHASA}", "intake") as intake,
        as_user(f"unit_head2.{LHASA}", "intake") as head,
        as_user(f"bureau_reviewer.{LHASA}", "intake") as bureau_intake,
        as_user(f"bureau_head.{LHASA}", "evaluation") as bureau,
        as_user(f"applicant.{LHASA}", "evaluation") as unit,
    ):
        ensure_call(bureau_intake)
        pending = submit_to_bureau(intake, head, create_draft(intake, name="尚在审查的项目"))
        wait_until(
            lambda: bureau.get(f"/v1/portfolio/projects/{pending['id']}").json().get("name") or None,
            what="the declaration in the portfolio",
        )
        refused(unit.get("/v1/portfolio/oc4ids"), 403, "FORBIDDEN")  # the bureau publishes
        package = ok(bureau.get("/v1/portfolio/oc4ids"))
    errors = [e.message for e in _oc4ids_validator().iter_errors(package)]
    assert errors == [] and package["version"] == "0.9"
    projects = {p["title"]: p for p in package["projects"]}
    assert "尚在审查的项目" not in projects  # a declaration under review is not published
    project = projects["城市运行一网统管平台"]
    assert project["id"].endswith(accepted["project_code"]) and project["status"] == "completed"
    assert project["budget"]["amount"] == {"amount": 900000.0, "currency": "CNY"}
    summaries = sorted(
        (
            p["summary"]["nature"],
            p["summary"]["suppliers"][0]["name"],
            p["summary"]["contractValue"]["amount"],
        )
        for p in project["contractingProcesses"]
    )
    assert summaries == [(["construction"], CONTRACTOR, 850000.0), (["supervision"], SUPERVISOR, 30000.0)]
    assert {p["summary"]["tender"]["procurementMethod"] for p in project["contractingProcesses"]} == {"open"}
    suppliers = {p["identifier"]["id"] for p in project["parties"] if p["roles"] == ["supplier"]}
    assert suppliers == {CONTRACTOR_CODE, SUPERVISOR_CODE}
    text = json.dumps(package, ensure_ascii=False)
    for private in ("om_refused", "grade", "王老师", "0451-88888888", "失信"):
        assert private not in text, private

    # The same package from the operators' command and over gRPC.
    env = {**os.environ, **platform.service_env("evaluation")}
    done = subprocess.run(
        [sys.executable, "-m", "evaluation.entrypoints.export_oc4ids", "--tenant", LHASA],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)
    assert [e.message for e in _oc4ids_validator().iter_errors(exported)] == []
    assert exported["projects"] == package["projects"]
    bad = subprocess.run(
        [sys.executable, "-m", "evaluation.entrypoints.export_oc4ids", "--tenant", "nowhere"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "unknown tenant" in bad.stderr
    token = get_token(platform.issuer_url, f"bureau_head.{LHASA}")
    with grpc.insecure_channel(platform.grpc_target("evaluation")) as channel:
        stub = evaluation_pb2_grpc.PortfolioServiceStub(channel)
        reply = stub.ExportOc4ids(
            evaluation_pb2.ExportRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=15
        )
    assert json.loads(reply.package_json)["projects"] == package["projects"]


def test_the_portfolio_rebuilt_from_the_streams_equals_the_live_one_after_the_flow(
    platform: Stack, as_user: UserClient, accepted: dict[str, Any]
) -> None:
    # The live row holds the flow's last events (evaluation's own O&M decision and grade, the
    # contracts' details behind the OC4IDS export): a rebuild equal to it must have folded them.
    with as_user(f"bureau_head.{LHASA}", "evaluation") as bureau:
        live = ok(bureau.get(f"/v1/portfolio/projects/{accepted['id']}"))
    assert (live["om_outcome"], live["grade"], live["stage"]) == ("granted", "优", "operation")
    env = {**os.environ, **platform.service_env("evaluation")}

    def check() -> str | None:
        done = subprocess.run(
            [sys.executable, "-m", "evaluation.entrypoints.rebuild", "--check"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        # The live consumers may still be folding the flow's last events: retried.
        return done.stdout if done.returncode == 0 else None

    report = wait_until(check, what="a rebuild equal to the live portfolio", timeout=60)
    assert report.rstrip().endswith(" 0 differences") and int(report.split()[0]) > 0
