"""Portal sessions: random ids, idle expiry, one-shot pending logins, sealed records."""

from __future__ import annotations

import time

import pytest

from govkit.auth import Membership, Principal
from portal.adapters.oidc import new_pending_login
from portal.adapters.sessions import (
    TOUCH_SECONDS,
    MemoryKeyValue,
    PortalSession,
    Sealer,
    SessionStore,
    new_session_key,
    parse_session_key,
)
from portal.entrypoints.auth import check_csrf

PRINCIPAL = Principal(
    sub="u1",
    username="bureau_reviewer.multi",
    tenant="county-a",
    org="bureau",
    roles=frozenset({"bureau_reviewer", "applicant"}),
    memberships=(Membership("county-a", "bureau"), Membership("city", None)),
)


class Buckets:
    """The two buckets of one store, kept so a test can look inside them."""

    def __init__(self) -> None:
        self.sessions = MemoryKeyValue(ttl_seconds=3600)
        self.logins = MemoryKeyValue(ttl_seconds=600)

    def store(self, *, idle_seconds: float = 60, key: str | None = None) -> SessionStore:
        sealer = Sealer(parse_session_key(key or new_session_key()))
        return SessionStore(
            sessions=self.sessions, logins=self.logins, sealer=sealer, idle_seconds=idle_seconds
        )


async def make(store: SessionStore) -> PortalSession:
    return await store.create(
        principal=PRINCIPAL,
        display_name="审核人",
        access_token="access-token-value",
        refresh_token="refresh-token-value",
        id_token="id-token-value",
        expires_at=time.time() + 300,
    )


async def test_sessions_have_fresh_ids_and_csrf_tokens() -> None:
    store = Buckets().store()
    first, second = await make(store), await make(store)
    assert first.id != second.id and first.csrf_token != second.csrf_token
    assert await store.get("guess") is None and await store.get(None) is None
    await store.drop(first.id)
    assert await store.get(first.id) is None and await store.get(second.id) is not None


async def test_a_session_reads_back_as_it_was_written_by_another_replica() -> None:
    buckets = Buckets()
    key = new_session_key()
    one, other = buckets.store(key=key), buckets.store(key=key)
    written = await make(one)
    written.switch_to("city")
    await one.save(written)
    read = await other.get(written.id)
    assert read is not None
    assert (read.csrf_token, read.display_name, read.access_token, read.refresh_token, read.id_token) == (
        written.csrf_token,
        "审核人",
        "access-token-value",
        "refresh-token-value",
        "id-token-value",
    )
    assert read.principal == written.principal and read.principal.active == Membership("city", None)
    assert read.granted == PRINCIPAL.granted and read.can_switch


async def test_stored_records_hold_no_token_and_no_cookie_value() -> None:
    buckets = Buckets()
    session = await make(buckets.store())
    login = await buckets.store().remember_login(new_pending_login("/projects"))
    stored = [
        (k, v) for bucket in (buckets.sessions, buckets.logins) for k, (v, _, _) in bucket._entries.items()
    ]
    assert len(stored) == 2
    for stored_key, value in stored:
        assert session.id not in stored_key and login not in stored_key
        for secret in (
            b"access-token-value",
            b"refresh-token-value",
            session.csrf_token.encode(),
            b"/projects",
        ):
            assert secret not in value


async def test_a_record_sealed_under_another_key_or_moved_is_no_session() -> None:
    buckets = Buckets()
    session = await make(buckets.store())
    assert await buckets.store().get(session.id) is None  # another session key: not readable
    other = await make(buckets.store(key="A" * 43 + "="))
    entries = buckets.sessions._entries
    keys = list(entries)
    entries[keys[1]] = entries[keys[0]]  # a valid record copied under another session's key
    assert await buckets.store(key="A" * 43 + "=").get(other.id) is None


def test_session_key_must_be_32_bytes_of_base64() -> None:
    assert len(parse_session_key(new_session_key())) == 32
    for bad in ("", "not base64 at all!", "QUJD"):
        with pytest.raises(ValueError, match="session key"):
            parse_session_key(bad)


async def test_idle_session_ends_and_a_used_one_is_written_back(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Buckets().store(idle_seconds=600)
    session = await make(store)
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + TOUCH_SECONDS + 1)
    used = await store.get(session.id)
    assert used is not None and used.last_seen == start + TOUCH_SECONDS + 1  # written back
    monkeypatch.setattr(time, "time", lambda: start + TOUCH_SECONDS + 1 + 599)
    assert await store.get(session.id) is not None  # idle 599 s since its last use
    monkeypatch.setattr(time, "time", lambda: start + TOUCH_SECONDS + 1 + 601 + 599)
    assert await store.get(session.id) is None


async def test_pending_login_is_taken_once() -> None:
    buckets = Buckets()
    key = await buckets.store().remember_login(new_pending_login("/"))
    other = buckets.store()  # no key shared: the login is unreadable there
    assert await other.take_login(key) is None
    store = Buckets().store()
    key = await store.remember_login(new_pending_login("/projects"))
    taken = await store.take_login(key)
    assert taken is not None and taken.next_path == "/projects"
    assert await store.take_login(key) is None and await store.take_login(None) is None


async def test_expired_pending_login_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Buckets().store()
    key = await store.remember_login(new_pending_login("/"))
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)
    assert await store.take_login(key) is None


async def test_memory_bucket_forgets_the_oldest_when_full() -> None:
    bucket = MemoryKeyValue(ttl_seconds=60, max_entries=2)
    for key in ("a", "b", "c"):
        await bucket.put(key, key.encode())
    assert await bucket.get("a") is None and await bucket.get("c") is not None
    found = await bucket.get("b")
    assert found is not None
    assert not await bucket.delete("b", revision=found[1] + 1) and await bucket.delete("b", revision=found[1])


async def test_csrf_token_must_be_the_sessions() -> None:
    session = await make(Buckets().store())
    check_csrf(session, session.csrf_token)
    for bad in (None, "", "x" * 43):
        with pytest.raises(Exception) as refused:
            check_csrf(session, bad)
        assert getattr(refused.value, "code", "") == "CSRF_TOKEN_INVALID"
