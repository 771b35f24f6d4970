"""gRPC for govproj services: server factory, error mapping, client channels and deadlines.

Named ``grpckit`` so that it never shadows the ``grpc`` package.
"""

from govkit.grpckit.client import (
    DEFAULT_TIMEOUT_SECONDS,
    DeadlineClientInterceptor,
    TokenProvider,
    create_channel,
    remaining_timeout,
    retry_service_config,
)
from govkit.grpckit.errors import (
    ERROR_METADATA_KEY,
    ErrorInterceptor,
    abort_with_app_error,
    error_from_rpc_error,
    error_interceptor,
    status_for,
)
from govkit.grpckit.server import GrpcServer, ServicerRegistrar, create_server

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "ERROR_METADATA_KEY",
    "DeadlineClientInterceptor",
    "ErrorInterceptor",
    "GrpcServer",
    "ServicerRegistrar",
    "TokenProvider",
    "abort_with_app_error",
    "create_channel",
    "create_server",
    "error_from_rpc_error",
    "error_interceptor",
    "remaining_timeout",
    "retry_service_config",
    "status_for",
]
