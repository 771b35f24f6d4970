"""The services refuse every token that is not a fresh RS256 token from the realm for them."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx
import pytest
from jwcrypto import jwk, jwt

from devstack.stack import Stack

pytestmark = pytest.mark.e2e


def _claims(stack: Stack, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": f"{stack.issuer_url}/realms/govproj",
        "aud": ["govproj-intake", "govproj-review"],
        "sub": str(uuid.uuid4()),
        "typ": "Bearer",
        "azp": "govproj-cli",
        "preferred_username": "applicant.county-a",
        "tenant": "county-a",
        "org": "unit-1",
        "roles": ["applicant"],
        "iat": now,
        "exp": now + 300,
        **overrides,
    }


def _sign(key: jwk.JWK, claims: dict[str, object]) -> str:
    token = jwt.JWT(header={"alg": "RS256", "kid": key.get("kid"), "typ": "JWT"}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def _issuer_key(stack: Stack) -> jwk.JWK:
    key = jwk.JWK.from_pem((stack.root / "issuer" / "signing-key.pem").read_bytes())
    return jwk.JWK(**{**json.loads(key.export_private()), "kid": key.thumbprint()})


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _status(stack: Stack, token: str) -> httpx.Response:
    return httpx.get(
        f"{stack.http_url('intake')}/v1/declarations/{uuid.uuid4()}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_the_real_issuers_key_is_accepted_so_the_refusals_below_mean_something(stack: Stack) -> None:
    response = _status(stack, _sign(_issuer_key(stack), _claims(stack)))
    assert response.status_code == 404  # authenticated; the declaration just does not exist


def test_forged_token_signed_by_another_key_with_the_same_kid(stack: Stack) -> None:
    real = _issuer_key(stack)
    forger = jwk.JWK.generate(kty="RSA", size=2048, kid=real.get("kid"))
    response = _status(stack, _sign(forger, _claims(stack)))
    assert response.status_code == 401 and response.json()["error"]["message"]


def test_expired_token(stack: Stack) -> None:
    past = int(time.time()) - 3600
    response = _status(stack, _sign(_issuer_key(stack), _claims(stack, iat=past - 300, exp=past)))
    assert response.status_code == 401


def test_token_for_another_audience(stack: Stack) -> None:
    response = _status(stack, _sign(_issuer_key(stack), _claims(stack, aud=["govproj-review"])))
    assert response.status_code == 401


def test_alg_none_token(stack: Stack) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": _issuer_key(stack).get("kid")}
    token = f"{_b64(header)}.{_b64(_claims(stack))}."
    assert _status(stack, token).status_code == 401


def test_no_token_and_garbage(stack: Stack) -> None:
    url = f"{stack.http_url('intake')}/v1/declarations/{uuid.uuid4()}"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer not.a.token"}, timeout=10).status_code == 401
