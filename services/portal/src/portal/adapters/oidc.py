"""The OIDC relying party: authorization code flow with PKCE against the issuer found by discovery.

The same code runs against production Keycloak and the dev issuer: every endpoint comes from
``{server}/realms/{realm}/.well-known/openid-configuration``. The ID token is checked here
(signature against the JWKS, iss, aud = our client, exp, nonce); the access token is checked by
govkit's TokenVerifier, exactly as the services check it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException

from govkit.errors import AppError, ErrorKind

_HTTP_TIMEOUT_SECONDS = 5.0
_METADATA_TTL_SECONDS = 300.0


def login_failed(reason: str) -> AppError:
    """The sign-in could not be completed (the user starts again)."""
    return AppError(
        code="LOGIN_FAILED",
        message="登录未能完成，请重新登录。",
        kind=ErrorKind.UNAUTHENTICATED,
        details={"reason": reason},
    )


def issuer_unavailable() -> AppError:
    """The identity provider does not answer."""
    return AppError(
        code="AUTH_UNAVAILABLE",
        message="统一身份认证服务暂时不可用，请稍后重试。",
        kind=ErrorKind.UNAVAILABLE,
    )


@dataclass(frozen=True)
class ProviderMetadata:
    """The endpoints of the discovery document the portal uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    end_session_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class PendingLogin:
    """What the portal remembers between sending the browser to the issuer and its return."""

    state: str
    nonce: str
    code_verifier: str
    next_path: str
    created_at: float

    @property
    def code_challenge(self) -> str:
        """RFC 7636 S256 challenge of the verifier."""
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class TokenSet:
    """A token endpoint answer."""

    access_token: str
    refresh_token: str | None
    id_token: str | None
    expires_at: float
    refresh_expires_at: float | None


def new_pending_login(next_path: str) -> PendingLogin:
    """Fresh state, nonce and PKCE verifier (43+ characters of URL-safe randomness)."""
    return PendingLogin(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        code_verifier=secrets.token_urlsafe(48),
        next_path=next_path,
        created_at=time.time(),
    )


def safe_next_path(value: str | None) -> str:
    """Only a local path may follow the login (no open redirect to another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


class OidcClient:
    """Talks to the issuer: discovery, authorize URL, code exchange, refresh, end-session URL."""

    def __init__(self, *, server_url: str, realm: str, client_id: str, client_secret: str) -> None:
        self.issuer_url = f"{server_url.rstrip('/')}/realms/{realm}"
        self.client_id = client_id
        self._secret = client_secret
        self._http = httpx.AsyncClient(timeout=_HTTP_TIMEOUT_SECONDS)
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: jwk.JWKSet | None = None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def metadata(self) -> ProviderMetadata:
        """The discovery document (cached for a few minutes; fetched when first needed)."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < _METADATA_TTL_SECONDS:
            return self._metadata
        try:
            response = await self._http.get(f"{self.issuer_url}/.well-known/openid-configuration")
            response.raise_for_status()
            doc = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise issuer_unavailable() from exc
        if doc.get("issuer") != self.issuer_url:
            raise issuer_unavailable()
        self._metadata = ProviderMetadata(
            issuer=str(doc["issuer"]),
            authorization_endpoint=str(doc["authorization_endpoint"]),
            token_endpoint=str(doc["token_endpoint"]),
            end_session_endpoint=str(doc.get("end_session_endpoint", "")),
            jwks_uri=str(doc["jwks_uri"]),
        )
        self._metadata_at = time.monotonic()
        return self._metadata

    async def authorization_url(self, pending: PendingLogin, *, redirect_uri: str) -> str:
        """Where to send the browser to sign in."""
        meta = await self.metadata()
        query = urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "openid",
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": pending.code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{meta.authorization_endpoint}?{query}"

    async def _token_request(self, data: dict[str, str]) -> TokenSet:
        meta = await self.metadata()
        started = time.time()
        try:
            response = await self._http.post(
                meta.token_endpoint, data=data, auth=(self.client_id, self._secret)
            )
        except httpx.HTTPError as exc:
            raise issuer_unavailable() from exc
        if response.status_code >= 500:  # noqa: PLR2004 - server errors are the issuer's, not ours
            raise issuer_unavailable()
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise issuer_unavailable() from exc
        if response.status_code != 200 or "access_token" not in body:  # noqa: PLR2004
            raise login_failed(
                str(body.get("error_description") or body.get("error") or response.status_code)
            )
        refresh_in = body.get("refresh_expires_in")
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            id_token=body.get("id_token"),
            # Measured from before the request, so network time never makes us hold an expired token.
            expires_at=started + float(body.get("expires_in", 0)),
            refresh_expires_at=started + float(refresh_in) if refresh_in else None,
        )

    async def exchange_code(self, *, code: str, pending: PendingLogin, redirect_uri: str) -> TokenSet:
        """Redeem the code with the PKCE verifier."""
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pending.code_verifier,
            }
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens for a session whose access token is (nearly) expired."""
        return await self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def _jwks(self, *, refetch: bool = False) -> jwk.JWKSet:
        if self._keys is not None and not refetch:
            return self._keys
        meta = await self.metadata()
        try:
            response = await self._http.get(meta.jwks_uri)
            response.raise_for_status()
            self._keys = jwk.JWKSet.from_json(response.text)
        except (httpx.HTTPError, ValueError, JWException) as exc:
            raise issuer_unavailable() from exc
        return self._keys

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims once signature, iss, aud, exp and nonce are checked."""
        meta = await self.metadata()
        check = {"iss": meta.issuer, "aud": self.client_id, "exp": None, "nonce": nonce}
        for refetch in (False, True):  # a rotated key: fetch the key set once more
            keys = await self._jwks(refetch=refetch)
            try:
                parsed = jwt.JWT(
                    jwt=id_token, key=keys, algs=["RS256"], check_claims=check, expected_type="JWS"
                )
            except jwt.JWTMissingKey:
                continue
            except (JWException, ValueError) as exc:
                raise login_failed("id_token") from exc
            claims: dict[str, Any] = json.loads(parsed.claims)
            return claims
        raise login_failed("id_token_key")

    async def end_session_url(self, *, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser so the issuer ends its session too (None if it has no such endpoint)."""
        meta = await self.metadata()
        if not meta.end_session_endpoint:
            return None
        params = {"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token:
            params["id_token_hint"] = id_token
        return f"{meta.end_session_endpoint}?{urlencode(params)}"
