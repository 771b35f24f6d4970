"""A tiny JSON servicer built from grpc's generic handlers (no .proto) and a running server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
import pytest

from govkit.errors import AppError, ErrorKind
from govkit.grpckit import GrpcServer, create_server

SERVICE = "govproj.test.v1.Probe"


def method(name: str) -> str:
    return f"/{SERVICE}/{name}"


def _ser(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def _de(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8")) if raw else None


@dataclass
class ProbeState:
    """What the handlers observed, for the tests to assert on."""

    calls: dict[str, int] = field(default_factory=dict)
    slow_started: asyncio.Event = field(default_factory=asyncio.Event)
    slow_cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    time_remaining: list[float | None] = field(default_factory=list)

    def count(self, name: str) -> int:
        self.calls[name] = self.calls.get(name, 0) + 1
        return self.calls[name]


def probe_handler(state: ProbeState) -> grpc.GenericRpcHandler:
    async def echo(request: Any, context: grpc.aio.ServicerContext) -> Any:
        state.count("Echo")
        metadata = dict(context.invocation_metadata() or ())
        return {"request": request, "authorization": metadata.get("authorization")}

    async def fail(request: Any, context: grpc.aio.ServicerContext) -> Any:
        raise AppError(
            code="DECLARATION_QUOTA_EXCEEDED",
            message="本年度申报数量已达上限。",
            kind=ErrorKind(request["kind"]),
            details={"limit": 3, "单位": "市数据局"},
            cite=["lhasa-2024 §3.2"],
        )

    async def boom(request: Any, context: grpc.aio.ServicerContext) -> Any:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    async def slow(request: Any, context: grpc.aio.ServicerContext) -> Any:
        state.count("Slow")
        state.time_remaining.append(context.time_remaining())
        state.slow_started.set()
        try:
            await asyncio.sleep(request.get("seconds", 30))
        except asyncio.CancelledError:
            state.slow_cancelled.set()
            raise
        return {"done": True}

    async def flaky(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if state.count(request["name"]) == 1:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
        return {"attempts": state.calls[request["name"]]}

    def unary(fn: Callable[..., Any]) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=_de, response_serializer=_ser)

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Echo": unary(echo),
            "Fail": unary(fail),
            "Boom": unary(boom),
            "Slow": unary(slow),
            "Get": unary(flaky),
            "Submit": unary(flaky),
        },
    )


def register_generic(handler: grpc.GenericRpcHandler, server: grpc.aio.Server) -> None:
    server.add_generic_rpc_handlers((handler,))


def unary_call(channel: grpc.aio.Channel, name: str) -> Any:
    return channel.unary_unary(method(name), request_serializer=_ser, response_deserializer=_de)


@dataclass
class Running:
    server: GrpcServer
    state: ProbeState

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.port}"


async def start_probe_server(
    interceptors: list[grpc.aio.ServerInterceptor] | None = None,
) -> Running:
    state = ProbeState()
    server = await create_server(
        servicers=[(register_generic, probe_handler(state))],
        service_names=[SERVICE],
        port=0,
        interceptors=interceptors or [],
    )
    await server.start()
    return Running(server, state)


@pytest.fixture
async def probe() -> AsyncIterator[Running]:
    running = await start_probe_server()
    try:
        yield running
    finally:
        await running.server.stop(0)
