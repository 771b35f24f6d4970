"""Authentication and role checks for govproj services (Keycloak realm govproj).

- :class:`Principal`: who is calling (sub, username, tenant, org, roles).
- :class:`TokenVerifier`: verifies access tokens with python-keycloak against the realm's JWKS.
- FastAPI: :func:`current_principal`, :data:`CurrentPrincipal`, :func:`require_roles`.
- gRPC aio: :class:`AuthInterceptor`, :func:`current_grpc_principal`.
- Service to service: :class:`ServiceTokenProvider` (client-credentials token, cached).
"""

from govkit.auth.grpc_aio import DEFAULT_EXEMPT_PREFIXES, AuthInterceptor, current_grpc_principal
from govkit.auth.principal import SERVICE_ROLE, Principal
from govkit.auth.rest import CurrentPrincipal, bearer_token, current_principal, require_roles
from govkit.auth.service_tokens import ServiceTokenProvider
from govkit.auth.verifier import TokenVerifier, token_expired, token_invalid, unauthenticated

__all__ = [
    "DEFAULT_EXEMPT_PREFIXES",
    "SERVICE_ROLE",
    "AuthInterceptor",
    "CurrentPrincipal",
    "Principal",
    "ServiceTokenProvider",
    "TokenVerifier",
    "bearer_token",
    "current_grpc_principal",
    "current_principal",
    "require_roles",
    "token_expired",
    "token_invalid",
    "unauthenticated",
]
