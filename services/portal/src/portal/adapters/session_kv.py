"""The portal's shared session buckets: NATS JetStream key-value, one bucket for signed-in
sessions and one for logins on their way through the issuer.

Every replica uses the same two buckets, so nothing about a browser lives in one pod. NATS being
away is the portal's 503 (SESSION_STORE_UNAVAILABLE), never a silent sign-out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from govkit.errors import AppError, ErrorKind
from govkit.events.nats import NatsConnection, ensure_key_value
from portal.adapters.sessions import PENDING_LOGIN_SECONDS, TOUCH_SECONDS

SESSIONS_BUCKET = "govproj-portal-sessions"
LOGINS_BUCKET = "govproj-portal-logins"
# Every unauthenticated GET /login writes a pending login: cap the bucket so a flood of them fills
# a bounded store (new logins are then refused, 503) instead of NATS's disk.
LOGINS_MAX_BYTES = 64 * 2**20
# Expected-last-sequence mismatch (JSStreamWrongLastSequenceErrF and its constant variant).
_WRONG_LAST_SEQUENCE = (10071, 10164)
T = TypeVar("T")


def session_store_unavailable() -> AppError:
    """503: the session buckets cannot be reached (NATS away)."""
    return AppError(
        code="SESSION_STORE_UNAVAILABLE",
        message="登录服务暂时不可用，请稍后刷新页面重试。",
        kind=ErrorKind.UNAVAILABLE,
    )


async def _guarded(call: Awaitable[T]) -> T:
    """The call's result; the answers callers handle pass through, anything else from NATS
    (no connection, no responders, a timeout) is the 503."""
    try:
        return await call
    except nats.js.errors.KeyNotFoundError:
        raise
    except nats.js.errors.APIError as err:
        if err.err_code in _WRONG_LAST_SEQUENCE:
            raise
        raise session_store_unavailable() from err
    except (nats.errors.Error, TimeoutError) as exc:
        raise session_store_unavailable() from exc


class SessionBuckets:
    """The two buckets on one NATS connection, opened (created or brought to the settings' limits)
    on first use, so the portal starts while NATS is still away and serves 503s until it is back."""

    def __init__(self, nats_connection: NatsConnection, *, idle_seconds: float, timeout: float) -> None:
        self._nats = nats_connection
        self._limits = {
            SESSIONS_BUCKET: (idle_seconds + TOUCH_SECONDS, -1),
            LOGINS_BUCKET: (float(PENDING_LOGIN_SECONDS), LOGINS_MAX_BYTES),
        }
        self._timeout = timeout
        self._open: dict[str, KeyValue] = {}
        self._lock = asyncio.Lock()

    async def bucket(self, name: str) -> KeyValue:
        """The bucket ``name`` (SESSIONS_BUCKET or LOGINS_BUCKET)."""
        found = self._open.get(name)
        if found is not None:
            return found
        async with self._lock:
            if name not in self._open:
                ttl, max_bytes = self._limits[name]
                try:
                    js = await self._nats.jetstream(timeout=self._timeout)
                    self._open[name] = await ensure_key_value(
                        js, bucket=name, ttl_seconds=ttl, max_bytes=max_bytes
                    )
                except (nats.errors.Error, TimeoutError) as exc:
                    raise session_store_unavailable() from exc
            return self._open[name]

    def store(self, name: str) -> NatsKeyValue:
        """One bucket as a KeyValueStore."""
        return NatsKeyValue(self, name)


@dataclass
class NatsKeyValue:
    """A :class:`portal.adapters.sessions.KeyValueStore` on one JetStream key-value bucket."""

    buckets: SessionBuckets
    name: str

    async def get(self, key: str) -> tuple[bytes, int] | None:
        """See KeyValueStore."""
        bucket = await self.buckets.bucket(self.name)
        try:
            entry = await _guarded(bucket.get(key))
        except nats.js.errors.KeyNotFoundError:
            return None
        if entry.value is None:
            return None
        return entry.value, entry.revision or 0

    async def put(self, key: str, value: bytes) -> int:
        """See KeyValueStore."""
        bucket = await self.buckets.bucket(self.name)
        return await _guarded(bucket.put(key, value))

    async def delete(self, key: str, *, revision: int | None = None) -> bool:
        """See KeyValueStore."""
        bucket = await self.buckets.bucket(self.name)
        try:
            return await _guarded(bucket.delete(key, last=revision))
        except nats.js.errors.APIError:  # only the wrong last sequence gets here
            return False  # another replica took or replaced it first
