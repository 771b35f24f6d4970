"""Client channels and deadlines: a deadline on every call, retries only where they are safe.

* Retries live in the channel's service config (gRPC core retries transparently, with backoff and
  retry throttling), and only for the methods the caller names idempotent: a retried ``Submit``
  could submit twice, a retried ``Get`` cannot hurt.
* :class:`DeadlineClientInterceptor` gives every unary call that has no timeout a default one and
  attaches the service's bearer token.
* :func:`remaining_timeout` turns the time left on an incoming call into the timeout of the
  downstream calls it makes, because gRPC Python does not propagate deadlines by itself.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
import grpc.aio

DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_ATTEMPTS = 3
RETRYABLE_STATUS_CODES = ("UNAVAILABLE",)
# gRPC core caps maxAttempts at 5 whatever the config says; refuse more so nobody is surprised.
_GRPC_MAX_ATTEMPTS_CAP = 5
_MIN_ATTEMPTS = 2

TokenProvider = Callable[[], Awaitable[str]]
"""Returns a current access token (e.g. the service account's client-credentials token)."""


def remaining_timeout(context: grpc.aio.ServicerContext, default: float, floor: float = 0.05) -> float:
    """The timeout for a downstream call made while serving ``context``.

    The smaller of ``default`` and the time left on the incoming call, but never below ``floor``
    (an already expired deadline still yields a short, failing call instead of a zero or negative
    timeout that gRPC would reject). ``default`` applies when the caller set no deadline.
    """
    remaining = context.time_remaining()
    if remaining is None:
        return max(default, floor)
    return max(min(default, remaining), floor)


def _split_method(full_method: str) -> dict[str, str]:
    """``/pkg.Service/Method`` → the service config's ``{"service": ..., "method": ...}``."""
    parts = full_method.strip("/").split("/")
    if len(parts) != 2 or not all(parts):  # noqa: PLR2004 - "service/method" has two parts
        raise ValueError(f"not a full gRPC method name (/pkg.Service/Method): {full_method!r}")
    return {"service": parts[0], "method": parts[1]}


def retry_service_config(
    idempotent_methods: Sequence[str],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    initial_backoff_seconds: float = 0.1,
    max_backoff_seconds: float = 1.0,
    backoff_multiplier: float = 2.0,
) -> dict[str, Any]:
    """A gRPC service config with a retry policy for exactly these methods (UNAVAILABLE only)."""
    if not _MIN_ATTEMPTS <= max_attempts <= _GRPC_MAX_ATTEMPTS_CAP:
        raise ValueError(f"max_attempts must be between {_MIN_ATTEMPTS} and {_GRPC_MAX_ATTEMPTS_CAP}")
    if not idempotent_methods:
        return {"methodConfig": []}
    return {
        "methodConfig": [
            {
                "name": [_split_method(m) for m in idempotent_methods],
                "retryPolicy": {
                    "maxAttempts": max_attempts,
                    "initialBackoff": f"{initial_backoff_seconds}s",
                    "maxBackoff": f"{max_backoff_seconds}s",
                    "backoffMultiplier": backoff_multiplier,
                    "retryableStatusCodes": list(RETRYABLE_STATUS_CODES),
                },
            }
        ]
    }


class DeadlineClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Default timeout for unary calls that have none, plus an optional bearer token.

    Keep it last (innermost) in a channel's interceptors: it awaits the call itself, so that
    cancelling the caller's task cancels the RPC (and the server's handler) even when an outer
    OpenTelemetry interceptor would otherwise swallow the cancellation
    (opentelemetry-python-contrib issue 3271).
    """

    def __init__(
        self,
        *,
        default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        token_provider: TokenProvider | None = None,
    ) -> None:
        if default_timeout <= 0:
            raise ValueError("default_timeout must be positive")
        self._default_timeout = default_timeout
        self._token_provider = token_provider

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        """Fill in timeout and authorization, run the call and wait for it to finish."""
        timeout = client_call_details.timeout
        if timeout is None:
            timeout = self._default_timeout
        metadata = grpc.aio.Metadata(*tuple(client_call_details.metadata or ()))
        if self._token_provider is not None and "authorization" not in metadata:
            token = await self._token_provider()
            metadata.add("authorization", f"Bearer {token}")
        details = grpc.aio.ClientCallDetails(
            client_call_details.method,
            timeout,
            metadata,
            client_call_details.credentials,
            client_call_details.wait_for_ready,
        )
        call = await continuation(details, request)
        # Why await here: a cancellation now lands in the call's own __await__, which cancels the
        # RPC on the wire; an outer interceptor awaiting call.code() would not. An AioRpcError is
        # dropped here because the caller gets the same error when it awaits the returned call.
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call
        return call


def create_channel(
    target: str,
    *,
    idempotent_methods: Sequence[str],
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    token_provider: TokenProvider | None = None,
    interceptors: Sequence[Any] = (),
    credentials: grpc.ChannelCredentials | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """An aio channel to ``target`` with retries for the idempotent methods and default deadlines.

    ``idempotent_methods`` are full names (``/govproj.intake.v1.IntakeService/GetDeclaration``);
    only they are retried, at most ``max_attempts`` times in all, on UNAVAILABLE. ``interceptors``
    (e.g. :func:`govkit.telemetry.grpc_client_interceptors`) run outermost, before the
    :class:`DeadlineClientInterceptor` this function adds last.
    """
    config = retry_service_config(idempotent_methods, max_attempts=max_attempts)
    channel_options: list[tuple[str, Any]] = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(config)),
        *options,
    ]
    all_interceptors = [
        *interceptors,
        DeadlineClientInterceptor(default_timeout=default_timeout, token_provider=token_provider),
    ]
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=channel_options, interceptors=all_interceptors)
    return grpc.aio.secure_channel(
        target, credentials, options=channel_options, interceptors=all_interceptors
    )
