"""The tenant administrator's org page, and the platform's start and status pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from devstack.stack import Stack
from tests.browser.conftest import SignIn, shot
from tests.browser.helpers import check_accessibility, field_error, reach_by_keyboard

pytestmark = pytest.mark.e2e


def test_tenant_admin_adds_an_org(sign_in: SignIn) -> None:
    admin = sign_in("tenant_admin.county-a")
    admin.goto("/orgs")
    check_accessibility(admin)
    expect(admin.locator("#orgs")).to_contain_text("unit-1")
    admin.fill("#f-id", "Bad Id!")
    admin.fill("#f-name", "甲县交通运输局")
    admin.fill("#f-dept_code", "31")
    reach_by_keyboard(admin, "#save")
    admin.click("#save")
    assert "单位标识只能包含" in field_error(admin, "id")
    shot(admin, "22-orgs-error")
    admin.fill("#f-id", "transport")
    admin.click("#save")
    expect(admin.locator("#orgs")).to_contain_text("甲县交通运输局")
    shot(admin, "23-orgs")


def test_an_applicant_cannot_see_other_tenants_orgs_page(sign_in: SignIn) -> None:
    applicant = sign_in("applicant.county-b")
    expect(applicant.locator("nav")).not_to_contain_text("单位管理")
    applicant.goto("/orgs")
    # intake answers for the caller's own tenant only; the page shows no other county's units.
    expect(applicant.locator("main")).not_to_contain_text("transport")


def test_start_page_and_status_page_before_sign_in(stack: Stack, sign_in: SignIn) -> None:
    page = sign_in("auditor.county-a")
    page.context.clear_cookies()
    page.goto("/")
    check_accessibility(page)
    expect(page.locator("#login")).to_be_visible()
    shot(page, "00-welcome")
    page.goto("/status")
    check_accessibility(page)
    expect(page.locator("table")).to_contain_text("运行中")
