"""Shared fixtures of acceptance's unit tests: the shipped policy packs (pure data)."""

from __future__ import annotations

import pytest

from govkit.policy import PolicyRegistry


@pytest.fixture(scope="session")
def packs() -> PolicyRegistry:
    """The repository's policies/ (five packs and tenants.yaml)."""
    return PolicyRegistry.load()
