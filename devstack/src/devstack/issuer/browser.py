"""The browser side of the dev issuer: login page, authorization codes (PKCE), SSO sessions, logout.

Keycloak's behaviour, reduced to what a confidential web client such as the portal relies on:

- ``GET /auth`` checks client, redirect URI, response type and (where the client requires it) the
  PKCE challenge; with a live SSO session cookie it answers with a code at once, otherwise it shows
  a plain login page (zh-CN) that posts back to the same path.
- A code is single-use, bound to client, redirect URI, PKCE challenge, nonce and session, and
  lives 60 seconds (Keycloak's ``accessCodeLifespan``).
- Logout ends the session: its refresh tokens stop working (``Session not active``) and the SSO
  cookie is cleared. Sessions of the password grant are not tracked (stateless, as before), so
  only a session ended by logout is refused.

All of it is in memory: restarting the dev issuer signs everybody out of the browser, which is
what restarting a dev Keycloak without a database does too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

CODE_LIFESPAN_SECONDS = 60
SSO_COOKIE = "KEYCLOAK_SESSION"
_PKCE_VERIFIER_MIN, _PKCE_VERIFIER_MAX = 43, 128


@dataclass(frozen=True)
class AuthRequest:
    """The parameters of one authorization request, carried through the login page."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    nonce: str
    code_challenge: str
    code_challenge_method: str

    def hidden_fields(self) -> str:
        """The request as hidden inputs of the login form."""
        return "".join(
            f'<input type="hidden" name="{name}" value="{escape(value)}">'
            for name, value in self.as_params().items()
        )

    def as_params(self) -> dict[str, str]:
        """The request's query parameters."""
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
        }


@dataclass(frozen=True)
class IssuedCode:
    """What a code stands for until the client redeems it."""

    request: AuthRequest
    username: str
    sid: str
    auth_time: int
    expires_at: float


@dataclass
class SsoSession:
    """A browser login: who, since when."""

    sid: str
    username: str
    auth_time: int


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    """RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge (S256), or equality (plain)."""
    if not _PKCE_VERIFIER_MIN <= len(verifier) <= _PKCE_VERIFIER_MAX:
        return False
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return hmac.compare_digest(computed, challenge)
    if method == "plain":
        return hmac.compare_digest(verifier, challenge)
    return False


@dataclass
class BrowserSessions:
    """Codes, SSO sessions and ended sessions, guarded by one lock (uvicorn may use threads)."""

    codes: dict[str, IssuedCode] = field(default_factory=dict)
    sessions: dict[str, SsoSession] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start_session(self, username: str) -> SsoSession:
        """A new SSO session after a successful login."""
        session = SsoSession(sid=secrets.token_urlsafe(16), username=username, auth_time=int(time.time()))
        with self._lock:
            self.sessions[session.sid] = session
        return session

    def session(self, sid: str | None) -> SsoSession | None:
        """The live session of an SSO cookie value, if any."""
        if not sid:
            return None
        with self._lock:
            return self.sessions.get(sid)

    def end(self, sid: str) -> None:
        """Logout: the session and every token refresh under it end."""
        with self._lock:
            self.sessions.pop(sid, None)
            self.ended.add(sid)
            for code, issued in list(self.codes.items()):
                if issued.sid == sid:
                    del self.codes[code]

    def is_ended(self, sid: str) -> bool:
        """True when ``sid`` was ended by a logout."""
        with self._lock:
            return sid in self.ended

    def issue_code(self, request: AuthRequest, session: SsoSession) -> str:
        """A fresh single-use code for ``request`` in ``session``."""
        code = secrets.token_urlsafe(32)
        issued = IssuedCode(
            request=request,
            username=session.username,
            sid=session.sid,
            auth_time=session.auth_time,
            expires_at=time.monotonic() + CODE_LIFESPAN_SECONDS,
        )
        with self._lock:
            now = time.monotonic()
            for old, entry in list(self.codes.items()):
                if entry.expires_at < now:
                    del self.codes[old]
            self.codes[code] = issued
        return code

    def redeem(self, code: str) -> IssuedCode | None:
        """The code's grant, removed so that it can never be used twice; None if unknown or expired."""
        with self._lock:
            issued = self.codes.pop(code, None)
        if issued is None or issued.expires_at < time.monotonic():
            return None
        return issued


def redirect_with(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` appended to its query."""
    separator = "&" if "?" in uri else "?"
    return uri + separator + urlencode({k: v for k, v in params.items() if v})


def login_page(
    *, request: AuthRequest, action: str, realm_display: str, username: str = "", error: str = ""
) -> str:
    """The plain login page (zh-CN): labelled inputs, one button, the error next to the form."""
    error_html = f'<p id="login-error" class="error" role="alert">{escape(error)}</p>' if error else ""
    described = ' aria-describedby="login-error"' if error else ""
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 — {escape(realm_display)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; background: #f2f4f7; margin: 0; }}
main {{ max-width: 22rem; margin: 6rem auto; background: #fff; padding: 2rem; border-radius: 6px;
       box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
h1 {{ font-size: 1.25rem; margin-top: 0; }}
label {{ display: block; margin-top: 1rem; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box; padding: .5rem;
  margin-top: .25rem; }}
button {{ margin-top: 1.5rem; width: 100%; padding: .6rem; background: #1d4ed8; color: #fff; border: 0;
         border-radius: 4px; font-size: 1rem; }}
button:focus {{ outline: 3px solid #f59e0b; }}
.error {{ color: #b91c1c; }}
.note {{ color: #555; font-size: .85rem; margin-top: 1.5rem; }}
</style>
</head>
<body>
<main>
<h1>{escape(realm_display)}</h1>
<p>统一身份认证（开发环境）</p>
{error_html}
<form method="post" action="{escape(action)}">
{request.hidden_fields()}
<label for="username">用户名</label>
<input id="username" name="username" type="text" autocomplete="username" required
  value="{escape(username)}"{described}>
<label for="password">密码</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{described}>
<button type="submit" id="kc-login">登录</button>
</form>
<p class="note">开发环境的登录页，只在 GOVPROJ_ENV=dev 时提供；
生产环境由 Keycloak 登录（可经政务服务网统一身份认证）。</p>
</main>
</body>
</html>"""


def message_page(*, title: str, message: str) -> str:
    """A small page for errors Keycloak shows instead of redirecting (bad client or redirect URI)."""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>"
        f"<p>{escape(message)}</p></main></body></html>"
    )
