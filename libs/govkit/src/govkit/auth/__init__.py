"""Authentication and role checks for govproj services (Keycloak realm govproj).

- :class:`Principal`: who is calling (sub, username, tenant, org, roles, memberships);
  ``x-govproj-active-org`` (:data:`ACTIVE_ORG_HEADER`) picks the membership a request acts for.
- :class:`TokenVerifier`: verifies access tokens with python-keycloak against the realm's JWKS.
- FastAPI: :func:`current_principal`, :data:`CurrentPrincipal`, :func:`require_roles`.
- gRPC aio: :class:`AuthInterceptor`, :func:`current_grpc_principal`.
- Service to service: :class:`ServiceTokenProvider` (client-credentials token, cached).
"""

from govkit.auth.grpc_aio import DEFAULT_EXEMPT_PREFIXES, AuthInterceptor, current_grpc_principal
from govkit.auth.principal import (
    ACTIVE_ORG_HEADER,
    SERVICE_ROLE,
    Membership,
    Principal,
    active_org_invalid,
    active_org_not_granted,
)
from govkit.auth.rest import CurrentPrincipal, bearer_token, current_principal, require_roles
from govkit.auth.service_tokens import ServiceTokenProvider
from govkit.auth.verifier import TokenVerifier, token_expired, token_invalid, unauthenticated

__all__ = [
    "ACTIVE_ORG_HEADER",
    "DEFAULT_EXEMPT_PREFIXES",
    "SERVICE_ROLE",
    "AuthInterceptor",
    "CurrentPrincipal",
    "Membership",
    "Principal",
    "ServiceTokenProvider",
    "TokenVerifier",
    "active_org_invalid",
    "active_org_not_granted",
    "bearer_token",
    "current_grpc_principal",
    "current_principal",
    "require_roles",
    "token_expired",
    "token_invalid",
    "unauthenticated",
]
