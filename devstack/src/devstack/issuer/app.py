"""The dev OIDC issuer: Keycloak's URL paths and response shapes for realm govproj, served by FastAPI.

It never runs outside development: :func:`create_app` refuses unless ``GOVPROJ_ENV=dev``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from devstack.issuer.browser import (
    SSO_COOKIE,
    AuthRequest,
    BrowserSessions,
    login_page,
    message_page,
    pkce_matches,
    redirect_with,
)
from devstack.issuer.guard import ensure_dev_environment
from devstack.issuer.keys import KeyStore
from devstack.issuer.realm import Client, Realm, User, load_realm
from devstack.issuer.tokens import Session, TokenMinter

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_GRANTS = ["authorization_code", "password", "refresh_token", "client_credentials"]
_LOGIN_FAILED = "用户名或密码错误。"


class OAuthError(Exception):
    """A token endpoint failure, rendered as Keycloak does: {"error", "error_description"}."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> JSONResponse:
        """The HTTP response Keycloak would send."""
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=_NO_STORE,
        )


_BAD_CLIENT = "Invalid client or Invalid client credentials"


@dataclass
class IssuerState:
    """Everything the routes need, kept on ``app.state.issuer``."""

    realm: Realm
    keys: KeyStore
    minter: TokenMinter
    issuer: str  # {base}/realms/{realm}
    browser: BrowserSessions

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign arbitrary claims with the active key (tests use it to craft expired tokens)."""
        return self.keys.sign(claims)


def _client_credentials(request: Request, form: Mapping[str, str]) -> tuple[str | None, str | None]:
    """client_id/client_secret from HTTP Basic (RFC 6749 §2.3.1, form-urlencoded parts) or the form."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError(400, "invalid_request", "Invalid Authorization header") from exc
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuthError(400, "invalid_request", "Invalid Authorization header")
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if form.get("client_id") not in (None, "", client_id):
            raise OAuthError(400, "invalid_request", "client_id in form and Authorization header differ")
        return client_id, secret
    return form.get("client_id") or None, form.get("client_secret") or None


def _authenticate_client(state: IssuerState, request: Request, form: Mapping[str, str]) -> Client:
    client_id, secret = _client_credentials(request, form)
    if not client_id:
        raise OAuthError(400, "invalid_request", "Missing parameter: client_id")
    client = state.realm.clients.get(client_id)
    if client is None or not client.enabled:
        raise OAuthError(401, "invalid_client", _BAD_CLIENT)
    if client.public:
        return client
    expected = client.secret
    # An unresolved ${VAR} placeholder leaves no secret: such a client cannot authenticate.
    if expected is None or secret is None or not hmac.compare_digest(expected.encode(), secret.encode()):
        raise OAuthError(401, "unauthorized_client", _BAD_CLIENT)
    return client


def _password_grant(state: IssuerState, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
    if not client.direct_access_grants:
        raise OAuthError(400, "unauthorized_client", "Client not allowed for direct access grants")
    username = (form.get("username") or "").strip().lower()
    password = form.get("password") or ""
    user = state.realm.users.get(username)
    if user is None or user.service_account_client_id or user.password is None:
        raise OAuthError(401, "invalid_grant", "Invalid user credentials")
    if not hmac.compare_digest(user.password.encode(), password.encode()):
        raise OAuthError(401, "invalid_grant", "Invalid user credentials")
    if not user.enabled:
        raise OAuthError(400, "invalid_grant", "Account disabled")
    session = state.minter.new_session()
    requested = set((form.get("scope") or "").split())
    return state.minter.issue(user, client, session, requested, with_refresh=True).to_response()


def _client_credentials_grant(state: IssuerState, client: Client, request: Request) -> dict[str, Any]:
    if client.public:
        raise OAuthError(401, "unauthorized_client", "Public client not allowed to retrieve service account")
    user = state.realm.service_accounts.get(client.client_id)
    if not client.service_accounts or user is None:
        raise OAuthError(401, "unauthorized_client", "Client not enabled to retrieve service account")
    host = request.client.host if request.client else "127.0.0.1"
    session = state.minter.new_session(
        notes={"clientId": client.client_id, "clientHost": host, "clientAddress": host}
    )
    # Keycloak issues no refresh token for client credentials by default
    # (client attribute use.refresh.tokens.client_credentials=false).
    return state.minter.issue(user, client, session, set(), with_refresh=False).to_response()


def _refresh_grant(state: IssuerState, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
    raw = form.get("refresh_token")
    if not raw:
        raise OAuthError(400, "invalid_request", "No refresh token")
    try:
        claims = state.keys.verify(raw)
    except Exception as exc:  # any parse or signature failure means the same thing to the caller
        raise OAuthError(400, "invalid_grant", "Invalid refresh token") from exc
    if claims.get("typ") != "Refresh" or claims.get("iss") != state.issuer:
        raise OAuthError(400, "invalid_grant", "Invalid refresh token")
    if int(claims.get("exp", 0)) < time.time():
        raise OAuthError(400, "invalid_grant", "Token is not active")
    if claims.get("azp") != client.client_id:
        raise OAuthError(
            400, "invalid_grant", "Invalid refresh token. Token client and authorized client don't match"
        )
    if state.browser.is_ended(str(claims.get("sid"))):
        raise OAuthError(400, "invalid_grant", "Session not active")
    user = next((u for u in state.realm.users.values() if u.id == claims.get("sub")), None)
    if user is None:
        raise OAuthError(400, "invalid_grant", "User not found")
    if not user.enabled:
        raise OAuthError(400, "invalid_grant", "User disabled")
    auth_time = int(claims.get("auth_time", claims.get("iat", 0)))
    session = Session(sid=str(claims.get("sid")), auth_time=auth_time, notes={"AUTH_TIME": str(auth_time)})
    requested = set(str(claims.get("scope", "")).split())
    return state.minter.issue(user, client, session, requested, with_refresh=True).to_response()


def _code_grant(state: IssuerState, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
    if not client.standard_flow:
        raise OAuthError(400, "unauthorized_client", "Client not allowed to exchange code")
    code = form.get("code")
    if not code:
        raise OAuthError(400, "invalid_request", "Missing parameter: code")
    issued = state.browser.redeem(code)
    if issued is None or issued.request.client_id != client.client_id:
        raise OAuthError(400, "invalid_grant", "Code not valid")
    if form.get("redirect_uri") != issued.request.redirect_uri:
        raise OAuthError(400, "invalid_grant", "Incorrect redirect_uri")
    if issued.request.code_challenge:
        verifier = form.get("code_verifier") or ""
        if not verifier:
            raise OAuthError(400, "invalid_grant", "PKCE code verifier not specified")
        if not pkce_matches(verifier, issued.request.code_challenge, issued.request.code_challenge_method):
            raise OAuthError(400, "invalid_grant", "PKCE verification failed: Code mismatch")
    if state.browser.is_ended(issued.sid):
        raise OAuthError(400, "invalid_grant", "Session not active")
    user = state.realm.users.get(issued.username)
    if user is None or not user.enabled:
        raise OAuthError(400, "invalid_grant", "User disabled")
    session = Session(sid=issued.sid, auth_time=issued.auth_time, notes={"AUTH_TIME": str(issued.auth_time)})
    requested = set(issued.request.scope.split())
    return state.minter.issue(
        user, client, session, requested, with_refresh=True, nonce=issued.request.nonce or None
    ).to_response()


def _check_password(realm: Realm, username: str, password: str) -> User | None:
    user = realm.users.get(username.strip().lower())
    if user is None or user.service_account_client_id or user.password is None or not user.enabled:
        return None
    if not hmac.compare_digest(user.password.encode(), password.encode()):
        return None
    return user


def create_app(
    *,
    realm_path: Path,
    dev_overlay_path: Path | None,
    issuer_base_url: str,
    key_path: Path,
    access_token_lifespan: int | None = None,
) -> FastAPI:
    """Build the dev issuer for the realm in ``realm_path`` merged with ``dev_overlay_path``.

    ``issuer_base_url`` is what clients use to reach it (e.g. http://127.0.0.1:8080); tokens carry
    ``iss = {issuer_base_url}/realms/{realm}``. ``access_token_lifespan`` overrides the realm's
    ``accessTokenLifespan`` (seconds). The signing key is read from, or created at, ``key_path``.
    """
    ensure_dev_environment()
    realm = load_realm(Path(realm_path), Path(dev_overlay_path) if dev_overlay_path else None)
    keys = KeyStore(Path(key_path))
    base = issuer_base_url.rstrip("/")
    issuer = f"{base}/realms/{realm.name}"
    lifespan = access_token_lifespan if access_token_lifespan is not None else realm.access_token_lifespan
    minter = TokenMinter(realm=realm, keys=keys, issuer=issuer, access_token_lifespan=lifespan)
    state = IssuerState(realm=realm, keys=keys, minter=minter, issuer=issuer, browser=BrowserSessions())

    app = FastAPI(title="govproj dev OIDC issuer (development only)", docs_url=None, redoc_url=None)
    app.state.issuer = state
    oidc = f"{issuer}/protocol/openid-connect"
    prefix = f"/realms/{realm.name}"

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(prefix)
    async def realm_info() -> dict[str, Any]:
        return {
            "realm": realm.name,
            "public_key": keys.public_key_der_b64(),
            "token-service": oidc,
            "account-service": f"{issuer}/account",
            "tokens-not-before": 0,
        }

    @app.get(f"{prefix}/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{oidc}/auth",
            "token_endpoint": f"{oidc}/token",
            "end_session_endpoint": f"{oidc}/logout",
            "jwks_uri": f"{oidc}/certs",
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": _GRANTS,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", *sorted(realm.client_scopes)],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "azp", "preferred_username", "name"],
        }

    @app.get(f"{prefix}/protocol/openid-connect/certs")
    async def certs() -> dict[str, Any]:
        return keys.jwks()

    auth_path = f"{prefix}/protocol/openid-connect/auth"
    bad_hint = message_page(title="退出失败", message="登录凭证无效（Invalid IDToken）。")

    def parse_auth_request(params: Mapping[str, str]) -> AuthRequest | Response:
        """The request, or the response Keycloak gives to a bad one (a page, or a redirect with an error)."""
        client = realm.clients.get(params.get("client_id", ""))
        if client is None or not client.enabled:
            return HTMLResponse(
                message_page(title="登录失败", message="客户端无效（Client not found）。"), status_code=400
            )
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or not client.allows_redirect(redirect_uri):
            return HTMLResponse(
                message_page(title="登录失败", message="重定向地址无效（Invalid parameter: redirect_uri）。"),
                status_code=400,
            )
        state_param = params.get("state", "")

        def refuse(error: str, description: str) -> Response:
            target = redirect_with(
                redirect_uri, {"error": error, "error_description": description, "state": state_param}
            )
            return RedirectResponse(target, status_code=302)

        if params.get("response_type") != "code":
            return refuse("unsupported_response_type", "Client is not allowed to initiate browser login")
        if not client.standard_flow:
            return refuse("unauthorized_client", "Client is not allowed to initiate browser login")
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "") or ("plain" if challenge else "")
        if client.pkce_method:
            if not method:
                return refuse("invalid_request", "Missing parameter: code_challenge_method")
            if method != client.pkce_method:
                return refuse("invalid_request", "Invalid parameter: code_challenge_method")
            if not challenge:
                return refuse("invalid_request", "Missing parameter: code_challenge")
        return AuthRequest(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scope=params.get("scope", "openid"),
            state=state_param,
            nonce=params.get("nonce", ""),
            code_challenge=challenge,
            code_challenge_method=method,
        )

    def code_redirect(auth: AuthRequest, sid: str) -> RedirectResponse:
        session = state.browser.session(sid)
        if session is None:  # ended between the check and here
            raise RuntimeError("session ended")
        code = state.browser.issue_code(auth, session)
        target = redirect_with(
            auth.redirect_uri, {"code": code, "state": auth.state, "session_state": sid, "iss": issuer}
        )
        response = RedirectResponse(target, status_code=302)
        response.set_cookie(SSO_COOKIE, sid, path=f"{prefix}/", httponly=True, samesite="lax")
        return response

    @app.get(auth_path)
    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        auth = parse_auth_request(params)
        if not isinstance(auth, AuthRequest):
            return auth
        sso = state.browser.session(request.cookies.get(SSO_COOKIE))
        if sso is not None and params.get("prompt") != "login":
            return code_redirect(auth, sso.sid)
        return HTMLResponse(
            login_page(request=auth, action=auth_path, realm_display=realm.display_name), headers=_NO_STORE
        )

    @app.post(auth_path)
    async def authenticate(request: Request) -> Response:
        raw_form = await request.form()
        form = {k: v for k, v in raw_form.items() if isinstance(v, str)}
        auth = parse_auth_request(form)
        if not isinstance(auth, AuthRequest):
            return auth
        username = form.get("username", "")
        user = _check_password(realm, username, form.get("password", ""))
        if user is None:
            page = login_page(
                request=auth,
                action=auth_path,
                realm_display=realm.display_name,
                username=username,
                error=_LOGIN_FAILED,
            )
            return HTMLResponse(page, status_code=401, headers=_NO_STORE)
        session = state.browser.start_session(user.username)
        return code_redirect(auth, session.sid)

    @app.api_route(f"{prefix}/protocol/openid-connect/logout", methods=["GET", "POST"])
    async def end_session(request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            raw_form = await request.form()
            params.update({k: v for k, v in raw_form.items() if isinstance(v, str)})
        sid = request.cookies.get(SSO_COOKIE)
        client: Client | None = realm.clients.get(params.get("client_id", ""))
        hint = params.get("id_token_hint")
        if hint:
            try:
                claims = keys.verify(hint)
            except Exception:  # noqa: BLE001 - a hint we did not sign identifies nothing
                return HTMLResponse(bad_hint, status_code=400)
            if claims.get("iss") != issuer or claims.get("typ") != "ID":
                return HTMLResponse(bad_hint, status_code=400)
            sid = str(claims.get("sid") or sid or "")
            client = realm.clients.get(str(claims.get("azp", ""))) or client
        if sid:
            state.browser.end(sid)
        target = params.get("post_logout_redirect_uri")
        if target:
            if client is None or not client.allows_post_logout_redirect(target):
                return HTMLResponse(
                    message_page(title="退出失败", message="退出后的跳转地址无效（Invalid redirect uri）。"),
                    status_code=400,
                )
            response: Response = RedirectResponse(
                redirect_with(target, {"state": params.get("state", "")}), status_code=302
            )
        else:
            response = HTMLResponse(message_page(title="已退出", message="您已退出登录。"))
        response.delete_cookie(SSO_COOKIE, path=f"{prefix}/")
        return response

    @app.post(f"{prefix}/protocol/openid-connect/token")
    async def token(request: Request) -> JSONResponse:
        raw_form = await request.form()
        form = {k: v for k, v in raw_form.items() if isinstance(v, str)}
        try:
            grant = form.get("grant_type")
            if not grant:
                raise OAuthError(400, "invalid_request", "Missing form parameter: grant_type")
            if grant not in _GRANTS:
                raise OAuthError(400, "unsupported_grant_type", "Unsupported grant_type")
            client = _authenticate_client(state, request, form)
            if grant == "authorization_code":
                body = _code_grant(state, client, form)
            elif grant == "password":
                body = _password_grant(state, client, form)
            elif grant == "client_credentials":
                body = _client_credentials_grant(state, client, request)
            else:
                body = _refresh_grant(state, client, form)
        except OAuthError as exc:
            return exc.response()
        return JSONResponse(body, headers=_NO_STORE)

    return app
