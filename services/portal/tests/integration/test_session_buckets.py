"""The portal's session buckets on a real nats-server: shared by replicas, one taker per login,
limits brought up to date, nothing readable in them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from govkit.auth import Principal
from govkit.events.nats import NatsConnection, ensure_key_value
from govkit.localinfra import LocalNats
from portal.adapters.oidc import new_pending_login
from portal.adapters.session_kv import LOGINS_BUCKET, SESSIONS_BUCKET, SessionBuckets
from portal.adapters.sessions import (
    TOUCH_SECONDS,
    PortalSession,
    Sealer,
    SessionStore,
    new_session_key,
    parse_session_key,
)

pytestmark = pytest.mark.integration

PRINCIPAL = Principal(
    sub="u1", username="applicant.county-a", tenant="county-a", org="unit-1", roles=frozenset({"applicant"})
)


@pytest.fixture
async def connections(nats_server: LocalNats) -> AsyncIterator[list[NatsConnection]]:
    """Two NATS connections, as two portal pods hold them."""
    made = [NatsConnection(url=nats_server.url, name=f"portal-{i}") for i in range(2)]
    yield made
    for connection in made:
        await connection.close()


def replica(connection: NatsConnection, key: str, idle_seconds: float = 1800) -> SessionStore:
    buckets = SessionBuckets(connection, idle_seconds=idle_seconds, timeout=5)
    return SessionStore(
        sessions=buckets.store(SESSIONS_BUCKET),
        logins=buckets.store(LOGINS_BUCKET),
        sealer=Sealer(parse_session_key(key)),
        idle_seconds=idle_seconds,
    )


async def signed_in(store: SessionStore) -> PortalSession:
    """A session as the callback starts it."""
    return await store.create(
        principal=PRINCIPAL,
        display_name="经办人",
        access_token="access-token-value",
        refresh_token="refresh-token-value",
        id_token="id-token-value",
        expires_at=time.time() + 300,
    )


async def test_one_callback_takes_a_login_however_many_replicas_race(
    connections: list[NatsConnection],
) -> None:
    key = new_session_key()
    a, b = (replica(c, key) for c in connections)
    cookie = await a.remember_login(new_pending_login("/projects"))
    taken = await asyncio.gather(*(store.take_login(cookie) for store in (a, b) * 10))
    winners = [t for t in taken if t is not None]
    assert len(winners) == 1 and winners[0].next_path == "/projects"


async def test_a_session_is_shared_switched_and_ended_across_replicas(
    connections: list[NatsConnection],
) -> None:
    key = new_session_key()
    a, b = (replica(c, key) for c in connections)
    session = await signed_in(a)
    on_b = await b.get(session.id)
    assert on_b is not None and on_b.principal == PRINCIPAL and on_b.csrf_token == session.csrf_token
    on_b.access_token = "refreshed-on-b"
    await b.save(on_b)
    again = await a.get(session.id)
    assert again is not None and again.access_token == "refreshed-on-b"
    await a.drop(session.id)
    assert await b.get(session.id) is None


async def test_the_bucket_holds_neither_tokens_nor_cookie_values(connections: list[NatsConnection]) -> None:
    store = replica(connections[0], new_session_key())
    session = await signed_in(store)
    bucket = await (await connections[1].jetstream()).key_value(SESSIONS_BUCKET)
    keys = await bucket.keys()
    assert keys and all(session.id not in k for k in keys)
    for k in keys:
        value = (await bucket.get(k)).value or b""
        assert b"access-token-value" not in value and b"refresh-token-value" not in value
        assert session.csrf_token.encode() not in value


async def test_a_changed_idle_timeout_updates_the_bucket_and_keeps_its_sessions(
    connections: list[NatsConnection],
) -> None:
    key = new_session_key()
    js = await connections[0].jetstream()
    await ensure_key_value(js, bucket="test-idle", ttl_seconds=600 + TOUCH_SECONDS)
    kv = await ensure_key_value(js, bucket="test-idle", ttl_seconds=600 + TOUCH_SECONDS)  # same: no-op
    await kv.put("s.kept", b"sealed")
    await ensure_key_value(js, bucket="test-idle", ttl_seconds=60)  # an operator shortened it
    info = await js.stream_info("KV_test-idle")
    assert info.config.max_age == 60 and info.config.duplicate_window <= 60
    assert (await kv.get("s.kept")).value == b"sealed"
    store = replica(connections[0], key, idle_seconds=900)  # the real buckets follow the setting
    await store.remember_login(new_pending_login("/"))
    logins = await js.stream_info(f"KV_{LOGINS_BUCKET}")
    assert logins.config.max_age == 600 and logins.config.max_bytes > 0
    await store.get("any")  # opens the sessions bucket with the new idle timeout
    sessions = await js.stream_info(f"KV_{SESSIONS_BUCKET}")
    assert sessions.config.max_age == 900 + TOUCH_SECONDS
