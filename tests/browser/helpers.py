"""Helpers of the browser tests: accessibility basics, waiting for events to cross services."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Page

UNLABELLED_JS = """
() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && !el.disabled)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 60))
"""


def check_accessibility(page: Page) -> None:
    """Basics on every page: zh-CN, a page title naming the page, one h1, every input labelled."""
    assert page.get_attribute("html", "lang") == "zh-CN"
    title = page.title()
    assert title and page.inner_text("h1") in title, title
    assert page.locator("h1").count() == 1
    assert page.evaluate(UNLABELLED_JS) == [], page.url


def reach_by_keyboard(page: Page, selector: str, *, max_tabs: int = 80) -> None:
    """Tab from the top of the page until ``selector`` has the focus (keyboard-reachable action)."""
    page.locator("body").focus()
    target = page.locator(selector)
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} not reachable with Tab on {page.url}")


def until(probe: Callable[[], bool], *, what: str, timeout: float = 20.0) -> None:
    """Poll until ``probe`` is true (review learns of a sign-off through NATS)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: not reached after {timeout}s")


def field_error(page: Page, name: str) -> str:
    """The message shown next to field ``name``."""
    return page.inner_text(f"#f-{name.replace('.', '-')}-error")


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
DECLARATION = {
    "#f-amount": "1280000.00",
    "#f-breakdown-software": "800000.00",
    "#f-breakdown-hardware": "300000.00",
    "#f-breakdown-services": "60000.00",
    "#f-breakdown-security": "80000.00",
    "#f-breakdown-supervision": "40000.00",
    "#f-funding_source": "县级财政资金",
    "#f-necessity": "各部门系统分散建设，数据不能共享。",
    "#f-goals": "建成统一的业务平台。",
    "#f-content": "建设业务受理、审批、统计子系统，部署在政务云。",
    "#f-performance_goals": "覆盖全县业务，月办件量不少于1万件。",
    "#f-contact": "李工 0451-88887777",
}


def declare(page: Page, name: str, pdf_path: str) -> str:
    """As an applicant: a complete draft, every required document uploaded, handed to the unit
    head; returns the project's id."""
    page.goto("/projects/new")
    page.fill("#f-name", name)
    for selector, value in DECLARATION.items():
        page.fill(selector, value)
    page.check("#f-cloud_deployment")
    page.click("#save")
    page.wait_for_selector("#declaration-status")
    project_id = page.url.split("/projects/")[1].split("?")[0]
    while page.locator(".missing-doc").count():
        doc_type = page.locator(".missing-doc").first.get_attribute("data-doc-type") or ""
        page.click("#upload-link")
        page.select_option("#f-doc_type", doc_type)
        page.set_input_files("#f-file", pdf_path)
        page.click("#save")
        page.wait_for_selector("#declaration-status")
    page.click("#submit-signoff")
    page.wait_for_selector("#declaration-status")
    assert page.inner_text("#declaration-status") == "待单位审核"
    return project_id
