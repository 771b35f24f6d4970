"""The front half of a project's life in the portal, as its users do it in a browser.

county-a (wuxing-2023): the bureau opens the call; the applicant declares with uploads; the unit
head signs off; the bureau's reviewer does the formal review; finance, cyberspace, crypto and
police give their opinions (wuxing-2023 §9); the head puts it into the plan, the plan is compiled
and exported; the applicant applies for approval; the reviewer concludes; the head approves; the
applicant sees the approval with its document number and the article it rests on. An applicant
of county-b sees none of it. Every form is first sent with a bad input, whose Chinese message
must appear next to the field, then with a good one that saves.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SHOTS, SignIn, shot
from tests.browser.helpers import check_accessibility, field_error, reach_by_keyboard, until

pytestmark = pytest.mark.e2e

PROJECT = "县域智慧教育云平台"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
DEPARTMENTS = ("finance", "cyberspace", "crypto", "police")


def save(page: Page) -> None:
    """Submit the page's form (keyboard-reachable first, then clicked)."""
    reach_by_keyboard(page, "#save")
    page.click("#save")
    page.wait_for_load_state()


def open_project(page: Page, project_id: str) -> None:
    page.goto(f"/projects/{project_id}")
    check_accessibility(page)


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("uploads")
    (folder / "申报材料.pdf").write_bytes(PDF)
    (folder / "程序.exe").write_bytes(b"MZ\x90\x00 not a pdf")
    return folder


def test_county_a_from_the_call_to_the_approval_in_the_browser(sign_in: SignIn, upload_dir: Path) -> None:
    # --- the bureau opens next year's call ------------------------------------------------------
    bureau = sign_in("bureau_reviewer.county-a")
    check_accessibility(bureau)
    shot(bureau, "01-todo-bureau-empty")
    bureau.goto("/calls")
    check_accessibility(bureau)
    bureau.fill("#f-target_year", "")
    save(bureau)
    assert field_error(bureau, "target_year") == "请填写数字"
    bureau.fill("#f-target_year", str(date.today().year + 2))
    bureau.fill("#f-deadline", "")
    save(bureau)
    # wuxing-2023 §7: the bureau announces the deadline, so the call needs one.
    assert "请填写申报截止日期" in field_error(bureau, "deadline")
    shot(bureau, "02-call-form-error")
    bureau.fill("#f-deadline", (date.today() + timedelta(days=60)).isoformat())
    save(bureau)
    expect(bureau.locator("#saved")).to_be_visible()
    expect(bureau.locator("#calls")).to_contain_text("wuxing-2023 §7")
    shot(bureau, "03-calls")

    # --- the applicant declares ------------------------------------------------------------------
    applicant = sign_in("applicant.county-a")
    applicant.goto("/projects/new")
    check_accessibility(applicant)
    applicant.fill("#f-amount", "1280000.00")
    applicant.fill("#f-breakdown-software", "1000000.00")  # does not add up to the amount
    save(applicant)
    assert "投资估算" in applicant.inner_text("#form-error") or applicant.locator(".field-error").count()
    shot(applicant, "04-declaration-form-error")
    applicant.fill("#f-name", PROJECT)
    applicant.fill("#f-breakdown-software", "800000.00")
    applicant.fill("#f-breakdown-hardware", "300000.00")
    applicant.fill("#f-breakdown-services", "60000.00")
    applicant.fill("#f-breakdown-security", "80000.00")
    applicant.fill("#f-breakdown-supervision", "40000.00")
    applicant.fill("#f-funding_source", "县级财政资金")
    applicant.fill("#f-necessity", "各学校系统分散建设，数据不能共享。")
    applicant.fill("#f-goals", "建成统一的教育业务平台。")
    applicant.fill("#f-content", "建设学籍、教务、家校互动子系统，部署在政务云。")
    applicant.fill("#f-performance_goals", "覆盖全县中小学，家校互动月活跃用户不少于2万人。")
    applicant.fill("#f-contact", "王老师 0451-88888888")
    applicant.check("#f-cloud_deployment")
    save(applicant)
    expect(applicant.locator("#declaration-status")).to_have_text("草稿")
    project_id = applicant.url.split("/projects/")[1].split("?")[0]
    check_accessibility(applicant)
    applicant.click("#edit-link")
    check_accessibility(applicant)
    applicant.fill("#f-amount", "1280000.005")
    save(applicant)
    assert field_error(applicant, "amount") == "金额最多两位小数"
    applicant.fill("#f-amount", "1280000.00")
    applicant.fill("#f-contact", "王老师 0451-88886666")
    save(applicant)
    expect(applicant.locator("#saved")).to_be_visible()

    # Uploads: a renamed .exe is refused next to the file input, then every required PDF goes in.
    applicant.click("#upload-link")
    check_accessibility(applicant)
    applicant.set_input_files("#f-file", str(upload_dir / "程序.exe"))
    save(applicant)
    assert field_error(applicant, "file") != "请选择要上传的文件"  # intake's refusal, not the portal's
    shot(applicant, "05-upload-error")
    open_project(applicant, project_id)
    while applicant.locator(".missing-doc").count():
        doc_type = applicant.locator(".missing-doc").first.get_attribute("data-doc-type")
        applicant.click("#upload-link")
        applicant.select_option("#f-doc_type", doc_type)
        applicant.set_input_files("#f-file", str(upload_dir / "申报材料.pdf"))
        save(applicant)
        expect(applicant.locator("#saved")).to_be_visible()
    shot(applicant, "06-project-draft-with-materials")
    reach_by_keyboard(applicant, "#submit-signoff")
    applicant.click("#submit-signoff")
    expect(applicant.locator("#declaration-status")).to_have_text("待单位审核")

    # --- the unit head signs off (a send-back without a reason is refused first) ----------------
    head = sign_in("unit_head.county-a")
    open_project(head, project_id)
    head.click("#signoff-link")
    check_accessibility(head)
    head.select_option("#f-decision", "send_back")
    save(head)
    assert field_error(head, "reason") == "请填写退回原因"
    shot(head, "07-signoff-error")
    head.select_option("#f-decision", "sign_off")
    save(head)
    expect(head.locator("#declaration-status")).to_have_text("已报送")
    code = head.inner_text("#project-code")
    assert code and code[0].isdigit()

    # --- formal review -------------------------------------------------------------------------
    def case_opened() -> bool:
        open_project(bureau, project_id)
        return bureau.locator("#case-status").count() == 1

    until(case_opened, what="review case opened from intake's event")
    bureau.goto("/")
    expect(bureau.locator("#tasks")).to_contain_text("形式审查")
    shot(bureau, "08-todo-bureau")
    open_project(bureau, project_id)
    bureau.click("#formal-review-link")
    check_accessibility(bureau)
    expect(bureau.locator("table")).to_contain_text("wuxing-2023")
    shot(bureau, "09-formal-review")
    save(bureau)
    expect(bureau.locator("#timeline")).to_contain_text("形式审查")
    expect(bureau.locator("#timeline .formal-review")).to_contain_text("通过")

    # --- department opinions (wuxing-2023 §9) ---------------------------------------------------
    for index, department in enumerate(DEPARTMENTS):
        giver = sign_in(f"{department}.county-a")
        giver.goto("/")
        expect(giver.locator("#tasks")).to_contain_text(PROJECT)
        giver.click("#tasks a")  # the task leads to the project page
        check_accessibility(giver)
        giver.click(f"#opinion-link-{department}")
        check_accessibility(giver)
        if index == 0:
            giver.select_option("#f-verdict", "disagree")
            save(giver)
            assert field_error(giver, "text")
            shot(giver, "10-opinion-error")
        giver.select_option("#f-verdict", "agree")
        giver.fill("#f-text", "同意。")
        save(giver)
        expect(giver.locator("#saved")).to_be_visible()
        giver.context.close()

    # --- the expert library, a draw and the drawn expert's scores --------------------------------
    bureau.goto("/experts")
    check_accessibility(bureau)
    bureau.fill("#f-org", "某大学")
    save(bureau)
    assert field_error(bureau, "name") == "请填写专家姓名和所在单位。"
    bureau.fill("#f-name", "李专家")
    bureau.fill("#f-specialties", "教育信息化")
    bureau.fill("#f-username", "expert.county-a")
    save(bureau)
    expect(bureau.locator("#experts")).to_contain_text("李专家")
    shot(bureau, "11-expert-library")
    open_project(bureau, project_id)
    bureau.click("#draw-link")
    check_accessibility(bureau)
    bureau.fill("#f-size", "0")
    save(bureau)
    assert field_error(bureau, "size")
    bureau.fill("#f-size", "1")
    save(bureau)
    expect(bureau.locator("#timeline .expert")).to_contain_text("李专家")

    expert = sign_in("expert.county-a")
    expert.goto("/")
    expect(expert.locator("#tasks")).to_contain_text(PROJECT)
    expert.click("#tasks a")
    expert.click("#scores-link")
    check_accessibility(expert)
    save(expert)
    first_score = expert.locator("input[name^='score.']").first
    assert expert.inner_text(f"#{first_score.get_attribute('id')}-error") == "请填写分数"
    shot(expert, "12-scores-error")
    for box in expert.locator("input[name^='score.']").all():
        box.fill("8")
    expert.fill("#f-overall_comment", "必要性充分，方案可行。")
    save(expert)
    expect(expert.locator("#timeline .scores")).to_contain_text("1/1")
    expert.context.close()

    # --- the plan decision, the annual plan and its Excel ----------------------------------------
    bureau_head = sign_in("bureau_head.county-a")
    open_project(bureau_head, project_id)
    bureau_head.click("#plan-decision-link")
    check_accessibility(bureau_head)
    bureau_head.fill("#f-budget", "")
    save(bureau_head)
    assert field_error(bureau_head, "budget")
    shot(bureau_head, "13-plan-decision-error")
    bureau_head.fill("#f-budget", "1200000.00")
    save(bureau_head)
    expect(bureau_head.locator("#timeline .plan-decision")).to_contain_text("列入计划")
    expect(bureau_head.locator("#timeline .plan-decision")).to_contain_text("wuxing-2023")
    shot(bureau_head, "14-project-in-plan")

    bureau_head.goto("/plans")
    check_accessibility(bureau_head)
    bureau_head.fill("#f-year", "下一年")
    bureau_head.click("#compile")
    assert field_error(bureau_head, "year") == "请填写整数"
    bureau_head.fill("#f-year", str(date.today().year + 2))
    bureau_head.click("#compile")
    expect(bureau_head.locator("#plan-entries")).to_contain_text(PROJECT)
    check_accessibility(bureau_head)
    shot(bureau_head, "15-annual-plan")
    with bureau_head.expect_download() as download:
        bureau_head.click("#export")
    assert download.value.suggested_filename.endswith(".xlsx")
    bureau_head.click("#publish")
    expect(bureau_head.locator("#plan-status")).to_have_text("已发布")

    # --- approval: application, conclusion, grant ------------------------------------------------
    open_project(applicant, project_id)
    applicant.click("#application-link")
    check_accessibility(applicant)
    save(applicant)
    expect(applicant.locator("#timeline .application")).to_contain_text("审批申请")

    open_project(bureau, project_id)
    bureau.click("#conclusion-link")
    check_accessibility(bureau)
    bureau.select_option("#f-passed", "no")
    save(bureau)
    assert field_error(bureau, "comments")
    shot(bureau, "16-conclusion-error")
    bureau.select_option("#f-passed", "yes")
    bureau.fill("#f-comments", "方案可行。")
    save(bureau)
    # wuxing-2023 §13: 发改's contact sheet, recorded by the bureau with its reference.
    bureau.click("#step-link-ndrc_contact_sheet")
    check_accessibility(bureau)
    save(bureau)
    assert field_error(bureau, "reference") == "请填写文件编号或意见文号。"
    bureau.fill("#f-reference", "甲发改联〔2026〕8号")
    save(bureau)
    expect(bureau.locator("#timeline .application")).to_contain_text("甲发改联〔2026〕8号")

    open_project(bureau_head, project_id)
    bureau_head.click("#approval-link")
    check_accessibility(bureau_head)
    bureau_head.fill("#f-approved_amount", "1200000.01")
    save(bureau_head)
    assert field_error(bureau_head, "approved_amount")
    shot(bureau_head, "17-approval-error")
    bureau_head.fill("#f-approved_amount", "1150000.00")
    bureau_head.fill("#f-content", "建设教育质量监测数据库和分析子系统。")
    bureau_head.fill("#f-conditions", "同步开展网络安全等级保护测评")
    save(bureau_head)

    # --- the applicant sees the approval and its article -----------------------------------------
    open_project(applicant, project_id)
    approval = applicant.locator("#approval-1")
    expect(approval).to_contain_text("项目批复")
    expect(approval).to_contain_text("1150000.00")
    expect(approval).to_contain_text("wuxing-2023 §10")
    expect(applicant.locator("#case-status")).to_have_text("已批复")
    shot(applicant, "18-project-approved")
    # 审计记录: intake's and review's trails merged by time; the unit head's sign-off before the
    # head's approval, which carries the article it rests on.
    trail = applicant.locator("#audit-records")
    expect(trail).to_be_visible()
    expect(applicant.locator("#audit-trail h2")).to_have_text("审计记录")
    signoff = trail.locator('tr[data-action="declaration.submitted"]')
    expect(signoff).to_have_count(1)
    expect(signoff).to_contain_text("单位审核通过并报送")
    expect(signoff).to_contain_text("unit_head")
    granted = trail.locator('tr[data-action="approval.granted"]')
    expect(granted).to_have_count(1)
    expect(granted).to_contain_text("项目批复")
    expect(granted).to_contain_text("wuxing-2023 §10")
    rows = trail.locator("tr.audit-record")
    actions = [rows.nth(i).get_attribute("data-action") for i in range(rows.count())]
    assert actions.index("declaration.submitted") < actions.index("approval.granted")
    assert actions[0] == "declaration.created" and "case.opened" in actions
    times = [rows.nth(i).locator("time").get_attribute("datetime") or "" for i in range(rows.count())]
    assert times == sorted(times)
    # This stack runs only the front half: the back-half services are named as unreadable, and
    # the front half's records are shown all the same.
    alerts = applicant.locator("#audit-trail [role=alert]").all_inner_texts()
    assert not any("项目申报服务" in a or "联审与审批服务" in a for a in alerts), alerts
    applicant.locator("#audit-trail").scroll_into_view_if_needed()
    shot(applicant, "18a-project-audit-trail")
    pdf = applicant.request.get(applicant.get_attribute("#approval-pdf-1", "href") or "")
    assert pdf.ok and pdf.body().startswith(b"%PDF-")

    applicant.goto("/projects")
    check_accessibility(applicant)
    expect(applicant.locator("#projects")).to_contain_text(PROJECT)
    # Filters as intake answers them: a reversed amount range is refused next to its field.
    applicant.fill("#f-amount_min", "2000000")
    applicant.fill("#f-amount_max", "1000000")
    applicant.click("#filter")
    assert field_error(applicant, "amount_max") == "金额上限不能小于下限"
    applicant.fill("#f-amount_min", "1000000")
    applicant.fill("#f-amount_max", "1300000")
    applicant.select_option("#category", "business_app")
    applicant.click("#filter")
    expect(applicant.locator("#projects")).to_contain_text(PROJECT)
    shot(applicant, "19-project-library")
    applicant.select_option("#category", "infrastructure")
    applicant.click("#filter")
    expect(applicant.locator("#total")).to_have_text("共 0 个项目")
    applicant.goto("/dashboard")
    check_accessibility(applicant)
    expect(applicant.locator("#chart-year svg")).to_have_count(1)  # ECharts drew, from the portal
    shot(applicant, "20-dashboard")

    # --- another county's applicant sees none of it ----------------------------------------------
    stranger = sign_in("applicant.county-b")
    stranger.goto("/projects")
    expect(stranger.locator("#projects")).not_to_contain_text(PROJECT)
    assert stranger.inner_text("#total") == "共 0 个项目"
    stranger.goto(f"/projects/{project_id}")
    assert PROJECT not in stranger.content()
    expect(stranger.locator("#page-error")).to_be_visible()
    shot(stranger, "21-other-county-refused")
    stranger.goto("/dashboard")
    expect(stranger.locator("body")).not_to_contain_text(PROJECT)
    assert "0 个申报项目" in stranger.inner_text("main")

    # --- sign-out ends the session everywhere ----------------------------------------------------
    reach_by_keyboard(applicant, "#logout")
    applicant.click("#logout")
    expect(applicant.locator("h1")).to_have_text("已退出登录")
    applicant.goto("/projects")
    expect(applicant.locator("#username")).to_be_visible()  # the issuer asks for the password again
    assert len(list(SHOTS.glob("*.png"))) >= 21
