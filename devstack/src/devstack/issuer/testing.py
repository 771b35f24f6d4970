"""Test helpers: run the dev issuer in a background thread and fetch tokens from it.

Example::

    with running_issuer(tmp_path) as issuer:
        token = get_token(issuer.base_url, "applicant.county-a")

The caller's environment must have ``GOVPROJ_ENV=dev`` (the issuer refuses otherwise).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from devstack.issuer.app import IssuerState, create_app
from devstack.issuer.paths import default_realm_files

DEV_PASSWORD = "govproj-dev"
DEV_CLIENT_SECRET = "govproj-dev-secret"
CLI_CLIENT_ID = "govproj-cli"
REALM = "govproj"
_START_TIMEOUT_SECONDS = 10.0


@dataclass
class RunningIssuer:
    """A dev issuer served by uvicorn in a daemon thread."""

    base_url: str  # e.g. http://127.0.0.1:54321 (use as python-keycloak's server_url)
    state: IssuerState
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def issuer(self) -> str:
        """The ``iss`` of its tokens: {base_url}/realms/govproj."""
        return self.state.issuer

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return f"{self.issuer}/protocol/openid-connect/token"

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=_START_TIMEOUT_SECONDS)


def _free_socket(host: str) -> socket.socket:
    # Bound here and handed to uvicorn, so no other process can grab the port in between.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def start_issuer(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    realm_path: Path | None = None,
    dev_overlay_path: Path | None = None,
    access_token_lifespan: int | None = None,
) -> RunningIssuer:
    """Start the issuer on a free port of ``host``; the signing key goes to ``data_dir``.

    Returns once it accepts connections. Call :meth:`RunningIssuer.stop` (or use
    :func:`running_issuer`) to shut it down.
    """
    default_realm, default_overlay = default_realm_files()
    sock = _free_socket(host)
    port = sock.getsockname()[1]
    base_url = f"http://{host}:{port}"
    app = create_app(
        realm_path=realm_path or default_realm,
        dev_overlay_path=dev_overlay_path or default_overlay,
        issuer_base_url=base_url,
        key_path=Path(data_dir) / "signing-key.pem",
        access_token_lifespan=access_token_lifespan,
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dev-issuer", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the dev issuer did not start")
        time.sleep(0.01)
    return RunningIssuer(base_url=base_url, state=app.state.issuer, server=server, thread=thread)


@contextmanager
def running_issuer(data_dir: Path, **kwargs: Any) -> Iterator[RunningIssuer]:
    """:func:`start_issuer` as a context manager."""
    issuer = start_issuer(data_dir, **kwargs)
    try:
        yield issuer
    finally:
        issuer.stop()


def token_response(
    base_url: str,
    username: str,
    password: str = DEV_PASSWORD,
    *,
    client_id: str = CLI_CLIENT_ID,
    realm: str = REALM,
) -> dict[str, Any]:
    """The full password-grant response (access, refresh and ID token) for a demo user."""
    response = httpx.post(
        f"{base_url.rstrip('/')}/realms/{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": client_id,
            "username": username,
            "password": password,
            "scope": "openid",
        },
        timeout=10,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def get_token(
    base_url: str,
    username: str,
    password: str = DEV_PASSWORD,
    *,
    client_id: str = CLI_CLIENT_ID,
    realm: str = REALM,
) -> str:
    """An access token for a demo user, via the password grant of ``govproj-cli``."""
    return str(token_response(base_url, username, password, client_id=client_id, realm=realm)["access_token"])


def get_service_token(
    base_url: str, client_id: str, client_secret: str = DEV_CLIENT_SECRET, *, realm: str = REALM
) -> str:
    """A service-account access token (client-credentials grant) for a service's client."""
    response = httpx.post(
        f"{base_url.rstrip('/')}/realms/{realm}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])
