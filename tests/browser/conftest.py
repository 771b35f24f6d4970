"""The portal in a real browser: Debian's chromium driven by Playwright for Python.

One platform for the browser session (PostgreSQL, NATS, the dev issuer, intake, review and the
portal as real processes on free ports, devstack.stack), one chromium launched by its executable
path (no browser download), a fresh browser context per signed-in user. Screenshots of every page
go to .test-output/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from devstack.stack import REPO_ROOT, Stack, StackPorts

CHROMIUM = Path(os.environ.get("GOVPROJ_CHROMIUM", "/usr/bin/chromium"))
# ../shared/PITFALLS.md: what Debian's chromium needs to run headless here.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = REPO_ROOT / ".test-output" / "screenshots"
PASSWORD = "govproj-dev"


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The front half of the platform with the portal, started once for the browser tests."""
    root = Path(tempfile.mkdtemp(prefix="govproj-browser-"))
    platform = Stack(root=root, ports=StackPorts.free(), durable=False, services=("intake", "review"))
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Browser]:
    """Debian's chromium, headless, by path (make setup installs it when missing).

    Per module, and after the stack: Playwright's sync API runs an event loop in this thread while
    it is open, which asyncio.run (the stack's provisioning) and the asyncio tests of the rest of
    the session must not meet.
    """
    assert CHROMIUM.exists(), f"{CHROMIUM} missing: run `make setup` (installs Debian's chromium)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        # launch() gives every run a fresh temporary user-data dir of its own.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        yield launched
        launched.close()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot under .test-output/screenshots/<name>.png."""
    path = SHOTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


SignIn = Callable[[str], Page]


@pytest.fixture
def sign_in(stack: Stack, browser: Browser) -> Iterator[SignIn]:
    """sign_in("applicant.county-a") → a page of a fresh context, signed in at the portal."""
    contexts: list[Any] = []

    def _sign_in(username: str) -> Page:
        context = browser.new_context(
            base_url=stack.portal_url, locale="zh-CN", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#kc-login")
        page.wait_for_url(f"{stack.portal_url}/")
        assert username in page.inner_text("#current-user")
        return page

    yield _sign_in
    for context in contexts:
        context.close()
