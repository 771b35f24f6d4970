"""lhasa's measures end to end: no dev tenant runs them, so this module starts a second, smaller
platform (PostgreSQL, NATS, the dev issuer, intake and review as real processes) whose policy
folder maps the demo city to the lhasa pack — rules are data, so no product code changes. The
demo users of the city keep their real tokens.

What lhasa adds to the front half (lhasa §11): the formal review's own 5-working-day clock, paused
while the declaration is back with the unit and resumed where it stopped; two failed review rounds
void the application, and a third round is refused with the article; materials prepared anew start
a fresh application that can still be approved.

The holiday test moves the platform's dev clock (govkit.clock: every service reads "now" from the
stack's clock file) through the National Day week of 2025, so the real services count the real
calendar: the return before the holiday and the resubmission after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from devstack.issuer.testing import get_token
from devstack.stack import Stack
from govkit.clock import set_dev_clock
from tests.e2e.helpers import (
    checked_pdf,
    create_draft,
    ensure_call,
    material_refs,
    refused,
    submit_to_bureau,
    wait_for_case,
    wait_for_case_status,
    wait_for_declaration,
)
from tests.e2e.platforms import running_policy_stack

pytestmark = pytest.mark.e2e
BEIJING = timezone(timedelta(hours=8))

TENANT = "city"  # runs under lhasa in this module's platform


@pytest.fixture(scope="module")
def lhasa_stack() -> Iterator[Stack]:
    """intake and review (no portal, no later services) with the city under lhasa."""
    with running_policy_stack(
        "govproj-e2e-lhasa-", {TENANT: "lhasa"}, services=("intake", "review"), with_portal=False
    ) as platform:
        yield platform


@pytest.fixture(scope="module")
def as_user(lhasa_stack: Stack) -> Callable[[str, str], httpx.Client]:
    """as_user("applicant.city", "review") → a client with that user's real token."""
    tokens: dict[str, str] = {}

    def client(username: str, service: str) -> httpx.Client:
        if username not in tokens:
            tokens[username] = get_token(lhasa_stack.issuer_url, username)
        return httpx.Client(
            base_url=lhasa_stack.http_url(service),
            headers={"Authorization": f"Bearer {tokens[username]}"},
            timeout=10,
        )

    return client


def _open_tasks(review: httpx.Client, case_id: str) -> dict[str, dict[str, Any]]:
    items = review.get(f"/v1/cases/{case_id}/tasks").json()["items"]
    return {t["kind"]: t for t in items if t["status"] == "open"}


def test_lhasa_pauses_the_formal_review_clock_and_refuses_a_third_review_round(  # type: ignore[no-untyped-def]
    as_user,
) -> None:
    with (
        as_user(f"applicant.{TENANT}", "intake") as intake,
        as_user(f"unit_head.{TENANT}", "intake") as head_intake,
        as_user(f"bureau_reviewer.{TENANT}", "intake") as bureau_intake,
        as_user(f"bureau_reviewer.{TENANT}", "review") as review,
        as_user(f"bureau_head.{TENANT}", "review") as head,
        as_user(f"applicant.{TENANT}", "review") as unit,
    ):
        ensure_call(bureau_intake)
        draft = create_draft(
            intake, name="城市运行管理服务平台", amount="800000.00", breakdown={"software": "800000.00"}
        )
        submitted = submit_to_bureau(intake, head_intake, draft)
        assert "lhasa §10" in submitted["citations"]  # lhasa's documents were required at sign-off
        case = wait_for_case(review, draft["id"])
        assert case["pack_id"] == "lhasa"

        # lhasa §11: the formal review within 5 working days of receipt.
        formal = _open_tasks(review, case["id"])["formal_review"]
        assert formal["cite"] == ["lhasa §11"] and formal["remaining_workdays"] == 5 and formal["due_on"]
        returned = review.post(
            f"/v1/cases/{case['id']}/formal-review",
            json={"version": case["version"], "notes": ["投资估算与建设内容不一致"]},
        )
        assert returned.status_code == 200 and returned.json()["case"]["status"] == "returned", returned.text
        paused = _open_tasks(review, case["id"])
        assert paused["formal_review"]["paused"] and paused["formal_review"]["urgency"] == "paused"
        assert paused["formal_review"]["due_on"] is None
        assert (
            paused["correction"]["cite"] == ["lhasa §11"] and paused["correction"]["due_on"]
        )  # revise: 3 wd
        back = wait_for_declaration(intake, draft["id"], "returned")
        assert back["return_items"] == ["投资估算与建设内容不一致"]
        edited = intake.patch(
            f"/v1/declarations/{draft['id']}",
            json={"version": back["version"], "content": "建设城市运行监测、事件处置和指挥调度子系统。"},
        )
        assert edited.status_code == 200, edited.text
        again = head_intake.post(
            f"/v1/declarations/{draft['id']}/resubmit", json={"version": edited.json()["version"]}
        )
        assert again.status_code == 200 and again.json()["round"] == 2, again.text
        resumed_case = wait_for_case_status(review, case["id"], "open")
        resumed = _open_tasks(review, case["id"])["formal_review"]
        assert not resumed["paused"] and resumed["id"] == formal["id"]
        assert resumed["remaining_workdays"] == formal["remaining_workdays"]  # not a day lost
        passed = review.post(
            f"/v1/cases/{case['id']}/formal-review", json={"version": resumed_case["version"]}
        )
        assert passed.status_code == 200 and passed.json()["review"]["outcome"] == "passed", passed.text

        # lhasa §4, §7: crypto, cyberspace, finance and 发改 give their opinions.
        opinions = review.get(f"/v1/cases/{case['id']}/opinions").json()["items"]
        assert {o["department"] for o in opinions} == {"crypto", "cyberspace", "finance", "ndrc"}
        for opinion in opinions:
            with as_user(f"{opinion['department']}.{TENANT}", "review") as department:
                given = department.post(
                    f"/v1/opinions/{opinion['id']}", json={"version": opinion["version"], "verdict": "agree"}
                )
            assert given.status_code == 200 and given.json()["cite"], given.text
        current = head.get(f"/v1/cases/{case['id']}").json()
        decided = head.post(
            f"/v1/cases/{case['id']}/plan-decision",
            json={
                "version": current["version"],
                "outcome": "in_plan",
                "level": "general",
                "budget": "800000.00",
            },
        )
        assert decided.status_code == 200, decided.text
        materials = material_refs(intake, draft["id"])

        # Two review rounds, both failed (lhasa §11: "评审2次未通过的" → materials prepared anew).
        applied = unit.post(
            f"/v1/cases/{case['id']}/application",
            json={"version": decided.json()["case"]["version"], "materials": materials},
        )
        assert applied.status_code == 201, applied.text
        review_task = _open_tasks(review, case["id"])["approval_review"]
        assert review_task["due_on"] and "lhasa §11" in review_task["cite"]
        version = applied.json()["case"]["version"]
        for round_, items in ((1, ["补充网络安全投入测算"]), (2, ["密码应用方案仍不完整"])):
            failed = review.post(
                f"/v1/cases/{case['id']}/review-conclusion",
                json={"version": version, "passed": False, "comments": "评审未通过。", "items": items},
            )
            assert failed.status_code == 200, failed.text
            assert failed.json()["application"]["round"] == round_
            version = failed.json()["case"]["version"]
            if round_ == 1:
                assert failed.json()["case"]["status"] == "returned"
                revised = unit.post(
                    f"/v1/cases/{case['id']}/application/resubmit",
                    json={"version": version, "materials": [{**materials[0], "filename": "修订稿.pdf"}]},
                )
                assert revised.status_code == 200, revised.text
                assert revised.json()["application"]["round"] == 2
                version = revised.json()["case"]["version"]
        assert failed.json()["application"]["status"] == "void"
        assert failed.json()["case"]["status"] == "in_plan"  # waits for materials prepared anew
        reviews = unit.get(f"/v1/cases/{case['id']}/applications").json()["reviews"]
        assert [r["outcome"] for r in reviews] == ["returned", "prepare_anew"]
        assert "lhasa §11" in reviews[-1]["cite"]

        # The third round is refused, naming the article; nothing changes.
        third = unit.post(
            f"/v1/cases/{case['id']}/application/resubmit",
            json={"version": version, "materials": [{**materials[0], "filename": "第三稿.pdf"}]},
        )
        error = refused(third, 422, "REVIEW_ROUNDS_EXHAUSTED")
        assert error["cite"] == ["lhasa §11"] and "重新编制" in error["message"]
        assert unit.get(f"/v1/cases/{case['id']}").json()["version"] == version

        # Materials prepared anew: a fresh application (attempt 2, round 1) passes and is approved.
        fresh = unit.post(
            f"/v1/cases/{case['id']}/application", json={"version": version, "materials": materials}
        )
        assert fresh.status_code == 201, fresh.text
        assert (fresh.json()["application"]["attempt"], fresh.json()["application"]["round"]) == (2, 1)
        concluded = review.post(
            f"/v1/cases/{case['id']}/review-conclusion",
            json={"version": fresh.json()["case"]["version"], "passed": True, "comments": "重新编制后可行。"},
        )
        assert concluded.status_code == 200, concluded.text
        issue = _open_tasks(review, case["id"])["issue_approval"]
        assert issue["due_on"] and issue["cite"] == ["lhasa §11"]  # the approval within 2 working days
        granted = head.post(
            f"/v1/cases/{case['id']}/approval",
            json={"version": concluded.json()["case"]["version"], "approved_amount": "780000.00"},
        )
        assert granted.status_code == 201, granted.text
        approval = granted.json()
        assert re.fullmatch(r"示数审〔\d{4}〕\d+号", approval["document_number"])
        assert "lhasa §11" in approval["cite"]
        checked_pdf(unit.get(f"/v1/approvals/{approval['id']}/document.pdf"), approval["document_sha256"])


@pytest.fixture
def dev_clock(lhasa_stack: Stack) -> Iterator[Callable[[datetime], None]]:
    """Sets the platform's "now"; the system clock again afterwards."""
    yield lambda instant: set_dev_clock(lhasa_stack.clock_file, instant)
    lhasa_stack.clock_file.unlink(missing_ok=True)


def test_a_return_before_the_national_day_pauses_the_formal_review_clock_over_the_holiday(  # type: ignore[no-untyped-def]
    as_user, dev_clock
) -> None:
    """lhasa §11 on the 2025 calendar: 1–8 October are holidays, Saturday 11 October is worked."""
    with (
        as_user(f"applicant2.{TENANT}", "intake") as intake,
        as_user(f"unit_head2.{TENANT}", "intake") as head_intake,
        as_user(f"bureau_reviewer.{TENANT}", "intake") as bureau_intake,
        as_user(f"bureau_reviewer.{TENANT}", "review") as review,
    ):
        dev_clock(datetime(2025, 9, 29, 9, 30, tzinfo=BEIJING))  # Monday: the declaration arrives
        ensure_call(bureau_intake)
        draft = create_draft(
            intake, name="城市供水管网监测平台", amount="600000.00", breakdown={"software": "600000.00"}
        )
        submit_to_bureau(intake, head_intake, draft)
        case = wait_for_case(review, draft["id"])
        formal = _open_tasks(review, case["id"])["formal_review"]
        # 30 Sep (1), 9 Oct (2), 10 Oct (3), Saturday 11 Oct (4), 13 Oct (5).
        assert formal["due_on"] == "2025-10-13" and formal["remaining_workdays"] == 5
        assert formal["cite"] == ["lhasa §11"]

        dev_clock(datetime(2025, 9, 30, 16, 0, tzinfo=BEIJING))  # the last working day before the holiday
        returned = review.post(
            f"/v1/cases/{case['id']}/formal-review",
            json={"version": case["version"], "notes": ["缺少与现有供水调度系统的数据共享说明"]},
        )
        assert returned.status_code == 200 and returned.json()["case"]["status"] == "returned", returned.text
        paused = _open_tasks(review, case["id"])
        assert paused["formal_review"]["paused"] and paused["formal_review"]["due_on"] is None
        # The unit revises within 3 working days (lhasa §11): 9, 10 and Saturday 11 October.
        assert paused["correction"]["due_on"] == "2025-10-11" and paused["correction"]["cite"] == [
            "lhasa §11"
        ]

        dev_clock(datetime(2025, 10, 9, 9, 0, tzinfo=BEIJING))  # the first working day after it
        back = wait_for_declaration(intake, draft["id"], "returned")
        edited = intake.patch(
            f"/v1/declarations/{draft['id']}",
            json={
                "version": back["version"],
                "content": "建设管网压力、流量监测和漏损分析子系统，与供水调度系统共享数据。",
            },
        )
        assert edited.status_code == 200, edited.text
        again = head_intake.post(
            f"/v1/declarations/{draft['id']}/resubmit", json={"version": edited.json()["version"]}
        )
        assert again.status_code == 200 and again.json()["round"] == 2, again.text
        resumed_case = wait_for_case_status(review, case["id"], "open")
        resumed = _open_tasks(review, case["id"])["formal_review"]
        # 30 September was used; the holiday and the days with the unit were not: 4 days left,
        # counted from 9 October (10, 11, 13, 14 October) — a day later than without the return.
        assert not resumed["paused"] and resumed["id"] == formal["id"]
        assert resumed["due_on"] == "2025-10-14" and resumed["remaining_workdays"] == 4

        dev_clock(datetime(2025, 10, 14, 10, 0, tzinfo=BEIJING))  # the last day, still in time
        due_today = _open_tasks(review, case["id"])["formal_review"]
        assert due_today["remaining_workdays"] == 0 and due_today["urgency"] != "overdue"
        passed = review.post(
            f"/v1/cases/{case['id']}/formal-review", json={"version": resumed_case["version"]}
        )
        assert passed.status_code == 200 and passed.json()["review"]["outcome"] == "passed", passed.text
        assert "formal_review" not in _open_tasks(review, case["id"])
