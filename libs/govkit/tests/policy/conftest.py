"""Fixtures of the policy-engine tests: the shipped packs and the made-up ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from govkit.policy import PolicyRegistry

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def policies_dir() -> Path:
    """The repository's policies/ folder (five packs and tenants.yaml)."""
    return HERE.parents[3] / "policies"


@pytest.fixture(scope="session")
def made_up_dir() -> Path:
    """Made-up packs that are none of the five, with their own tenants.yaml."""
    return HERE / "data" / "made-up"


@pytest.fixture(scope="session")
def broken_dir() -> Path:
    """Packs broken on purpose, one fault each."""
    return HERE / "data" / "broken"


@pytest.fixture(scope="session")
def registry(policies_dir: Path) -> PolicyRegistry:
    """The five shipped packs and policies/tenants.yaml, loaded once."""
    return PolicyRegistry.load(policies_dir)


@pytest.fixture(scope="session")
def made_up(made_up_dir: Path) -> PolicyRegistry:
    """The made-up registry, loaded once."""
    return PolicyRegistry.load(made_up_dir)
