"""The whole platform on loopback: PostgreSQL, NATS, the dev issuer, every service and the portal.

Used by `make dev` (durable data in .devstack/, fixed ports), by the end-to-end tests and by the
benchmark (throw-away data, free ports). Every child is a real process talking over real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from govkit.db import ServiceDatabase, provision_service_database
from govkit.localinfra import LocalNats, LocalPostgres, free_port

SERVICES = ("intake", "review", "procurement", "acceptance", "evaluation")
REPO_ROOT = Path(__file__).resolve().parents[3]
DEV_PASSWORD_PREFIX = "govproj-dev-"  # dev-only database passwords; production injects secrets
DEV_CLIENT_SECRET = "govproj-dev-secret"  # matches deploy/keycloak/realm-govproj.dev.json
DEV_TRADING_WEBHOOK_SECRET = "govproj-dev-trading-center"
READY_TIMEOUT_SECONDS = 90.0
# Services that call another service's gRPC: each gets GOVPROJ_<SVC>_<PEER>_GRPC_TARGET.
GRPC_PEERS: dict[str, tuple[str, ...]] = {"acceptance": ("review",)}


@dataclass(frozen=True)
class StackPorts:
    """Every port the stack listens on."""

    postgres: int
    nats: int
    issuer: int
    portal: int
    http: dict[str, int]
    grpc: dict[str, int]

    @classmethod
    def dev_defaults(cls) -> StackPorts:
        """The fixed dev ports of the README, each overridable by an environment variable."""

        def env(name: str, default: int) -> int:
            return int(os.environ.get(name, default))

        return cls(
            postgres=env("GOVPROJ_DEV_PG_PORT", 55432),
            nats=env("GOVPROJ_DEV_NATS_PORT", 54222),
            issuer=env("GOVPROJ_DEV_ISSUER_PORT", 8080),
            portal=env("GOVPROJ_DEV_PORTAL_PORT", 8000),
            http={s: env(f"GOVPROJ_DEV_{s.upper()}_HTTP_PORT", 8101 + i) for i, s in enumerate(SERVICES)},
            grpc={s: env(f"GOVPROJ_DEV_{s.upper()}_GRPC_PORT", 9101 + i) for i, s in enumerate(SERVICES)},
        )

    @classmethod
    def free(cls) -> StackPorts:
        """Free ports for a throw-away stack (tests, bench)."""
        return cls(
            postgres=free_port(),
            nats=free_port(),
            issuer=free_port(),
            portal=free_port(),
            http={s: free_port() for s in SERVICES},
            grpc={s: free_port() for s in SERVICES},
        )


@dataclass
class Stack:
    """Starts and stops the platform's processes."""

    root: Path
    ports: StackPorts
    durable: bool = True
    services: tuple[str, ...] = SERVICES
    with_portal: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    postgres: LocalPostgres = field(init=False)
    nats: LocalNats = field(init=False)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.postgres = LocalPostgres(
            data_dir=self.root / "postgres", port=self.ports.postgres, durable=self.durable
        )
        self.nats = LocalNats(data_dir=self.root / "nats", port=self.ports.nats)

    # --- URLs -------------------------------------------------------------------------------

    @property
    def issuer_url(self) -> str:
        """Base URL of the dev issuer (Keycloak's layout: <base>/realms/govproj)."""
        return f"http://127.0.0.1:{self.ports.issuer}"

    def http_url(self, service: str) -> str:
        """REST base URL of a service."""
        return f"http://127.0.0.1:{self.ports.http[service]}"

    def grpc_target(self, service: str) -> str:
        """gRPC target of a service."""
        return f"127.0.0.1:{self.ports.grpc[service]}"

    @property
    def portal_url(self) -> str:
        """The portal."""
        return f"http://127.0.0.1:{self.ports.portal}"

    @property
    def log_dir(self) -> Path:
        """Where each child's output goes."""
        return self.root / "logs"

    # --- lifecycle --------------------------------------------------------------------------

    def start_infrastructure(self) -> None:
        """PostgreSQL (with one database and two roles per service) and NATS."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.postgres.start()
        self.nats.start()

        async def provision() -> None:
            for service in self.services:
                await provision_service_database(
                    self.postgres.dsn(),
                    service,
                    owner_password=f"{DEV_PASSWORD_PREFIX}{service}-owner",
                    app_password=f"{DEV_PASSWORD_PREFIX}{service}",
                )

        asyncio.run(provision())

    @property
    def clock_file(self) -> Path:
        """Write an instant here (govkit.clock.set_dev_clock) and every service's "now" follows it."""
        return self.root / "clock"

    def service_env(self, service: str) -> dict[str, str]:
        """The environment a service process gets (exactly what its settings read)."""
        names = ServiceDatabase(service)
        prefix = f"GOVPROJ_{service.upper()}_"
        values = {
            "ENV": "dev",
            "DATABASE_URL": self.postgres.url(
                names.database, user=names.app_role, password=f"{DEV_PASSWORD_PREFIX}{service}"
            ),
            "MIGRATIONS_DATABASE_URL": self.postgres.url(
                names.database, user=names.owner_role, password=f"{DEV_PASSWORD_PREFIX}{service}-owner"
            ),
            "NATS_URL": self.nats.url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.ports.http[service]),
            "GRPC_HOST": "127.0.0.1",
            "GRPC_PORT": str(self.ports.grpc[service]),
            "OIDC_SERVER_URL": self.issuer_url,
            "OIDC_REALM": "govproj",
            "OIDC_CLIENT_ID": f"govproj-{service}",
            "OIDC_CLIENT_SECRET": DEV_CLIENT_SECRET,
            "POLICIES_DIR": str(REPO_ROOT / "policies"),
            # Uploaded materials and generated documents: a folder per service under the stack's root.
            "OBJECT_STORE_URL": (self.root / "objects" / service).as_uri(),
            # One settable clock for the whole platform (govkit.clock): absent, the system's.
            "DEV_CLOCK_FILE": str(self.clock_file),
        }
        for peer in GRPC_PEERS.get(service, ()):
            values[f"{peer.upper()}_GRPC_TARGET"] = self.grpc_target(peer)
        if service == "procurement":
            # The dev trading center's HMAC key (tests/e2e sign their OCDS pushes with it).
            values["TRADING_WEBHOOK_SECRET"] = DEV_TRADING_WEBHOOK_SECRET
        return {prefix + key: value for key, value in values.items()}

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        full_env = {**os.environ, **self.extra_env, **env, "PYTHONUNBUFFERED": "1"}
        # A session of its own: Ctrl-C in the terminal reaches only `make dev`, which then stops
        # the children in order (services before NATS and PostgreSQL) instead of all at once.
        self.processes[name] = subprocess.Popen(
            [sys.executable, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        log.close()

    def start_issuer(self) -> None:
        """The dev OIDC issuer (refuses to run outside GOVPROJ_ENV=dev)."""
        self._spawn(
            "issuer",
            [
                "-m",
                "devstack.issuer",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.ports.issuer),
                "--data-dir",
                str(self.root / "issuer"),
            ],
            # The portal client's redirect URIs resolve ${GOVPROJ_PORTAL_PUBLIC_URL}, as in Keycloak.
            {"GOVPROJ_ENV": "dev", "GOVPROJ_PORTAL_PUBLIC_URL": self.portal_url},
        )

    def start_service(self, service: str) -> None:
        """One service process (REST + gRPC + relay + consumers)."""
        self._spawn(service, ["-m", service], self.service_env(service))

    def start_portal(self) -> None:
        """The portal."""
        env = {
            "GOVPROJ_PORTAL_ENV": "dev",
            "GOVPROJ_PORTAL_HTTP_PORT": str(self.ports.portal),
            "GOVPROJ_PORTAL_OIDC_SERVER_URL": self.issuer_url,
            "GOVPROJ_PORTAL_OIDC_CLIENT_SECRET": DEV_CLIENT_SECRET,
            "GOVPROJ_PORTAL_PUBLIC_URL": self.portal_url,
            # Sessions in NATS as in production; a fresh dev key per start (sign in again after).
            "GOVPROJ_PORTAL_NATS_URL": self.nats.url,
            "GOVPROJ_PORTAL_SESSION_KEY": secrets.token_urlsafe(32),
            "GOVPROJ_PORTAL_INTAKE_GRPC_TARGET": self.grpc_target("intake"),
            "GOVPROJ_PORTAL_REVIEW_GRPC_TARGET": self.grpc_target("review"),
            "GOVPROJ_PORTAL_EVALUATION_GRPC_TARGET": self.grpc_target("evaluation"),
            "GOVPROJ_PORTAL_PROCUREMENT_GRPC_TARGET": self.grpc_target("procurement"),
            "GOVPROJ_PORTAL_ACCEPTANCE_GRPC_TARGET": self.grpc_target("acceptance"),
            "GOVPROJ_PORTAL_SERVICES": "{"
            + ",".join(f'"{s}":"{self.http_url(s)}"' for s in self.services)
            + "}",
        }
        self._spawn("portal", ["-m", "portal"], env)

    def start(self) -> None:
        """Everything, then wait until every process answers its readiness probe."""
        self.start_infrastructure()
        self.start_issuer()
        for service in self.services:
            self.start_service(service)
        if self.with_portal:
            self.start_portal()
        self.wait_ready()

    def readiness_urls(self) -> dict[str, str]:
        """name → URL that answers 200 when that process is ready."""
        urls = {"issuer": f"{self.issuer_url}/realms/govproj/.well-known/openid-configuration"}
        urls.update({s: f"{self.http_url(s)}/readyz" for s in self.services if s in self.processes})
        if "portal" in self.processes:
            urls["portal"] = f"{self.portal_url}/healthz"
        return urls

    def wait_ready(self, names: list[str] | None = None, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Block until the named processes (default: all started) are ready; fail with their log."""
        pending = {k: v for k, v in self.readiness_urls().items() if names is None or k in names}
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            while pending and time.monotonic() < deadline:
                for name, url in list(pending.items()):
                    proc = self.processes.get(name)
                    if proc is not None and proc.poll() is not None:
                        raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.tail_log(name)}")
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(url).status_code == httpx.codes.OK:
                            del pending[name]
                if pending:
                    time.sleep(0.1)
        if pending:
            logs = "\n".join(f"--- {n} ---\n{self.tail_log(n)}" for n in pending)
            raise TimeoutError(f"not ready after {timeout:.0f}s: {sorted(pending)}\n{logs}")

    def tail_log(self, name: str, chars: int = 4000) -> str:
        """The end of a child's log."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop_process(self, name: str, timeout: float = 10.0) -> None:
        """SIGTERM one child, SIGKILL if it does not stop in time."""
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Stop every child, then NATS and PostgreSQL."""
        for name in list(self.processes):
            self.stop_process(name)
        self.nats.stop()
        self.postgres.stop()
