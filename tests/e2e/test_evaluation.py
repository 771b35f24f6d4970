"""End to end over the real services (issue 7): the portfolio follows intake's events, an O&M
request for a project not accepted is refused with its article, the discredited list reaches
review's expert library and procurement's checks, and the rebuild from the streams equals the
live portfolio."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from devstack.stack import Stack
from govkit.events import new_event
from govkit.events.nats import NatsConnection
from govproj.acceptance.events.v1 import events_pb2 as acceptance_pb2
from tests.e2e.helpers import PDF, create_draft, ensure_call, submit_to_bureau, wait_until

pytestmark = pytest.mark.e2e
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _credit_code() -> str:
    body = f"91230500{uuid.uuid4().int % 10**9:09d}"
    total = sum(_ALPHABET.index(ch) * w for ch, w in zip(body, _WEIGHTS, strict=True))
    return body + _ALPHABET[(31 - total % 31) % 31]


def test_portfolio_follows_intake_and_om_for_an_unaccepted_project_is_refused(login) -> None:  # type: ignore[no-untyped-def]
    applicant = login("applicant.county-b")
    with (
        applicant.client("intake") as intake,
        login("unit_head.county-b").client("intake") as intake_as_head,
        login("bureau_reviewer.county-b").client("intake") as intake_as_bureau,
        login("bureau_head.county-b").client("evaluation") as bureau,
        applicant.client("evaluation") as unit,
        login("bureau_head.county-a").client("evaluation") as other_county,
    ):
        ensure_call(intake_as_bureau)
        submitted = submit_to_bureau(intake, intake_as_head, create_draft(intake, name="县域应急指挥平台"))
        declaration_id = submitted["id"]

        def seen() -> dict[str, Any] | None:
            found = bureau.get(f"/v1/portfolio/projects/{declaration_id}")
            return found.json() if found.status_code == 200 and found.json()["name"] else None

        project = wait_until(seen, what="the project in the portfolio")
        assert project["stage"] == "review" and project["declared_amount"] == submitted["amount"]
        assert project["project_code"] == submitted["project_code"] and project["org_id"] == "unit-1"
        assert other_county.get(f"/v1/portfolio/projects/{declaration_id}").status_code == 404
        board = bureau.get("/v1/portfolio/dashboard", params={"by": "stage"}).json()["items"]
        assert any(r["key"] == "review" and r["projects"] >= 1 for r in board)

        om = unit.post(
            "/v1/om-requests",
            json={
                "declaration_id": declaration_id,
                "budget_year": 2027,
                "amount": "50000.00",
                "free_maintenance_ends_on": "2028-12-31",
                "data_shared": True,
                "in_resource_catalog": True,
                "security_compliant": True,
                "crypto_compliant": True,
            },
        )
        assert om.status_code == 201, om.text
        decided = om.json()
        assert decided["outcome"] == "refused"
        assert [(r["code"], r["citations"]) for r in decided["refusals"]] == [
            ("OM_NOT_ACCEPTED", ["qiaokou-2022 §29"])
        ]


def test_discredited_expert_and_supplier_reach_review_and_procurement(login) -> None:  # type: ignore[no-untyped-def]
    code = _credit_code()
    with (
        login("bureau_reviewer.county-a").client("review") as review,
        login("bureau_head.county-a").client("evaluation") as evaluation,
        login("bureau_head.county-a").client("procurement") as procurement,
        login("bureau_head.county-b").client("evaluation") as other_county,
    ):
        expert = review.post(
            "/v1/experts",
            json={"name": f"专家{uuid.uuid4().hex[:4]}", "org": "某大学", "specialties": ["软件"]},
        )
        assert expert.status_code == 201, expert.text
        expert_id = expert.json()["id"]
        listed = evaluation.post(
            "/v1/discredited",
            json={
                "subject_kind": "expert",
                "expert_id": expert_id,
                "name": expert.json()["name"],
                "grounds": "评审中收受财物",
                "period_from": "2025-01-01",
            },
        )
        assert listed.status_code == 201, listed.text
        assert listed.json()["citations"] == []  # wuxing-2023 (county-a) has no discredited-list article
        supplier = evaluation.post(
            "/v1/discredited",
            json={
                "subject_kind": "supplier",
                "credit_code": code,
                "name": "某信息技术有限公司",
                "grounds": "提供虚假材料谋取中标",
                "period_from": "2025-01-01",
            },
        )
        assert supplier.status_code == 201, supplier.text

        def flagged() -> dict[str, Any] | None:
            for e in review.get("/v1/experts").json()["items"]:
                if e["id"] == expert_id and e["discredited"]:
                    return dict(e)
            return None

        assert (
            wait_until(flagged, what="the expert flagged in review")["discredited_reason"] == "评审中收受财物"
        )

        def applied() -> dict[str, Any] | None:
            items = procurement.get("/v1/discredited", params={"limit": 200}).json()["items"]
            return next((dict(i) for i in items if i.get("credit_code") == code), None)

        assert wait_until(applied, what="the supplier on procurement's list")["name"] == "某信息技术有限公司"
        assert other_county.get("/v1/discredited/check", params={"credit_code": code}).json()["items"] == []

        removed = evaluation.post(
            f"/v1/discredited/{listed.json()['id']}/remove", json={"version": 1, "reason": "复核撤销"}
        )
        assert removed.status_code == 200, removed.text
        wait_until(lambda: None if flagged() else True, what="the expert cleared in review")


def test_accepted_project_self_evaluated_key_evaluated_and_om_granted(login, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    """A real declaration of the city (shuangyashan-2024: self-evaluation 6–12 months after
    acceptance, §31). Its acceptance is published as the acceptance service publishes it, dated
    seven months ago: a trial run and a window of months cannot pass on the real clock of an e2e
    run (the integration tests move the clock through the same rules)."""
    applicant = login("applicant.city")
    with (
        applicant.client("intake") as intake,
        login("unit_head.city").client("intake") as intake_as_head,
        login("bureau_reviewer.city").client("intake") as intake_as_bureau,
        login("bureau_head.city").client("evaluation") as bureau,
        applicant.client("evaluation") as unit,
    ):
        ensure_call(intake_as_bureau)
        submitted = submit_to_bureau(
            intake, intake_as_head, create_draft(intake, name="市级政务服务一网通办平台")
        )
        declaration_id = submitted["id"]
        wait_until(
            lambda: bureau.get(f"/v1/portfolio/projects/{declaration_id}").status_code == 200 or None,
            what="the project in the portfolio",
        )
        accepted_on = date.today() - timedelta(days=215)
        _publish_acceptance(stack, declaration_id, submitted["project_code"], accepted_on)

        def in_window() -> dict[str, Any] | None:
            items = unit.get("/v1/self-evaluations", params={"state": "open"}).json()["items"]
            return next((dict(i) for i in items if i["declaration_id"] == declaration_id), None)

        window = wait_until(in_window, what="the self-evaluation window open")
        assert window["citations"] == ["shuangyashan-2024 §31"]

        started = unit.post("/v1/evaluations", json={"declaration_id": declaration_id, "kind": "self"})
        assert started.status_code == 201, started.text
        evaluation = started.json()
        evidence = unit.post(
            f"/v1/evaluations/{evaluation['id']}/evidence",
            files={"file": ("自评报告.pdf", PDF, "application/pdf")},
        )
        assert evidence.status_code == 201, evidence.text
        sha = evidence.json()["sha256"]
        assert sha == hashlib.sha256(PDF).hexdigest()
        content = unit.get(f"/v1/evaluations/{evaluation['id']}/evidence/{evidence.json()['id']}/content")
        assert content.content == PDF and content.headers["x-content-sha256"] == sha
        done = unit.post(
            f"/v1/evaluations/{evaluation['id']}/complete",
            json={
                "version": evaluation["version"],
                "report_sha256": sha,
                "indicators": [
                    {
                        "code": "coverage",
                        "label_zh": "覆盖率",
                        "actual": "覆盖全部中小学",
                        "score": "95",
                        "evidence": [sha],
                    },
                    {"code": "active_users", "label_zh": "月活跃用户", "actual": "2.3万", "score": "88"},
                ],
            },
        )
        assert done.status_code == 200, done.text
        assert done.json()["total_score"] == "91.50" and done.json()["grade"] == "优"
        assert done.json()["indicators"][1]["target"] == submitted["performance_goals"]

        key = bureau.post("/v1/evaluations", json={"declaration_id": declaration_id, "kind": "key"})
        assert key.status_code == 201, key.text
        assert key.json()["evaluator"] == "bureau"

        om = unit.post(
            "/v1/om-requests",
            json={
                "declaration_id": declaration_id,
                "budget_year": date.today().year + 1,
                "amount": "80000.00",
                "free_maintenance_ends_on": (date.today() + timedelta(days=400)).isoformat(),
                "data_shared": True,
                "in_resource_catalog": True,
                "security_compliant": True,
                "crypto_compliant": True,
                "evaluation_id": evaluation["id"],
            },
        )
        assert om.status_code == 201, om.text
        assert om.json()["outcome"] == "granted" and om.json()["refusals"] == []

        def graded() -> dict[str, Any] | None:
            row = bureau.get(f"/v1/portfolio/projects/{declaration_id}").json()
            return dict(row) if row["grade"] == "优" and row["stage"] == "operation" else None

        assert wait_until(graded, what="the portfolio showing the evaluation")["self_evaluated_on"]


def _publish_acceptance(stack: Stack, declaration_id: str, project_code: str, accepted_on: date) -> None:
    async def publish() -> None:
        nats = NatsConnection(url=stack.nats.url, name="e2e-acceptance")
        try:
            js = await nats.jetstream(timeout=10)
            envelope = new_event(
                event_type="govproj.acceptance.v1.acceptance.passed",
                tenant="city",
                payload=acceptance_pb2.AcceptancePassed(
                    acceptance_id=str(uuid.uuid4()),
                    declaration_id=declaration_id,
                    tenant_id="city",
                    project_code=project_code,
                    accepted_on=accepted_on.isoformat(),
                    stage="final",
                    result="passed",
                    round=1,
                ),
            )
            await js.publish(envelope.type, envelope.to_json(), headers={"Nats-Msg-Id": envelope.id})
        finally:
            await nats.close()

    asyncio.run(publish())


def test_the_portfolio_rebuilt_from_the_streams_equals_the_live_one(stack: Stack) -> None:
    env = {**os.environ, **stack.service_env("evaluation")}

    def check() -> str | None:
        done = subprocess.run(
            [sys.executable, "-m", "evaluation.entrypoints.rebuild", "--check"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        # The live consumers may still be folding the last events of the earlier tests: retried.
        return done.stdout if done.returncode == 0 else None

    report = wait_until(check, what="a rebuild equal to the live portfolio", timeout=60)
    assert " 0 differences" in report
