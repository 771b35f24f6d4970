"""FastAPI: the CurrentPrincipal dependency and require_roles in an app built like a service's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from devstack.issuer.testing import RunningIssuer, get_service_token, get_token
from govkit.auth import CurrentPrincipal, Principal, TokenVerifier, require_roles
from govkit.web import create_app

from .conftest import AUDIENCE


def build_app(issuer: RunningIssuer, *, with_verifier: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Built in the lifespan, never at import time (python-keycloak opens HTTP clients).
        if with_verifier:
            app.state.token_verifier = TokenVerifier(
                server_url=issuer.base_url, realm="govproj", audience=AUDIENCE
            )
        yield
        if with_verifier:
            await app.state.token_verifier.aclose()

    app = create_app(title="auth-test", lifespan=lifespan)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {
            "username": principal.username,
            "tenant": principal.tenant,
            "org": principal.org,
            "roles": sorted(principal.roles),
        }

    @app.post("/approve", dependencies=[Depends(require_roles("bureau_head"))])
    async def approve() -> dict[str, bool]:
        return {"approved": True}

    @app.get("/review")
    async def review(
        principal: Annotated[Principal, Depends(require_roles("bureau_reviewer", "bureau_head"))],
    ) -> str:
        return principal.username

    return app


@pytest.fixture(scope="module")
def client(issuer: RunningIssuer) -> Iterator[TestClient]:
    with TestClient(build_app(issuer)) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_401_with_platform_error_body(client: TestClient) -> None:
    response = client.get("/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert response.json()["error"]["message"] == "请先登录后再进行此操作。"


@pytest.mark.parametrize(
    "header",
    ["Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer", "Bearer ", "Bearer a b", "Bearer not-a-jwt", "Token x"],
)
def test_bad_authorization_headers_are_401(client: TestClient, header: str) -> None:
    response = client.get("/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"UNAUTHENTICATED", "TOKEN_INVALID"}


def test_principal_available_with_a_valid_token(client: TestClient, issuer: RunningIssuer) -> None:
    response = client.get("/me", headers=bearer(get_token(issuer.base_url, "applicant2.county-b")))
    assert response.status_code == 200
    assert response.json() == {
        "username": "applicant2.county-b",
        "tenant": "county-b",
        "org": "unit-2",
        "roles": ["applicant"],
    }


def test_service_account_principal(client: TestClient, issuer: RunningIssuer) -> None:
    response = client.get("/me", headers=bearer(get_service_token(issuer.base_url, "govproj-evaluation")))
    assert response.status_code == 200
    assert response.json()["tenant"] is None and response.json()["roles"] == ["service"]


def test_role_check_403_and_pass(client: TestClient, issuer: RunningIssuer) -> None:
    applicant = bearer(get_token(issuer.base_url, "applicant.city"))
    response = client.post("/approve", headers=applicant)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert (
        client.post("/approve", headers=bearer(get_token(issuer.base_url, "bureau_head.city"))).status_code
        == 200
    )
    reviewer = bearer(get_token(issuer.base_url, "bureau_reviewer.county-a"))
    assert client.get("/review", headers=reviewer).json() == "bureau_reviewer.county-a"
    assert client.get("/review", headers=applicant).status_code == 403


def test_role_check_without_token_is_401_not_403(client: TestClient) -> None:
    assert client.post("/approve").status_code == 401


def test_openapi_declares_bearer_auth(client: TestClient) -> None:
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())


def test_missing_verifier_fails_closed(issuer: RunningIssuer) -> None:
    with TestClient(build_app(issuer, with_verifier=False)) as c:
        response = c.get("/me", headers=bearer(get_token(issuer.base_url, "applicant.city")))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "AUTH_NOT_CONFIGURED"
