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
policy folder puts the city under lhasa; a pause over a public holiday, which the real clock cannot
show, in services/review/tests/integration/test_e2e_gaps.py (with lhasa's third round once more).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest

from devstack.stack import Stack
from govproj.intake.v1 import intake_pb2, intake_pb2_grpc
from govproj.review.v1 import approval_pb2, approval_pb2_grpc, review_pb2, review_pb2_grpc
from tests.e2e.helpers import (
    PDF,
    checked_pdf,
    create_draft,
    ensure_call,
    material_refs,
    race,
    refused,
    submit_to_bureau,
    upload_required,
    wait_for_case,
    wait_for_case_status,
    wait_for_declaration,
    xlsx_rows,
)

pytestmark = pytest.mark.e2e

Login = Callable[[str], Any]
SPECIALTY = "政务信息化（端到端）"  # every draw below asks for it: other experts never get in the way
WAN = Decimal(10_000)


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


@contextmanager
def clients(login: Login, *pairs: tuple[str, str]) -> Iterator[list[httpx.Client]]:
    """One client per (user, service), closed together."""
    with ExitStack() as stack:
        yield [stack.enter_context(login(user).client(service)) for user, service in pairs]


def declare(login: Login, tenant: str, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A draft through the unit head's sign-off; returns the submitted declaration and its case."""
    with clients(
        login,
        (f"applicant.{tenant}", "intake"),
        (f"unit_head.{tenant}", "intake"),
        (f"bureau_reviewer.{tenant}", "intake"),
        (f"bureau_reviewer.{tenant}", "review"),
    ) as (intake, head, bureau_intake, review):
        ensure_call(bureau_intake)
        draft = create_draft(intake, **fields)
        assert draft["status"] == "draft"
        submitted = submit_to_bureau(intake, head, draft)
        assert submitted["status"] == "submitted" and submitted["signoff_by"] == f"unit_head.{tenant}"
        assert re.fullmatch(r"\d{4}-\d{6}-\d{2}-\d{2}-\d{6}", submitted["project_code"])
        assert submitted["citations"]  # the documents the pack required, with their articles
        case = wait_for_case(review, draft["id"])
    assert case["status"] == "open" and case["project_code"] == submitted["project_code"]
    return submitted, case


def give_opinions(login: Login, tenant: str, review: httpx.Client, case_id: str, **answer: str) -> set[str]:
    """Every department the pack asks answers with its own token; returns the departments."""
    opinions = review.get(f"/v1/cases/{case_id}/opinions").json()["items"]
    assert opinions and all(o["status"] == "pending" and o["cite"] for o in opinions)
    body = {"verdict": "agree", "text": "", **answer}
    for opinion in opinions:
        user = f"{opinion['department']}.{tenant}"
        with login(user).client("review") as department:
            given = department.post(
                f"/v1/opinions/{opinion['id']}", json={**body, "version": opinion["version"]}
            )
        assert given.status_code == 200, given.text
        assert given.json()["status"] == "given" and given.json()["given_by"] == user
        assert given.json()["cite"] == opinion["cite"]
    return {o["department"] for o in opinions}


def draw_one(
    review: httpx.Client, case_id: str, expert: dict[str, Any], excluded: dict[str, str]
) -> dict[str, Any]:
    """The technical reviewer draws one expert: the conflicted ones are left out with their reasons,
    the seed is recorded, the drawn expert gets a task of their own."""
    drawn = review.post(
        f"/v1/cases/{case_id}/panel/draw", json={"size": 1, "seed": f"e2e-{case_id}", "specialty": SPECIALTY}
    )
    assert drawn.status_code == 200, drawn.text
    (member,) = drawn.json()["members"]
    (draw,) = drawn.json()["draws"]
    assert member["expert_id"] == expert["id"] and member["status"] == "invited"
    assert draw["drawn"] == [expert["id"]] and draw["seed"] == f"e2e-{case_id}"
    assert {k: v for k, v in draw["excluded"].items() if k in excluded} == excluded
    again = review.post(f"/v1/cases/{case_id}/panel/draw", json={"size": 1, "specialty": SPECIALTY})
    refused(again, 422, "PANEL_ALREADY_DRAWN")
    return dict(draw)


def score(login: Login, review: httpx.Client, case_id: str, expert: dict[str, Any]) -> None:
    """The drawn expert fills in the pack's scoring sheet, once."""
    with login(expert["username"]).client("review") as as_expert:
        (task,) = [t for t in as_expert.get("/v1/tasks").json()["items"] if t["case_id"] == case_id]
        assert task["kind"] == "expert_review" and task["holder_user"] == expert["username"]
        sheet = as_expert.get(f"/v1/cases/{case_id}/scoring-sheet").json()
        assert sheet["criteria"] and all(c["cite"] for c in sheet["criteria"])
        scores = {c["code"]: "8" for c in sheet["criteria"]}
        submitted = as_expert.post(
            f"/v1/cases/{case_id}/scores",
            json={"scores": scores, "overall_comment": "必要性充分，方案可行。"},
        )
        assert submitted.status_code == 201, submitted.text
        assert Decimal(submitted.json()["total"]) == 8 * len(scores)
        again = as_expert.post(f"/v1/cases/{case_id}/scores", json={"scores": scores})
        refused(again, 409, "SCORES_ALREADY_SUBMITTED")
        assert [t for t in as_expert.get("/v1/tasks").json()["items"] if t["case_id"] == case_id] == []
    summary = review.get(f"/v1/cases/{case_id}/scores/summary").json()
    assert summary["complete"] and summary["sheets"] == summary["expected"] == 1


def decide_into_plan(head: httpx.Client, case_id: str, level: str, budget: str) -> dict[str, Any]:
    """The bureau head puts the case into the plan; the decision carries its articles."""
    case = head.get(f"/v1/cases/{case_id}").json()
    decided = head.post(
        f"/v1/cases/{case_id}/plan-decision",
        json={"version": case["version"], "outcome": "in_plan", "level": level, "budget": budget},
    )
    assert decided.status_code == 200, decided.text
    result: dict[str, Any] = decided.json()
    assert result["case"]["status"] == "in_plan" and result["case"]["plan_budget"] == budget
    assert result["decision"]["outcome"] == "in_plan" and result["decision"]["cite"]
    return result


def compile_and_export(head: httpx.Client, year: int, case: dict[str, Any]) -> dict[str, Any]:
    """Compile the year's plan; the Excel export has the project's row and the right totals."""
    compiled = head.post("/v1/plans", json={"year": year})
    assert compiled.status_code == 200, compiled.text
    plan: dict[str, Any] = compiled.json()
    (entry,) = [e for e in plan["entries"] if e["case_id"] == case["id"]]
    assert entry["budget"] == case["plan_budget"] and entry["cite"]
    assert Decimal(plan["total_budget"]) == sum(Decimal(e["budget"]) for e in plan["entries"])
    exported = head.get(f"/v1/plans/{plan['id']}/export.xlsx")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument")
    assert f"{year}" in exported.headers["content-disposition"]
    rows = xlsx_rows(exported.content)
    header_at = next(i for i, r in enumerate(rows) if r and "项目名称" in r)
    header = rows[header_at]
    code, name = header.index("项目编码"), header.index("项目名称")
    budget, basis = header.index("计划预算(万元)"), header.index("依据")
    projects = [r for r in rows[header_at + 1 :] if r[code]]
    (row,) = [r for r in projects if r[code] == case["project_code"]]
    assert row[name] == case["name"] and row[basis]
    assert Decimal(str(row[budget])) == Decimal(case["plan_budget"]) / WAN
    (total,) = [r for r in rows if r[0] == "合计"]
    assert Decimal(str(total[budget])) == Decimal(plan["total_budget"]) / WAN
    assert Decimal(str(total[budget])) == sum(Decimal(str(r[budget])) for r in projects)
    return plan


def open_tasks(review: httpx.Client, case_id: str) -> dict[str, dict[str, Any]]:
    """The case's open tasks by kind (steps by their subject)."""
    items = review.get(f"/v1/cases/{case_id}/tasks").json()["items"]
    return {t["subject"] if t["kind"] == "step" else t["kind"]: t for t in items if t["status"] == "open"}


def china_today() -> date:
    """Today where the services count deadlines."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def grpc_call(stack: Stack, service: str, token: str, call: Callable[[grpc.Channel, Any], Any]) -> Any:
    """One gRPC call with the user's bearer token."""
    with grpc.insecure_channel(stack.grpc_target(service)) as channel:
        return call(channel, (("authorization", f"Bearer {token}"),))


@dataclass
class Done:
    """What a finished front half left behind."""

    tenant: str
    declaration: dict[str, Any]
    case: dict[str, Any]
    approval: dict[str, Any]
    pdf: bytes
    plan: dict[str, Any]


# --------------------------------------------------------------------------------------------
# The expert libraries and the three front halves (each run once per session)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def experts(login: Login) -> dict[str, dict[str, Any]]:
    """county-a's library and the city's (the city reviews county-b): the tenant's expert login
    and experts a draw must pass over — discredited, of the declaring unit, tied to the designer,
    not available."""
    wanted: dict[str, dict[str, dict[str, Any]]] = {
        "county-a": {
            "expert": {"name": "周教授", "org": "示范大学", "username": "expert.county-a"},
            "discredited": {
                "name": "钱工",
                "org": "某咨询有限公司",
                "discredited": True,
                "discredited_reason": "评审中泄露评审信息",
            },
            "same_org": {"name": "孙老师", "org": "甲县教育局"},
        },
        "city": {
            "expert": {"name": "赵研究员", "org": "省信息中心", "username": "expert.city"},
            "designer": {"name": "李高工", "org": "某软件有限公司", "affiliations": ["示范设计院有限公司"]},
            "unavailable": {"name": "吴工", "org": "某科技有限公司", "available": False},
        },
    }
    made: dict[str, dict[str, Any]] = {}
    for tenant, entries in wanted.items():
        with login(f"bureau_reviewer.{tenant}").client("review") as review:
            for key, fields in entries.items():
                created = review.post("/v1/experts", json={**fields, "specialties": [SPECIALTY]})
                assert created.status_code == 201, created.text
                made[f"{tenant}/{key}"] = created.json()
            listed = {e["id"] for e in review.get("/v1/experts").json()["items"]}
            assert {made[f"{tenant}/{k}"]["id"] for k in entries} <= listed
    with login("applicant.county-a").client("review") as unit:
        refused(unit.post("/v1/experts", json={"name": "某人", "org": "某单位"}), 403, "FORBIDDEN")
    return made


@pytest.fixture(scope="module")
def county_a(login: Login, experts: dict[str, dict[str, Any]]) -> Done:
    """wuxing-2023 in county-a: its own bureau reviews and decides (wuxing-2023 §9–§10)."""
    tenant = "county-a"
    declaration, case = declare(login, tenant, name="县域教育质量监测平台")
    assert case["pack_id"] == "wuxing-2023" and case["reviewing_tenant_id"] is None
    with clients(
        login,
        (f"bureau_reviewer.{tenant}", "review"),
        (f"bureau_head.{tenant}", "review"),
        (f"applicant.{tenant}", "review"),
        (f"applicant.{tenant}", "intake"),
        (f"auditor.{tenant}", "review"),
    ) as (review, head, unit, intake, auditor):
        checklist = review.get(f"/v1/cases/{case['id']}/checklist").json()
        assert checklist["complete"] and "wuxing-2023 §7" in checklist["cite"]
        assert all(item["present"] and item["cite"] for item in checklist["items"])
        formal = review.post(f"/v1/cases/{case['id']}/formal-review", json={"version": case["version"]})
        assert formal.status_code == 200, formal.text
        assert formal.json()["review"]["outcome"] == "passed" and formal.json()["review"]["cite"]

        # wuxing-2023 §9: finance, cyberspace, crypto and police give their opinions.
        departments = give_opinions(login, tenant, review, case["id"])
        assert departments == {"crypto", "cyberspace", "finance", "police"}

        draw = draw_one(
            review,
            case["id"],
            experts["county-a/expert"],
            {
                experts["county-a/discredited"]["id"]: "discredited",
                experts["county-a/same_org"]["id"]: "same_org",
            },
        )
        # Into the plan only when every drawn expert has scored.
        current = head.get(f"/v1/cases/{case['id']}").json()
        early = head.post(
            f"/v1/cases/{case['id']}/plan-decision",
            json={
                "version": current["version"],
                "outcome": "in_plan",
                "level": "general",
                "budget": "1200000.00",
            },
        )
        error = refused(early, 422, "JOINT_REVIEW_INCOMPLETE")
        assert experts["county-a/expert"]["name"] in error["message"] and "wuxing-2023 §9" in error["cite"]
        score(login, review, case["id"], experts["county-a/expert"])
        replay = auditor.get(f"/v1/draws/{draw['id']}/replay").json()  # the audit replays the draw
        assert replay["matches"] and replay["replayed"] == draw["drawn"]

        decided = decide_into_plan(head, case["id"], "general", "1200000.00")
        assert "wuxing-2023 §9" in decided["decision"]["cite"]
        assert wait_for_declaration(intake, declaration["id"], "in_plan")["review_started"]

        plan = compile_and_export(head, case["target_year"], decided["case"])
        refused(unit.get(f"/v1/plans/{plan['id']}/export.xlsx"), 403, "FORBIDDEN")

        applied = unit.post(
            f"/v1/cases/{case['id']}/application",
            json={
                "version": decided["case"]["version"],
                "materials": material_refs(intake, declaration["id"]),
            },
        )
        assert applied.status_code == 201, applied.text
        application = applied.json()["application"]
        assert application["approver"] == "bureau" and application["cite"]
        (step,) = application["steps"]  # wuxing-2023 §13: 发改's contact sheet, not blocking
        assert step["kind"] == "ndrc_contact_sheet" and not step["blocking"] and step["cite"]
        concluded = review.post(
            f"/v1/cases/{case['id']}/review-conclusion",
            json={"version": applied.json()["case"]["version"], "passed": True, "comments": "方案可行"},
        )
        assert concluded.status_code == 200, concluded.text
        assert concluded.json()["application"]["status"] == "passed"
        # The bureau records 发改's contact sheet: wuxing-2023 §13 sets it no deadline, so it is no
        # task in 发改's work list (where shuangyashan's is: see the 发改 step test below).
        recorded = review.post(
            f"/v1/steps/{step['id']}", json={"version": 1, "reference": "甲发改联〔2026〕8号"}
        )
        assert recorded.status_code == 200 and recorded.json()["status"] == "done", recorded.text

        version = concluded.json()["case"]["version"]
        too_much = head.post(
            f"/v1/cases/{case['id']}/approval", json={"version": version, "approved_amount": "1200000.01"}
        )
        refused(too_much, 400, "APPROVED_AMOUNT_EXCEEDS_PLAN")  # above the plan budget
        granted = head.post(
            f"/v1/cases/{case['id']}/approval",
            json={
                "version": version,
                "approved_amount": "1150000.00",
                "conditions": ["同步开展网络安全等级保护测评"],
                "content": "建设教育质量监测数据库和分析子系统。",
            },
        )
        assert granted.status_code == 201, granted.text
        approval = granted.json()
        assert re.fullmatch(r"甲数审〔\d{4}〕\d+号", approval["document_number"])
        assert approval["status"] == "valid" and approval["approved_amount"] == "1150000.00"
        assert approval["cite"] and "wuxing-2023 §10" in approval["cite"]
        pdf = checked_pdf(
            unit.get(f"/v1/approvals/{approval['id']}/document.pdf"), approval["document_sha256"]
        )
        final = unit.get(f"/v1/cases/{case['id']}").json()
    return Done(tenant, declaration, final, approval, pdf, plan)


@pytest.fixture(scope="module")
def county_b(login: Login, experts: dict[str, dict[str, Any]]) -> Done:
    """qiaokou-2022 in county-b: the city does the technical review (shuangyashan-2024 §40),
    county-b's bureau head decides and issues the approval."""
    tenant = "county-b"
    declaration, case = declare(
        login,
        tenant,
        name="乙县智慧水务平台",
        amount="900000.00",
        breakdown={"software": "800000.00", "security": "60000.00", "supervision": "40000.00"},
        necessity="供水管网漏损率高，缺少实时监测手段。",
        content="建设管网压力与流量监测、漏损分析和调度子系统，部署在政务云。",
        designer_org="示范设计院有限公司",
    )
    assert case["pack_id"] == "qiaokou-2022" and case["reviewing_tenant_id"] == "city"
    assert case["delegation_cite"] == ["shuangyashan-2024 §40"]
    with clients(
        login,
        ("bureau_reviewer.city", "review"),
        (f"bureau_reviewer.{tenant}", "review"),
        (f"bureau_head.{tenant}", "review"),
        ("bureau_head.city", "review"),
        (f"applicant.{tenant}", "review"),
        (f"applicant.{tenant}", "intake"),
    ) as (city, own_reviewer, head, city_head, unit, intake):
        # The technical review is the city's: county-b's own reviewer may not do it.
        refused(
            own_reviewer.post(f"/v1/cases/{case['id']}/formal-review", json={"version": 1}), 403, "FORBIDDEN"
        )
        formal = city.post(f"/v1/cases/{case['id']}/formal-review", json={"version": case["version"]})
        assert formal.status_code == 200, formal.text
        assert formal.json()["review"]["outcome"] == "passed"
        assert formal.json()["review"]["reviewed_by"] == "bureau_reviewer.city"
        assert "qiaokou-2022 §10" in formal.json()["review"]["cite"]

        departments = give_opinions(
            login, tenant, head, case["id"], verdict="agree_with_conditions", text="按等保二级同步建设。"
        )
        assert departments == {"crypto", "finance", "police"}  # qiaokou-2022 §6

        refused(own_reviewer.post(f"/v1/cases/{case['id']}/panel/draw", json={"size": 1}), 403, "FORBIDDEN")
        draw_one(
            city,
            case["id"],
            experts["city/expert"],
            {experts["city/designer"]["id"]: "designer", experts["city/unavailable"]["id"]: "unavailable"},
        )
        score(login, city, case["id"], experts["city/expert"])

        # The decision is county-b's own: the city's bureau head may not take it.
        current = head.get(f"/v1/cases/{case['id']}").json()
        not_theirs = city_head.post(
            f"/v1/cases/{case['id']}/plan-decision",
            json={"version": current["version"], "outcome": "in_plan", "level": "key", "budget": "900000.00"},
        )
        refused(not_theirs, 403, "FORBIDDEN")
        decided = decide_into_plan(head, case["id"], "key", "900000.00")
        assert "qiaokou-2022 §11(1)" in decided["decision"]["cite"]
        wait_for_declaration(intake, declaration["id"], "in_plan")

        plan = compile_and_export(head, case["target_year"], decided["case"])
        published = head.post(f"/v1/plans/{plan['id']}/publish", json={"version": plan["version"]})
        assert published.status_code == 200, published.text
        (entry,) = [e for e in published.json()["entries"] if e["case_id"] == case["id"]]
        assert published.json()["status"] == "published" and entry["valid_until"]  # qiaokou §13

        applied = unit.post(
            f"/v1/cases/{case['id']}/application",
            json={
                "version": decided["case"]["version"],
                "materials": material_refs(intake, declaration["id"]),
            },
        )
        assert applied.status_code == 201, applied.text
        assert {"qiaokou-2022 §15", "qiaokou-2022 §16"} <= set(applied.json()["application"]["cite"])
        version = applied.json()["case"]["version"]
        refused(
            own_reviewer.post(
                f"/v1/cases/{case['id']}/review-conclusion", json={"version": version, "passed": True}
            ),
            403,
            "FORBIDDEN",
        )
        concluded = city.post(
            f"/v1/cases/{case['id']}/review-conclusion",
            json={"version": version, "passed": True, "comments": "技术方案可行。"},
        )
        assert concluded.status_code == 200, concluded.text
        granted = head.post(
            f"/v1/cases/{case['id']}/approval",
            json={"version": concluded.json()["case"]["version"], "approved_amount": "880000.00"},
        )
        assert granted.status_code == 201, granted.text
        approval = granted.json()
        assert re.fullmatch(r"乙数审〔\d{4}〕\d+号", approval["document_number"])
        # qiaokou-2022 §22: the approval form is valid for one year.
        approved_on = date.fromisoformat(approval["approved_on"])
        assert (
            approval["valid_until"]
            == (approved_on.replace(year=approved_on.year + 1) - timedelta(days=1)).isoformat()
        )
        assert {"qiaokou-2022 §22", "shuangyashan-2024 §40"} <= set(approval["cite"])
        pdf = checked_pdf(
            unit.get(f"/v1/approvals/{approval['id']}/document.pdf"), approval["document_sha256"]
        )
        final = unit.get(f"/v1/cases/{case['id']}").json()
    return Done(tenant, declaration, final, approval, pdf, plan)


@dataclass
class Rounds:
    """The city's front half with a return at each stage."""

    done: Done
    plan_return: dict[str, Any]
    steps_before: dict[str, dict[str, Any]]
    steps_paused: dict[str, dict[str, Any]]
    steps_resumed: dict[str, dict[str, Any]]
    same_day: bool  # paused and resumed on the same day (the run did not cross midnight)
    ndrc_view: dict[str, Any]  # 发改's work list and its view of the case while its step was open


@pytest.fixture(scope="module")
def city(login: Login) -> Rounds:
    """shuangyashan-2024 in the city: the formal review returns the declaration (补正, through
    intake), the approval review returns the application (through review); both come back."""
    tenant = "city"
    declaration, case = declare(
        login,
        tenant,
        name="市级智慧医保结算平台",
        amount="600000.00",
        breakdown={"software": "500000.00", "security": "60000.00", "supervision": "40000.00"},
        necessity="医保结算系统分散，群众跨院结算不便。",
        content="建设统一的医保结算与对账子系统，部署在全市政务云。",
    )
    assert case["pack_id"] == "shuangyashan-2024"
    assert "shuangyashan-2024 §13" in declaration["citations"]  # the per-unit quota was applied
    with clients(
        login,
        (f"bureau_reviewer.{tenant}", "review"),
        (f"bureau_head.{tenant}", "review"),
        (f"applicant.{tenant}", "review"),
        (f"applicant.{tenant}", "intake"),
        (f"unit_head.{tenant}", "intake"),
    ) as (review, head, unit, intake, unit_head):
        # --- round 1 of the plan review: the pack's plan documents include a technical scheme ---
        returned = review.post(f"/v1/cases/{case['id']}/formal-review", json={"version": case["version"]})
        assert returned.status_code == 200, returned.text
        assert returned.json()["case"]["status"] == "returned"
        missing = [i for i in returned.json()["review"]["checklist"] if not i["present"]]
        assert [(i["code"], i["cite"]) for i in missing] == [
            ("technical_scheme", ["shuangyashan-2024 §13", "shuangyashan-2024 §31"])
        ]
        (correction,) = [t for t in unit.get("/v1/tasks").json()["items"] if t["case_id"] == case["id"]]
        assert (
            correction["kind"] == "correction" and correction["holder_org"] == "unit-1" and correction["cite"]
        )
        back = wait_for_declaration(intake, declaration["id"], "returned")
        assert (back["return_stage"], back["return_items"]) == ("plan", ["缺少技术方案"])
        # The unit adds the missing document; the unit head resubmits (round 2).
        uploaded = intake.post(
            f"/v1/declarations/{declaration['id']}/materials",
            data={"doc_type": "technical_scheme"},
            files={"file": ("技术方案.pdf", PDF, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        again = unit_head.post(
            f"/v1/declarations/{declaration['id']}/resubmit", json={"version": back["version"]}
        )
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "submitted" and again.json()["round"] == 2
        resumed = wait_for_case_status(review, case["id"], "open")
        assert resumed["round"] == 2
        assert "correction" not in open_tasks(review, case["id"])
        passed = review.post(f"/v1/cases/{case['id']}/formal-review", json={"version": resumed["version"]})
        assert passed.status_code == 200 and passed.json()["review"]["outcome"] == "passed", passed.text
        reviews = review.get(f"/v1/cases/{case['id']}/formal-reviews").json()["items"]
        assert [(r["round"], r["outcome"]) for r in reviews] == [(1, "incomplete"), (2, "passed")]

        departments = give_opinions(login, tenant, review, case["id"])
        assert departments == {"crypto", "cyberspace", "finance", "police"}  # shuangyashan §5, §6, §17
        decided = decide_into_plan(head, case["id"], "general", "600000.00")
        wait_for_declaration(intake, declaration["id"], "in_plan")
        plan = compile_and_export(head, case["target_year"], decided["case"])

        # --- the approval review: the pack's steps run on their own SLA clocks ------------------
        applied = unit.post(
            f"/v1/cases/{case['id']}/application",
            json={
                "version": decided["case"]["version"],
                "materials": material_refs(intake, declaration["id"]),
            },
        )
        assert applied.status_code == 201, applied.text
        steps = {s["kind"]: s for s in applied.json()["application"]["steps"]}
        assert (
            steps["design_review"]["blocking"] and "shuangyashan-2024 §19" in steps["design_review"]["cite"]
        )
        day_before = china_today()
        before = open_tasks(review, case["id"])
        for kind in ("design_review", "ndrc_feasibility_study"):
            assert before[kind]["due_on"] and before[kind]["remaining_workdays"] and before[kind]["cite"]
            assert not before[kind]["paused"] and before[kind]["urgency"] in {"on_track", "due_soon"}
        with login(f"ndrc.{tenant}").client("review") as ndrc:  # what 发改 sees of its step now
            ndrc_view = {
                "tasks": [t for t in ndrc.get("/v1/tasks").json()["items"] if t["case_id"] == case["id"]],
                "case_status_code": ndrc.get(f"/v1/cases/{case['id']}").status_code,
            }
        sent_back = review.post(
            f"/v1/cases/{case['id']}/review-conclusion",
            json={
                "version": applied.json()["case"]["version"],
                "passed": False,
                "comments": "初步设计概算偏高。",
                "items": ["核减硬件购置费用"],
            },
        )
        assert sent_back.status_code == 200, sent_back.text
        back_again = sent_back.json()["case"]
        assert (back_again["status"], back_again["stage"]) == ("returned", "approval")
        paused = open_tasks(review, case["id"])
        (revision,) = [t for t in unit.get("/v1/tasks").json()["items"] if t["case_id"] == case["id"]]
        assert revision["kind"] == "applicant_revision"
        resubmitted = unit.post(
            f"/v1/cases/{case['id']}/application/resubmit",
            json={
                "version": sent_back.json()["case"]["version"],
                "materials": [
                    {
                        "doc_type": "preliminary_design",
                        "filename": "初步设计（修订）.pdf",
                        "sha256": "a" * 64,
                        "size": 4096,
                        "content_type": "application/pdf",
                    }
                ],
            },
        )
        assert resubmitted.status_code == 200, resubmitted.text
        assert resubmitted.json()["application"]["round"] == 2
        after = open_tasks(review, case["id"])
        same_day = china_today() == day_before

        concluded = review.post(
            f"/v1/cases/{case['id']}/review-conclusion",
            json={
                "version": resubmitted.json()["case"]["version"],
                "passed": True,
                "comments": "修改后可行。",
            },
        )
        assert concluded.status_code == 200, concluded.text
        version = concluded.json()["case"]["version"]
        blocked = head.post(
            f"/v1/cases/{case['id']}/approval", json={"version": version, "approved_amount": "1"}
        )
        error = refused(blocked, 422, "APPROVAL_STEPS_PENDING")
        assert error["details"]["steps"] == ["design_review"] and "shuangyashan-2024 §19" in error["cite"]
        design = review.post(
            f"/v1/steps/{steps['design_review']['id']}", json={"version": 1, "reference": "示评估〔2026〕3号"}
        )
        assert design.status_code == 200, design.text
        granted = head.post(
            f"/v1/cases/{case['id']}/approval", json={"version": version, "approved_amount": "580000.00"}
        )
        assert granted.status_code == 201, granted.text
        approval = granted.json()
        assert re.fullmatch(r"示数审〔\d{4}〕\d+号", approval["document_number"]) and approval["cite"]
        pdf = checked_pdf(
            unit.get(f"/v1/approvals/{approval['id']}/document.pdf"), approval["document_sha256"]
        )
        final = unit.get(f"/v1/cases/{case['id']}").json()
    done = Done(tenant, declaration, final, approval, pdf, plan)
    return Rounds(done, returned.json(), before, paused, after, same_day, ndrc_view)


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


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
