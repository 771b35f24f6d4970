"""Portal sessions: the browser holds a random id (HttpOnly cookie); the tokens stay on the server.

Tokens never reach the browser (no script can read or leak them), and three JWTs would not fit
in a 4 KB cookie anyway. Sessions and pending logins live in a key-value store that every portal
replica shares (NATS JetStream key-value buckets, :mod:`portal.adapters.session_kv`), so a login
started on one replica finishes on another and the next page may land on a third; in process
memory only for a single dev or test process. What is stored is sealed (AES-GCM under the
portal's session key, bound to its key), and keys are hashes of the cookie values: whoever can
read the bucket learns neither tokens nor a cookie to replay.

A user whose token grants several orgs or tenants picks one (the switcher in the header); the
session keeps the choice and every gRPC call of the request carries it as ``x-govproj-active-org``
(:func:`active_org_metadata`), which each service checks against the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from govkit.auth import ACTIVE_ORG_HEADER, Membership, Principal
from portal.adapters.oidc import PendingLogin

PENDING_LOGIN_SECONDS = 600
"""How long a started login may take to come back from the issuer (the login cookie's max-age)."""
# A session in use is written back at most this often (its last use), not on every page.
TOUCH_SECONDS = 60.0
_KEY_BYTES = 32  # AES-256
_NONCE_BYTES = 12

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
    last_seen: float = field(default_factory=time.time)  # wall clock: replicas share it

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

    def to_record(self) -> dict[str, Any]:
        """What the store keeps (the id is its key, not part of the record)."""
        p = self.principal
        return {
            "csrf_token": self.csrf_token,
            "principal": {
                "sub": p.sub,
                "username": p.username,
                "tenant": p.tenant,
                "org": p.org,
                "roles": sorted(p.roles),
                "memberships": [m.key for m in p.memberships],
            },
            "display_name": self.display_name,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "id_token": self.id_token,
            "expires_at": self.expires_at,
            "last_seen": self.last_seen,
        }

    @classmethod
    def from_record(cls, session_id: str, record: dict[str, Any]) -> PortalSession:
        """The session ``to_record`` wrote; KeyError/ValueError when the record is not one."""
        p = record["principal"]
        principal = Principal(
            sub=str(p["sub"]),
            username=str(p["username"]),
            tenant=p["tenant"],
            org=p["org"],
            roles=frozenset(str(r) for r in p["roles"]),
            memberships=tuple(Membership.parse(m) for m in p["memberships"]),
        )
        return cls(
            id=session_id,
            csrf_token=str(record["csrf_token"]),
            principal=principal,
            display_name=str(record["display_name"]),
            access_token=str(record["access_token"]),
            refresh_token=record["refresh_token"],
            id_token=record["id_token"],
            expires_at=float(record["expires_at"]),
            last_seen=float(record["last_seen"]),
        )


class KeyValueStore(Protocol):
    """One bucket of sealed values by key, whose entries expire a fixed time after their last write."""

    async def get(self, key: str) -> tuple[bytes, int] | None:
        """(value, revision) of a live key; None when absent, deleted or expired."""

    async def put(self, key: str, value: bytes) -> int:
        """Write (create or replace) a key; its new revision."""

    async def delete(self, key: str, *, revision: int | None = None) -> bool:
        """Remove a key; with ``revision``, only if that is still its latest (False otherwise)."""


class MemoryKeyValue:
    """A :class:`KeyValueStore` in this process (one dev or test portal; nothing shared)."""

    def __init__(self, *, ttl_seconds: float, max_entries: int = 100_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[str, tuple[bytes, int, float]] = {}
        self._revision = 0

    async def get(self, key: str) -> tuple[bytes, int] | None:
        """See :class:`KeyValueStore`."""
        found = self._entries.get(key)
        if found is None:
            return None
        value, revision, written = found
        if time.monotonic() - written > self._ttl:
            del self._entries[key]
            return None
        return value, revision

    async def put(self, key: str, value: bytes) -> int:
        """See :class:`KeyValueStore`; the oldest entries go first when the bucket is full."""
        if len(self._entries) >= self._max:
            self._expire()
        while len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
        self._revision += 1
        self._entries.pop(key, None)  # re-inserted last: dict order is write order
        self._entries[key] = (value, self._revision, time.monotonic())
        return self._revision

    async def delete(self, key: str, *, revision: int | None = None) -> bool:
        """See :class:`KeyValueStore`."""
        found = self._entries.get(key)
        if found is None or (revision is not None and found[1] != revision):
            return False
        del self._entries[key]
        return True

    def _expire(self) -> None:
        now = time.monotonic()
        for key, (_value, _revision, written) in list(self._entries.items()):
            if now - written > self._ttl:
                del self._entries[key]


def parse_session_key(value: str) -> bytes:
    """The 32-byte session key from its base64 text (standard or URL-safe); ValueError otherwise."""
    text = value.strip()
    try:
        key = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("the portal's session key is not base64") from None
    if len(key) != _KEY_BYTES:
        raise ValueError(f"the portal's session key must be {_KEY_BYTES} bytes (base64), not {len(key)}")
    return key


def new_session_key() -> str:
    """A fresh session key as base64 text (what an operator puts in the portal's Secret)."""
    return base64.urlsafe_b64encode(os.urandom(_KEY_BYTES)).decode("ascii")


class Sealer:
    """AES-GCM over stored values, each bound to its key (a value moved to another key fails)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, key: str, record: dict[str, Any]) -> bytes:
        """The record as JSON, encrypted and authenticated."""
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        return nonce + self._aead.encrypt(nonce, plain, key.encode())

    def open(self, key: str, sealed: bytes) -> dict[str, Any] | None:
        """The record, or None when it was not sealed under this key and session key."""
        try:
            plain = self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], key.encode())
            record = json.loads(plain)
        except (InvalidTag, ValueError):
            return None
        return record if isinstance(record, dict) else None


def _stored_key(kind: str, cookie_value: str) -> str:
    # A hash, so the bucket's keys are no cookies (the cookie value is the bearer secret).
    return f"{kind}.{hashlib.sha256(cookie_value.encode()).hexdigest()}"


class SessionStore:
    """Sessions and pending logins by their random ids, with an idle timeout, in shared buckets.

    ``sessions`` must keep entries at least ``idle_seconds + TOUCH_SECONDS`` after their last
    write and ``logins`` at least ``PENDING_LOGIN_SECONDS``; the store checks both times itself
    as well, so a bucket that keeps entries longer changes nothing.
    """

    def __init__(
        self, *, sessions: KeyValueStore, logins: KeyValueStore, sealer: Sealer, idle_seconds: float
    ) -> None:
        self._sessions = sessions
        self._logins = logins
        self._sealer = sealer
        self._idle = idle_seconds

    async def create(
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
        await self.save(session)
        return session

    async def save(self, session: PortalSession) -> None:
        """Write the session back (after a token refresh or an org switch), as used now."""
        session.last_seen = time.time()
        key = _stored_key("s", session.id)
        await self._sessions.put(key, self._sealer.seal(key, session.to_record()))

    async def get(self, session_id: str | None) -> PortalSession | None:
        """The live session of a cookie value; an idle one is dropped."""
        if not session_id:
            return None
        key = _stored_key("s", session_id)
        found = await self._sessions.get(key)
        record = self._sealer.open(key, found[0]) if found else None
        if record is None:
            return None
        try:
            session = PortalSession.from_record(session_id, record)
        except (KeyError, TypeError, ValueError):
            return None  # written by an incompatible version: sign in again
        now = time.time()
        if now - session.last_seen > self._idle:
            await self._sessions.delete(key)
            return None
        if now - session.last_seen > TOUCH_SECONDS:
            await self.save(session)
        return session

    async def drop(self, session_id: str) -> None:
        """End a session (logout, or refused by the issuer)."""
        await self._sessions.delete(_stored_key("s", session_id))

    async def remember_login(self, pending: PendingLogin) -> str:
        """Keep a pending login under a new random id (the login cookie's value)."""
        cookie = secrets.token_urlsafe(24)
        key = _stored_key("l", cookie)
        await self._logins.put(key, self._sealer.seal(key, asdict(pending)))
        return cookie

    async def take_login(self, cookie: str | None) -> PendingLogin | None:
        """The pending login of a cookie value, removed (one callback per login, whichever
        replica it reaches: of two callbacks racing, only the one that deletes it gets it)."""
        if not cookie:
            return None
        key = _stored_key("l", cookie)
        found = await self._logins.get(key)
        record = self._sealer.open(key, found[0]) if found else None
        if found is None or record is None or not await self._logins.delete(key, revision=found[1]):
            return None
        try:
            pending = PendingLogin(**record)
        except TypeError:
            return None
        if time.time() - pending.created_at > PENDING_LOGIN_SECONDS:
            return None
        return pending
