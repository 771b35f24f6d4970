"""Sign-in against the dev issuer over real HTTP: code flow with PKCE, cookies, CSRF, refresh, logout.

The portal runs in-process (Starlette's TestClient, lifespan included) as production runs it, with
its sessions in a real nats-server's key-value buckets; the issuer is a real server. The browser's
hop to the issuer (login page, form post) is made with httpx, keeping its SSO cookie.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from devstack.issuer.testing import DEV_CLIENT_SECRET, DEV_PASSWORD, RunningIssuer
from govkit.localinfra import LocalNats
from portal.adapters.sessions import PortalSession, new_session_key
from portal.bootstrap import create_app
from portal.entrypoints.auth import LOGIN_COOKIE, SESSION_COOKIE
from portal.settings import PortalSettings
from services.portal.tests.integration.conftest import PUBLIC_URL

pytestmark = pytest.mark.integration


@pytest.fixture
def production_settings(issuer: RunningIssuer, closed_port: int, nats_server: LocalNats) -> PortalSettings:
    """A production portal: HTTPS address, sessions in NATS under a session key of its own."""
    return PortalSettings(
        env="production",
        public_url=PUBLIC_URL,
        oidc_server_url=issuer.base_url,
        oidc_client_secret=DEV_CLIENT_SECRET,  # type: ignore[arg-type]
        intake_grpc_target=f"127.0.0.1:{closed_port}",
        review_grpc_target=f"127.0.0.1:{closed_port}",
        grpc_timeout_seconds=1.0,
        nats_url=nats_server.url,
        session_key=new_session_key(),  # type: ignore[arg-type]
    )


@pytest.fixture
def portal(production_settings: PortalSettings) -> Iterator[TestClient]:
    with TestClient(create_app(production_settings), base_url=PUBLIC_URL, follow_redirects=False) as client:
        yield client


def stored_session(portal: TestClient) -> PortalSession:
    """The session of the client's cookie, read from the store on the app's own event loop."""
    store = portal.app.state.auth.sessions  # type: ignore[attr-defined]
    session = portal.portal.call(store.get, portal.cookies.get(SESSION_COOKIE))  # type: ignore[union-attr]
    assert session is not None
    return session  # type: ignore[no-any-return]


def at_issuer(browser: httpx.Client, authorize: str, username: str) -> httpx.Response:
    """The issuer's login form posted with the authorize request's parameters (its answer: the
    redirect back to the portal with the code)."""
    query = parse_qs(urlsplit(authorize).query)
    return browser.post(
        authorize.split("?")[0],
        data={**{k: v[0] for k, v in query.items()}, "username": username, "password": DEV_PASSWORD},
    )


def sign_in(
    portal: TestClient, browser: httpx.Client, username: str, next_path: str = "/projects"
) -> httpx.Response:
    """The whole round trip; returns the portal's answer to the callback."""
    start = portal.get("/login", params={"next": next_path})
    assert start.status_code == 303
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [
        f"{PUBLIC_URL}/auth/callback"
    ]
    page = browser.get(authorize)
    assert page.status_code == 200 and "<title>登录" in page.text
    posted = at_issuer(browser, authorize, username)
    assert posted.status_code == 302, posted.text
    callback = urlsplit(posted.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}" == PUBLIC_URL
    return portal.get(f"{callback.path}?{callback.query}")


def test_signed_out_start_page_offers_login(portal: TestClient) -> None:
    page = portal.get("/")
    assert page.status_code == 200 and 'id="login"' in page.text and '<html lang="zh-CN">' in page.text
    deep = portal.get("/projects?status=draft")
    assert deep.status_code == 303 and deep.headers["location"] == "/login?next=%2Fprojects%3Fstatus%3Ddraft"


def test_code_flow_starts_a_session_with_hardened_cookie(portal: TestClient) -> None:
    with httpx.Client() as browser:
        done = sign_in(portal, browser, "applicant.county-a")
    assert done.status_code == 303 and done.headers["location"] == "/projects"
    cookie = next(h for h in done.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "secure" in flags and "samesite=lax" in flags and "path=/" in flags
    assert any(h.startswith(f'{LOGIN_COOKIE}=""') for h in done.headers.get_list("set-cookie"))


def test_services_down_is_said_in_chinese(portal: TestClient) -> None:
    with httpx.Client() as browser:
        sign_in(portal, browser, "applicant.county-a")
    page = portal.get("/")
    assert page.status_code == 503
    assert "联审与审批服务暂时不可用" in page.text and "applicant.county-a" in page.text
    listing = portal.get("/projects")
    assert listing.status_code == 503 and "项目申报服务暂时不可用" in listing.text


def test_callback_without_the_login_cookie_or_with_another_state_is_refused(portal: TestClient) -> None:
    with httpx.Client() as browser:
        start = portal.get("/login")
        authorize = start.headers["location"]
        query = parse_qs(urlsplit(authorize).query)
        posted = at_issuer(browser, authorize, "applicant.county-a")
    code = parse_qs(urlsplit(posted.headers["location"]).query)["code"][0]
    forged = portal.get("/auth/callback", params={"code": code, "state": "someone-elses"})
    assert forged.status_code == 401 and "登录未能完成" in forged.text
    portal.cookies.clear()
    replay = portal.get("/auth/callback", params={"code": code, "state": query["state"][0]})
    assert replay.status_code == 401


def test_forms_need_the_sessions_csrf_token(portal: TestClient) -> None:
    with httpx.Client() as browser:
        sign_in(portal, browser, "applicant.county-a")
    refused = portal.post("/projects/new", data={"name": "x"})
    assert refused.status_code == 403 and "请刷新页面后重新提交" in refused.text
    logout = portal.post("/logout", data={"csrf_token": "forged"})
    assert logout.status_code == 403


def test_tokens_are_refreshed_before_they_expire(portal: TestClient, issuer: RunningIssuer) -> None:
    with httpx.Client() as browser:
        sign_in(portal, browser, "bureau_reviewer.county-a")
    before = stored_session(portal).access_token
    time.sleep(1.1)  # lifespan 31 s minus the 30 s margin: the next page refreshes
    portal.get("/")
    after = stored_session(portal)  # the refreshed tokens were written back for every replica
    assert after.access_token != before and after.principal.username == "bureau_reviewer.county-a"


def test_logout_ends_the_issuer_session_too(portal: TestClient, issuer: RunningIssuer) -> None:
    with httpx.Client() as browser:
        sign_in(portal, browser, "unit_head.county-a")
        session = stored_session(portal)
        refresh_token = session.refresh_token
        out = portal.post("/logout", data={"csrf_token": session.csrf_token})
        assert out.status_code == 303
        end_session = out.headers["location"]
        assert end_session.startswith(f"{issuer.issuer}/protocol/openid-connect/logout?")
        assert "id_token_hint=" in end_session
        back = browser.get(end_session)
        assert back.status_code == 302 and back.headers["location"].startswith(f"{PUBLIC_URL}/signed-out")
        # The SSO session is over: the login page asks for the password again.
        again = browser.get(portal.get("/login").headers["location"])
        assert "<title>登录" in again.text
    assert portal.get("/projects").status_code == 303  # the portal session is gone
    refreshed = httpx.post(
        issuer.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=("govproj-portal", DEV_CLIENT_SECRET),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error_description"] == "Session not active"
    assert "已退出登录" in portal.get("/signed-out").text


def test_a_login_started_on_one_replica_finishes_on_another(production_settings: PortalSettings) -> None:
    # Two portal pods behind an ingress without affinity: every hop may land on either.
    app_a, app_b = create_app(production_settings), create_app(production_settings)
    with (
        TestClient(app_a, base_url=PUBLIC_URL, follow_redirects=False) as a,
        TestClient(app_b, base_url=PUBLIC_URL, follow_redirects=False) as b,
        httpx.Client() as browser,
    ):
        start = a.get("/login", params={"next": "/projects"})
        b.cookies.update(a.cookies)  # one browser: the same cookies reach both pods
        posted = at_issuer(browser, start.headers["location"], "unit_head.county-a")
        callback = urlsplit(posted.headers["location"])
        done = b.get(f"{callback.path}?{callback.query}")
        assert done.status_code == 303 and done.headers["location"] == "/projects"
        a.cookies.update(b.cookies)
        # Signed in on both pods; a replayed callback finds the login taken, on either.
        for pod in (a, b):
            page = pod.get("/")
            assert page.status_code == 503 and "unit_head.county-a" in page.text  # services down, user known
            assert pod.get(f"{callback.path}?{callback.query}").status_code == 401
        session = stored_session(a)
        out = b.post("/logout", data={"csrf_token": session.csrf_token})
        assert out.status_code == 303
        a.cookies.update(b.cookies)
        a.cookies.set(SESSION_COOKIE, session.id, domain="portal.test")
        assert a.get("/projects").status_code == 303  # ended on b: gone on a too


def test_production_needs_shared_sessions(production_settings: PortalSettings) -> None:
    for missing in ({"nats_url": None}, {"session_key": SecretStr("")}):
        with pytest.raises(ValueError, match="GOVPROJ_PORTAL_NATS_URL and GOVPROJ_PORTAL_SESSION_KEY"):
            create_app(production_settings.model_copy(update=missing))


def test_sessions_unavailable_while_nats_is_away(
    production_settings: PortalSettings, closed_port: int
) -> None:
    settings = production_settings.model_copy(update={"nats_url": f"nats://127.0.0.1:{closed_port}"})
    with TestClient(create_app(settings), base_url=PUBLIC_URL, follow_redirects=False) as portal:
        ready = portal.get("/readyz")
        assert ready.status_code == 503 and ready.json() == {"ready": False, "sessions": "unavailable"}
        start = portal.get("/login")
        assert start.status_code == 503 and "登录服务暂时不可用" in start.text
        portal.cookies.set(SESSION_COOKIE, "x" * 43, domain="portal.test")
        page = portal.get("/projects")
        assert page.status_code == 503 and "登录服务暂时不可用" in page.text


def test_production_refuses_a_plain_http_public_url(issuer: RunningIssuer) -> None:
    with pytest.raises(ValueError, match="https"):
        create_app(
            PortalSettings(env="production", public_url="http://portal.test", oidc_server_url=issuer.base_url)
        )


def test_dev_cookie_is_not_secure_on_loopback_http(issuer: RunningIssuer, closed_port: int) -> None:
    settings = PortalSettings(
        env="dev",
        public_url="http://portal.test",
        oidc_server_url=issuer.base_url,
        oidc_client_secret=DEV_CLIENT_SECRET,
    )  # type: ignore[arg-type]
    with TestClient(create_app(settings), base_url="http://portal.test", follow_redirects=False) as client:
        start = client.get("/login")
    cookie = next(h for h in start.headers.get_list("set-cookie") if h.startswith(LOGIN_COOKIE))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
