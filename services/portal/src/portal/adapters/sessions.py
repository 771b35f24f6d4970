"""Portal sessions: the browser holds a random id (HttpOnly cookie); the tokens stay on the server.

Tokens never reach the browser (no script can read or leak them), and three JWTs would not fit
in a 4 KB cookie anyway. The store is in process memory: a restart signs users out of the portal
(the issuer's SSO session signs them back in without a password). Several portal replicas need
sticky sessions at the ingress (ADR 0014).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from govkit.auth import Principal
from portal.adapters.oidc import PendingLogin

_PENDING_LOGIN_SECONDS = 600.0
_MAX_PENDING = 10_000


@dataclass
class PortalSession:
    """One signed-in browser."""

    id: str
    csrf_token: str
    principal: Principal
    display_name: str
    access_token: str
    refresh_token: str | None
    id_token: str | None
    expires_at: float
    last_seen: float = field(default_factory=time.monotonic)


class SessionStore:
    """Sessions and pending logins by their random ids, with an idle timeout."""

    def __init__(self, *, idle_seconds: float) -> None:
        self._idle = idle_seconds
        self._sessions: dict[str, PortalSession] = {}
        self._pending: dict[str, PendingLogin] = {}

    def create(
        self,
        *,
        principal: Principal,
        display_name: str,
        access_token: str,
        refresh_token: str | None,
        id_token: str | None,
        expires_at: float,
    ) -> PortalSession:
        """A new session with a fresh id and CSRF token (never reused from before the login)."""
        session = PortalSession(
            id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            principal=principal,
            display_name=display_name,
            access_token=access_token,
            refresh_token=refresh_token,
            id_token=id_token,
            expires_at=expires_at,
        )
        self._sessions[session.id] = session
        self._expire()
        return session

    def get(self, session_id: str | None) -> PortalSession | None:
        """The live session of a cookie value; an idle one is dropped."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.last_seen > self._idle:
            self._sessions.pop(session_id, None)
            return None
        session.last_seen = now
        return session

    def drop(self, session_id: str) -> PortalSession | None:
        """End a session (logout)."""
        return self._sessions.pop(session_id, None)

    def remember_login(self, pending: PendingLogin) -> str:
        """Keep a pending login under a new random id (the login cookie's value)."""
        if len(self._pending) >= _MAX_PENDING:
            self._expire()
        key = secrets.token_urlsafe(24)
        self._pending[key] = pending
        return key

    def take_login(self, key: str | None) -> PendingLogin | None:
        """The pending login of a cookie value, removed (one callback per login)."""
        if not key:
            return None
        pending = self._pending.pop(key, None)
        if pending is None or time.time() - pending.created_at > _PENDING_LOGIN_SECONDS:
            return None
        return pending

    def _expire(self) -> None:
        now = time.monotonic()
        for key, session in list(self._sessions.items()):
            if now - session.last_seen > self._idle:
                del self._sessions[key]
        wall = time.time()
        for key, pending in list(self._pending.items()):
            if wall - pending.created_at > _PENDING_LOGIN_SECONDS:
                del self._pending[key]
