"""The issuer's RS256 signing keys: persisted so tokens survive restarts, published as a JWK set."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jwt

_RSA_BITS = 2048


def _generate() -> jwk.JWK:
    key = jwk.JWK.generate(kty="RSA", size=_RSA_BITS)
    # RFC 7638 thumbprint: a kid that is stable for the key and unique across keys.
    return jwk.JWK(**{**json.loads(key.export_private()), "kid": key.thumbprint()})


def _load_or_create(key_path: Path) -> jwk.JWK:
    if key_path.exists():
        key = jwk.JWK.from_pem(key_path.read_bytes())
        return jwk.JWK(**{**json.loads(key.export_private()), "kid": key.thumbprint()})
    key = _generate()
    key_path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.export_to_pem(private_key=True, password=None)
    # Written owner-only and renamed into place so a crash never leaves half a key behind.
    tmp = key_path.with_suffix(key_path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    tmp.replace(key_path)
    return key


class KeyStore:
    """The active signing key plus retired keys that are still published (rotation)."""

    def __init__(self, key_path: Path) -> None:
        self._lock = threading.Lock()
        self._active = _load_or_create(Path(key_path))
        self._retired: list[jwk.JWK] = []

    @property
    def active_kid(self) -> str:
        """The kid new tokens are signed with."""
        return str(self._active.get("kid"))

    def rotate(self) -> str:
        """Sign with a new in-memory key from now on; keep publishing the old one. Returns the new kid.

        Used by tests to exercise key rotation; the persisted key file is left unchanged.
        """
        with self._lock:
            self._retired.append(self._active)
            self._active = _generate()
            return self.active_kid

    def jwks(self) -> dict[str, Any]:
        """The public JWK set served at /protocol/openid-connect/certs."""
        with self._lock:
            keys = [self._active, *self._retired]
        result = []
        for key in keys:
            public = json.loads(key.export_public())
            result.append({**public, "alg": "RS256", "use": "sig"})
        return {"keys": result}

    def public_key_der_b64(self) -> str:
        """The active public key as base64 DER SubjectPublicKeyInfo (Keycloak's realm info format)."""
        pem = self._active.export_to_pem(private_key=False)
        public = serialization.load_pem_public_key(pem)
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode("ascii")

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact RS256 JWS over ``claims`` with the active key."""
        with self._lock:
            key = self._active
        token = jwt.JWT(header={"alg": "RS256", "typ": "JWT", "kid": key.get("kid")}, claims=claims)
        token.make_signed_token(key)
        return str(token.serialize())

    def verify(self, token: str) -> dict[str, Any]:
        """Check a token this issuer signed (refresh tokens) and return its claims.

        Raises ValueError (or a jwcrypto error) when the signature or format is wrong; claim checks
        (exp, typ, iss) are the caller's.
        """
        with self._lock:
            keyset = jwk.JWKSet()
            for key in (self._active, *self._retired):
                keyset.add(key)
        parsed = jwt.JWT(algs=["RS256"], expected_type="JWS", check_claims=False)
        parsed.deserialize(token, keyset)
        claims = json.loads(parsed.claims)
        if not isinstance(claims, dict):
            raise ValueError("claims are not an object")
        return claims
