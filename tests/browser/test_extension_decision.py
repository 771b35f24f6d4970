"""延期申请 and its 审核 in a real browser, under the one pack that provides an extension (heze-2021
§23: a unit that cannot apply for the final acceptance within half a year of completing the
project applies to the bureau for an extension).

The platform is every back-end service and the portal with county-a moved to heze-2021's measures,
its domain clock in March 2022 (heze-2021 was in force from 11 January 2021 to 27 December 2022).
A project is approved and its construction contract filed through the services' REST APIs and its
trial run started on the day construction was completed (so the final acceptance is due six months
later, §23); in the browser the unit asks for an extension, the bureau's refusal without a reason
is refused beside 审核意见, and the bureau then agrees: the project page shows the extension agreed,
with the unit's reasons and the bureau's note. Screenshots 89m-89o.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from devstack.stack import Stack
from tests.e2e.back_half import DomainClock, begin_procurement, contract, open_call, upload_filing_documents
from tests.e2e.helpers import approve, ok, wait_until
from tests.e2e.lifecycle import SERVICES as BACK_END
from tests.e2e.lifecycle import (
    acceptance_project,
    new_credit_code,
    user_clients,
)
from tests.e2e.platforms import running_policy_stack

from .conftest import SignIn, shot
from .helpers import check_accessibility, field_error

HEZE = "county-a"  # moved to heze-2021 here
IN_FORCE = date(2022, 3, 1)  # a Tuesday while heze-2021 governed
REASON = "上级部门调整了数据共享接口标准，需按新标准改造后再组织竣工验收。"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Every back-end service and the portal, county-a under heze-2021."""
    with running_policy_stack(
        "govproj-browser-extension-", {HEZE: "heze-2021"}, services=BACK_END, with_portal=True
    ) as platform:
        yield platform


@pytest.fixture(scope="module")
def in_trial_run(stack: Stack) -> dict[str, Any]:
    """An approved county-a project, its construction contract filed and its trial run started on
    the day construction was completed: acceptance's project, the final acceptance due (§23)."""
    clock = DomainClock(stack)
    clock.move_to(IN_FORCE)
    as_user = user_clients(stack)
    with as_user(f"bureau_reviewer.{HEZE}", "intake") as bureau_intake:
        open_call(bureau_intake, IN_FORCE)
    declaration = approve(as_user, HEZE, "政务数据共享交换平台升级", "600000.00")
    with as_user(f"applicant.{HEZE}", "procurement") as unit:
        wait_until(
            lambda: unit.get(f"/v1/projects/{declaration['id']}").status_code == 200 or None,
            what="procurement learns approval.granted",
        )
        construction = begin_procurement(
            unit, declaration["id"], role="construction", method="open_tender", title="平台升级改造"
        )
        upload_filing_documents(unit, construction["id"])
        current = ok(unit.get(f"/v1/procurements/{construction['id']}"))
        terms = contract(
            contract_no="HT-2022-007",
            supplier="示范数据科技有限公司",
            code=new_credit_code(4301),
            amount="580000.00",
            signed_on=IN_FORCE,
            period_end=IN_FORCE + timedelta(days=120),
        )
        filing = {"version": current["version"], **terms}
        ok(unit.post(f"/v1/procurements/{construction['id']}/filing", json=filing), 201)
    project = acceptance_project(as_user, HEZE, declaration["id"], 1)
    with as_user(f"applicant.{HEZE}", "acceptance") as unit:
        started = ok(
            unit.post(
                f"/v1/projects/{project['id']}/trial",
                json={
                    "started_on": IN_FORCE.isoformat(),
                    "completed_on": IN_FORCE.isoformat(),
                    "version": project["version"],
                },
            )
        )
    assert started["final_due_on"] and "heze-2021 §23" in str(started["final_due_citations"])
    return started


def test_the_unit_asks_for_an_extension_and_the_bureau_decides_it(
    sign_in: SignIn, in_trial_run: dict[str, Any]
) -> None:
    did = in_trial_run["declaration_id"]
    until_day = (date.fromisoformat(in_trial_run["final_due_on"]) + timedelta(days=90)).isoformat()
    unit = sign_in(f"applicant.{HEZE}")
    unit.goto(f"/projects/{did}")
    unit.wait_for_selector("#back-half")
    assert unit.locator("#extension-decision-link").count() == 0  # nothing asked yet
    unit.click("#extension-link")
    assert "heze-2021 §23" in unit.inner_text(".intro")
    unit.fill("#f-reason", REASON)
    unit.fill("#f-requested_until", until_day)
    unit.click("#save")
    unit.wait_for_selector("#saved")
    assert f"已申请延期至 {until_day}" in unit.inner_text("#extension")
    assert unit.inner_text("#extension-reason") == REASON
    # The unit cannot decide its own request: no link for it.
    assert unit.locator("#extension-decision-link").count() == 0
    shot(unit, "89m-extension-requested")

    bureau = sign_in(f"bureau_reviewer.{HEZE}")
    bureau.goto(f"/projects/{did}")
    bureau.wait_for_selector("#back-half")
    bureau.click("#extension-decision-link")
    check_accessibility(bureau)
    intro = bureau.inner_text(".intro")
    assert f"申请延期至 {until_day}" in intro and REASON in intro and "heze-2021 §23" in intro
    bureau.select_option("#f-decision", "reject")
    bureau.click("#save")
    bureau.wait_for_selector("#form-error")
    assert "不同意延期时须写明理由" in field_error(bureau, "note")
    assert bureau.input_value("#f-decision") == "reject"
    shot(bureau, "89n-extension-refusal-needs-a-reason")
    bureau.select_option("#f-decision", "approve")
    bureau.fill("#f-note", "同意按新接口标准改造后申请竣工验收。")
    bureau.click("#save")
    bureau.wait_for_selector("#saved")
    decided = bureau.inner_text("#extension")
    assert f"已同意延期至 {until_day}" in decided and "同意按新接口标准改造后申请竣工验收。" in decided
    assert bureau.locator("#extension-decision-link").count() == 0  # decided: nothing pending
    shot(bureau, "89o-extension-agreed")
