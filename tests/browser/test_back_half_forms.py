"""The back half's procurement, construction and acceptance forms in a real browser: 采购备案,
建设进度报告, 合同付款登记, 验收申请, 验收专家抽取, 验收结论, 整改完成, 延期申请, 验收结果备案 and
暂停/终止, each opened from the project page, refused once with the service's Chinese message beside
the field, then saved and seen on the project page (延期申请 only refused: see its test).

The platform is every back-end service and the portal with the city under lhasa's measures
(tests.e2e.lifecycle): lhasa sets no minimum trial run, so the acceptance can be applied for on
the day the trial run starts. One key project is approved through the services' REST APIs and its
supervision contract filed there (lhasa §13: the supervisor first); everything after that is done
in the browser. The tests run in file order on that one project. More projects: one whose
procurement the trading center's OCDS releases began (the prefill), one of county-a, which stays
under wuxing-2023, filed late under a moved domain clock (the overdue mark, §15) after §17 refused its
supervisor as the contractor, and two of county-b under qiaokou-2022 (the result filing, §28(3);
suspension and termination, §27). Screenshots 80 to 89b, and 89c-89d: the final acceptance's panel
drawn through 验收专家抽取 (review's pool too small refused beside 抽取人数, then drawn); 89e-89f:
its rectification item reported done (整改完成); 89g-89h: county-b's self-accepted result filed
late through 验收结果备案; 89i: 延期申请 refused under lhasa (no extension); 89j-89l: a county-b
project suspended and terminated by its bureau on §27's grounds (暂停/终止).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from devstack.stack import Stack
from tests.e2e.back_half import ok, package_for, push, signed
from tests.e2e.helpers import PDF
from tests.e2e.lifecycle import (
    LHASA,
    DomainClock,
    acceptance_project,
    approve,
    file_contract,
    findings,
    new_credit_code,
    signed_procurement,
    today,
    user_clients,
)
from tests.e2e.lifecycle import SERVICES as BACK_END
from tests.e2e.platforms import running_policy_stack

from .conftest import SignIn, shot
from .helpers import check_accessibility, field_error, until

SPECIALTY = "验收表单（浏览器）"
CONTRACTOR = "示范智慧政务科技有限公司"
CONTRACTOR_CODE = new_credit_code(4102)
APPROVED = "900000.00"
WUXING = "county-a"  # wuxing-2023 as shipped
QIAOKOU = "county-b"  # qiaokou-2022 as shipped


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Every back-end service and the portal, the city under lhasa (the browser conftest's stack
    has intake and review only)."""
    with running_policy_stack(
        "govproj-browser-construction-", {LHASA: "lhasa"}, services=BACK_END, with_portal=True
    ) as platform:
        yield platform


@pytest.fixture(scope="module")
def approved(stack: Stack) -> dict[str, Any]:
    """The city's key project approved for 900000.00, its supervision contract filed (REST), the
    acceptance panel's experts in review's library."""
    as_user = user_clients(stack)
    with as_user(f"bureau_reviewer.{LHASA}", "review") as library:
        for name, org in (("郑教授", "示范大学"), ("王研究员", "省信息中心")):
            created = library.post("/v1/experts", json={"name": name, "org": org, "specialties": [SPECIALTY]})
            assert created.status_code == 201, created.text
    declaration = approve(as_user, LHASA, "不动产登记一网通办平台", APPROVED, level="key")
    file_contract(
        as_user,
        LHASA,
        declaration["id"],
        role="supervision",
        supplier="示范监理咨询有限公司",
        code=new_credit_code(4101),
        amount="30000.00",
    )
    return declaration


@pytest.fixture
def pdf(tmp_path: Path) -> str:
    """A small real PDF on disk, to choose in file inputs."""
    path = tmp_path / "合同文本.pdf"
    path.write_bytes(PDF)
    return str(path)


def _project(page: Page, declaration_id: str) -> None:
    page.goto(f"/projects/{declaration_id}")
    page.wait_for_selector("#back-half")


def _saved(page: Page) -> None:
    """The form was saved: the project page says so (else the refusal shown is the failure)."""
    page.wait_for_selector("#saved, #form-error")
    assert page.locator("#saved").count() == 1, page.inner_text("#main")


def _in_a_year(day: str) -> str:
    return f"{int(day[:4]) + 1}{day[4:]}"


def test_contract_filing(sign_in: SignIn, approved: dict[str, Any], pdf: str) -> None:
    did, day = approved["id"], today()
    unit = sign_in(f"applicant.{LHASA}")
    _project(unit, did)
    # The supervision contract is filed: only the construction and testing filings are offered.
    assert unit.locator("#filing-link-supervision").count() == 0
    assert "示范监理咨询有限公司" in unit.inner_text("#procurement-supervision")
    unit.click("#filing-link-construction")
    check_accessibility(unit)
    unit.select_option("#f-method", "open_tender")
    unit.fill("#f-title", "不动产登记一网通办平台建设")
    unit.fill("#f-contract_no", "HT-2026-018")
    unit.fill("#f-supplier_name", CONTRACTOR)
    unit.fill("#f-supplier_credit_code", CONTRACTOR_CODE[:-1] + ("0" if CONTRACTOR_CODE[-1] != "0" else "1"))
    unit.fill("#f-amount", "950000.00")
    unit.fill("#f-signed_on", day)
    unit.fill("#f-period_start", day)
    unit.fill("#f-period_end", _in_a_year(day))
    unit.fill("#f-warranty_months", "36")
    unit.fill("#f-ip_clause", "定制开发软件的著作权归建设单位所有。")
    unit.fill("#f-termination_clause", "一方严重违约的，另一方可书面通知解除合同。")
    unit.fill("#f-schedule", f"系统上线 {_in_a_year(day)}")
    for kind in ("tender_documents", "award_notice", "contract"):
        unit.set_input_files(f"#f-doc-{kind}", pdf)
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    # A wrong check character: the credit code's own message beside the field, the rest kept.
    assert "校验" in field_error(unit, "supplier_credit_code")
    assert unit.input_value("#f-supplier_name") == CONTRACTOR
    # The procurement is begun and its files are kept (no need to choose them again).
    assert unit.locator(".uploaded-doc").count() == 3
    assert unit.locator("#f-method").count() == 0
    shot(unit, "80-filing-credit-code-refused")

    unit.fill("#f-supplier_credit_code", CONTRACTOR_CODE)
    unit.click("#save")
    unit.wait_for_selector("#filing-checks")
    # Above the approval: refused with the article beside the amount, every check listed.
    assert "不得超过批复金额" in field_error(unit, "amount")
    assert "lhasa" in field_error(unit, "amount")
    assert "FILING_REFUSED" in unit.inner_text("#form-error")
    assert unit.locator('#filing-checks tr[data-code="AMOUNT_WITHIN_APPROVAL"].bad').count() == 1
    shot(unit, "81-filing-amount-above-approval")

    unit.fill("#f-amount", "850000.00")
    unit.click("#save")
    _saved(unit)
    check_accessibility(unit)
    filed = unit.inner_text("#filing-construction")
    assert CONTRACTOR in filed and CONTRACTOR_CODE in filed and "850000.00" in filed
    assert "lhasa" in unit.inner_text("#procurement-construction .cite")
    assert unit.locator('#procurement-construction .filing-check[data-code="AMOUNT_WITHIN_APPROVAL"]').count()
    assert unit.locator("#filing-overdue-construction").count() == 0  # filed the day it was signed
    assert unit.inner_text("#procurement-status") == "建设中"
    shot(unit, "82-project-contract-filed")


def test_progress_and_payment(sign_in: SignIn, approved: dict[str, Any]) -> None:
    did = approved["id"]
    unit = sign_in(f"applicant.{LHASA}")
    _project(unit, did)
    unit.click("#progress-link")
    check_accessibility(unit)
    unit.fill("#f-percent", "120")
    unit.fill("#f-note", "完成需求调研和总体设计。")
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    assert field_error(unit, "percent") == "进度应在0到100之间"
    assert unit.input_value("#f-note") == "完成需求调研和总体设计。"
    shot(unit, "83-progress-out-of-range")
    unit.fill("#f-percent", "30")
    unit.click("#save")
    _saved(unit)
    assert "建设进度 30.00%" in unit.inner_text("#procurement-timeline .progress")

    unit.click("#payment-link")
    check_accessibility(unit)
    assert "验收前" in unit.inner_text(".intro") or "竣工验收前" in unit.inner_text(".intro")
    unit.select_option("#f-filing_id", label=f"承建合同：{CONTRACTOR}（850000.00 元）")
    unit.select_option("#f-kind", "final")
    unit.fill("#f-amount", "100000.00")
    unit.fill("#f-paid_on", today())
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    # The final payment waits for the acceptance: refused beside the kind (lhasa names no article
    # for it; under a pack that does, the article follows the message — the unit tests').
    assert "不得支付尾款" in field_error(unit, "kind")
    assert "FINAL_PAYMENT_BEFORE_ACCEPTANCE" in unit.inner_text("#form-error")
    assert unit.input_value("#f-amount") == "100000.00"
    shot(unit, "84-final-payment-before-acceptance")
    unit.select_option("#f-kind", "advance")
    unit.click("#save")
    _saved(unit)
    assert "100000.00" in unit.inner_text("#procurement-timeline .payment")


def _fill_evidence(page: Page, pdf: str) -> None:
    """Every assessment the pack still asks for: passed, issued today, its report chosen."""
    for select in page.locator('select[id$="-conclusion"]').all():
        kind = (select.get_attribute("id") or "").removeprefix("f-").removesuffix("-conclusion")
        select.select_option("pass")
        if page.locator(f"#f-{kind}-level").count():
            page.fill(f"#f-{kind}-level", "3")
        page.fill(f"#f-{kind}-issued_by", "省测评中心")
        page.fill(f"#f-{kind}-issued_on", today())
        page.set_input_files(f"#f-{kind}-file", pdf)


def _decide_all(page: Page, verdict: str) -> list[str]:
    codes = []
    for select in page.locator('select[id^="f-finding-"]').all():
        select.select_option(verdict)
        codes.append((select.get_attribute("id") or "").removeprefix("f-finding-"))
    return codes


def test_acceptance_application_and_result(
    stack: Stack, sign_in: SignIn, approved: dict[str, Any], pdf: str
) -> None:
    did = approved["id"]
    unit = sign_in(f"applicant.{LHASA}")

    def offered() -> bool:
        _project(unit, did)  # acceptance learns the contract from contract.filed
        return unit.locator("#acceptance-link").count() == 1

    until(offered, what="acceptance offers the application")
    unit.click("#acceptance-link")
    check_accessibility(unit)
    _fill_evidence(unit, pdf)
    tomorrow = (date.fromisoformat(today()) + timedelta(days=1)).isoformat()
    unit.fill("#f-trial_started_on", tomorrow)
    unit.select_option("#f-stage", "initial")
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    assert field_error(unit, "trial_started_on") == "试运行开始日期不能晚于今天。"
    assert unit.input_value("#f-trial_started_on") == tomorrow
    shot(unit, "85-acceptance-trial-in-future")
    unit.fill("#f-trial_started_on", today())
    unit.click("#save")
    _saved(unit)
    assert "已申请" in unit.inner_text("#acceptance-initial-1")
    assert unit.locator("#trial-run").count() == 1

    # The initial acceptance's result, recorded by the unit head (the unit organizes it).
    head = sign_in(f"unit_head.{LHASA}")
    _project(head, did)
    head.click("#decide-link-initial")
    check_accessibility(head)
    codes = _decide_all(head, "pass")
    assert codes, "the pack's checklist"
    head.select_option(f"#f-finding-{codes[0]}", "fail")
    head.fill("#f-opinion", "部分功能未完成。")
    head.click("#save")
    head.wait_for_selector("#form-error")
    # Failed without rectification items: acceptance's message beside the first row.
    assert "整改事项" in field_error(head, "rect.1.description")
    assert head.input_value("#f-opinion") == "部分功能未完成。"
    shot(head, "86-acceptance-fail-without-rectification")
    head.select_option(f"#f-finding-{codes[0]}", "pass")
    head.fill("#f-opinion", "初验合格。")
    head.click("#save")
    _saved(head)
    assert "通过" in head.inner_text("#acceptance-initial-1 .acceptance-result")

    # The final acceptance: applied for by the unit, its panel drawn (验收专家抽取), decided by the bureau.
    _project(unit, did)
    unit.click("#acceptance-link")
    assert unit.input_value("#f-stage") == "final"
    _fill_evidence(unit, pdf)
    unit.click("#save")
    _saved(unit)
    assert unit.locator("#panel-link-final").count() == 0  # the unit does not organize it
    reviewer = sign_in(f"bureau_reviewer.{LHASA}")
    _project(reviewer, did)
    reviewer.click("#panel-link-final")
    check_accessibility(reviewer)
    reviewer.fill("#f-size", "3")
    reviewer.fill("#f-specialty", SPECIALTY)
    reviewer.fill("#f-avoid_orgs", "示范软件评测中心\n")
    reviewer.click("#save")
    reviewer.wait_for_selector("#form-error")
    # review's library holds two experts of the specialty: its refusal beside 抽取人数.
    assert "不足抽取3人" in field_error(reviewer, "size")
    assert reviewer.input_value("#f-specialty") == SPECIALTY
    shot(reviewer, "89c-acceptance-panel-pool-too-small")
    reviewer.fill("#f-size", "2")
    reviewer.click("#save")
    _saved(reviewer)
    panel = reviewer.inner_text("#panel-final-1")
    assert "郑教授（示范大学）" in panel and "王研究员（省信息中心）" in panel and "随机种子" in panel
    assert reviewer.locator("#panel-link-final").count() == 0
    shot(reviewer, "89d-acceptance-panel-drawn")
    boss = sign_in(f"bureau_head.{LHASA}")
    _project(boss, did)
    boss.click("#decide-link-final")
    check_accessibility(boss)
    codes = _decide_all(boss, "pass")
    boss.select_option(f"#f-finding-{codes[-1]}", "")
    boss.fill("#f-opinion", "系统运行稳定，文档不全。")
    boss.click("#save")
    boss.wait_for_selector("#form-error")
    assert field_error(boss, f"finding.{codes[-1]}") == "请对该项给出结论"
    shot(boss, "87-acceptance-item-unanswered")
    boss.select_option(f"#f-finding-{codes[-1]}", "fail")
    boss.fill(f"#f-note-{codes[-1]}", "运维手册缺失")
    due = (date.fromisoformat(today()) + timedelta(days=20)).isoformat()
    boss.fill("#f-rect-1-description", "补充运维手册和用户手册")
    boss.fill("#f-rect-1-owner", "示范智慧政务科技有限公司 项目经理")
    boss.fill("#f-rect-1-due_on", due)
    boss.click("#save")
    _saved(boss)
    final_row = boss.inner_text("#acceptance-final-1")
    assert "未通过" in final_row and "补充运维手册和用户手册" in final_row and due in final_row
    assert "lhasa" in boss.inner_text("#acceptance-final-1 .cite")
    assert "郑教授" in final_row
    # The back half as a whole: the filed contract, the results and their articles.
    back = boss.inner_text("#back-half")
    assert CONTRACTOR in back and "初步验收（第1轮）：通过" in back
    assert boss.inner_text("#acceptance-status") == "验收未通过，整改中"
    shot(boss, "88-project-back-half")


def test_rectification_completed(sign_in: SignIn, approved: dict[str, Any]) -> None:
    """The failed final acceptance's item reported done by the unit (整改完成): an empty account
    refused beside its field, then done today and the project no longer rectifying."""
    did = approved["id"]
    unit = sign_in(f"applicant.{LHASA}")
    _project(unit, did)
    unit.click("#rectification-link-final-1-1")
    check_accessibility(unit)
    assert "补充运维手册和用户手册" in unit.inner_text(".intro")
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    assert field_error(unit, "note") == "请说明整改完成情况"
    shot(unit, "89e-rectification-without-account")
    unit.fill("#f-note", "已补充运维手册和用户手册，经监理单位确认。")
    unit.click("#save")
    _saved(unit)
    item = unit.inner_text("#rectification-final-1-1")
    assert f"{today()} 完成" in item and "已补充运维手册和用户手册" in item
    assert unit.locator("#rectification-link-final-1-1").count() == 0
    assert unit.inner_text("#acceptance-status") != "验收未通过，整改中"
    shot(unit, "89f-rectification-done")


def test_extension_refused_where_the_pack_provides_none(sign_in: SignIn, approved: dict[str, Any]) -> None:
    """延期申请 under lhasa: its §17 sets the final acceptance's deadline but no extension, so
    acceptance refuses one and the form says so beside the date with the deadline's article."""
    did = approved["id"]
    unit = sign_in(f"applicant.{LHASA}")
    _project(unit, did)
    unit.click("#extension-link")
    check_accessibility(unit)
    assert "lhasa §17" in unit.inner_text(".intro")
    until_day = (date.fromisoformat(today()) + timedelta(days=400)).isoformat()
    unit.fill("#f-reason", "用户手册修订后需重新组织培训。")
    unit.fill("#f-requested_until", until_day)
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    refused = field_error(unit, "requested_until")
    assert "本地区管理办法未规定延期验收申请" in refused and "lhasa §17" in refused
    assert unit.input_value("#f-reason") == "用户手册修订后需重新组织培训。"
    assert unit.input_value("#f-requested_until") == until_day
    shot(unit, "89i-extension-not-provided")
    _project(unit, did)
    assert unit.locator("#extension").count() == 0  # nothing was requested


def test_a_filing_prefilled_from_the_trading_center(
    stack: Stack, sign_in: SignIn, approved: dict[str, Any], pdf: str
) -> None:
    """A second project whose procurement the trading center's OCDS releases began: the form shows
    what they filled in and takes a left-out contract number from them."""
    as_user = user_clients(stack)
    declaration = approve(as_user, LHASA, "公共资源交易预填测试平台", APPROVED, level="key")
    did = declaration["id"]
    file_contract(
        as_user,
        LHASA,
        did,
        role="supervision",
        supplier="示范监理咨询有限公司",
        code=new_credit_code(4101),
        amount="30000.00",
    )
    day = date.fromisoformat(today())
    body = package_for(
        declaration["project_code"], signed_on=day, period_end=day + timedelta(days=365), suffix=did[:8]
    )
    pushed = push(stack, LHASA, body, signed(body))
    assert pushed.status_code in (200, 202), pushed.text
    with as_user(f"applicant.{LHASA}", "procurement") as procurement:

        def begun() -> bool:
            got = procurement.get(f"/v1/projects/{did}").json()
            return any(p["role"] == "construction" and p.get("ocid") for p in got.get("procurements", []))

        until(begun, what="the trading center's releases begin the procurement")
    unit = sign_in(f"applicant.{LHASA}")
    _project(unit, did)
    unit.click("#filing-link-construction")
    check_accessibility(unit)
    prefill = unit.inner_text("#ocds-prefill")
    assert "示范市智城信息技术有限公司" in prefill and "YXHT-2025-0042" in prefill and "OCID" in prefill
    assert unit.input_value("#f-supplier_name") == "示范市智城信息技术有限公司"
    assert unit.locator("#f-method").count() == 0  # begun by the releases, with their method
    unit.fill("#f-contract_no", "")  # left out: the release's contract number is filed
    unit.fill("#f-warranty_months", "36")
    unit.fill("#f-termination_clause", "一方严重违约的，另一方可书面通知解除合同。")
    for kind in ("tender_documents", "award_notice", "contract"):
        unit.set_input_files(f"#f-doc-{kind}", pdf)
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    assert field_error(unit, "ip_clause") == "请填写合同中的知识产权归属条款"
    assert unit.input_value("#f-termination_clause") == "一方严重违约的，另一方可书面通知解除合同。"
    shot(unit, "89-filing-ocds-prefill")
    unit.fill("#f-ip_clause", "定制开发软件的著作权归建设单位所有。")
    unit.click("#save")
    _saved(unit)
    filed = unit.inner_text("#procurement-construction")
    assert "YXHT-2025-0042" in filed and "750000.00" in filed and "交易中心预填" in filed


@pytest.fixture
def clock(stack: Stack) -> Iterator[DomainClock]:
    """The platform's domain clock; the system clock again after the test."""
    domain = DomainClock(stack)
    yield domain
    domain.reset()


def test_a_late_filing_under_wuxing_is_marked_overdue_and_17_refuses_the_supervisor(
    stack: Stack, sign_in: SignIn, clock: DomainClock, pdf: str
) -> None:
    """County-a under wuxing-2023: filed more than §15's 5 working days after signing, the filing is
    accepted and marked overdue; the project's supervisor as its contractor is refused (§17)."""
    as_user = user_clients(stack)
    declaration = approve(as_user, WUXING, "县级社会救助一体化平台", APPROVED, level="key")
    did, signed_on = declaration["id"], today()
    supervisor = new_credit_code(4201)
    file_contract(
        as_user,
        WUXING,
        did,
        role="supervision",
        supplier="示范监理咨询有限公司",
        code=supervisor,
        amount="30000.00",
    )
    late = date.fromisoformat(signed_on) + timedelta(days=11)  # 7 working days on, past §15's 5
    clock.move_to(late)
    unit = sign_in(f"applicant.{WUXING}")
    _project(unit, did)
    unit.click("#filing-link-construction")
    unit.select_option("#f-method", "competitive_consultation")
    unit.fill("#f-contract_no", "HT-WX-2026-07")
    unit.fill("#f-supplier_name", "示范监理咨询有限公司")
    unit.fill("#f-supplier_credit_code", supervisor)
    unit.fill("#f-amount", "800000.00")
    unit.fill("#f-signed_on", signed_on)
    unit.fill("#f-period_start", signed_on)
    unit.fill("#f-period_end", _in_a_year(signed_on))
    unit.fill("#f-warranty_months", "36")
    unit.fill("#f-ip_clause", "定制开发软件的著作权归建设单位所有。")
    unit.fill("#f-termination_clause", "一方严重违约的，另一方可书面通知解除合同。")
    for kind in ("tender_documents", "award_notice", "contract"):
        unit.set_input_files(f"#f-doc-{kind}", pdf)
    unit.click("#save")
    unit.wait_for_selector("#filing-checks")
    assert "wuxing-2023" in field_error(unit, "supplier_credit_code")
    excluded = unit.inner_text('#filing-checks tr[data-code="DESIGNER_SUPERVISOR_TESTER_EXCLUDED"]')
    assert "wuxing-2023 §17" in excluded and "不符合" in excluded
    # The deadline is a mark, not a refusal: listed, not beside a field.
    assert "wuxing-2023 §15" in unit.inner_text('#filing-checks tr[data-code="FILED_WITHIN_DEADLINE"]')
    shot(unit, "89a-filing-wuxing-17-supervisor-refused")
    unit.fill("#f-supplier_name", CONTRACTOR)
    unit.fill("#f-supplier_credit_code", CONTRACTOR_CODE)
    unit.click("#save")
    _saved(unit)
    overdue = unit.inner_text("#filing-overdue-construction")
    assert "逾期备案" in overdue
    assert "wuxing-2023 §15" in unit.inner_text("#procurement-construction")
    shot(unit, "89b-project-filing-overdue-wuxing")


def test_a_self_accepted_result_filed_late_under_qiaokou(
    stack: Stack, sign_in: SignIn, clock: DomainClock
) -> None:
    """County-b under qiaokou-2022: a project below 50万 is accepted by its own unit (§28(3)) and
    its result filed with the bureau through 验收结果备案 after the pack's 3 working days: the due
    date with its article on the form, the unconfirmed filing refused, then filed and marked late."""
    as_user = user_clients(stack)
    declaration = approve(
        as_user,
        QIAOKOU,
        "乙县社区服务小程序",
        "300000.00",
        level="general",
        reviewer="bureau_reviewer.city",  # county-b's technical review is the city's
        concluder="tech_center.city",  # qiaokou-2022 §17(1): the tech center below 50万
    )
    did, signed_on = declaration["id"], today()
    file_contract(
        as_user,
        QIAOKOU,
        did,
        role="construction",
        supplier="示范乙县软件有限公司",
        code=new_credit_code(4301),
        amount="280000.00",
    )
    project = acceptance_project(as_user, QIAOKOU, did, 1)
    # The trial run from the signing, a month and more ago in domain time (§28(1): one month).
    decided_on = date.fromisoformat(signed_on) + timedelta(days=40)
    clock.move_to(decided_on)
    pid = project["id"]
    with (
        as_user(f"applicant.{QIAOKOU}", "acceptance") as unit_api,
        as_user(f"unit_head.{QIAOKOU}", "acceptance") as head_api,
    ):
        started = ok(
            unit_api.post(
                f"/v1/projects/{pid}/trial", json={"started_on": signed_on, "version": project["version"]}
            )
        )
        initial = ok(
            unit_api.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "initial", "version": started["version"]}
            ),
            201,
        )
        ok(
            head_api.post(
                f"/v1/acceptances/{initial['id']}/decision",
                json={"version": initial["version"], "findings": findings(initial), "opinion": "初验合格"},
            )
        )
        for kind in ("security_risk", "crypto"):
            ok(
                unit_api.post(
                    f"/v1/projects/{pid}/evidence",
                    data={
                        "kind": kind,
                        "conclusion": "pass",
                        "issued_by": "某测评中心",
                        "issued_on": signed_on,
                    },
                    files={"file": (f"{kind}.pdf", PDF, "application/pdf")},
                ),
                201,
            )
        current = ok(unit_api.get(f"/v1/projects/{pid}"))["project"]
        final = ok(
            unit_api.post(
                f"/v1/projects/{pid}/acceptances", json={"stage": "final", "version": current["version"]}
            ),
            201,
        )
        assert final["organizer"] == "unit"
        passed = ok(
            head_api.post(
                f"/v1/acceptances/{final['id']}/decision",
                json={"version": final["version"], "findings": findings(final), "opinion": "自行验收合格"},
            )
        )
    due = passed["filing_due_on"]
    assert due
    clock.move_to(date.fromisoformat(due) + timedelta(days=7))  # past §28(3)'s 3 working days
    unit = sign_in(f"applicant.{QIAOKOU}")
    _project(unit, did)
    assert f"结果备案期限 {due}，尚未备案" in unit.inner_text("#result-filing-final-1")
    unit.click("#result-filing-link-final-1")
    check_accessibility(unit)
    intro = unit.inner_text(".intro")
    assert due in intro and "qiaokou-2022 §28(3)" in intro
    unit.click("#save")
    unit.wait_for_selector("#form-error")
    assert field_error(unit, "confirm") == "请确认验收意见和验收报告已核对无误后再报备"
    shot(unit, "89g-result-filing-unconfirmed")
    unit.check("#f-confirm")
    unit.click("#save")
    _saved(unit)
    filed = unit.inner_text("#result-filing-final-1")
    assert f"结果备案期限 {due}" in filed and "已备案" in filed
    assert unit.inner_text("#result-filing-late-final-1") == "逾期备案"
    assert "qiaokou-2022 §28(3)" in unit.inner_text("#acceptance-final-1")
    assert unit.locator("#result-filing-link-final-1").count() == 0
    shot(unit, "89h-result-filed-late")


def test_suspension_and_termination_on_the_grounds_of_qiaokou_27(stack: Stack, sign_in: SignIn) -> None:
    """暂停/终止 of a county-b project in procurement by its bureau head: the grounds are qiaokou-2022
    §27(1)-(5) as procurement gives them, a suspension without its reason refused beside the field,
    then suspended on §27(4) and terminated on §27(3), each on the project page with its article."""
    as_user = user_clients(stack)
    declaration = approve(
        as_user,
        QIAOKOU,
        "乙县智慧停车管理平台",
        "300000.00",
        level="general",
        reviewer="bureau_reviewer.city",
        concluder="tech_center.city",
    )
    did = declaration["id"]
    with as_user(f"applicant.{QIAOKOU}", "procurement") as unit_api:
        signed_procurement(unit_api, did, role="construction")
    unit = sign_in(f"applicant.{QIAOKOU}")
    _project(unit, did)
    assert unit.locator("#intervention-link").count() == 0  # the bureau's (procurement's BUREAU)
    head = sign_in(f"bureau_head.{QIAOKOU}")
    _project(head, did)
    head.click("#intervention-link")
    check_accessibility(head)
    grounds = head.locator("#f-ground option").all_inner_texts()[1:]
    assert len(grounds) == 5 and all("qiaokou-2022 §27(" in g for g in grounds), grounds
    head.select_option("#f-kind", "suspension")
    head.select_option("#f-ground", "major_security_risk")
    head.click("#save")
    head.wait_for_selector("#form-error")
    assert field_error(head, "reason") == "请说明理由"
    assert head.input_value("#f-ground") == "major_security_risk"
    shot(head, "89j-suspension-without-reason")
    head.fill("#f-reason", "等保测评发现高危漏洞，限期整改未完成。")
    head.click("#save")
    _saved(head)
    suspended = head.inner_text("#intervention-1")
    assert "暂停实施" in suspended and "存在重大安全隐患，整改不到位" in suspended
    assert "qiaokou-2022 §27(4)" in suspended and "等保测评发现高危漏洞" in suspended
    assert "暂停" in head.inner_text("#procurement-status")
    shot(head, "89k-project-suspended")
    head.click("#intervention-link")
    assert head.locator('#f-kind option[value="resumption"]').count() == 1
    head.select_option("#f-kind", "termination")
    head.select_option("#f-ground", "poor_execution")
    head.fill("#f-reason", "承建单位无法继续履约，经研究终止项目。")
    head.click("#save")
    _saved(head)
    terminated = head.inner_text("#intervention-2")
    assert "终止项目" in terminated and "qiaokou-2022 §27(3)" in terminated
    assert head.locator("#intervention-link").count() == 0
    shot(head, "89l-project-terminated")
