"""A dev issuer for the whole session, started in a background thread on a free port."""

from __future__ import annotations

import sys

# pytest's importlib mode names this file "devstack.tests.conftest" and, when `python -m pytest`
# puts the checkout on sys.path, first creates "devstack" as a namespace package of the
# directory devstack/ — hiding the real package in devstack/src. Swap the real one back in.
if getattr(sys.modules.get("devstack"), "__file__", None) is None:
    sys.modules.pop("devstack", None)
    import devstack  # noqa: F401  - the installed package (devstack/src/devstack)

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.issuer.testing import RunningIssuer, start_issuer


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIssuer]:
    # GOVPROJ_ENV=dev only while the app is built: the rest of the session keeps its environment.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVPROJ_ENV", "dev")
        running = start_issuer(tmp_path_factory.mktemp("issuer"))
    yield running
    running.stop()


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWS, unverified (the issuer tests check shapes; govkit tests verify)."""
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


@pytest.fixture
def decode() -> Any:
    return claims_of
