"""Service-to-service calls: this service's own client-credentials token, cached until near expiry."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

from govkit.errors import AppError, ErrorKind

_DEFAULT_MARGIN_SECONDS = 30.0
_HTTP_TIMEOUT_SECONDS = 5


class ServiceTokenProvider:
    """Fetches (client credentials) and caches an access token for a confidential service client.

    Awaiting the provider itself returns a token, so it plugs into
    ``govkit.grpckit.create_channel(token_provider=...)``. Build it where the event loop runs.
    """

    def __init__(
        self,
        *,
        server_url: str,
        realm: str,
        client_id: str,
        client_secret: str,
        refresh_margin_seconds: float = _DEFAULT_MARGIN_SECONDS,
    ) -> None:
        base = server_url if server_url.endswith("/") else server_url + "/"
        self.client_id = client_id
        self._margin = refresh_margin_seconds
        self._openid = KeycloakOpenID(
            server_url=base,
            realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            timeout=_HTTP_TIMEOUT_SECONDS,
        )
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid access token; fetched anew only when the cached one is within the margin of expiry."""
        if self._token is not None and time.monotonic() < self._expires_at:
            return self._token
        async with self._lock:
            # Concurrent callers wait for the one fetch instead of each asking the issuer.
            if self._token is not None and time.monotonic() < self._expires_at:
                return self._token
            started = time.monotonic()
            try:
                response: dict[str, Any] = await self._openid.a_token(grant_type="client_credentials")
            except KeycloakError as exc:
                raise AppError(
                    code="SERVICE_TOKEN_UNAVAILABLE",
                    message="服务间认证失败，请稍后重试。",
                    kind=ErrorKind.UNAVAILABLE,
                    details={"client_id": self.client_id},
                ) from exc
            self._token = str(response["access_token"])
            lifetime = float(response.get("expires_in", 0))
            # Measured from before the request, so network time never makes us hold an expired token.
            self._expires_at = started + max(lifetime - self._margin, 0.0)
            return self._token

    async def __call__(self) -> str:
        """Same as :meth:`token` (the ``TokenProvider`` shape govkit.grpckit expects)."""
        return await self.token()

    async def authorization_metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata carrying the token: ``(("authorization", "Bearer ..."),)``."""
        return (("authorization", f"Bearer {await self.token()}"),)

    def invalidate(self) -> None:
        """Forget the cached token (e.g. after a 401 from the callee)."""
        self._token = None
        self._expires_at = 0.0

    async def aclose(self) -> None:
        """Close python-keycloak's HTTP clients."""
        await self._openid.connection.aclose()
