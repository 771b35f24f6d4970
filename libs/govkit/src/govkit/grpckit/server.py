"""The gRPC aio server every service runs: its servicers, health, reflection, interceptors.

Health follows the standard ``grpc.health.v1.Health`` service (what Kubernetes' gRPC probes and
grpc_health_probe ask); reflection lets grpcurl and the portal's debug tools list the services.
Stopping is graceful in two steps: first every health status turns NOT_SERVING (load balancers and
readiness probes stop sending new calls), then after an optional drain pause the server stops
accepting calls and gives in-flight ones ``grace_seconds`` to finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import _async as health_aio  # = grpc_health.v1.health.aio; the stubs lack it
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from govkit.grpckit.errors import ErrorInterceptor

logger = logging.getLogger(__name__)

ServicerRegistrar = Callable[[Any, grpc.aio.Server], None]
"""The generated ``add_<Service>Servicer_to_server`` function (or any callable of that shape)."""

OVERALL = ""
"""Health's name for the server as a whole."""


class GrpcServer:
    """A configured gRPC aio server with its health servicer; made by :func:`create_server`."""

    def __init__(
        self,
        server: grpc.aio.Server,
        health_servicer: Any,
        service_names: Sequence[str],
        port: int,
    ) -> None:
        self._server = server
        self._health = health_servicer
        self._service_names = list(service_names)
        self._port = port
        self._started = False

    @property
    def port(self) -> int:
        """The port actually bound (the OS-chosen one when created with ``port=0``)."""
        return self._port

    @property
    def server(self) -> grpc.aio.Server:
        """The underlying ``grpc.aio.Server``."""
        return self._server

    @property
    def service_names(self) -> list[str]:
        """The application services this server reports health for."""
        return list(self._service_names)

    async def set_serving(self, serving: bool, *, service: str | None = None) -> None:
        """Report one service (or, with ``service=None``, all of them and the server) as (not) serving."""
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        names = [service] if service is not None else [OVERALL, *self._service_names]
        for name in names:
            await self._health.set(name, status)

    async def start(self) -> None:
        """Start serving and report every service SERVING."""
        await self._server.start()
        self._started = True
        await self.set_serving(True)
        logger.info("gRPC server listening on port %d: %s", self._port, ", ".join(self._service_names))

    async def stop(self, grace_seconds: float = 5.0, *, drain_seconds: float = 0.0) -> None:
        """Stop gracefully: NOT_SERVING first, wait ``drain_seconds``, then stop with a grace period.

        During the drain the server still answers (so probes see NOT_SERVING and callers move
        away); afterwards new calls are refused and in-flight ones get ``grace_seconds`` before
        they are cancelled.
        """
        # Permanent: later set() calls are ignored, so nothing flips a stopping server back.
        await self._health.enter_graceful_shutdown()
        if drain_seconds > 0:
            await asyncio.sleep(drain_seconds)
        await self._server.stop(grace_seconds)
        self._started = False

    async def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or the timeout passes); True when it stopped."""
        return await self._server.wait_for_termination(timeout)


async def create_server(
    *,
    servicers: Sequence[tuple[ServicerRegistrar, Any]],
    service_names: Sequence[str],
    port: int,
    host: str = "127.0.0.1",
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
    options: Sequence[tuple[str, Any]] = (),
    maximum_concurrent_rpcs: int | None = None,
) -> GrpcServer:
    """Build (not start) a gRPC aio server with health, reflection and the platform interceptors.

    ``servicers`` are ``(add_XServicer_to_server, servicer)`` pairs; ``service_names`` the full
    names (``govproj.intake.v1.IntakeService``) reported by health and reflection. ``interceptors``
    run outermost first in the order given (telemetry first, then auth); the
    :class:`~govkit.grpckit.errors.ErrorInterceptor` is added last, innermost, so that servicers'
    AppErrors become statuses that the outer interceptors observe. ``port=0`` binds a free port;
    :attr:`GrpcServer.port` tells which.
    """
    server = grpc.aio.server(
        interceptors=[*interceptors, ErrorInterceptor()],
        options=list(options),
        maximum_concurrent_rpcs=maximum_concurrent_rpcs,
    )
    for register, servicer in servicers:
        register(servicer, server)

    health_servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    # Until start() the server is not reachable; keep the statuses honest meanwhile anyway.
    for name in [OVERALL, *service_names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

    reflection.enable_server_reflection(
        [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )

    address = f"{host}:{port}"
    if credentials is None:
        bound = server.add_insecure_port(address)
    else:
        bound = server.add_secure_port(address, credentials)
    if bound == 0:  # grpc returns 0 instead of raising when it cannot bind
        raise OSError(f"gRPC server could not bind {address}")
    return GrpcServer(server, health_servicer, service_names, bound)
