"""county-b (qiaokou-2022) delegates its technical review to the city (shuangyashan-2024 §40): the
city's reviewer finds county-b's project in their to-do list, returns it at the formal review with
a written problem; the applicant sees the return and corrects it; the unit head resubmits it; the
case opens again for its second round."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SignIn, shot
from tests.browser.helpers import PDF, check_accessibility, declare, until

pytestmark = pytest.mark.e2e

PROJECT = "县域政务服务一体化平台"


def test_city_returns_county_b_project_and_the_unit_head_resubmits(sign_in: SignIn, tmp_path: Path) -> None:
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(PDF)
    bureau = sign_in("bureau_reviewer.county-b")
    bureau.goto("/calls")
    if not bureau.locator("#calls td", has_text="征集中").count():
        bureau.fill("#f-target_year", str(date.today().year + 2))
        bureau.fill("#f-deadline", (date.today() + timedelta(days=60)).isoformat())
        bureau.click("#save")
        expect(bureau.locator("#saved")).to_be_visible()

    applicant = sign_in("applicant.county-b")
    project_id = declare(applicant, PROJECT, str(pdf))
    head = sign_in("unit_head.county-b")
    head.goto(f"/projects/{project_id}/signoff")
    head.click("#save")
    expect(head.locator("#declaration-status")).to_have_text("已报送")

    city = sign_in("bureau_reviewer.city")

    def in_city_todo() -> bool:
        city.goto("/")
        return city.locator("#tasks", has_text=PROJECT).count() == 1

    until(in_city_todo, what="county-b's case in the city reviewer's to-do list")
    city.locator("#tasks tr", has_text=PROJECT).locator("a").click()
    check_accessibility(city)
    expect(city.locator("main")).to_contain_text("shuangyashan-2024 §40")  # who reviews, and why
    city.click("#formal-review-link")
    city.fill("#f-notes", "投资估算明细与申报表不一致")
    city.click("#save")
    expect(city.locator("#timeline .formal-review")).to_contain_text("材料不全/需补正")
    shot(city, "25-city-returns-county-b")

    def returned() -> bool:
        applicant.goto(f"/projects/{project_id}")
        return applicant.inner_text("#declaration-status") == "已退回补正"

    until(returned, what="intake learns of the return from review's event")
    expect(applicant.locator("main")).to_contain_text("投资估算明细与申报表不一致")
    applicant.click("#edit-link")
    applicant.fill("#f-contact", "李工 0451-88880000")
    applicant.click("#save")
    expect(applicant.locator("#saved")).to_be_visible()
    shot(applicant, "26-returned-corrected")

    head.goto(f"/projects/{project_id}")
    head.click("#resubmit")
    expect(head.locator("#declaration-status")).to_have_text("已报送")

    def second_round() -> bool:
        city.goto(f"/projects/{project_id}")
        return "第 2 轮" in city.inner_text("main") or "（第 2 轮）" in city.inner_text("main")

    until(second_round, what="the case open again for its second round")
    expect(city.locator("#formal-review-link")).to_be_visible()
