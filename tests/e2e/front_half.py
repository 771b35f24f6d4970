"""The front half's flows shared by the end-to-end modules: helpers, and the session fixtures
(registered in conftest.py) that take three packs from draft to approval once per session —
test_front_half.py asserts on them, the back-half modules (procurement, acceptance) build on them.
Run once: a second run in the same platform would add a second set of experts to the libraries,
and the seeded draws would no longer be the ones asserted.
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
from tests.e2e.helpers import (
    PDF,
    checked_pdf,
    create_draft,
    ensure_call,
    material_refs,
    refused,
    submit_to_bureau,
    wait_for_case,
    wait_for_case_status,
    wait_for_declaration,
    xlsx_rows,
)

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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
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
