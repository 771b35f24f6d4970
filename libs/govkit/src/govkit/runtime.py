"""Running a service process: REST (uvicorn) and gRPC in one event loop, with background workers.

Ctrl-C / SIGTERM stops accepting work, lets in-flight requests finish, cancels the workers and
closes connections, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
import signal
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI

log = logging.getLogger(__name__)


KEEP_ALIVE_SECONDS = 75


class _HttpServer(uvicorn.Server):
    """uvicorn without its own signal handling: this process owns the signals, because uvicorn's
    handlers would stop only the HTTP half."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class ServiceProcess:
    """Everything one service process runs."""

    name: str
    app: FastAPI
    http_host: str
    http_port: int
    grpc_server: Any | None = None  # govkit.grpckit server: start() / stop(grace)
    workers: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    on_start: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    grace_seconds: float = 5.0


async def serve(process: ServiceProcess, *, install_signal_handlers: bool = True) -> None:
    """Run until SIGINT/SIGTERM (or cancellation)."""
    for hook in process.on_start:
        await hook()
    config = uvicorn.Config(
        process.app,
        host=process.http_host,
        port=process.http_port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        # Longer than any client's or proxy's idle expiry (httpx: 5 s, the same as uvicorn's default):
        # a server closing an idle connection just as a client reuses it resets that request.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    server = _HttpServer(config)
    stop = asyncio.Event()
    if install_signal_handlers:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    if process.grpc_server is not None:
        await process.grpc_server.start()
    http_task = asyncio.create_task(server.serve(), name=f"{process.name}-http")
    worker_tasks = [asyncio.create_task(w(), name=f"{process.name}-worker") for w in process.workers]
    stop_task = asyncio.create_task(stop.wait())
    asyncio.get_running_loop().call_later(_SETTLED_SECONDS, release_startup_memory)
    try:
        done, _ = await asyncio.wait(
            [http_task, stop_task, *worker_tasks], return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task is not stop_task and task.exception() is not None:
                log.error(
                    "%s: %s stopped with an error", process.name, task.get_name(), exc_info=task.exception()
                )
    finally:
        server.should_exit = True
        if process.grpc_server is not None:
            await process.grpc_server.stop(process.grace_seconds)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(http_task, timeout=process.grace_seconds)
        for task in [*worker_tasks, stop_task]:
            task.cancel()
        for task in worker_tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for hook in process.on_stop:
            with contextlib.suppress(Exception):
                await hook()


# Start-up (imports, migrations, the first connections) is over well within this.
_SETTLED_SECONDS = 3.0


def release_startup_memory() -> None:
    """Give the heap that start-up used and freed back to the operating system.

    Imports and migrations leave freed blocks inside the C heap that CPython's allocator never
    returns by itself; ``malloc_trim`` does (a few MB per process, measured with the bench's
    memory scenario). A no-op where the C library has no ``malloc_trim``.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def configure_logging(level: str) -> None:
    """One log format for every service."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run a service's main coroutine to completion on uvloop.

    ``uvicorn.run`` installs uvloop by itself (loop="auto"); a service runs uvicorn inside its own
    loop beside gRPC and the workers, so it picks the same loop here. Falls back to asyncio's
    loop where uvloop is not installed.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is pinned in requirements.lock
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)
