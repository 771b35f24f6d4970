"""One real platform for the end-to-end tests: PostgreSQL, NATS, the dev issuer, every service
and the portal, each a real process on free loopback ports (devstack.stack)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.issuer.testing import get_token
from devstack.stack import Stack, StackPorts

# The front half's flows, run once per session and shared by every module that builds on them.
from tests.e2e.front_half import city, county_a, county_b, experts  # noqa: F401


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The whole platform, started once for the e2e session."""
    root = Path(tempfile.mkdtemp(prefix="govproj-e2e-"))
    platform = Stack(root=root, ports=StackPorts.free(), durable=False)
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()
        shutil.rmtree(root, ignore_errors=True)


class Api:
    """A signed-in user's HTTP client for one service."""

    def __init__(self, stack: Stack, username: str) -> None:
        self.stack = stack
        self.username = username
        self.token = get_token(stack.issuer_url, username)

    def client(self, service: str) -> httpx.Client:
        """An HTTP client with this user's bearer token."""
        return httpx.Client(
            base_url=self.stack.http_url(service),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )


@pytest.fixture(scope="session")
def login(stack: Stack):  # type: ignore[no-untyped-def]
    """login("applicant.county-a") → Api."""
    cache: dict[str, Api] = {}

    def _login(username: str) -> Api:
        if username not in cache:
            cache[username] = Api(stack, username)
        return cache[username]

    return _login
