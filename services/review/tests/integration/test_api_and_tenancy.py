"""The REST and gRPC entry points in process, truly concurrent decisions (one wins, one 409),
tenancy: units, auditors, delegation to the city."""

from __future__ import annotations

import asyncio
import hashlib
import io
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import Request
from openpyxl import load_workbook

from govkit.auth import Principal
from govkit.auth.grpc_aio import _principal
from govkit.auth.rest import current_principal
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.errors import AppError, ErrorKind
from govkit.events.outbox import outbox_writer
from govkit.testing.services import service_db
from govkit.web import create_app
from govproj.common.v1 import common_pb2
from govproj.review.v1 import approval_pb2, experts_pb2, plan_pb2, review_pb2, tasks_pb2
from review.adapters.orm import events
from review.bootstrap import spec
from review.domain.case import CaseStatus
from review.domain.plan import PlanLevel, PlanOutcome
from review.entrypoints import grpc as grpc_api
from review.entrypoints.rest import routers
from review.service import ReviewDeps
from review.service import cases as case_service
from review.service import opinions as opinion_service
from review.service import plan as plan_service

pytestmark = pytest.mark.integration


def app_for(deps: ReviewDeps, users: dict[str, Principal]) -> Any:
    """The review REST app with the caller named by an ``X-Test-User`` header (no token service here)."""
    app = create_app(title="review-test")
    for router in routers:
        app.include_router(router)
    app.state.review_deps = deps

    async def principal(request: Request) -> Principal:
        return users[request.headers["x-test-user"]]

    app.dependency_overrides[current_principal] = principal
    return app


async def _ready_for_decision(deps: ReviewDeps, h: Any, tenant: str, reviewer_tenant: str) -> str:
    case_id = await h.open_case(deps, tenant)
    reviewer = h.who(reviewer_tenant, "bureau_reviewer")
    case = await case_service.get_case(deps=deps, principal=reviewer, case_id=case_id)
    await case_service.formal_review(
        deps=deps, principal=reviewer, case_id=case_id, expected_version=case.version
    )
    head = h.who(tenant, "bureau_head")
    from review.domain.opinions import Verdict

    for view in await opinion_service.list_opinions(deps=deps, principal=head, case_id=case_id):
        await opinion_service.give_opinion(
            deps=deps,
            principal=h.who(tenant, view.opinion.department, org=view.opinion.department),
            opinion_id=view.opinion.id,
            expected_version=view.opinion.version,
            verdict=Verdict.AGREE,
            text="",
        )
    return case_id


async def test_two_heads_deciding_at_the_same_moment_one_wins_one_gets_409(  # type: ignore[no-untyped-def]
    pg, deps: ReviewDeps, tenants, h
) -> None:
    tenant = tenants.qiaokou
    case_id = await _ready_for_decision(deps, h, tenant, tenants.city)
    head_a, head_b = h.who(tenant, "bureau_head", name="head-a"), h.who(tenant, "bureau_head", name="head-b")
    version = (await case_service.get_case(deps=deps, principal=head_a, case_id=case_id)).version
    db = await service_db(pg, spec())
    # Two engines: two pools, two real connections, two transactions racing for the same row.
    engine_a, engine_b = create_engine(db.app_url), create_engine(db.app_url)
    try:
        deps_a = ReviewDeps(
            **{
                **deps.__dict__,
                "uow": UnitOfWorkFactory(engine=engine_a, outbox_writer=outbox_writer(events)),
            }
        )
        deps_b = ReviewDeps(
            **{
                **deps.__dict__,
                "uow": UnitOfWorkFactory(engine=engine_b, outbox_writer=outbox_writer(events)),
            }
        )
        results = await asyncio.gather(
            plan_service.decide_plan(
                deps=deps_a,
                principal=head_a,
                case_id=case_id,
                expected_version=version,
                outcome=PlanOutcome.IN_PLAN,
                level=PlanLevel.KEY,
                budget=Decimal("800000.00"),
            ),
            plan_service.decide_plan(
                deps=deps_b,
                principal=head_b,
                case_id=case_id,
                expected_version=version,
                outcome=PlanOutcome.REJECTED,
                reason="不符合规划",
            ),
            return_exceptions=True,
        )
    finally:
        await engine_a.dispose()
        await engine_b.dispose()
    errors = [r for r in results if isinstance(r, Exception)]
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1 and len(errors) == 1
    assert isinstance(errors[0], AppError) and errors[0].kind is ErrorKind.CONFLICT
    assert errors[0].code == "VERSION_CONFLICT"
    decided = await h.outbox(deps.uow, tenant, "govproj.review.v1.plan.decided")
    assert len(decided) == 1  # the loser wrote nothing


async def test_rest_end_to_end_with_excel_and_pdf_downloads_and_409(deps: ReviewDeps, tenants, h) -> None:  # type: ignore[no-untyped-def]
    tenant = tenants.qiaokou
    users = {
        "head": h.who(tenant, "bureau_head"),
        "head2": h.who(tenant, "bureau_head", name="head2"),
        "applicant": h.who(tenant, "applicant", org="unit-1"),
        "city": h.who(tenants.city, "bureau_reviewer"),
        "auditor": h.who(tenant, "auditor", org="audit"),
        "other_county": h.who(tenants.wuxing, "bureau_head"),
        "unit2": h.who(tenant, "applicant", org="unit-2"),
    }
    case_id = await _ready_for_decision(deps, h, tenant, tenants.city)
    app = app_for(deps, users)
    transport = httpx.ASGITransport(app=app)

    def client(user: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, base_url="http://review", headers={"x-test-user": user})

    async with (
        client("head") as head,
        client("head2") as head2,
        client("applicant") as unit,
        client("city") as city,
        client("auditor") as auditor,
        client("other_county") as other,
    ):
        case = (await head.get(f"/v1/cases/{case_id}")).json()
        assert case["status"] == "open" and case["reviewing_tenant_id"] == tenants.city
        assert (await other.get(f"/v1/cases/{case_id}")).status_code == 404
        assert (await head.get("/v1/cases/not-a-uuid")).status_code == 404
        checklist = (await city.get(f"/v1/cases/{case_id}/checklist")).json()
        assert checklist["complete"] and checklist["cite"] == ["qiaokou-2022 §10"]
        # The auditor reads everything and changes nothing.
        assert (await auditor.get(f"/v1/cases/{case_id}/opinions")).status_code == 200
        refused = await auditor.post(
            f"/v1/cases/{case_id}/plan-decision",
            json={"version": case["version"], "outcome": "rejected", "reason": "x"},
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
        bad = await head.post(f"/v1/cases/{case_id}/plan-decision", json={"outcome": "in_plan"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "VERSION_REQUIRED"
        nonsense = await head.post(
            f"/v1/cases/{case_id}/plan-decision", json={"version": 1, "outcome": "maybe"}
        )
        assert nonsense.status_code == 400

        # Truly concurrent requests: two heads decide at once; one wins, the other gets 409.
        body = {"version": case["version"], "outcome": "in_plan", "level": "general", "budget": "800000.00"}
        first, second = await asyncio.gather(
            head.post(f"/v1/cases/{case_id}/plan-decision", json=body),
            head2.post(
                f"/v1/cases/{case_id}/plan-decision",
                headers={"If-Match": str(case["version"])},
                json={**body, "version": None},
            ),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409]
        loser = first if first.status_code == 409 else second
        assert loser.json()["error"]["code"] == "VERSION_CONFLICT" and loser.json()["error"]["message"]

        plan = (await head.post("/v1/plans", json={"year": 2026})).json()
        assert plan["total_budget"] == "800000.00" and len(plan["entries"]) == 1
        published = await head.post(f"/v1/plans/{plan['id']}/publish", json={"version": plan["version"]})
        assert published.status_code == 200, published.text
        xlsx = await head.get(f"/v1/plans/{plan['id']}/export.xlsx")
        assert xlsx.status_code == 200
        assert xlsx.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml"
        )
        assert "filename*=UTF-8''" in xlsx.headers["content-disposition"]
        rows = list(load_workbook(io.BytesIO(xlsx.content)).worksheets[0].iter_rows(values_only=True))
        assert any(r and "项目名称" in r for r in rows)
        assert (await unit.get(f"/v1/plans/{plan['id']}/export.xlsx")).status_code == 403

        case = (await unit.get(f"/v1/cases/{case_id}")).json()
        material = {
            "doc_type": "technical_scheme",
            "filename": "技术方案.pdf",
            "sha256": hashlib.sha256(b"scheme").hexdigest(),
            "size": 6,
            "content_type": "application/pdf",
        }
        applied = await unit.post(
            f"/v1/cases/{case_id}/application", json={"version": case["version"], "materials": [material]}
        )
        assert applied.status_code == 201, applied.text
        concluded = await city.post(
            f"/v1/cases/{case_id}/review-conclusion",
            json={"version": applied.json()["case"]["version"], "passed": True, "comments": "可行"},
        )
        assert concluded.status_code == 200, concluded.text
        granted = await head.post(
            f"/v1/cases/{case_id}/approval",
            json={
                "version": concluded.json()["case"]["version"],
                "approved_amount": "800000.00",
                "conditions": ["按期建设"],
            },
        )
        assert granted.status_code == 201, granted.text
        approval = granted.json()
        pdf = await unit.get(f"/v1/approvals/{approval['id']}/document.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert (
            pdf.headers["x-content-sha256"]
            == approval["document_sha256"]
            == hashlib.sha256(pdf.content).hexdigest()
        )
        assert (await other.get(f"/v1/approvals/{approval['id']}/document.pdf")).status_code == 404
        tasks = (await head.get(f"/v1/cases/{case_id}/tasks")).json()["items"]
        assert {t["kind"] for t in tasks} >= {
            "formal_review",
            "opinion",
            "plan_decision",
            "approval_review",
            "issue_approval",
        }
        assert [a["id"] for a in (await unit.get("/v1/approvals")).json()["items"]] == [approval["id"]]
        async with client("unit2") as unit2:
            assert (await unit2.get("/v1/approvals")).json()["items"] == []
            assert (await unit2.get(f"/v1/cases/{case_id}")).status_code == 404
        baselines = (await unit.get(f"/v1/approvals/{approval['id']}/baselines")).json()["items"]
        assert [b["version"] for b in baselines] == [1]


async def test_grpc_servicers_speak_the_same_use_cases(deps: ReviewDeps, tenants, h) -> None:  # type: ignore[no-untyped-def]
    tenant = tenants.wuxing
    case_id = await h.open_case(
        deps, tenant, materials=[h.material("application_form"), h.material("feasibility_study")]
    )
    servicers = dict((type(s).__name__, s) for _, s in grpc_api.servicers(deps))
    cases, experts = servicers["ReviewCaseServicer"], servicers["ExpertServicer"]
    plans, approvals, tasks = (
        servicers["PlanServicer"],
        servicers["ApprovalServicer"],
        servicers["TaskServicer"],
    )
    reset = _principal.set(h.who(tenant, "bureau_reviewer"))
    try:
        got = await cases.GetCase(review_pb2.GetCaseRequest(id=case_id), None)
        assert (
            got.review_case.status == review_pb2.CASE_STATUS_OPEN
            and got.review_case.status_zh == "计划审查中"
        )
        checklist = await cases.GetChecklist(review_pb2.GetChecklistRequest(case_id=case_id), None)
        assert checklist.complete and {c.ref for i in checklist.items for c in i.citations} >= {
            "wuxing-2023 §7"
        }
        done = await cases.FormalReview(
            review_pb2.FormalReviewRequest(case_id=case_id, version=got.review_case.version), None
        )
        assert done.review.outcome == "passed"
        opinions = await cases.ListOpinions(review_pb2.ListOpinionsRequest(case_id=case_id), None)
        assert {o.department for o in opinions.opinions} == {"crypto", "cyberspace", "finance", "police"}
        mine = await tasks.ListMyTasks(tasks_pb2.ListMyTasksRequest(), None)
        assert [t.kind for t in mine.tasks] == []  # the formal review task is done
        sheet = await experts.GetScoringSheet(experts_pb2.GetScoringSheetRequest(case_id=case_id), None)
        assert sheet.stage == "plan" and sheet.criteria[0].citations == ["wuxing-2023 §9"]
        with pytest.raises(AppError) as err:
            await approvals.GrantApproval(
                approval_pb2.GrantApprovalRequest(
                    case_id=case_id, version=1, approved_amount=common_pb2.Money(amount="-1")
                ),
                None,
            )
        assert err.value.kind is ErrorKind.INVALID
        _principal.set(h.who(tenant, "bureau_head"))
        for op in opinions.opinions:
            _principal.set(h.who(tenant, op.department, org=op.department))
            await cases.GiveOpinion(
                review_pb2.GiveOpinionRequest(opinion_id=op.id, version=op.version, verdict="agree"), None
            )
        _principal.set(h.who(tenant, "bureau_head"))
        case = (await cases.GetCase(review_pb2.GetCaseRequest(id=case_id), None)).review_case
        decided = await cases.DecidePlan(
            review_pb2.DecidePlanRequest(
                case_id=case_id,
                version=case.version,
                outcome="in_plan",
                level="key",
                budget=common_pb2.Money(amount="800000.00"),
            ),
            None,
        )
        assert decided.review_case.status == review_pb2.CASE_STATUS_IN_PLAN
        compiled = await plans.CompilePlan(plan_pb2.CompilePlanRequest(year=2026), None)
        assert compiled.plan.total_budget.amount == "800000.00"
        exported = await plans.ExportPlan(plan_pb2.ExportPlanRequest(plan_id=compiled.plan.id), None)
        assert exported.content[:2] == b"PK" and exported.filename.endswith(".xlsx")
        assert (await cases.ListCases(review_pb2.ListCasesRequest(status="in_plan"), None)).cases[
            0
        ].id == case_id
    finally:
        _principal.reset(reset)
    assert CaseStatus.IN_PLAN
