"""The back half's evaluation forms in a real browser: 绩效自评 and the key evaluation, 运维经费申请,
整改通知 and the 失信名单, each opened from the portal's pages, refused once with the service's Chinese
message beside the field, then saved and its result shown.

The platform here is every back-end service and the portal with the city under lhasa's measures
(tests.e2e.lifecycle), so that one project really reaches acceptance (REST, the lifecycle's own
helpers) and the dev clock (govkit.clock) can carry it into its self-evaluation window 12 months on
(lhasa §22) and past the three no-O&M years (lhasa §20). Screenshots 90 and up.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from devstack.issuer.testing import get_token
from devstack.stack import Stack
from tests.e2e.helpers import PDF, wait_until
from tests.e2e.lifecycle import (
    LHASA,
    DomainClock,
    acceptance_project,
    approve,
    evidence,
    file_contract,
    new_credit_code,
    pass_acceptance,
    user_clients,
)
from tests.e2e.lifecycle import SERVICES as BACK_END
from tests.e2e.platforms import running_policy_stack
from tests.e2e.test_lifecycle_to_om import add_months

from .conftest import SignIn, shot
from .helpers import check_accessibility, field_error

SPECIALTY = "绩效评价表单（浏览器）"
GOALS = "覆盖全县中小学，家校互动月活跃用户不少于2万人。"  # tests.e2e.helpers.DRAFT's


def _accepted(stack: Stack) -> dict[str, Any]:
    """The city's key project approved, its supervision and construction contracts filed, finally
    accepted today by a panel from review's library; the declaration with ``accepted_on``."""
    as_user = user_clients(stack)
    with as_user(f"bureau_reviewer.{LHASA}", "review") as library:
        for name, org in (("周教授", "示范大学"), ("吴研究员", "省信息中心")):
            created = library.post("/v1/experts", json={"name": name, "org": org, "specialties": [SPECIALTY]})
            assert created.status_code == 201, created.text
    declaration = approve(as_user, LHASA, "智慧校园家校互动平台", "900000.00", level="key")
    for role, supplier, seed, amount in (
        ("supervision", "示范监理咨询有限公司", 3001, "30000.00"),  # lhasa §13: the supervisor first
        ("construction", "示范信息技术有限公司", 3002, "850000.00"),
    ):
        file_contract(
            as_user,
            LHASA,
            declaration["id"],
            role=role,
            supplier=supplier,
            code=new_credit_code(seed),
            amount=amount,
        )
    project = acceptance_project(as_user, LHASA, declaration["id"], 2)
    done = pass_acceptance(as_user, LHASA, project, specialty=SPECIALTY)
    with as_user(f"bureau_head.{LHASA}", "evaluation") as evaluation:

        def folded() -> dict[str, Any] | None:
            got = evaluation.get(f"/v1/portfolio/projects/{declaration['id']}")
            return got.json() if got.status_code == 200 and got.json().get("accepted_on") else None

        wait_until(folded, what="the portfolio learns the acceptance")
    return {**declaration, "accepted_on": date.fromisoformat(done["accepted_on"])}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Every back-end service and the portal, the city under lhasa (the browser conftest's stack
    has intake and review only, and no policy folder of its own)."""
    with running_policy_stack(
        "govproj-browser-evaluation-", {LHASA: "lhasa"}, services=BACK_END, with_portal=True
    ) as platform:
        yield platform


@pytest.fixture(scope="module")
def accepted(stack: Stack) -> dict[str, Any]:
    """The accepted project (built once, through the services' REST APIs)."""
    return _accepted(stack)


@pytest.fixture
def clock(stack: Stack) -> Iterator[DomainClock]:
    """The platform's domain clock; the system clock again after the test."""
    domain = DomainClock(stack)
    yield domain
    domain.reset()


@pytest.fixture
def pdf(tmp_path: Path) -> str:
    """A small real PDF on disk, to choose in file inputs."""
    path = tmp_path / "佐证材料.pdf"
    path.write_bytes(PDF)
    return str(path)


def _project(page: Page, declaration_id: str) -> None:
    page.goto(f"/projects/{declaration_id}")
    page.wait_for_selector("#evaluation-actions")


def _fill_indicator(page: Page, code: str, *, label: str, actual: str, score: str) -> None:
    page.fill(f"#f-label-{code}", label)
    page.fill(f"#f-actual-{code}", actual)
    page.fill(f"#f-score-{code}", score)


def test_self_evaluation_then_the_key_evaluation(
    sign_in: SignIn, accepted: dict[str, Any], clock: DomainClock, pdf: str
) -> None:
    did, accepted_on = accepted["id"], accepted["accepted_on"]
    opens_on = add_months(accepted_on, 12)
    unit = sign_in(f"applicant.{LHASA}")
    _project(unit, did)
    assert unit.inner_text("#self-evaluation-window") == (
        f"绩效自评期：{opens_on} 至 {add_months(accepted_on, 24)}"
    )
    # Accepted today: the window opens 12 months on, so starting now is refused with the article.
    unit.click("#self-evaluation-link")
    check_accessibility(unit)
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    assert "lhasa §22" in unit.inner_text("#form-error")
    assert "OUTSIDE_SELF_EVALUATION_WINDOW" in unit.inner_text("#form-error")
    shot(unit, "90-self-evaluation-outside-window")

    clock.move_to(opens_on)
    unit.click("#save")
    unit.wait_for_url("**/score")
    check_accessibility(unit)
    # lhasa lists no indicators: the unit names its own; targets default to the declaration's goals.
    assert unit.locator("#own-indicators").count() == 1
    assert unit.input_value("#f-target-custom-1") == GOALS
    _fill_indicator(unit, "custom-1", label="覆盖率", actual="全县中小学全覆盖", score="120")
    unit.set_input_files("#f-evidence-custom-1", pdf)
    _fill_indicator(unit, "custom-2", label="使用频度", actual="月活跃用户2.3万人", score="86")
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    assert field_error(unit, "score.custom-1") == "数值超出范围"
    assert unit.input_value("#f-actual-custom-1") == "全县中小学全覆盖"  # what was typed is kept
    assert unit.locator("#uploaded-custom-1").count() == 1  # and the file uploaded stays attached
    shot(unit, "91-self-evaluation-score-out-of-range")

    unit.fill("#f-score-custom-1", "92")
    unit.set_input_files("#f-report", pdf)
    unit.fill("#f-summary", "项目达到预期绩效目标。")
    unit.click("#save")
    unit.wait_for_selector("#saved")
    check_accessibility(unit)
    assert unit.inner_text("#total-score") == "89.00" and unit.inner_text("#grade") == "良"
    assert unit.inner_text("#evaluation-status") == "已完成"
    assert "全县中小学全覆盖" in unit.inner_text("#indicators")
    shot(unit, "92-self-evaluation-result")

    # lhasa §22: finance evaluates the key project on the unit's self-evaluation, same form shape.
    finance = sign_in(f"finance.{LHASA}")
    _project(finance, did)
    finance.click("#key-evaluation-link")
    finance.click("#save")
    finance.wait_for_url("**/score")
    assert "lhasa §22" in finance.inner_text("#evaluation-facts")
    _fill_indicator(finance, "custom-1", label="应用成效", actual="达到预期", score="95")
    _fill_indicator(finance, "custom-2", label="经济性", actual="", score="91")
    finance.click("#save")
    finance.wait_for_selector("#form-error")
    assert field_error(finance, "actual.custom-2") == "请填写指标的实际完成值。"
    finance.fill("#f-actual-custom-2", "未超概算")
    finance.click("#save")
    finance.wait_for_selector("#saved")
    assert finance.inner_text("#total-score") == "93.00" and finance.inner_text("#grade") == "优"
    shot(finance, "93-key-evaluation-result")


def _self_evaluated(stack: Stack, accepted: dict[str, Any], clock: DomainClock) -> None:
    """The project's self-evaluation completed (by REST when the browser test before did not run),
    so that the O&M request can attach its report (lhasa §27)."""
    with user_clients(stack)(f"applicant.{LHASA}", "evaluation") as unit:
        listed = unit.get("/v1/evaluations", params={"declaration_id": accepted["id"]}).json()["items"]
        if any(e["status"] == "completed" for e in listed):
            return
        clock.move_to(add_months(accepted["accepted_on"], 12))
        started = unit.post("/v1/evaluations", json={"declaration_id": accepted["id"], "kind": "self"})
        assert started.status_code == 201, started.text
        done = unit.post(
            f"/v1/evaluations/{started.json()['id']}/complete",
            json={
                "version": started.json()["version"],
                "report_sha256": evidence(unit, started.json()["id"], "自评报告.pdf"),
                "indicators": [{"code": "coverage", "label_zh": "覆盖率", "actual": "全覆盖", "score": "90"}],
            },
        )
        assert done.status_code == 200, done.text


def test_om_funding_refused_inside_the_three_years_with_its_article_then_granted(
    sign_in: SignIn, stack: Stack, accepted: dict[str, Any], clock: DomainClock
) -> None:
    did, accepted_on = accepted["id"], accepted["accepted_on"]
    _self_evaluated(stack, accepted, clock)
    unit = sign_in(f"applicant.{LHASA}")

    def file(amount: str) -> None:
        _project(unit, did)
        unit.click("#om-request-link")
        check_accessibility(unit)
        unit.fill("#f-budget_year", str(accepted_on.year + 4))
        unit.fill("#f-amount", amount)
        unit.fill("#f-free_maintenance_ends_on", date(accepted_on.year + 5, 12, 31).isoformat())
        for box in ("data_shared", "in_resource_catalog", "security_compliant", "crypto_compliant"):
            unit.check(f"#f-{box}")
        unit.click("#save")

    clock.move_to(add_months(accepted_on, 12))
    file("0")
    unit.wait_for_selector("#form-error")
    assert field_error(unit, "amount") == "数值超出范围"
    assert unit.input_value("#f-budget_year") == str(accepted_on.year + 4)
    shot(unit, "94-om-request-amount-refused")

    unit.fill("#f-amount", "60000.00")
    unit.click("#save")
    unit.wait_for_selector("#saved")
    check_accessibility(unit)
    assert unit.inner_text("#om-outcome") == "不予安排"
    refusals = unit.locator("#refusals .refusal")
    assert [refusals.nth(i).get_attribute("data-code") for i in range(refusals.count())] == [
        "OM_WITHIN_FREE_YEARS"
    ]
    assert "lhasa §20" in refusals.first.inner_text()
    assert add_months(accepted_on, 36).isoformat() in refusals.first.inner_text()
    shot(unit, "95-om-request-refused-lhasa-20")

    # Three years and a day after acceptance, with the evaluation report attached: granted.
    clock.move_to(add_months(accepted_on, 36) + timedelta(days=1))
    file("60000.00")
    unit.wait_for_selector("#saved")
    assert unit.inner_text("#om-outcome") == "同意安排" and unit.locator("#refusals").count() == 0
    _project(unit, did)
    assert unit.locator(".om-request-link").count() == 2
    shot(unit, "96-om-request-granted")


def test_rectification_order_issued_listed_and_resolved(sign_in: SignIn, accepted: dict[str, Any]) -> None:
    did = accepted["id"]
    bureau = sign_in(f"bureau_reviewer.{LHASA}")
    _project(bureau, did)
    bureau.click("#issue-order-link")
    bureau.wait_for_selector("#orders")
    check_accessibility(bureau)
    assert bureau.input_value("#f-declaration_id") == did  # the project preselected
    bureau.select_option("#f-stage", "operation")
    bureau.fill("#f-owner", "建设单位负责人 李四")
    bureau.fill("#f-items", "补齐系统运行日志\n完成等保整改项")
    bureau.fill("#f-grounds", "运行维护督查发现日志缺失")
    yesterday = date.today() - timedelta(days=1)
    bureau.fill("#f-due_on", yesterday.isoformat())
    bureau.click("#save")
    bureau.wait_for_selector("#form-error")
    assert field_error(bureau, "due_on") == "整改期限不能早于今天。"
    assert bureau.input_value("#f-owner") == "建设单位负责人 李四"
    shot(bureau, "97-rectification-due-date-past")

    due = date.today() + timedelta(days=30)
    bureau.fill("#f-due_on", due.isoformat())
    bureau.click("#save")
    bureau.wait_for_selector("#saved")
    row = bureau.locator("#orders .order").first
    assert "补齐系统运行日志；完成等保整改项" in row.inner_text()
    assert row.locator(".order-status").inner_text() == "整改中"
    shot(bureau, "98-rectification-issued")

    # The unit sees its order (units: their own).
    unit = sign_in(f"applicant.{LHASA}")
    unit.click("#nav-rectifications")
    unit.wait_for_selector("#orders")
    assert "补齐系统运行日志" in unit.inner_text("#orders") and unit.locator(".resolve-link").count() == 0

    bureau.click(".resolve-link")
    check_accessibility(bureau)
    bureau.click("#save")
    bureau.wait_for_selector("#form-error")
    assert field_error(bureau, "resolution") == "请填写整改完成情况。"
    bureau.fill("#f-resolution", "日志已补齐，等保整改项已复测通过。")
    bureau.click("#save")
    bureau.wait_for_selector("#saved")
    assert bureau.locator("#orders .order .order-status").first.inner_text().startswith("已整改")
    shot(bureau, "99-rectification-resolved")


def test_discredited_list_add_and_remove(sign_in: SignIn, stack: Stack) -> None:
    code = new_credit_code(3003)
    bureau = sign_in(f"bureau_head.{LHASA}")
    bureau.click("#nav-discredited")
    bureau.wait_for_selector("#entries")
    check_accessibility(bureau)
    bureau.select_option("#f-subject_kind", "third_party")
    bureau.fill("#f-name", "某失信测评有限公司")
    bureau.fill("#f-credit_code", "123456")
    bureau.fill("#f-grounds", "出具虚假测评报告")
    bureau.fill("#f-period_from", date.today().isoformat())
    bureau.click("#save")
    bureau.wait_for_selector("#form-error")
    assert field_error(bureau, "credit_code") == "统一社会信用代码格式或校验位不正确。"
    assert bureau.input_value("#f-name") == "某失信测评有限公司"
    shot(bureau, "100-discredited-credit-code-invalid")

    bureau.fill("#f-credit_code", code)
    bureau.click("#save")
    bureau.wait_for_selector("#saved")
    row = bureau.locator("#entries .entry", has_text=code)
    assert row.locator(".entry-status").inner_text() == "在册" and "lhasa §22" in row.inner_text()
    shot(bureau, "101-discredited-listed")

    # evaluation's list answers for the subject (what procurement's filings and review's draws ask).
    token = get_token(stack.issuer_url, f"bureau_head.{LHASA}")
    checked = httpx.get(
        f"{stack.http_url('evaluation')}/v1/discredited/check",
        params={"credit_code": code},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    assert [e["credit_code"] for e in checked["items"]] == [code]

    row.locator(".remove-link").click()
    check_accessibility(bureau)
    bureau.click("#save")
    bureau.wait_for_selector("#form-error")
    assert field_error(bureau, "reason") == "请填写移出失信名单的理由。"
    bureau.fill("#f-reason", "信用修复完成")
    bureau.click("#save")
    bureau.wait_for_selector("#saved")
    removed = bureau.locator("#entries .entry", has_text=code)
    assert removed.locator(".entry-status").inner_text().startswith("已移出")
    shot(bureau, "102-discredited-removed")


def test_third_party_evaluation_assigned_by_the_bureau_and_scored_by_the_evaluator(
    sign_in: SignIn, accepted: dict[str, Any], clock: DomainClock
) -> None:
    did, accepted_on = accepted["id"], accepted["accepted_on"]
    clock.move_to(add_months(accepted_on, 13))
    bureau = sign_in(f"bureau_head.{LHASA}")
    _project(bureau, did)
    bureau.click("#third_party-evaluation-link")
    check_accessibility(bureau)
    bureau.click("#save")
    bureau.wait_for_selector("#form-error")
    assert field_error(bureau, "evaluator_org") == "请指定承担后评价的第三方机构。"
    shot(bureau, "103-third-party-evaluator-required")
    bureau.fill("#f-evaluator_org", f"evaluator.{LHASA}")
    bureau.click("#save")
    bureau.wait_for_url("**/score")
    # 绩效评价 lists the tenant's evaluations and the accepted projects' self-evaluation windows.
    bureau.click("#nav-evaluations")
    check_accessibility(bureau)
    window = bureau.locator("#self-evaluation-windows .window", has_text=accepted["name"])
    # 13 months after acceptance: inside the window, or done when the self-evaluation test ran.
    assert window.get_attribute("data-state") in ("open", "done") and "lhasa §22" in window.inner_text()
    assert "第三方后评价" in bureau.inner_text("#evaluations")
    shot(bureau, "104-evaluations-list")

    # The evaluator finds the assignment under 绩效评价 (no project page: it is not the unit's).
    evaluator = sign_in(f"evaluator.{LHASA}")
    evaluator.click("#nav-evaluations")
    assert evaluator.locator("#self-evaluation-windows").count() == 0
    assigned = evaluator.locator("#evaluations .evaluation")
    assert assigned.count() == 1 and "第三方后评价" in assigned.inner_text()
    assigned.locator(".evaluation-link").click()
    evaluator.wait_for_url("**/score")
    check_accessibility(evaluator)
    assert evaluator.inner_text("#evaluation-kind") == "第三方后评价"
    _fill_indicator(evaluator, "custom-1", label="建设目标实现程度", actual="全部实现", score="88")
    evaluator.click("#save")
    evaluator.wait_for_selector("#saved")
    assert evaluator.inner_text("#total-score") == "88.00" and evaluator.inner_text("#grade") == "良"
    shot(evaluator, "105-third-party-evaluation-result")
