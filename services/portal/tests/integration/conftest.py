"""A real dev issuer (Keycloak's paths, the production realm JSON) for the portal's sign-in tests.

No intake or review runs here: the gRPC targets point at closed ports, so the pages that need
them show their "service down" message. The browser suite (tests/browser) runs the whole platform.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.issuer.testing import RunningIssuer, start_issuer
from govkit.localinfra import free_port

PUBLIC_URL = "https://portal.test"
DEV_PUBLIC_URL = "http://portal.test"


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIssuer]:
    """Tokens live 31 s: past the portal's 30 s margin, every page refreshes them."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVPROJ_ENV", "dev")
        # Both portal addresses the tests use are registered, as Keycloak's import would resolve them.
        mp.setenv("GOVPROJ_PORTAL_PUBLIC_URL", PUBLIC_URL)
        running = start_issuer(tmp_path_factory.mktemp("issuer"), access_token_lifespan=31)
    yield running
    running.stop()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (a service that is down)."""
    return free_port()
