"""Issue 5, the front half of the lifecycle, end to end: every service a real process, real
PostgreSQL and NATS, real tokens of the demo users from the dev issuer, REST throughout and gRPC
for reads that must show the same data.

Three packs go the whole way — draft → unit sign-off → submission → formal review → department
opinions → expert draw and scoring → the annual plan → its Excel export → approval application →
approval review → the approval with its PDF:

- county-a under wuxing-2023, which reviews and decides itself;
- county-b under qiaokou-2022, whose technical review (formal review, expert draw, approval
  review) the city does (shuangyashan-2024 §40) while county-b's own bureau decides;
- the city under shuangyashan-2024, with a return and resubmission at each stage: the plan-stage
  return goes through intake (the unit corrects, the unit head resubmits), the approval-stage one
  through review (the SLA clocks of the approval steps pause, then run on from where they were).

Besides: the prohibited declaration refused with its article, the planted duplicate flagged, two
reviewers deciding the same case at the same moment (one 2xx, one 409), county isolation, and the
expert who sees only the cases drawn for them.

Elsewhere: lhasa (no dev tenant runs it) in test_front_half_lhasa.py, on a second platform whose
policy folder puts the city under lhasa, with the pause over the National Day holiday on the
platform's dev clock. The flows themselves (fixtures, helpers) are in front_half.py.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from devstack.stack import Stack
from govproj.intake.v1 import intake_pb2, intake_pb2_grpc
from govproj.review.v1 import approval_pb2, approval_pb2_grpc, review_pb2, review_pb2_grpc
from tests.e2e.front_half import (
    Done,
    Rounds,
    clients,
    declare,
    grpc_call,
    open_tasks,
)
from tests.e2e.helpers import (
    PDF,
    create_draft,
    race,
    refused,
    upload_required,
    wait_for_declaration,
)

pytestmark = pytest.mark.e2e


def test_county_a_wuxing_2023_from_draft_to_the_approval_pdf_and_grpc_shows_the_same(  # type: ignore[no-untyped-def]
    county_a: Done, stack: Stack, login
) -> None:
    applicant = login("applicant.county-a")
    assert county_a.case["status"] == "approved" and county_a.case["plan_budget"] == "1200000.00"
    with applicant.client("review") as unit:
        assert open_tasks(unit, county_a.case["id"]) == {}  # every task of the case is closed
        listed = unit.get("/v1/approvals", params={"declaration_id": county_a.declaration["id"]}).json()
        assert [a["id"] for a in listed["items"]] == [county_a.approval["id"]]
        baselines = unit.get(f"/v1/approvals/{county_a.approval['id']}/baselines").json()["items"]
        assert [(b["version"], b["amount"]) for b in baselines] == [(1, "1150000.00")]

    token = applicant.token
    got = grpc_call(
        stack,
        "review",
        token,
        lambda ch, md: review_pb2_grpc.ReviewCaseServiceStub(ch).GetCase(
            review_pb2.GetCaseRequest(declaration_id=county_a.declaration["id"]), metadata=md, timeout=10
        ),
    ).review_case
    assert got.id == county_a.case["id"] and got.status == review_pb2.CASE_STATUS_APPROVED
    assert got.version == county_a.case["version"] and got.plan_budget.amount == "1200000.00"
    assert got.project_code == county_a.declaration["project_code"] and got.pack_id == "wuxing-2023"
    approval = grpc_call(
        stack,
        "review",
        token,
        lambda ch, md: approval_pb2_grpc.ApprovalServiceStub(ch).GetApproval(
            approval_pb2.GetApprovalRequest(case_id=county_a.case["id"]), metadata=md, timeout=10
        ),
    ).approval
    assert approval.id == county_a.approval["id"]
    assert approval.document_number == county_a.approval["document_number"]
    assert approval.document_sha256 == county_a.approval["document_sha256"]
    assert [c.ref for c in approval.citations] == county_a.approval["cite"]
    document = grpc_call(
        stack,
        "review",
        token,
        lambda ch, md: approval_pb2_grpc.ApprovalServiceStub(ch).GetApprovalDocument(
            approval_pb2.GetApprovalDocumentRequest(approval_id=county_a.approval["id"]),
            metadata=md,
            timeout=10,
        ),
    )
    assert document.content == county_a.pdf and document.sha256 == county_a.approval["document_sha256"]
    declaration = grpc_call(
        stack,
        "intake",
        token,
        lambda ch, md: intake_pb2_grpc.DeclarationServiceStub(ch).GetDeclaration(
            intake_pb2.GetDeclarationRequest(id=county_a.declaration["id"]), metadata=md, timeout=10
        ),
    ).declaration
    assert declaration.status == intake_pb2.DECLARATION_STATUS_IN_PLAN
    assert declaration.project_code == county_a.declaration["project_code"]


def test_county_b_qiaokou_2022_reviewed_by_the_city_decided_and_approved_by_county_b(county_b: Done) -> None:
    assert county_b.case["status"] == "approved" and county_b.case["reviewing_tenant_id"] == "city"
    assert county_b.approval["issued_by"] == "bureau_head.county-b"
    assert county_b.plan["tenant_id"] == "county-b" and county_b.pdf.startswith(b"%PDF-")


def test_city_return_and_resubmit_at_both_stages_with_the_step_clocks_paused_and_resumed(
    city: Rounds,
) -> None:
    assert city.done.case["status"] == "approved" and city.done.case["round"] == 2
    assert city.plan_return["review"]["cite"]  # the return names the articles of what was missing
    for kind in ("design_review", "ndrc_feasibility_study"):
        before, paused, after = city.steps_before[kind], city.steps_paused[kind], city.steps_resumed[kind]
        # While the application is back with the unit, the step's clock stands still ...
        assert paused["paused"] and paused["urgency"] == "paused"
        assert paused["due_on"] is None and paused["remaining_workdays"] is None
        # ... and afterwards runs on with the working days it had left; paused and resumed the
        # same day, the due date is where it was.
        assert not after["paused"] and after["id"] == before["id"]
        assert after["remaining_workdays"] == before["remaining_workdays"]
        assert after["due_on"] == before["due_on"] or not city.same_day


def test_intake_does_not_keep_an_approved_project_returned_after_an_approval_stage_return(  # type: ignore[no-untyped-def]
    city: Rounds, login
) -> None:
    with login("applicant.city").client("intake") as intake:
        declaration = intake.get(f"/v1/declarations/{city.done.declaration['id']}").json()
    assert declaration["status"] == "in_plan"


def test_the_ndrc_records_its_own_step_from_its_work_list(city: Rounds, login) -> None:  # type: ignore[no-untyped-def]
    # While the step was open, it was in 发改's work list (shuangyashan-2024 §18: 8 working days) ...
    (task,) = city.ndrc_view["tasks"]
    assert task["subject"] == "ndrc_feasibility_study" and task["holder_role"] == "ndrc" and task["due_on"]
    # ... so 发改 must be able to open the case and record its approval of the feasibility study.
    assert city.ndrc_view["case_status_code"] == 200
    with login("ndrc.city").client("review") as ndrc:
        applications = ndrc.get(f"/v1/cases/{city.done.case['id']}/applications").json()["items"]
        (step,) = [s for s in applications[-1]["steps"] if s["kind"] == "ndrc_feasibility_study"]
        recorded = ndrc.post(
            f"/v1/steps/{step['id']}", json={"version": step["version"], "reference": "示发改审〔2026〕5号"}
        )
        assert recorded.status_code == 200, recorded.text


def test_the_citys_departments_do_not_see_a_county_case_they_were_not_asked_about(  # type: ignore[no-untyped-def]
    county_b: Done, login
) -> None:
    with login("finance.city").client("review") as city_finance:
        assert county_b.case["id"] not in {c["id"] for c in city_finance.get("/v1/cases").json()["items"]}
        assert city_finance.get(f"/v1/cases/{county_b.case['id']}").status_code == 404


def test_a_prohibited_declaration_is_refused_with_its_article(login) -> None:  # type: ignore[no-untyped-def]
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("county-a", {"construction_items": ["machine_room"]}, "new_machine_room", "wuxing-2023 §8(1)"),
        ("city", {"cloud_deployment": False}, "not_on_gov_cloud", "shuangyashan-2024 §13(2)"),
    ]
    for tenant, fields, code, article in cases:
        with clients(login, (f"applicant.{tenant}", "intake"), (f"bureau_reviewer.{tenant}", "review")) as (
            intake,
            review,
        ):
            draft = create_draft(intake, name="机房与本地部署项目", **fields)
            upload_required(intake, draft["id"])
            response = intake.post(
                f"/v1/declarations/{draft['id']}/submit", json={"version": draft["version"]}
            )
            error = refused(response, 422, "DECLARATION_PROHIBITED")
            assert error["cite"] == [article] and f"（{article}）" in error["message"]
            assert [p["code"] for p in error["details"]["prohibited"]] == [code]
            # Nothing moved: still a draft at its version, and review never heard of it.
            still = intake.get(f"/v1/declarations/{draft['id']}").json()
            assert (still["status"], still["version"]) == ("draft", draft["version"])
            assert review.get("/v1/cases", params={"declaration_id": draft["id"]}).json()["items"] == []


def test_a_planted_duplicate_is_flagged_with_its_article_and_still_reaches_review(login) -> None:  # type: ignore[no-untyped-def]
    tenant = "county-b"
    with login(f"bureau_reviewer.{tenant}").client("intake") as bureau:
        planted = bureau.post(
            "/v1/existing-systems",
            json={
                "org_id": "unit-2",
                "name": "城市管理综合指挥调度系统",
                "description": "数字城管案件受理、派遣、处置、核查、结案闭环管理，网格员巡查上报，"
                "视频监控接入，占道经营、违章停车、垃圾暴露等城市管理问题统一指挥调度和监督考核。",
                "built_year": 2019,
            },
        )
        assert planted.status_code == 201, planted.text
        system = planted.json()
    declaration, case = declare(
        login,
        tenant,
        name="智慧城管综合指挥平台",
        necessity="城市管理案件分散在各部门处置，缺少统一的指挥调度和监督考核手段。",
        content="建设城市管理综合指挥调度中心，整合数字城管案件受理、派遣、处置、核查、结案闭环流程，"
        "接入视频监控和网格员巡查上报，实现占道经营、违章停车、垃圾暴露等问题的智能发现和统一调度。",
        goals="案件按期结案率达到95%以上，问题发现时间缩短50%。",
    )
    (finding,) = [f for f in declaration["findings"] if system["id"] in f["related_ids"]]
    assert finding["kind"] == "duplicate_construction" and finding["score"] >= 0.3
    assert finding["citations"] == ["qiaokou-2022 §11(1)"] and system["name"] in finding["message"]
    assert case["status"] == "open"  # a flag for the reviewers, not a refusal
    with login(f"bureau_reviewer.{tenant}").client("intake") as bureau:
        seen = bureau.get(f"/v1/declarations/{declaration['id']}").json()
    assert finding in seen["findings"]
    # qiaokou's technical review is the city's (shuangyashan-2024 §40): the city's reviewer, who
    # cannot read county-b's intake, sees the same flag on the case and in the submitted declaration.
    with login("bureau_reviewer.city").client("intake") as city_intake:
        assert city_intake.get(f"/v1/declarations/{declaration['id']}").status_code == 404
    with login("bureau_reviewer.city").client("review") as city:
        on_case = city.get(f"/v1/cases/{case['id']}")
        assert on_case.status_code == 200, on_case.text
        flags = {k: finding[k] for k in ("kind", "score", "related_ids", "message", "citations")}
        assert flags in on_case.json()["findings"]
        submitted = city.get(f"/v1/cases/{case['id']}/declaration")
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["name"] == "智慧城管综合指挥平台" and submitted.json()["materials"]
        assert system["id"] in submitted.json()["findings"][0]["related_ids"]
    # Something unrelated declared by the same county is not tied to the planted system.
    unrelated, _ = declare(
        login,
        tenant,
        name="高标准农田建设管理系统",
        necessity="农田建设项目台账分散，缺少全过程监管。",
        goals="农田建设项目全部纳入系统管理。",
        content="建设农田建设项目储备、实施、验收、管护全过程管理，接入土壤墒情监测设备。",
        performance_goals="高标准农田项目按期验收率达到100%。",
    )
    assert all(system["id"] not in f["related_ids"] for f in unrelated["findings"])


def test_two_reviewers_deciding_the_same_case_at_the_same_moment_one_wins_one_gets_409(login) -> None:  # type: ignore[no-untyped-def]
    tenant = "county-a"
    declaration, case = declare(login, tenant, name="并发审查测试项目")
    path = f"/v1/cases/{case['id']}/formal-review"
    with clients(
        login,
        (f"bureau_reviewer.{tenant}", "review"),
        (f"tech_center.{tenant}", "review"),
        (f"applicant.{tenant}", "intake"),
    ) as (reviewer, tech_center, intake):
        for client in (reviewer, tech_center):  # connect both first: the race is the POSTs
            assert client.get(f"/v1/cases/{case['id']}").status_code == 200
        passes, returns = race(
            lambda: reviewer.post(path, json={"version": case["version"]}),
            lambda: tech_center.post(
                path, json={"version": case["version"], "notes": ["投资估算明细与建设内容不一致"]}
            ),
        )
        assert sorted([passes.status_code, returns.status_code]) == [200, 409], (passes.text, returns.text)
        winner, loser = (passes, returns) if passes.status_code == 200 else (returns, passes)
        error = refused(loser, 409, "VERSION_CONFLICT")
        assert error["details"]["expected_version"] == case["version"]
        # Only the winner's review exists and the case is in the state it chose.
        (record,) = reviewer.get(f"/v1/cases/{case['id']}/formal-reviews").json()["items"]
        assert record["id"] == winner.json()["review"]["id"]
        now = reviewer.get(f"/v1/cases/{case['id']}").json()
        assert now["status"] == winner.json()["case"]["status"] and now["version"] == case["version"] + 1
        if winner is returns:  # the return reached intake too, and only it
            wait_for_declaration(intake, declaration["id"], "returned")
        else:
            assert intake.get(f"/v1/declarations/{declaration['id']}").json()["status"] == "submitted"


def test_an_applicant_of_one_county_cannot_see_or_act_on_another_countys_declaration(  # type: ignore[no-untyped-def]
    county_a: Done, stack: Stack, login
) -> None:
    did, cid, aid = county_a.declaration["id"], county_a.case["id"], county_a.approval["id"]
    with clients(login, ("applicant.county-b", "intake"), ("applicant.county-b", "review")) as (
        intake,
        review,
    ):
        refused(intake.get(f"/v1/declarations/{did}"), 404, "DECLARATION_NOT_FOUND")
        for method, path, body in [
            ("PATCH", f"/v1/declarations/{did}", {"version": 1, "name": "改名"}),
            ("POST", f"/v1/declarations/{did}/submit", {"version": 1}),
            ("POST", f"/v1/declarations/{did}/withdraw", {"version": 1, "reason": "撤回"}),
            ("POST", f"/v1/declarations/{did}/sign-off", {"version": 1}),
        ]:
            assert intake.request(method, path, json=body).status_code == 404, (method, path)
        assert intake.get(f"/v1/declarations/{did}/materials").status_code == 404
        upload = intake.post(
            f"/v1/declarations/{did}/materials",
            data={"doc_type": "application_form"},
            files={"file": ("x.pdf", PDF, "application/pdf")},
        )
        assert upload.status_code == 404
        listed = intake.get("/v1/declarations", params={"page_size": 100}).json()["items"]
        assert did not in {d["id"] for d in listed}

        refused(review.get(f"/v1/cases/{cid}"), 404, "CASE_NOT_FOUND")
        assert review.get("/v1/cases", params={"declaration_id": did}).json()["items"] == []
        for path in (f"/v1/cases/{cid}/opinions", f"/v1/cases/{cid}/tasks", f"/v1/cases/{cid}/panel"):
            assert review.get(path).status_code == 404, path
        applied = review.post(
            f"/v1/cases/{cid}/application", json={"version": county_a.case["version"], "materials": []}
        )
        assert applied.status_code == 404
        refused(review.get(f"/v1/approvals/{aid}"), 404, "APPROVAL_NOT_FOUND")
        assert review.get(f"/v1/approvals/{aid}/document.pdf").status_code == 404
        assert aid not in {a["id"] for a in review.get("/v1/approvals").json()["items"]}

    # Neither county-b's bureau, nor the city (which reviews county-b, not county-a), nor
    # another unit of county-a sees the case or its approval.
    for user in ("bureau_head.county-b", "bureau_reviewer.city", "applicant2.county-a"):
        with login(user).client("review") as other:
            assert other.get(f"/v1/cases/{cid}").status_code == 404, user
            assert other.get(f"/v1/approvals/{aid}").status_code == 404, user
    # The county's own auditor reads it all and changes nothing.
    with login("auditor.county-a").client("review") as auditor:
        assert auditor.get(f"/v1/cases/{cid}").status_code == 200
        refused(
            auditor.post(
                f"/v1/cases/{cid}/rejection", json={"version": county_a.case["version"], "reason": "x"}
            ),
            403,
            "FORBIDDEN",
        )

    token = login("applicant.county-b").token
    for service, call in [
        (
            "intake",
            lambda ch, md: intake_pb2_grpc.DeclarationServiceStub(ch).GetDeclaration(
                intake_pb2.GetDeclarationRequest(id=did), metadata=md, timeout=10
            ),
        ),
        (
            "review",
            lambda ch, md: review_pb2_grpc.ReviewCaseServiceStub(ch).GetCase(
                review_pb2.GetCaseRequest(id=cid), metadata=md, timeout=10
            ),
        ),
    ]:
        with pytest.raises(grpc.RpcError) as hidden:
            grpc_call(stack, service, token, call)
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND, service


def test_an_expert_sees_only_the_cases_drawn_for_them(  # type: ignore[no-untyped-def]
    county_a: Done, county_b: Done, city: Rounds, login
) -> None:
    _, not_drawn = declare(login, "county-a", name="未抽取专家的项目")
    with login("expert.county-a").client("review") as expert:
        assert [c["id"] for c in expert.get("/v1/cases").json()["items"]] == [county_a.case["id"]]
        assert expert.get(f"/v1/cases/{county_a.case['id']}").status_code == 200
        tasks = expert.get("/v1/tasks").json()["items"]
        assert all(t["kind"] == "expert_review" and t["case_id"] == county_a.case["id"] for t in tasks)
        # A case of the same county not drawn for them does not exist as far as they can tell.
        refused(expert.get(f"/v1/cases/{not_drawn['id']}"), 404, "CASE_NOT_FOUND")
        for path in ("scoring-sheet", "opinions", "panel"):
            assert expert.get(f"/v1/cases/{not_drawn['id']}/{path}").status_code == 404, path
        scores = expert.post(f"/v1/cases/{not_drawn['id']}/scores", json={"scores": {"plan_necessity": "9"}})
        assert scores.status_code == 404
        # Nor do other counties' cases.
        assert expert.get(f"/v1/cases/{county_b.case['id']}").status_code == 404
    with login("expert.city").client("review") as city_expert:
        # Drawn from the city's library for county-b's case (the city does its technical review).
        assert [c["id"] for c in city_expert.get("/v1/cases").json()["items"]] == [county_b.case["id"]]
        assert city_expert.get(f"/v1/cases/{city.done.case['id']}").status_code == 404
        assert city_expert.get(f"/v1/cases/{county_a.case['id']}").status_code == 404
    with login("expert.county-b").client("review") as county_b_expert:
        assert county_b_expert.get("/v1/cases").json()["items"] == []
        assert county_b_expert.get(f"/v1/cases/{county_b.case['id']}").status_code == 404
