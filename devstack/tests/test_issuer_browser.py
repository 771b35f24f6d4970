"""The dev issuer's browser login: authorization code with PKCE, SSO session, refresh, logout.

The portal client (`govproj-portal`) is the one the realm gives a redirect URI; without
GOVPROJ_PORTAL_PUBLIC_URL in the environment it is the dev default http://127.0.0.1:8000.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from devstack.issuer.realm import resolve_embedded
from devstack.issuer.testing import DEV_CLIENT_SECRET, DEV_PASSWORD, RunningIssuer

PORTAL = "govproj-portal"
CALLBACK = "http://127.0.0.1:8000/auth/callback"
SIGNED_OUT = "http://127.0.0.1:8000/signed-out"


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def auth_params(verifier: str, **overrides: str) -> dict[str, str]:
    params = {
        "client_id": PORTAL,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge_of(verifier),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return params


def auth_url(issuer: RunningIssuer) -> str:
    return f"{issuer.issuer}/protocol/openid-connect/auth"


def login(client: httpx.Client, issuer: RunningIssuer, verifier: str, username: str) -> str:
    """Post the login form; return the code from the redirect."""
    response = client.post(
        auth_url(issuer), data={**auth_params(verifier), "username": username, "password": DEV_PASSWORD}
    )
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert response.headers["location"].startswith(CALLBACK + "?")
    assert query["state"] == ["st-1"] and query["iss"] == [issuer.issuer]
    return query["code"][0]


def redeem(issuer: RunningIssuer, code: str, verifier: str, **overrides: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        **overrides,
    }
    return httpx.post(issuer.token_url, data=data, auth=(PORTAL, DEV_CLIENT_SECRET), timeout=5)


def test_discovery_lists_code_flow_pkce_and_end_session(issuer: RunningIssuer) -> None:
    doc = httpx.get(f"{issuer.issuer}/.well-known/openid-configuration").json()
    assert doc["authorization_endpoint"] == auth_url(issuer)
    assert doc["end_session_endpoint"] == f"{issuer.issuer}/protocol/openid-connect/logout"
    assert "S256" in doc["code_challenge_methods_supported"]
    assert "authorization_code" in doc["grant_types_supported"]


def test_login_page_is_chinese_with_labelled_inputs(issuer: RunningIssuer) -> None:
    response = httpx.get(auth_url(issuer), params=auth_params(secrets.token_urlsafe(48)))
    assert response.status_code == 200
    page = response.text
    assert '<html lang="zh-CN">' in page and "<title>登录" in page
    assert '<label for="username">用户名</label>' in page and '<label for="password">密码</label>' in page


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"client_id": "nobody"}, "客户端无效"),
        ({"redirect_uri": "http://evil.example/cb"}, "重定向地址无效"),
        ({"client_id": "govproj-intake"}, "重定向地址无效"),  # a service client has no redirect URI
    ],
)
def test_unknown_client_or_redirect_is_a_page_not_a_redirect(
    issuer: RunningIssuer, override: dict[str, str], message: str
) -> None:
    response = httpx.get(auth_url(issuer), params=auth_params(secrets.token_urlsafe(48), **override))
    assert response.status_code == 400 and message in response.text


def test_pkce_is_required_for_the_portal(issuer: RunningIssuer) -> None:
    params = auth_params(secrets.token_urlsafe(48))
    del params["code_challenge"], params["code_challenge_method"]
    response = httpx.get(auth_url(issuer), params=params)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["st-1"]
    plain = httpx.get(auth_url(issuer), params=auth_params("x" * 43, code_challenge_method="plain"))
    assert parse_qs(urlsplit(plain.headers["location"]).query)["error"] == ["invalid_request"]


def test_wrong_password_shows_the_error_on_the_page(issuer: RunningIssuer) -> None:
    data = {**auth_params(secrets.token_urlsafe(48)), "username": "applicant.county-a", "password": "nope"}
    response = httpx.post(auth_url(issuer), data=data)
    assert response.status_code == 401
    assert "用户名或密码错误。" in response.text and 'value="applicant.county-a"' in response.text


def test_code_flow_gives_tokens_once_and_checks_pkce_and_redirect(issuer: RunningIssuer, decode: Any) -> None:
    verifier = secrets.token_urlsafe(48)
    with httpx.Client() as browser:
        code = login(browser, issuer, verifier, "applicant.county-a")
    wrong = redeem(issuer, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # A failed redemption used the code up (Keycloak removes it on the first attempt).
    with httpx.Client() as browser:
        code = login(browser, issuer, verifier, "applicant.county-a")
    bad_redirect = redeem(issuer, code, verifier, redirect_uri="http://127.0.0.1:8000/other")
    assert bad_redirect.json()["error_description"] == "Incorrect redirect_uri"
    with httpx.Client() as browser:
        code = login(browser, issuer, verifier, "applicant.county-a")
    body = redeem(issuer, code, verifier).json()
    claims = decode(body["access_token"])
    assert claims["tenant"] == "county-a" and claims["org"] == "unit-1" and claims["azp"] == PORTAL
    id_claims = decode(body["id_token"])
    assert id_claims["nonce"] == "n-1" and id_claims["aud"] == PORTAL and id_claims["typ"] == "ID"
    again = redeem(issuer, code, verifier)
    assert again.status_code == 400 and again.json()["error_description"] == "Code not valid"


def test_code_needs_the_client_secret(issuer: RunningIssuer) -> None:
    verifier = secrets.token_urlsafe(48)
    with httpx.Client() as browser:
        code = login(browser, issuer, verifier, "applicant.county-a")
    response = httpx.post(
        issuer.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "client_id": PORTAL,
        },
        timeout=5,
    )
    assert response.status_code == 401


def test_sso_session_skips_the_login_page_and_logout_ends_it(issuer: RunningIssuer) -> None:
    verifier = secrets.token_urlsafe(48)
    with httpx.Client() as browser:
        body = redeem(issuer, login(browser, issuer, verifier, "bureau_head.county-a"), verifier).json()
        again = browser.get(auth_url(issuer), params=auth_params(verifier))
        assert again.status_code == 302 and "code=" in again.headers["location"]

        refreshed = httpx.post(
            issuer.token_url,
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
            auth=(PORTAL, DEV_CLIENT_SECRET),
        )
        assert refreshed.status_code == 200 and refreshed.json()["access_token"]

        out = browser.get(
            f"{issuer.issuer}/protocol/openid-connect/logout",
            params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": SIGNED_OUT, "state": "s"},
        )
        assert out.status_code == 302 and out.headers["location"] == SIGNED_OUT + "?state=s"

        after = httpx.post(
            issuer.token_url,
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
            auth=(PORTAL, DEV_CLIENT_SECRET),
        )
        assert after.status_code == 400 and after.json()["error_description"] == "Session not active"
        login_again = browser.get(auth_url(issuer), params=auth_params(verifier))
        assert login_again.status_code == 200 and "<title>登录" in login_again.text


def test_logout_refuses_a_foreign_redirect(issuer: RunningIssuer) -> None:
    verifier = secrets.token_urlsafe(48)
    with httpx.Client() as browser:
        body = redeem(issuer, login(browser, issuer, verifier, "applicant.county-b"), verifier).json()
    out = httpx.get(
        f"{issuer.issuer}/protocol/openid-connect/logout",
        params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": "http://evil.example/"},
    )
    assert out.status_code == 400


def test_password_grant_sessions_still_refresh(issuer: RunningIssuer) -> None:
    from devstack.issuer.testing import token_response

    body = token_response(issuer.base_url, "applicant.county-a")
    refreshed = httpx.post(
        issuer.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": "govproj-cli",
        },
    )
    assert refreshed.status_code == 200


def test_placeholders_inside_values_resolve_like_keycloak_import() -> None:
    env = {"GOVPROJ_PORTAL_PUBLIC_URL": "https://portal.example.gov.cn"}
    value = "${GOVPROJ_PORTAL_PUBLIC_URL:http://127.0.0.1:8000}/auth/callback"
    assert resolve_embedded(value, env) == "https://portal.example.gov.cn/auth/callback"
    assert resolve_embedded(value, {}) == "http://127.0.0.1:8000/auth/callback"
    assert resolve_embedded("${UNSET_WITHOUT_DEFAULT}/x", {}) is None
