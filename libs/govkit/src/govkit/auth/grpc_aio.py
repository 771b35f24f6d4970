"""gRPC aio integration: a server interceptor that authenticates every call.

It verifies ``authorization: Bearer <token>`` metadata, makes the Principal available to the
servicer through :func:`current_grpc_principal`, and aborts unauthenticated calls with
UNAUTHENTICATED plus the platform's JSON error body in the ``govproj-error-bin`` trailer. Put it in
``create_server(interceptors=[..., AuthInterceptor(verifier)])``; health and reflection stay open
for probes and tooling.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

import grpc
import grpc.aio

from govkit.auth.principal import ACTIVE_ORG_HEADER, Principal, active_org_invalid
from govkit.auth.rest import bearer_token
from govkit.auth.verifier import TokenVerifier, unauthenticated
from govkit.errors import AppError, ErrorKind
from govkit.grpckit.errors import abort_with_app_error

DEFAULT_EXEMPT_PREFIXES: tuple[str, ...] = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

_principal: ContextVar[Principal | None] = ContextVar("govproj_grpc_principal", default=None)

Behavior = Callable[..., Any]


def current_grpc_principal() -> Principal:
    """The caller of the RPC being served (raises 401 outside an authenticated call)."""
    principal = _principal.get()
    if principal is None:
        raise unauthenticated("no_principal")
    return principal


def _metadata_values(metadata: Any, key: str) -> list[str]:
    # grpc.aio.Metadata or a tuple of (key, value) pairs, depending on the grpc version.
    return [
        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        for k, v in (metadata or ())
        if k.lower() == key
    ]


def _authorization(metadata: Any) -> str | None:
    values = _metadata_values(metadata, "authorization")
    if len(values) != 1:  # none, or an ambiguous duplicate
        return None
    return values[0]


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Authenticate each call with the TokenVerifier; the Principal lives in a contextvar."""

    def __init__(self, verifier: TokenVerifier, *, exempt_prefixes: Sequence[str] = DEFAULT_EXEMPT_PREFIXES):
        self._verifier = verifier
        self._exempt = tuple(exempt_prefixes)

    async def _authenticate(self, context: grpc.aio.ServicerContext) -> Principal:
        metadata = context.invocation_metadata()
        token = bearer_token(_authorization(metadata))
        principal = await self._verifier.verify(token)
        # The org the caller acts for (the portal sends its session's choice): granted or refused.
        active = _metadata_values(metadata, ACTIVE_ORG_HEADER)
        if len(active) > 1:
            raise active_org_invalid(",".join(active))
        return principal.acting_as(active[0]) if active else principal

    def _wrap_unary(self, behavior: Behavior) -> Behavior:
        async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                principal = await self._authenticate(context)
            except AppError as err:
                await abort_with_app_error(context, err)
            reset = _principal.set(principal)
            try:
                return await behavior(request, context)
            finally:
                _principal.reset(reset)

        return wrapper

    def _wrap_stream(self, behavior: Behavior) -> Behavior:
        if not inspect.isasyncgenfunction(behavior):
            # A coroutine writing with context.write(): same shape as a unary response.
            return self._wrap_unary(behavior)

        async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                principal = await self._authenticate(context)
            except AppError as err:
                await abort_with_app_error(context, err)
            reset = _principal.set(principal)
            try:
                async for item in behavior(request, context):
                    yield item
            finally:
                _principal.reset(reset)

        return wrapper

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Wrap the handler so the token is checked before the servicer runs."""
        method = str(getattr(handler_call_details, "method", ""))
        handler = await continuation(handler_call_details)
        if handler is None or method.startswith(self._exempt):
            return handler
        h: Any = handler  # the stubs do not declare the handler's fields
        serializers = (h.request_deserializer, h.response_serializer)
        if h.unary_unary is not None and inspect.iscoroutinefunction(h.unary_unary):
            return grpc.unary_unary_rpc_method_handler(self._wrap_unary(h.unary_unary), *serializers)
        if h.unary_stream is not None and _is_async(h.unary_stream):
            return grpc.unary_stream_rpc_method_handler(self._wrap_stream(h.unary_stream), *serializers)
        if h.stream_unary is not None and inspect.iscoroutinefunction(h.stream_unary):
            return grpc.stream_unary_rpc_method_handler(self._wrap_unary(h.stream_unary), *serializers)
        if h.stream_stream is not None and _is_async(h.stream_stream):
            return grpc.stream_stream_rpc_method_handler(self._wrap_stream(h.stream_stream), *serializers)
        # A synchronous behaviour cannot await the verifier: refuse rather than serve unauthenticated.
        return _rejecting_handler(
            AppError(
                code="AUTH_UNSUPPORTED_HANDLER",
                message="服务配置错误，暂时无法处理该请求。",
                kind=ErrorKind.UNAVAILABLE,
                details={"method": method},
            )
        )


def _is_async(behavior: Behavior) -> bool:
    return inspect.iscoroutinefunction(behavior) or inspect.isasyncgenfunction(behavior)


def _rejecting_handler(error: AppError) -> grpc.RpcMethodHandler:
    async def reject(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await abort_with_app_error(context, error)

    return grpc.unary_unary_rpc_method_handler(reject)
