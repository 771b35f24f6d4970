"""Server factory: health, reflection, graceful stop, AppError mapping."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from govkit.errors import AppError, ErrorKind
from govkit.grpckit import ERROR_METADATA_KEY, create_channel, create_server, error_from_rpc_error
from govkit.grpckit.errors import INTERNAL_MESSAGE, ErrorInterceptor

from .conftest import (
    SERVICE,
    ProbeState,
    Running,
    probe_handler,
    register_generic,
    start_probe_server,
    unary_call,
)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def check(channel: grpc.aio.Channel, service: str) -> Any:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
    return response.status


async def test_port_zero_binds_a_real_port(probe: Running) -> None:
    assert probe.server.port > 0


async def test_health_serving_then_not_serving_during_graceful_stop() -> None:
    running = await start_probe_server()
    async with grpc.aio.insecure_channel(running.target) as channel:
        assert await check(channel, SERVICE) == SERVING
        assert await check(channel, "") == SERVING

        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE))
        assert (await watch.read()).status == SERVING

        stopping = asyncio.create_task(running.server.stop(0.2, drain_seconds=0.5))
        # The watcher learns first, while the server still answers new calls during the drain.
        assert (await asyncio.wait_for(watch.read(), 2)).status == NOT_SERVING
        assert await check(channel, SERVICE) == NOT_SERVING
        assert await check(channel, "") == NOT_SERVING
        await asyncio.wait_for(stopping, 5)
        watch.cancel()

        # Stopped: no more answers at all.
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await check(channel, SERVICE)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_graceful_stop_lets_in_flight_calls_finish() -> None:
    running = await start_probe_server()
    async with grpc.aio.insecure_channel(running.target) as channel:
        call = unary_call(channel, "Slow")({"seconds": 0.3}, timeout=5)
        await asyncio.wait_for(running.state.slow_started.wait(), 2)
        await running.server.stop(2)
        assert await call == {"done": True}


async def test_reflection_lists_services(probe: Running) -> None:
    async with grpc.aio.insecure_channel(probe.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names: set[str] = set()
        async for response in call:
            names |= {s.name for s in response.list_services_response.service}
        assert {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= names


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (ErrorKind.INVALID, grpc.StatusCode.INVALID_ARGUMENT),
        (ErrorKind.UNAUTHENTICATED, grpc.StatusCode.UNAUTHENTICATED),
        (ErrorKind.FORBIDDEN, grpc.StatusCode.PERMISSION_DENIED),
        (ErrorKind.NOT_FOUND, grpc.StatusCode.NOT_FOUND),
        (ErrorKind.CONFLICT, grpc.StatusCode.ABORTED),
        (ErrorKind.PRECONDITION, grpc.StatusCode.FAILED_PRECONDITION),
        (ErrorKind.UNAVAILABLE, grpc.StatusCode.UNAVAILABLE),
    ],
)
async def test_app_error_round_trips(probe: Running, kind: ErrorKind, status: grpc.StatusCode) -> None:
    async with create_channel(probe.target, idempotent_methods=[]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await unary_call(channel, "Fail")({"kind": kind.value})
    exc = info.value
    assert exc.code() == status
    assert exc.details() == "本年度申报数量已达上限。"
    body = dict(exc.trailing_metadata())[ERROR_METADATA_KEY]
    assert json.loads(body.decode("utf-8"))["error"]["code"] == "DECLARATION_QUOTA_EXCEEDED"

    error = error_from_rpc_error(exc)
    assert error == AppError(
        code="DECLARATION_QUOTA_EXCEEDED",
        message="本年度申报数量已达上限。",
        kind=kind,
        details={"limit": 3, "单位": "市数据局"},
        cite=["lhasa-2024 §3.2"],
    )


async def test_unexpected_error_is_internal_without_leaking(
    probe: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="govkit.grpckit.errors")
    async with grpc.aio.insecure_channel(probe.target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await unary_call(channel, "Boom")({}, timeout=2)
    exc = info.value
    assert exc.code() == grpc.StatusCode.INTERNAL
    assert exc.details() == INTERNAL_MESSAGE
    everything_sent = f"{exc.details()} {exc.trailing_metadata()} {exc.initial_metadata()}"
    assert "hunter2" not in everything_sent
    assert "RuntimeError" not in everything_sent
    # ...but the operator can find it in the log.
    assert "hunter2" in caplog.text

    error = error_from_rpc_error(exc)
    assert error.code == "GRPC_INTERNAL"
    assert error.kind is ErrorKind.UNAVAILABLE


async def test_app_error_from_an_inner_interceptor_becomes_a_status() -> None:
    class Refuse(grpc.aio.ServerInterceptor):
        async def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
            if details.method.endswith("/Echo"):
                raise AppError(code="TOKEN_MISSING", message="请先登录。", kind=ErrorKind.UNAUTHENTICATED)
            return await continuation(details)

    # An auth-like interceptor that raises while looking up the handler: an ErrorInterceptor
    # placed before it turns the AppError into a status (create_server adds one only innermost).
    server = await create_server(
        servicers=[(register_generic, probe_handler(ProbeState()))],
        service_names=[SERVICE],
        port=0,
        interceptors=[ErrorInterceptor(), Refuse()],
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await unary_call(channel, "Echo")({}, timeout=2)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error_from_rpc_error(info.value).code == "TOKEN_MISSING"
    finally:
        await server.stop(0)
