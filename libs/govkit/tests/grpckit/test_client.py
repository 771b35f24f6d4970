"""Client side: default deadlines, retries only for idempotent methods, cancellation, tokens."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import grpc.aio
import pytest

from govkit import telemetry
from govkit.errors import ErrorKind
from govkit.grpckit import create_channel, error_from_rpc_error, remaining_timeout, retry_service_config

from .conftest import SERVICE, Running, method, start_probe_server, unary_call


async def test_call_without_timeout_gets_the_default_deadline(probe: Running) -> None:
    async with create_channel(probe.target, idempotent_methods=[], default_timeout=0.3) as channel:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await unary_call(channel, "Slow")({"seconds": 5})
        elapsed = loop.time() - started
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert elapsed < 2
    # The server saw the deadline too (what remaining_timeout builds on).
    (seen,) = probe.state.time_remaining
    assert seen is not None
    assert 0 < seen <= 0.3


async def test_explicit_timeout_is_kept(probe: Running) -> None:
    async with create_channel(probe.target, idempotent_methods=[], default_timeout=0.2) as channel:
        assert await unary_call(channel, "Slow")({"seconds": 0.4}, timeout=3) == {"done": True}


async def test_idempotent_method_is_retried_on_unavailable(probe: Running) -> None:
    async with create_channel(probe.target, idempotent_methods=[method("Get")]) as channel:
        response = await unary_call(channel, "Get")({"name": "get-1"})
    assert response == {"attempts": 2}
    assert probe.state.calls["get-1"] == 2


async def test_non_idempotent_method_is_not_retried(probe: Running) -> None:
    async with create_channel(probe.target, idempotent_methods=[method("Get")]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await unary_call(channel, "Submit")({"name": "submit-1"})
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert probe.state.calls["submit-1"] == 1
    assert error_from_rpc_error(info.value).kind is ErrorKind.UNAVAILABLE


async def test_bearer_token_is_attached(probe: Running) -> None:
    tokens = iter(["t-1", "t-2"])

    async def token_provider() -> str:
        return next(tokens)

    async with create_channel(probe.target, idempotent_methods=[], token_provider=token_provider) as channel:
        echo = unary_call(channel, "Echo")
        assert (await echo({"n": 1}))["authorization"] == "Bearer t-1"
        assert (await echo({"n": 2}))["authorization"] == "Bearer t-2"
        # A caller's own authorization wins.
        explicit = await echo({"n": 3}, metadata=(("authorization", "Bearer mine"),))
        assert explicit["authorization"] == "Bearer mine"


@pytest.mark.parametrize("with_otel", [False, True], ids=["plain", "otel-interceptors"])
async def test_cancelling_the_client_cancels_the_server_handler(with_otel: bool) -> None:
    server_interceptors = telemetry.grpc_server_interceptors() if with_otel else []
    client_interceptors = telemetry.grpc_client_interceptors() if with_otel else []
    running = await start_probe_server(server_interceptors)
    try:
        async with create_channel(
            running.target, idempotent_methods=[], interceptors=client_interceptors
        ) as channel:
            slow = unary_call(channel, "Slow")

            async def call_slow() -> Any:
                return await slow({"seconds": 30}, timeout=20)

            task = asyncio.create_task(call_slow())
            await asyncio.wait_for(running.state.slow_started.wait(), 2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 2)
            await asyncio.wait_for(running.state.slow_cancelled.wait(), 2)
    finally:
        await running.server.stop(0)


async def test_otel_interceptors_do_not_change_results() -> None:
    running = await start_probe_server(telemetry.grpc_server_interceptors())
    try:
        async with create_channel(
            running.target,
            idempotent_methods=[method("Get")],
            interceptors=telemetry.grpc_client_interceptors(),
        ) as channel:
            assert await unary_call(channel, "Get")({"name": "g"}) == {"attempts": 2}
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await unary_call(channel, "Fail")({"kind": "conflict"})
            assert error_from_rpc_error(info.value).kind is ErrorKind.CONFLICT
    finally:
        await running.server.stop(0)


class _Context:
    def __init__(self, remaining: float | None) -> None:
        self._remaining = remaining

    def time_remaining(self) -> float | None:
        return self._remaining


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [(None, 5.0), (30.0, 5.0), (1.5, 1.5), (0.01, 0.05), (-1.0, 0.05)],
)
def test_remaining_timeout(remaining: float | None, expected: float) -> None:
    context: Any = _Context(remaining)
    assert remaining_timeout(context, default=5.0) == pytest.approx(expected)


def test_retry_config_names_only_the_idempotent_methods() -> None:
    config = retry_service_config([f"/{SERVICE}/Get", "/govproj.x.v1.X/List"], max_attempts=4)
    (method_config,) = config["methodConfig"]
    assert method_config["name"] == [
        {"service": SERVICE, "method": "Get"},
        {"service": "govproj.x.v1.X", "method": "List"},
    ]
    assert method_config["retryPolicy"]["maxAttempts"] == 4
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    json.dumps(config)  # must be JSON for the channel option
    assert retry_service_config([]) == {"methodConfig": []}


@pytest.mark.parametrize("bad", ["Get", "/Svc", "/Svc/", "//Get", "/a/b/c"])
def test_retry_config_rejects_partial_method_names(bad: str) -> None:
    with pytest.raises(ValueError, match="full gRPC method name"):
        retry_service_config([bad])


def test_retry_config_rejects_attempts_grpc_would_cap() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        retry_service_config([f"/{SERVICE}/Get"], max_attempts=6)
