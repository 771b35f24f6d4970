"""The dev issuer over HTTP: Keycloak's paths, grants, claims from the realm's mappers, refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from jwcrypto import jwk, jwt

from devstack.issuer import DevIssuerRefused, create_app, default_realm_files
from devstack.issuer.testing import (
    DEV_CLIENT_SECRET,
    RunningIssuer,
    get_service_token,
    get_token,
    token_response,
)

SERVICES = [
    "govproj-intake",
    "govproj-review",
    "govproj-procurement",
    "govproj-acceptance",
    "govproj-evaluation",
]


def verified_claims(issuer: RunningIssuer, token: str) -> dict[str, Any]:
    """Check the signature against the served JWKS, then return the claims."""
    keys = jwk.JWKSet.from_json(httpx.get(f"{issuer.issuer}/protocol/openid-connect/certs").text)
    parsed = jwt.JWT(jwt=token, key=keys, algs=["RS256"], check_claims={"iss": issuer.issuer, "exp": None})
    import json

    claims: dict[str, Any] = json.loads(parsed.claims)
    return claims


def post_token(issuer: RunningIssuer, data: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.post(issuer.token_url, data=data, timeout=5, **kwargs)


def test_discovery_document(issuer: RunningIssuer) -> None:
    doc = httpx.get(f"{issuer.issuer}/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{issuer.base_url}/realms/govproj"
    assert doc["token_endpoint"] == f"{issuer.issuer}/protocol/openid-connect/token"
    assert doc["jwks_uri"] == f"{issuer.issuer}/protocol/openid-connect/certs"
    assert set(doc["grant_types_supported"]) >= {"password", "refresh_token", "client_credentials"}
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]


def test_jwks_publishes_public_rs256_key_with_kid(issuer: RunningIssuer) -> None:
    keys = httpx.get(f"{issuer.issuer}/protocol/openid-connect/certs").json()["keys"]
    assert len(keys) >= 1
    for key in keys:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
        assert "d" not in key and "p" not in key  # never the private parts


def test_realm_info_and_health(issuer: RunningIssuer) -> None:
    info = httpx.get(issuer.issuer).json()
    assert info["realm"] == "govproj" and info["public_key"]
    assert info["token-service"] == f"{issuer.issuer}/protocol/openid-connect"
    assert httpx.get(f"{issuer.base_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{issuer.base_url}/realms/other").status_code == 404


def test_password_grant_claims_for_applicant(issuer: RunningIssuer) -> None:
    body = token_response(issuer.base_url, "applicant.county-a")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["refresh_token"] and body["id_token"]
    claims = verified_claims(issuer, body["access_token"])
    assert claims["tenant"] == "county-a" and claims["org"] == "unit-1"
    assert claims["roles"] == ["applicant"]
    assert claims["preferred_username"] == "applicant.county-a"
    assert set(claims["aud"]) == {*SERVICES, "govproj-portal"}
    assert claims["azp"] == "govproj-cli" and claims["typ"] == "Bearer"
    assert claims["iss"] == issuer.issuer and claims["exp"] - claims["iat"] == 300
    assert claims["sub"]
    # Stable across logins (derived from the username), like a Keycloak user id.
    assert verified_claims(issuer, get_token(issuer.base_url, "applicant.county-a"))["sub"] == claims["sub"]


@pytest.mark.parametrize(
    ("username", "tenant", "org", "role"),
    [
        ("expert.city", "city", None, "expert"),
        ("evaluator.county-b", "county-b", None, "evaluator"),
        ("applicant2.county-b", "county-b", "unit-2", "applicant"),
        ("unit_head2.city", "city", "unit-2", "unit_head"),
        ("bureau_head.city", "city", "bureau", "bureau_head"),
        ("tenant_admin.county-a", "county-a", "bureau", "tenant_admin"),
        ("platform_admin.city", "city", "techcenter", "platform_admin"),
        ("auditor.county-b", "county-b", "audit", "auditor"),
        ("ndrc.county-a", "county-a", "ndrc", "ndrc"),
    ],
)
def test_password_grant_tenant_org_roles(
    issuer: RunningIssuer, username: str, tenant: str, org: str | None, role: str
) -> None:
    claims = verified_claims(issuer, get_token(issuer.base_url, username))
    assert claims["tenant"] == tenant
    assert claims.get("org") == org
    assert claims["roles"] == [role]


def test_wrong_password_and_unknown_user_are_refused_like_keycloak(issuer: RunningIssuer) -> None:
    for username, password in [("applicant.county-a", "wrong"), ("nobody.city", "govproj-dev")]:
        response = post_token(
            issuer,
            {
                "grant_type": "password",
                "client_id": "govproj-cli",
                "username": username,
                "password": password,
            },
        )
        assert response.status_code == 401
        assert response.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}


def test_password_grant_needs_a_direct_grant_client(issuer: RunningIssuer) -> None:
    response = post_token(
        issuer,
        {"grant_type": "password", "username": "applicant.city", "password": "govproj-dev"},
        auth=("govproj-portal", DEV_CLIENT_SECRET),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


def test_refresh_grant(issuer: RunningIssuer) -> None:
    first = token_response(issuer.base_url, "bureau_reviewer.county-a")
    response = post_token(
        issuer,
        {"grant_type": "refresh_token", "client_id": "govproj-cli", "refresh_token": first["refresh_token"]},
    )
    assert response.status_code == 200, response.text
    second = response.json()
    old, new = verified_claims(issuer, first["access_token"]), verified_claims(issuer, second["access_token"])
    assert new["sub"] == old["sub"] and new["sid"] == old["sid"] and new["jti"] != old["jti"]
    assert new["roles"] == ["bureau_reviewer"] and new["org"] == "bureau"
    assert second["refresh_token"] != first["refresh_token"]


def test_refresh_grant_refusals(issuer: RunningIssuer) -> None:
    tokens = token_response(issuer.base_url, "applicant.city")
    other_client = post_token(
        issuer,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("govproj-portal", DEV_CLIENT_SECRET),
    )
    assert other_client.status_code == 400 and other_client.json()["error"] == "invalid_grant"
    for bad in [tokens["access_token"], "garbage", tokens["refresh_token"][:-4] + "AAAA"]:
        response = post_token(
            issuer, {"grant_type": "refresh_token", "client_id": "govproj-cli", "refresh_token": bad}
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


def test_client_credentials_for_a_service(issuer: RunningIssuer) -> None:
    token = get_service_token(issuer.base_url, "govproj-review")
    claims = verified_claims(issuer, token)
    assert claims["azp"] == "govproj-review"
    assert claims["roles"] == ["service"]
    assert "tenant" not in claims and "org" not in claims and "memberships" not in claims
    assert claims["preferred_username"] == "service-account-govproj-review"
    assert set(claims["aud"]) == {*SERVICES, "govproj-portal"}
    # Client secret in the form works too, and Keycloak gives no refresh token here.
    body = post_token(
        issuer,
        {
            "grant_type": "client_credentials",
            "client_id": "govproj-intake",
            "client_secret": DEV_CLIENT_SECRET,
        },
    ).json()
    assert "refresh_token" not in body and body["refresh_expires_in"] == 0


def test_client_credentials_refusals(issuer: RunningIssuer) -> None:
    wrong_secret = post_token(issuer, {"grant_type": "client_credentials"}, auth=("govproj-intake", "nope"))
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "unauthorized_client"
    unknown = post_token(issuer, {"grant_type": "client_credentials"}, auth=("govproj-nobody", "x"))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    public = post_token(issuer, {"grant_type": "client_credentials", "client_id": "govproj-cli"})
    assert public.status_code == 401 and public.json()["error"] == "unauthorized_client"
    portal = post_token(
        issuer, {"grant_type": "client_credentials"}, auth=("govproj-portal", DEV_CLIENT_SECRET)
    )
    assert portal.status_code == 401 and portal.json()["error"] == "unauthorized_client"


def test_unsupported_or_missing_grant(issuer: RunningIssuer) -> None:
    device = "urn:ietf:params:oauth:grant-type:device_code"
    response = post_token(issuer, {"grant_type": device, "client_id": "govproj-cli"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    # The code grant exists since the browser login; the CLI client has no standard flow.
    response = post_token(issuer, {"grant_type": "authorization_code", "client_id": "govproj-cli"})
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
    response = post_token(issuer, {"client_id": "govproj-cli"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_signing_key_persists_across_restarts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVPROJ_ENV", "dev")
    realm, overlay = default_realm_files()
    kwargs: dict[str, Any] = {
        "realm_path": realm,
        "dev_overlay_path": overlay,
        "issuer_base_url": "http://127.0.0.1:8080",
        "key_path": tmp_path / "issuer" / "signing-key.pem",
    }
    first = create_app(**kwargs).state.issuer.keys.active_kid
    assert (tmp_path / "issuer" / "signing-key.pem").stat().st_mode & 0o077 == 0  # owner-only
    assert create_app(**kwargs).state.issuer.keys.active_kid == first


@pytest.mark.parametrize("value", [None, "prod", "production", "DEV", ""])
def test_create_app_refuses_outside_dev(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("GOVPROJ_ENV", raising=False)
    else:
        monkeypatch.setenv("GOVPROJ_ENV", value)
    realm, overlay = default_realm_files()
    with pytest.raises(DevIssuerRefused, match="GOVPROJ_ENV=dev"):
        create_app(
            realm_path=realm,
            dev_overlay_path=overlay,
            issuer_base_url="http://x",
            key_path=tmp_path / "k.pem",
        )
    assert not (tmp_path / "k.pem").exists()


def test_module_refuses_to_start_without_dev_env(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GOVPROJ_ENV"}
    for extra in ({}, {"GOVPROJ_ENV": "prod"}):
        result = subprocess.run(
            [sys.executable, "-m", "devstack.issuer", "--port", "0", "--data-dir", str(tmp_path)],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 2
        assert "refusing to start" in result.stderr and "GOVPROJ_ENV=dev" in result.stderr
    assert not list(tmp_path.iterdir())  # no key was written


def test_module_serves_with_dev_env(tmp_path: Path) -> None:
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.issuer", "--port", str(port), "--data-dir", str(tmp_path)],
        env={**os.environ, "GOVPROJ_ENV": "dev"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "python -m devstack.issuer did not come up"
            time.sleep(0.1)
        doc = httpx.get(f"{base}/realms/govproj/.well-known/openid-configuration").json()
        assert doc["issuer"] == f"{base}/realms/govproj"
        assert get_token(base, "applicant.city")
        assert (tmp_path / "signing-key.pem").is_file()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
