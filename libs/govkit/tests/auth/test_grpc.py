"""gRPC aio: AuthInterceptor on a server built by govkit.grpckit.create_server on a free port."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.issuer.testing import RunningIssuer, get_service_token, get_token
from govkit.auth import AuthInterceptor, TokenVerifier, current_grpc_principal
from govkit.errors import AppError
from govkit.grpckit import ERROR_METADATA_KEY, GrpcServer, create_server, error_from_rpc_error

from .conftest import AUDIENCE

SERVICE = "govproj.authtest.v1.Probe"


def _ser(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def _de(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8")) if raw else None


def _principal_json() -> dict[str, Any]:
    p = current_grpc_principal()
    return {"username": p.username, "tenant": p.tenant, "org": p.org, "roles": sorted(p.roles)}


def probe_handler() -> grpc.GenericRpcHandler:
    async def whoami(request: Any, context: grpc.aio.ServicerContext) -> Any:
        return _principal_json()

    async def approve(request: Any, context: grpc.aio.ServicerContext) -> Any:
        current_grpc_principal().require_role("bureau_head")
        return {"approved": True}

    async def watch(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        for i in range(2):
            yield {"i": i, **_principal_json()}

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Whoami": grpc.unary_unary_rpc_method_handler(whoami, _de, _ser),
            "Approve": grpc.unary_unary_rpc_method_handler(approve, _de, _ser),
            "Watch": grpc.unary_stream_rpc_method_handler(watch, _de, _ser),
        },
    )


def register(handler: grpc.GenericRpcHandler, server: grpc.aio.Server) -> None:
    server.add_generic_rpc_handlers((handler,))


@pytest.fixture
async def channel(issuer: RunningIssuer) -> AsyncIterator[grpc.aio.Channel]:
    verifier = TokenVerifier(server_url=issuer.base_url, realm="govproj", audience=AUDIENCE)
    server: GrpcServer = await create_server(
        servicers=[(register, probe_handler())],
        service_names=[SERVICE],
        port=0,
        interceptors=[AuthInterceptor(verifier)],
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            yield ch
    finally:
        await server.stop(0)
        await verifier.aclose()


def call(channel: grpc.aio.Channel, name: str) -> Any:
    return channel.unary_unary(f"/{SERVICE}/{name}", request_serializer=_ser, response_deserializer=_de)


def auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def test_no_token_is_unauthenticated_with_error_body(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(channel, "Whoami")({}, timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    trailers = dict(info.value.trailing_metadata() or ())
    body = json.loads(trailers[ERROR_METADATA_KEY])
    assert body["error"]["code"] == "UNAUTHENTICATED"
    error = error_from_rpc_error(info.value)
    assert isinstance(error, AppError) and error.code == "UNAUTHENTICATED"


async def test_bad_token_is_unauthenticated(channel: grpc.aio.Channel, issuer: RunningIssuer) -> None:
    for metadata in [auth("garbage"), (("authorization", "Basic abc"),)]:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(channel, "Whoami")({}, metadata=metadata, timeout=5)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    token = get_token(issuer.base_url, "applicant.city")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(channel, "Whoami")({}, metadata=(*auth(token), *auth(token)), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED  # duplicated header is ambiguous


async def test_principal_available_in_servicer(channel: grpc.aio.Channel, issuer: RunningIssuer) -> None:
    reply = await call(channel, "Whoami")(
        {}, metadata=auth(get_token(issuer.base_url, "crypto.county-a")), timeout=5
    )
    assert reply == {
        "username": "crypto.county-a",
        "tenant": "county-a",
        "org": "crypto",
        "roles": ["crypto"],
    }
    service = await call(channel, "Whoami")(
        {}, metadata=auth(get_service_token(issuer.base_url, "govproj-procurement")), timeout=5
    )
    assert service["tenant"] is None and service["roles"] == ["service"]


async def test_streaming_method(channel: grpc.aio.Channel, issuer: RunningIssuer) -> None:
    stream = channel.unary_stream(f"/{SERVICE}/Watch", request_serializer=_ser, response_deserializer=_de)
    items = [
        m async for m in stream({}, metadata=auth(get_token(issuer.base_url, "archives.city")), timeout=5)
    ]
    assert [m["i"] for m in items] == [0, 1] and items[0]["org"] == "archives"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        _ = [m async for m in stream({}, timeout=5)]
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_role_check_is_permission_denied(channel: grpc.aio.Channel, issuer: RunningIssuer) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(channel, "Approve")(
            {}, metadata=auth(get_token(issuer.base_url, "applicant.city")), timeout=5
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_from_rpc_error(info.value).code == "FORBIDDEN"
    ok = await call(channel, "Approve")(
        {}, metadata=auth(get_token(issuer.base_url, "bureau_head.city")), timeout=5
    )
    assert ok == {"approved": True}


async def test_health_is_exempt(channel: grpc.aio.Channel) -> None:
    response = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=SERVICE), timeout=5
    )
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_no_principal_outside_a_call() -> None:
    with pytest.raises(AppError) as info:
        current_grpc_principal()
    assert info.value.code == "UNAUTHENTICATED"
