"""A service down: review stops for a moment (after the front-half test left a project behind).

The portal must say which service is unavailable, in Chinese, and keep serving what intake still
answers; review is started again at the end.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from devstack.stack import Stack
from tests.browser.conftest import SignIn, shot
from tests.browser.helpers import until

pytestmark = pytest.mark.e2e


def test_a_service_down_is_said_in_chinese_and_intake_pages_still_work(stack: Stack, sign_in: SignIn) -> None:
    page = sign_in("applicant2.county-a")
    stack.stop_process("review")
    try:
        page.goto("/")
        expect(page.locator("#page-error")).to_contain_text("联审与审批服务暂时不可用")
        shot(page, "24-review-down")
        # intake still answers: a draft is saved, its page says the review part is unavailable.
        page.goto("/projects/new")
        page.fill("#f-name", "审核服务停机时保存的草稿")
        page.fill("#f-amount", "100000.00")
        page.click("#save")
        expect(page.locator("#declaration-status")).to_have_text("草稿")
        expect(page.locator("#review-unavailable")).to_contain_text("联审与审批服务暂时不可用")
        # 审计记录 says review's part cannot be read and still shows intake's (the draft's creation).
        expect(page.locator("#audit-trail")).to_contain_text("联审与审批服务的审计记录暂时无法读取")
        expect(page.locator('#audit-records tr[data-action="declaration.created"]')).to_have_count(1)
        shot(page, "24a-review-down-audit-trail")
    finally:
        stack.start_service("review")
        stack.wait_ready(["review"])

    def recovered() -> bool:
        page.goto("/")
        return page.inner_text("h1") == "我的待办"

    until(recovered, what="the portal serves review's pages again after its restart", timeout=15)
