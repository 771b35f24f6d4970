"""Portal sessions: the browser holds a random id (HttpOnly cookie); the tokens stay on the server.

Tokens never reach the browser (no script can read or leak them), and three JWTs would not fit
in a 4 KB cookie anyway. The store is in process memory: a restart signs users out of the portal
(the issuer's SSO session signs them back in without a password). Several portal replicas need
sticky sessions at the ingress (ADR 0014).

A user whose token grants several orgs or tenants picks one (the switcher in the header); the
session keeps the choice and every gRPC call of the request carries it as ``x-govproj-active-org``
(:func:`active_org_metadata`), which each service checks against the token.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from govkit.auth import ACTIVE_ORG_HEADER, Membership, Principal
from portal.adapters.oidc import PendingLogin

_PENDING_LOGIN_SECONDS = 600.0
_MAX_PENDING = 10_000

# The org the current request acts for, set from its session by the auth dependency. A context
# variable rather than a parameter: every gRPC call of the request carries it, including those of
# pages written before switching existed, without threading it through each call site.
_ACTIVE_ORG: ContextVar[str | None] = ContextVar("govproj_portal_active_org", default=None)


def active_org_metadata() -> tuple[tuple[str, str], ...]:
    """gRPC metadata naming the org the current request acts for (none for single-org users)."""
    value = _ACTIVE_ORG.get()
    return ((ACTIVE_ORG_HEADER, value),) if value else ()


@contextmanager
def acting_for(session: PortalSession | None) -> Iterator[None]:
    """Within the block, gRPC calls act for ``session``'s chosen org (tests, scripts)."""
    token = _ACTIVE_ORG.set(session.active_org_header if session else None)
    try:
        yield
    finally:
        _ACTIVE_ORG.reset(token)


def bind_request(session: PortalSession) -> None:
    """For the rest of this request (its task), gRPC calls act for ``session``'s chosen org."""
    _ACTIVE_ORG.set(session.active_org_header)


@dataclass
class PortalSession:
    """One signed-in browser.

    ``principal`` is the user as they act now (the chosen membership's tenant and org), so pages
    and role checks need not know about switching; ``granted`` is what the token grants.
    """

    id: str
    csrf_token: str
    principal: Principal
    display_name: str
    access_token: str
    refresh_token: str | None
    id_token: str | None
    expires_at: float
    last_seen: float = field(default_factory=time.monotonic)

    @property
    def granted(self) -> tuple[Membership, ...]:
        """Every org or tenant the user may act for."""
        return self.principal.granted

    @property
    def can_switch(self) -> bool:
        """True when the token grants more than one membership (the switcher is shown)."""
        return len(self.granted) > 1

    @property
    def active_org_header(self) -> str | None:
        """The value services get as x-govproj-active-org; None when there is nothing to choose."""
        active = self.principal.active
        return active.key if self.can_switch and active is not None else None

    def switch_to(self, value: str) -> None:
        """Act for ``value`` (``tenant/org``); the platform's 403/400 when the token does not grant it."""
        self.principal = self.principal.acting_as(value)

    def replace_principal(self, principal: Principal) -> None:
        """A refreshed token's principal, keeping the org chosen when the new token still grants it."""
        active = self.principal.active
        if active is not None and active in principal.granted:
            principal = principal.acting_as(active.key)
        self.principal = principal


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
