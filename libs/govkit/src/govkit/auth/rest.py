"""FastAPI integration: the caller's Principal as a dependency, and role checks.

The app's lifespan puts a :class:`~govkit.auth.verifier.TokenVerifier` on
``app.state.token_verifier``; the AppErrors raised here are rendered by the platform's error
handler (``govkit.web.create_app``) as 401/403/503 with the usual JSON body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from govkit.auth.principal import ACTIVE_ORG_HEADER, Principal, active_org_invalid
from govkit.auth.verifier import TokenVerifier, token_invalid, unauthenticated
from govkit.errors import AppError, ErrorKind

# Declares the bearer scheme in the OpenAPI document; the header itself is parsed below so that a
# missing or malformed one gives the platform's error body instead of FastAPI's.
_bearer_scheme = HTTPBearer(auto_error=False, description="Keycloak access token (realm govproj)")


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` value; raises 401 when absent or malformed."""
    if not authorization:
        raise unauthenticated()
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise unauthenticated("scheme")
    token = token.strip()
    if not token or " " in token:
        raise token_invalid("malformed")
    return token


def _verifier(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        # A wiring mistake, not the caller's: refuse (fail closed) with a 503 instead of serving.
        raise AppError(
            code="AUTH_NOT_CONFIGURED",
            message="身份认证尚未就绪，请稍后重试。",
            kind=ErrorKind.UNAVAILABLE,
        )
    return verifier


async def current_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)] = None,
) -> Principal:
    """The verified caller of this request (401 without a valid bearer token), acting for the org
    of the ``x-govproj-active-org`` header when one is sent (403 unless the token grants it).

    Cached on ``request.state.principal`` so several dependencies verify the token once.
    """
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    token = bearer_token(request.headers.get("authorization"))
    principal = await _verifier(request).verify(token)
    active = request.headers.getlist(ACTIVE_ORG_HEADER)
    if len(active) > 1:
        # Two choices are no choice: refuse rather than pick one.
        raise active_org_invalid(",".join(active))
    if active:
        principal = principal.acting_as(active[0])
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""Route parameter type: ``principal: CurrentPrincipal``."""


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that passes when the caller holds any of ``roles`` (403 otherwise).

    Use as ``dependencies=[Depends(require_roles("bureau_head"))]`` or
    ``principal: Annotated[Principal, Depends(require_roles("applicant"))]``.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")

    async def dependency(principal: CurrentPrincipal) -> Principal:
        principal.require_role(*roles)
        return principal

    dependency.__name__ = "require_roles_" + "_".join(roles)
    return dependency
