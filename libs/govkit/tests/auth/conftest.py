"""A dev issuer (background thread, free port) and helpers to mint good and bad tokens."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwk, jwt

from devstack.issuer.testing import RunningIssuer, start_issuer
from govkit.auth import TokenVerifier

AUDIENCE = "govproj-intake"


def launch_issuer(data_dir: Path) -> RunningIssuer:
    """Start an issuer; GOVPROJ_ENV=dev is set only while it is built."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOVPROJ_ENV", "dev")
        return start_issuer(data_dir)


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIssuer]:
    running = launch_issuer(tmp_path_factory.mktemp("issuer"))
    yield running
    running.stop()


@pytest.fixture
async def verifier(issuer: RunningIssuer) -> AsyncIterator[TokenVerifier]:
    v = TokenVerifier(server_url=issuer.base_url, realm="govproj", audience=AUDIENCE)
    yield v
    await v.aclose()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def good_claims(issuer: RunningIssuer, **overrides: Any) -> dict[str, Any]:
    """Claims shaped like the issuer's access tokens for applicant.county-a."""
    now = int(time.time())
    claims = {
        "exp": now + 300,
        "iat": now,
        "jti": "test",
        "iss": issuer.issuer,
        "aud": [AUDIENCE, "govproj-review"],
        "sub": "00000000-0000-0000-0000-000000000001",
        "typ": "Bearer",
        "azp": "govproj-cli",
        "preferred_username": "applicant.county-a",
        "tenant": "county-a",
        "org": "unit-1",
        "roles": ["applicant"],
    }
    claims.update(overrides)
    return claims


def sign_with(key: jwk.JWK, claims: dict[str, Any], *, kid: str, alg: str = "RS256") -> str:
    token = jwt.JWT(header={"alg": alg, "typ": "JWT", "kid": kid}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())
