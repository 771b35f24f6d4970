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
