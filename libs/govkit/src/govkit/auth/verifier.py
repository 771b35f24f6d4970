"""Access-token verification against the realm's JWKS with python-keycloak.

python-keycloak's ``decode_token`` downloads the keys on every call unless given ``key=`` and checks
the audience only when told (see PITFALLS.md); this verifier caches the JWK set, refetches it once
when a token names an unknown ``kid`` (key rotation), and always checks iss, aud, exp, typ and RS256.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import time
from collections import OrderedDict
from typing import Any

from jwcrypto import jwk
from jwcrypto.common import JWException
from jwcrypto.jwt import JWTExpired
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

from govkit.auth.principal import Principal
from govkit.errors import AppError, ErrorKind

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
_JWS_PARTS = 3
_HTTP_TIMEOUT_SECONDS = 5
# A storm of tokens with made-up kids must not turn into a storm of JWKS downloads.
_DEFAULT_JWKS_MIN_REFRESH_SECONDS = 10.0
_DEFAULT_VERIFIED_CACHE_SIZE = 10_000


def unauthenticated(reason: str = "missing") -> AppError:
    """401: no credentials were presented."""
    return AppError(
        code="UNAUTHENTICATED",
        message="请先登录后再进行此操作。",
        kind=ErrorKind.UNAUTHENTICATED,
        details={"reason": reason},
    )


def token_invalid(reason: str) -> AppError:
    """401: a token was presented but is not acceptable (signature, issuer, audience, format...)."""
    return AppError(
        code="TOKEN_INVALID",
        message="登录凭证无效，请重新登录。",
        kind=ErrorKind.UNAUTHENTICATED,
        details={"reason": reason},
    )


def token_expired() -> AppError:
    """401: the token's ``exp`` has passed."""
    return AppError(
        code="TOKEN_EXPIRED",
        message="登录已过期，请重新登录。",
        kind=ErrorKind.UNAUTHENTICATED,
        details={"reason": "expired"},
    )


def auth_unavailable() -> AppError:
    """503: the identity provider's keys cannot be fetched."""
    return AppError(
        code="AUTH_UNAVAILABLE",
        message="身份认证服务暂时不可用，请稍后重试。",
        kind=ErrorKind.UNAVAILABLE,
    )


def _b64url_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, read only to refuse bad algorithms and pick the key; never trusted beyond."""
    parts = token.split(".")
    if len(parts) != _JWS_PARTS or not all(parts[:2]):
        raise token_invalid("malformed")
    try:
        header = _b64url_json(parts[0])
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise token_invalid("malformed") from exc
    if not isinstance(header, dict):
        raise token_invalid("malformed")
    # Only RS256: refuses "none" (unsigned) and HS256 signed with the public key (key confusion).
    if header.get("alg") != ALGORITHM:
        raise token_invalid("algorithm")
    if "crit" in header or "jku" in header or "x5u" in header or "jwk" in header:
        raise token_invalid("header")
    if not isinstance(header.get("kid"), str):
        raise token_invalid("kid")
    return header


class TokenVerifier:
    """Verifies bearer tokens issued by the realm for one audience (this service's client id).

    Build it where the event loop runs (FastAPI lifespan, gRPC server start), never at import time:
    python-keycloak creates its HTTP client at construction. Close it with :meth:`aclose`.
    """

    def __init__(
        self,
        *,
        server_url: str,
        realm: str,
        audience: str,
        leeway_seconds: int = 0,
        jwks_min_refresh_seconds: float = _DEFAULT_JWKS_MIN_REFRESH_SECONDS,
        verified_cache_size: int = _DEFAULT_VERIFIED_CACHE_SIZE,
    ) -> None:
        # python-keycloak joins paths with urljoin: without the trailing slash a base path is dropped.
        base = server_url if server_url.endswith("/") else server_url + "/"
        self.issuer = f"{base.rstrip('/')}/realms/{realm}"
        self.audience = audience
        self._leeway = leeway_seconds
        self._min_refresh = jwks_min_refresh_seconds
        self._openid = KeycloakOpenID(
            server_url=base, realm_name=realm, client_id=audience, timeout=_HTTP_TIMEOUT_SECONDS
        )
        self._keys: dict[str, jwk.JWK] = {}
        self._fetched_at: float | None = None
        self._fetch_lock = asyncio.Lock()
        self._fetches = 0
        # Verified tokens by SHA-256 of the token: a client reuses its token for many requests and
        # an RS256 check costs far more than the rest of a small request. An entry lives until the
        # token's own exp (checked on every hit) and dies when the key set changes.
        self._verified: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()
        self._cache_size = verified_cache_size

    @property
    def jwks_fetches(self) -> int:
        """How many times the JWK set was downloaded (for metrics and tests)."""
        return self._fetches

    async def _refresh_keys(self) -> None:
        try:
            certs = await self._openid.a_certs()
        except KeycloakError as exc:
            log.warning("cannot fetch the realm's JWKS from %s: %s", self.issuer, exc)
            raise auth_unavailable() from exc
        finally:
            # Counted and timed even when it fails, so an unreachable issuer is not hammered either.
            self._fetches += 1
            self._fetched_at = time.monotonic()
        keys: dict[str, jwk.JWK] = {}
        for entry in certs.get("keys", []):
            # Encryption keys and other algorithms are never valid for our signatures.
            if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
                continue
            if entry.get("kty") != "RSA" or not isinstance(entry.get("kid"), str):
                continue
            keys[entry["kid"]] = jwk.JWK(**entry)
        self._keys = keys
        self._verified.clear()  # a key that left the set must not keep its tokens alive

    async def _key_for(self, kid: str) -> jwk.JWK:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._fetch_lock:
            # Another request may have refreshed the set while this one waited for the lock.
            key = self._keys.get(kid)
            if key is not None:
                return key
            recently = (
                self._fetched_at is not None and time.monotonic() - self._fetched_at < self._min_refresh
            )
            if not recently:
                await self._refresh_keys()
                key = self._keys.get(kid)
        if key is None:
            raise token_invalid("unknown_key")
        return key

    async def verify(self, token: str) -> Principal:
        """Verify ``token`` (signature, RS256, iss, aud, exp, typ Bearer) and return its Principal.

        Raises AppError: UNAUTHENTICATED/TOKEN_INVALID/TOKEN_EXPIRED (401) or AUTH_UNAVAILABLE (503).
        """
        if not token:
            raise unauthenticated()
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._verified.get(digest)
        if cached is not None:
            expires_at, principal = cached
            if time.time() < expires_at + self._leeway:
                self._verified.move_to_end(digest)
                return principal
            del self._verified[digest]
            raise token_expired()
        header = _unverified_header(token)
        key = await self._key_for(header["kid"])
        try:
            claims = self._openid.decode_token(
                token,
                validate=True,
                key=key,
                algs=[ALGORITHM],
                check_claims={"iss": self.issuer, "aud": self.audience, "exp": None, "typ": "Bearer"},
                leeway=self._leeway,
                expected_type="JWS",
                strict_serialization=True,
            )
        except JWTExpired as exc:
            raise token_expired() from exc
        except (JWException, ValueError, TypeError, KeyError) as exc:
            # Wrong signature, issuer, audience, typ or a malformed token: one answer for all of them,
            # the reason only in the details and the log.
            log.info("token refused: %s", exc)
            raise token_invalid(type(exc).__name__) from exc
        try:
            principal = Principal.from_claims(claims)
        except ValueError as exc:
            raise token_invalid("claims") from exc
        exp = claims.get("exp")
        if self._cache_size > 0 and isinstance(exp, int | float):
            self._verified[digest] = (float(exp), principal)
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return principal

    async def aclose(self) -> None:
        """Close python-keycloak's HTTP clients."""
        await self._openid.connection.aclose()
