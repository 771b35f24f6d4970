"""AppError over gRPC: the server side turns it into a status, the client side turns it back.

A servicer raises :class:`govkit.errors.AppError` exactly like a REST route does. The
:class:`ErrorInterceptor` aborts the RPC with the status code of the error's kind, the Chinese
message as the status details, and the platform's JSON error body (``AppError.to_body()``) in the
trailing metadata key ``govproj-error-bin``. A client gets the same AppError back with
:func:`error_from_rpc_error`. Anything else a servicer raises becomes INTERNAL with a fixed
message: the exception is logged with its traceback, never sent to the caller.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc
import grpc.aio

from govkit.errors import AppError, ErrorKind

logger = logging.getLogger(__name__)

ERROR_METADATA_KEY = "govproj-error-bin"
"""Trailing metadata key carrying the JSON error body (``-bin``: gRPC sends the bytes as is)."""

INTERNAL_MESSAGE = "服务内部错误，请稍后重试；如问题持续，请联系系统管理员。"
UPSTREAM_UNAVAILABLE_MESSAGE = "依赖的服务暂时不可用，请稍后重试。"
UPSTREAM_REFUSED_MESSAGE = "依赖的服务拒绝了该请求。"

STATUS_BY_KIND: dict[ErrorKind, grpc.StatusCode] = {
    ErrorKind.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    ErrorKind.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.CONFLICT: grpc.StatusCode.ABORTED,
    ErrorKind.PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
}

KIND_BY_STATUS: dict[grpc.StatusCode, ErrorKind] = {
    **{status: kind for kind, status in STATUS_BY_KIND.items()},
    # Statuses no AppError produces, mapped to the nearest kind for callers that only branch on kind.
    grpc.StatusCode.ALREADY_EXISTS: ErrorKind.CONFLICT,
    grpc.StatusCode.OUT_OF_RANGE: ErrorKind.INVALID,
}

# A downstream call that timed out or found nobody is worth retrying by our caller too, so these
# keep UNAVAILABLE instead of collapsing into INTERNAL.
_TRANSIENT_UPSTREAM = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def status_for(error: AppError) -> grpc.StatusCode:
    """The gRPC status code an AppError is sent with."""
    return STATUS_BY_KIND[error.kind]


def error_metadata(error: AppError) -> tuple[tuple[str, bytes], ...]:
    """Trailing metadata carrying the error's JSON body (UTF-8, Chinese kept readable)."""
    body = json.dumps(error.to_body(), ensure_ascii=False, default=str).encode("utf-8")
    return ((ERROR_METADATA_KEY, body),)


async def abort_with_app_error(context: grpc.aio.ServicerContext, error: AppError) -> NoReturn:
    """Abort the current RPC with an AppError; usable from servicers and other interceptors."""
    await context.abort(status_for(error), error.message, trailing_metadata=error_metadata(error))
    # context.abort always raises; this line only tells type checkers the function never returns.
    raise AssertionError("context.abort returned")  # pragma: no cover


async def _abort_unexpected(context: grpc.aio.ServicerContext, method: str, exc: Exception) -> NoReturn:
    if isinstance(exc, grpc.aio.AioRpcError) and exc.code() in _TRANSIENT_UPSTREAM:
        logger.warning("downstream call failed in %s: %s %s", method, exc.code().name, exc.details())
        await context.abort(grpc.StatusCode.UNAVAILABLE, UPSTREAM_UNAVAILABLE_MESSAGE)
    logger.exception("unhandled exception in gRPC method %s", method, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
    raise AssertionError("context.abort returned")  # pragma: no cover


Behavior = Callable[..., Any]


def _wrap_unary_response(behavior: Behavior, method: str) -> Behavior:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await behavior(request, context)
        except grpc.aio.AbortError:
            raise  # the servicer aborted on purpose: its status stands
        except AppError as err:
            await abort_with_app_error(context, err)
        except Exception as exc:  # noqa: BLE001 - the RPC boundary: nothing may escape unmapped
            await _abort_unexpected(context, method, exc)

    return wrapper


def _wrap_stream_response(behavior: Behavior, method: str) -> Behavior:
    if inspect.isasyncgenfunction(behavior):

        async def gen_wrapper(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                async for item in behavior(request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except AppError as err:
                await abort_with_app_error(context, err)
            except Exception as exc:  # noqa: BLE001 - the RPC boundary: nothing may escape unmapped
                await _abort_unexpected(context, method, exc)

        return gen_wrapper
    # A coroutine that writes its responses with context.write() behaves like a unary one here.
    return _wrap_unary_response(behavior, method)


def _is_async(behavior: Behavior) -> bool:
    return inspect.iscoroutinefunction(behavior) or inspect.isasyncgenfunction(behavior)


def _wrap_handler(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    h: Any = handler  # the stubs do not declare the handler's fields
    if h.unary_unary is not None and _is_async(h.unary_unary):
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary_response(h.unary_unary, method), h.request_deserializer, h.response_serializer
        )
    if h.unary_stream is not None and _is_async(h.unary_stream):
        return grpc.unary_stream_rpc_method_handler(
            _wrap_stream_response(h.unary_stream, method), h.request_deserializer, h.response_serializer
        )
    if h.stream_unary is not None and _is_async(h.stream_unary):
        return grpc.stream_unary_rpc_method_handler(
            _wrap_unary_response(h.stream_unary, method), h.request_deserializer, h.response_serializer
        )
    if h.stream_stream is not None and _is_async(h.stream_stream):
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream_response(h.stream_stream, method), h.request_deserializer, h.response_serializer
        )
    # Synchronous behaviours (run on a migration thread pool) cannot await context.abort; leave them.
    return handler


def _rejecting_handler(error: AppError) -> grpc.RpcMethodHandler:
    async def reject(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await abort_with_app_error(context, error)

    # No (de)serializers: the request bytes are never looked at.
    return grpc.unary_unary_rpc_method_handler(reject)


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Translate AppError (and unexpected exceptions) raised by handlers into gRPC statuses.

    Put it innermost (last in the server's interceptor list, which :func:`create_server` does):
    then an outer OpenTelemetry interceptor sees the aborted status through its context wrapper.
    An AppError raised by an *inner* interceptor while it looks up the handler (e.g. an auth check
    placed after this one) is also turned into a status.
    """

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """Wrap the next handler's behaviour with the error translation."""
        method = str(getattr(handler_call_details, "method", ""))
        try:
            handler = await continuation(handler_call_details)
        except AppError as err:
            return _rejecting_handler(err)
        if handler is None:  # unknown method: gRPC answers UNIMPLEMENTED itself
            return handler
        return _wrap_handler(handler, method)


def error_interceptor() -> ErrorInterceptor:
    """A new :class:`ErrorInterceptor` (server side)."""
    return ErrorInterceptor()


def _generic_error(status: grpc.StatusCode, details: str | None) -> AppError:
    kind = KIND_BY_STATUS.get(status, ErrorKind.UNAVAILABLE)
    # Without our body the details are gRPC's or a foreign server's English: keep them in
    # `details` for the logs and give the clerk a generic sentence.
    message = UPSTREAM_UNAVAILABLE_MESSAGE if kind is ErrorKind.UNAVAILABLE else UPSTREAM_REFUSED_MESSAGE
    return AppError(
        code=f"GRPC_{status.name}",
        message=message,
        kind=kind,
        details={"grpc_status": status.name, "grpc_details": details or ""},
    )


def error_from_rpc_error(exc: grpc.aio.AioRpcError) -> AppError:
    """Rebuild the AppError a govproj server sent; a generic AppError for any other failure."""
    status = exc.code()
    trailing: Any = exc.trailing_metadata() or ()  # grpc.aio.Metadata: (key, value) pairs
    for key, value in trailing:
        if key != ERROR_METADATA_KEY:
            continue
        try:
            raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
            body = json.loads(raw.decode("utf-8"))["error"]
            return AppError(
                code=str(body["code"]),
                message=str(body["message"]),
                kind=KIND_BY_STATUS.get(status, ErrorKind.UNAVAILABLE),
                details=dict(body.get("details") or {}),
                cite=[str(c) for c in body.get("cite") or []],
            )
        except (ValueError, KeyError, TypeError):
            logger.warning("malformed %s metadata from a server (status %s)", ERROR_METADATA_KEY, status.name)
            break
    return _generic_error(status, exc.details())
