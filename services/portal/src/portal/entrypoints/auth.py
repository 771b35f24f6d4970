"""Sign-in, sign-out and the signed-in user of a request (OIDC code flow with PKCE).

- ``GET /login`` sends the browser to the issuer's authorize endpoint (state, nonce, S256 challenge
  kept server-side under a short-lived cookie).
- ``GET /auth/callback`` checks state, redeems the code with the verifier, checks the ID token's
  nonce and the access token (govkit's verifier, as the services do), starts a session.
- ``POST /logout`` (CSRF-checked) ends the portal session and sends the browser to the issuer's
  end-session endpoint, which ends the SSO session too.
- Every page: the session's access token is refreshed shortly before it expires; a refused refresh
  (session ended at the issuer) signs the user out.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from govkit.auth import TokenVerifier
from govkit.errors import AppError, ErrorKind
from portal.adapters.oidc import OidcClient, new_pending_login, safe_next_path
from portal.adapters.sessions import PENDING_LOGIN_SECONDS, PortalSession, SessionStore, bind_request
from portal.settings import PortalSettings

SESSION_COOKIE = "govproj_portal_session"
LOGIN_COOKIE = "govproj_portal_login"
_REFRESH_MARGIN_SECONDS = 30.0


class LoginRequired(Exception):
    """No (live) session: the handler redirects to /login and back to ``next_path`` after."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass
class AuthDeps:
    """What the auth routes need, kept on ``app.state.auth``."""

    settings: PortalSettings
    oidc: OidcClient
    verifier: TokenVerifier
    sessions: SessionStore


async def auth_deps(request: Request) -> AuthDeps:
    """The app's auth dependencies."""
    deps: AuthDeps = request.app.state.auth
    return deps


AuthDep = Annotated[AuthDeps, Depends(auth_deps)]


def _cookie(response: Response, settings: PortalSettings, name: str, value: str, max_age: int | None) -> None:
    # HttpOnly: no script reads it; Lax: sent on the issuer's top-level redirect back, not on
    # cross-site POSTs; Secure everywhere except plain-http dev on loopback.
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, secure=not settings.dev, samesite="lax", path="/"
    )


async def _refreshed(deps: AuthDeps, session: PortalSession) -> PortalSession | None:
    if time.time() < session.expires_at - _REFRESH_MARGIN_SECONDS:
        return session
    if not session.refresh_token:
        return None
    try:
        tokens = await deps.oidc.refresh(session.refresh_token)
        principal = await deps.verifier.verify(tokens.access_token)
    except AppError as err:
        if err.kind is ErrorKind.UNAVAILABLE:
            raise
        return None  # refused: the issuer's session ended (logout elsewhere, idle timeout)
    session.access_token = tokens.access_token
    session.refresh_token = tokens.refresh_token or session.refresh_token
    session.id_token = tokens.id_token or session.id_token
    session.expires_at = tokens.expires_at
    session.replace_principal(principal)
    await deps.sessions.save(session)  # every replica now holds the new tokens
    return session


async def current_session(request: Request, deps: AuthDep) -> PortalSession:
    """The signed-in user's session (tokens refreshed when due); LoginRequired without one."""
    next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    session = await deps.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired(next_path if request.method == "GET" else "/")
    live = await _refreshed(deps, session)
    if live is None:
        await deps.sessions.drop(session.id)
        raise LoginRequired(next_path if request.method == "GET" else "/")
    request.state.session = live
    bind_request(live)  # this request's gRPC calls act for the session's chosen org
    return live


CurrentSession = Annotated[PortalSession, Depends(current_session)]


def csrf_refused() -> AppError:
    """A form without this session's CSRF token (forged, or from an ended session)."""
    return AppError(
        code="CSRF_TOKEN_INVALID",
        message="页面已过期或请求来源无效，请刷新页面后重新提交。",
        kind=ErrorKind.FORBIDDEN,
    )


def check_csrf(session: PortalSession, token: str | None) -> None:
    """Refuse a form whose csrf_token is not the session's."""
    if not token or not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise csrf_refused()


router = APIRouter()


@router.get("/login", include_in_schema=False)
async def login(deps: AuthDep, next: str | None = None) -> Response:
    """Start the code flow: remember state/nonce/verifier, send the browser to the issuer."""
    pending = new_pending_login(safe_next_path(next))
    url = await deps.oidc.authorization_url(pending, redirect_uri=deps.settings.redirect_uri)
    response = RedirectResponse(url, status_code=303)
    cookie = await deps.sessions.remember_login(pending)
    _cookie(response, deps.settings, LOGIN_COOKIE, cookie, max_age=PENDING_LOGIN_SECONDS)
    return response


@router.get("/auth/callback", include_in_schema=False)
async def callback(
    request: Request,
    deps: AuthDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    """The issuer's redirect back: check state, redeem the code, check the tokens, start the session."""
    pending = await deps.sessions.take_login(request.cookies.get(LOGIN_COOKIE))
    if error or pending is None or not code or not state or not hmac.compare_digest(state, pending.state):
        # A stale or forged callback: start over instead of trusting it.
        raise AppError(
            code="LOGIN_FAILED",
            message="登录未能完成（登录请求已过期或无效），请重新登录。",
            kind=ErrorKind.UNAUTHENTICATED,
            details={"reason": error or "state"},
        )
    tokens = await deps.oidc.exchange_code(
        code=code, pending=pending, redirect_uri=deps.settings.redirect_uri
    )
    if not tokens.id_token:
        raise AppError(
            code="LOGIN_FAILED", message="登录未能完成，请重新登录。", kind=ErrorKind.UNAUTHENTICATED
        )
    id_claims = await deps.oidc.verify_id_token(tokens.id_token, nonce=pending.nonce)
    principal = await deps.verifier.verify(tokens.access_token)
    session = await deps.sessions.create(
        principal=principal,
        display_name=str(id_claims.get("name") or principal.username),
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        id_token=tokens.id_token,
        expires_at=tokens.expires_at,
    )
    response = RedirectResponse(pending.next_path, status_code=303)
    _cookie(response, deps.settings, SESSION_COOKIE, session.id, max_age=None)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout", include_in_schema=False)
async def logout(
    request: Request, deps: AuthDep, csrf_token: Annotated[str | None, Form()] = None
) -> Response:
    """End the portal session and the issuer's (end-session endpoint with the ID token as hint)."""
    session = await deps.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        response: Response = RedirectResponse("/signed-out", status_code=303)
    else:
        check_csrf(session, csrf_token)
        await deps.sessions.drop(session.id)
        target = await deps.oidc.end_session_url(
            id_token=session.id_token, post_logout_redirect_uri=deps.settings.post_logout_redirect_uri
        )
        response = RedirectResponse(target or "/signed-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/switch-org", include_in_schema=False)
async def switch_org(
    request: Request,
    deps: AuthDep,
    active_org: Annotated[str, Form()] = "",  # checked by acting_as (400 when malformed)
    csrf_token: Annotated[str | None, Form()] = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    """Act for another org or tenant the token grants (the header's switcher); CSRF-checked.

    An org not granted is refused with the services' own 403 (ACTIVE_ORG_NOT_GRANTED), so a forged
    form gets no further than a forged header would.
    """
    session = await current_session(request, deps)
    check_csrf(session, csrf_token)
    session.switch_to(active_org)
    await deps.sessions.save(session)
    return RedirectResponse(safe_next_path(next), status_code=303)


def login_redirect(next_path: str) -> RedirectResponse:
    """Where LoginRequired sends the browser."""
    return RedirectResponse(f"/login?next={quote(next_path, safe='')}", status_code=303)
