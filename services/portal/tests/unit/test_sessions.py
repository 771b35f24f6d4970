"""Portal sessions: random ids, idle expiry, one-shot pending logins."""

from __future__ import annotations

import time

import pytest

from govkit.auth import Principal
from portal.adapters.oidc import new_pending_login
from portal.adapters.sessions import SessionStore
from portal.entrypoints.auth import check_csrf

PRINCIPAL = Principal(
    sub="u1", username="applicant.county-a", tenant="county-a", org="unit-1", roles=frozenset({"applicant"})
)


def make(store: SessionStore):  # type: ignore[no-untyped-def]
    return store.create(
        principal=PRINCIPAL,
        display_name="经办人",
        access_token="a",
        refresh_token="r",
        id_token="i",
        expires_at=time.time() + 300,
    )


def test_sessions_have_fresh_ids_and_csrf_tokens() -> None:
    store = SessionStore(idle_seconds=60)
    first, second = make(store), make(store)
    assert first.id != second.id and first.csrf_token != second.csrf_token
    assert store.get(first.id) is first and store.get("guess") is None and store.get(None) is None
    assert store.drop(first.id) is first and store.get(first.id) is None


def test_idle_session_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    store = SessionStore(idle_seconds=10)
    session = make(store)
    later = time.monotonic() + 11
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert store.get(session.id) is None


def test_pending_login_is_taken_once() -> None:
    store = SessionStore(idle_seconds=60)
    key = store.remember_login(new_pending_login("/"))
    assert (
        store.take_login(key) is not None and store.take_login(key) is None and store.take_login(None) is None
    )


def test_csrf_token_must_be_the_sessions() -> None:
    store = SessionStore(idle_seconds=60)
    session = make(store)
    check_csrf(session, session.csrf_token)
    for bad in (None, "", "x" * 43):
        with pytest.raises(Exception) as refused:
            check_csrf(session, bad)
        assert getattr(refused.value, "code", "") == "CSRF_TOKEN_INVALID"
