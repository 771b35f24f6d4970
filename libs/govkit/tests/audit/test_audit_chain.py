"""The audit chain against a real PostgreSQL, written by an unprivileged, RLS-bound role."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from govkit.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditRecord,
    AuditSealer,
    compute_hash,
    record_audit,
    record_audits,
    seal_audit_log,
    verify_audit_chain,
)

from .conftest import SCHEMA, bind_tenant, sessions


async def seal(engine: AsyncEngine, table: Table) -> int:
    """What the service's sealer does after a commit."""
    return await AuditSealer(engine=engine, table=table).seal_pending()


async def sealed_records(engine: AsyncEngine, table: Table, tenant: str, ids: list[int]) -> list[AuditRecord]:
    async with sessions(engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        rows = (
            (await session.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.seq)))
            .mappings()
            .all()
        )
    return [AuditRecord(**{k: v for k, v in row.items() if k != "sealed_at"}) for row in rows]


async def write(
    engine: AsyncEngine, table: Table, tenant: str, n: int, **overrides: Any
) -> list[AuditRecord]:
    """Write n records in one transaction, let the sealer link them, return them as stored."""
    records = []
    async with sessions(engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        for i in range(n):
            fields: dict[str, Any] = {
                "actor": "user:zhang.san",
                "action": "declaration.submit",
                "entity_type": "declaration",
                "entity_id": f"D-{i}",
                "from_state": "draft",
                "to_state": "submitted",
                "citations": ["lhasa-2024 §3.2", "拉萨市政务信息化项目管理办法 第十条"],
                "details": {"amount": Decimal("1234567.89"), "score": 85.5, "big": 1e20, "单位": "市数据局"},
            }
            fields.update(overrides)
            records.append(await record_audit(session, table, tenant_id=tenant, **fields))
    await seal(engine, table)
    return await sealed_records(engine, table, tenant, [r.id for r in records])


async def test_records_written_together_keep_their_order_and_chain(
    app_engine: AsyncEngine, table: Table, tenant: str
) -> None:
    entries = [
        AuditEntry(
            actor="system",
            action=action,
            entity_type="opinion",
            entity_id=f"O-{i}",
            from_state=None,
            to_state="pending",
            citations=[f"wuxing-2023 §{10 + i}"],
            details={"department": department, "amount": Decimal("10.50")},
        )
        for i, (action, department) in enumerate(
            [("case.opened", ""), ("opinion.requested", "财政局"), ("opinion.requested", "网信办")]
        )
    ]
    async with sessions(app_engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        written = await record_audits(session, table, tenant_id=tenant, entries=entries)
        assert await record_audits(session, table, tenant_id=tenant, entries=[]) == []
    assert [r.entity_id for r in written] == ["O-0", "O-1", "O-2"]
    assert [r.id for r in written] == sorted(r.id for r in written)
    await seal(app_engine, table)
    stored = await sealed_records(app_engine, table, tenant, [r.id for r in written])
    # Their places in the chain follow the order they were given in, and the chain verifies.
    assert [r.entity_id for r in stored] == ["O-0", "O-1", "O-2"]
    assert stored[1].details == {"department": "财政局", "amount": "10.50"}
    assert stored[2].citations == ["wuxing-2023 §12"]
    async with sessions(app_engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        report = await verify_audit_chain(session, table, tenant_id=tenant)
    assert report.ok and report.unsealed == 0


async def test_chain_links_records(app_engine: AsyncEngine, table: Table, tenant: str) -> None:
    first = await write(app_engine, table, tenant, 3)
    second = await write(app_engine, table, tenant, 2, from_state=None, details={})
    records = first + second

    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    for previous, record in itertools.pairwise(records):
        assert record.prev_hash == previous.hash
    assert len({r.hash for r in records}) == 5

    async with sessions(app_engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        result = await verify_audit_chain(session, table, tenant_id=tenant)
        stored = (await session.execute(select(table).where(table.c.tenant_id == tenant))).mappings().all()
    assert result.ok, result
    assert result.checked == 5
    assert result.first_broken_seq is None
    # What was stored (after the JSONB round trip) hashes to what was recorded.
    for row in stored:
        assert compute_hash(dict(row)) == row["hash"]
    assert stored[0]["details"]["amount"] == "1234567.89"


async def test_concurrent_writers_keep_one_chain(app_engine: AsyncEngine, table: Table, tenant: str) -> None:
    async def writer(name: str, count: int) -> None:
        for i in range(count):
            async with sessions(app_engine)() as session, session.begin():
                await bind_tenant(session, tenant)
                await record_audit(
                    session,
                    table,
                    tenant_id=tenant,
                    actor=name,
                    action="review.opinion",
                    entity_type="declaration",
                    entity_id=f"{name}-{i}",
                    from_state=None,
                    to_state="reviewed",
                    citations=[],
                    details={"i": i},
                )
                # Hold the transaction open a little so the two writers really overlap.
                await asyncio.sleep(0.005)

    await asyncio.gather(writer("a", 10), writer("b", 10))
    await seal(app_engine, table)

    async with sessions(app_engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        result = await verify_audit_chain(session, table, tenant_id=tenant)
        seqs = (await session.scalars(select(table.c.seq).order_by(table.c.seq))).all()
    assert result.ok, result
    assert result.checked == 20
    assert list(seqs) == list(range(1, 21))


async def test_one_round_seals_a_batch_of_two_tenants_in_one_update(
    app_engine: AsyncEngine, table: Table, tenant: str
) -> None:
    from sqlalchemy import event

    other = f"{tenant}-other"
    for name in (tenant, other):
        async with sessions(app_engine)() as session, session.begin():
            await bind_tenant(session, name)
            for i in range(30):
                await record_audit(
                    session,
                    table,
                    tenant_id=name,
                    actor="system",
                    action="case.opened",
                    entity_type="review_case",
                    entity_id=f"{name}-{i}",
                    from_state=None,
                    to_state="open",
                    citations=[],
                    details={"i": i},
                )
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    event.listen(app_engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await seal(app_engine, table) == 60  # both tenants' records
    finally:
        event.remove(app_engine.sync_engine, "before_cursor_execute", count)
    assert len(updates) == 1, updates
    for name in (tenant, other):
        async with sessions(app_engine)() as session, session.begin():
            await bind_tenant(session, name)
            result = await verify_audit_chain(session, table, tenant_id=name)
        assert result.ok and result.checked == 30, result


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {SCHEMA}.audit_log SET actor = 'someone else'",
        f"DELETE FROM {SCHEMA}.audit_log",
        f"TRUNCATE {SCHEMA}.audit_log",
    ],
    ids=["update", "delete", "truncate"],
)
async def test_app_role_cannot_change_the_log(
    app_engine: AsyncEngine, table: Table, tenant: str, statement: str
) -> None:
    await write(app_engine, table, tenant, 1)
    async with sessions(app_engine)() as session:
        with pytest.raises(DBAPIError, match="permission denied"):
            async with session.begin():
                await bind_tenant(session, tenant)
                await session.execute(text(statement))


async def test_owner_is_stopped_by_the_trigger(
    admin_engine: AsyncEngine, app_engine: AsyncEngine, table: Table, tenant: str
) -> None:
    await write(app_engine, table, tenant, 1)
    async with admin_engine.connect() as conn:
        # Even a role that may UPDATE (here the superuser, with triggers on) is refused.
        with pytest.raises(DBAPIError, match="append-only"):
            async with conn.begin():
                await conn.execute(update(table).where(table.c.tenant_id == tenant).values(actor="x"))


async def test_tenant_sees_only_its_own_rows(app_engine: AsyncEngine, table: Table, tenant: str) -> None:
    other = f"{tenant}-other"
    await write(app_engine, table, tenant, 2)
    await write(app_engine, table, other, 3)

    async with sessions(app_engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        tenants = set((await session.scalars(select(table.c.tenant_id))).all())
        result = await verify_audit_chain(session, table)  # no filter: RLS does it
    assert tenants == {tenant}
    assert result.ok and result.checked == 2 and result.tenants == [tenant]

    async with sessions(app_engine)() as session, session.begin():
        # No tenant bound: the policy compares with NULL and fails closed.
        assert await session.scalar(select(func.count()).select_from(table)) == 0

    async with sessions(app_engine)() as session:
        with pytest.raises(DBAPIError, match="row-level security"):
            async with session.begin():
                await bind_tenant(session, tenant)
                await record_audit(
                    session,
                    table,
                    tenant_id=other,
                    actor="user:li.si",
                    action="declaration.submit",
                    entity_type="declaration",
                    entity_id="D-x",
                    from_state="draft",
                    to_state="submitted",
                    citations=[],
                    details={},
                )


async def test_superuser_edit_is_caught_by_verify(
    admin_engine: AsyncEngine, app_engine: AsyncEngine, table: Table, tenant: str
) -> None:
    await write(app_engine, table, tenant, 5)
    async with admin_engine.begin() as conn:
        await conn.execute(text(f"ALTER TABLE {SCHEMA}.audit_log DISABLE TRIGGER audit_log_append_only"))
        await conn.execute(
            update(table)
            .where(table.c.tenant_id == tenant, table.c.seq == 3)
            .values(to_state="approved", details={"note": "edited quietly"})
        )
        await conn.execute(text(f"ALTER TABLE {SCHEMA}.audit_log ENABLE TRIGGER audit_log_append_only"))

    async with sessions(admin_engine)() as session, session.begin():
        result = await verify_audit_chain(session, table, tenant_id=tenant)
    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.tenant_id == tenant
    assert result.reason is not None and "altered" in result.reason
    assert result.checked == 3


async def test_rehashing_an_edit_breaks_the_next_link(
    admin_engine: AsyncEngine, app_engine: AsyncEngine, table: Table, tenant: str
) -> None:
    await write(app_engine, table, tenant, 4)
    async with admin_engine.begin() as conn:
        row = (
            (await conn.execute(select(table).where(table.c.tenant_id == tenant, table.c.seq == 2)))
            .mappings()
            .one()
        )
        forged = {**row, "actor": "user:forger"}
        await conn.execute(text("SET LOCAL session_replication_role = replica"))  # triggers off
        await conn.execute(
            update(table)
            .where(table.c.id == row["id"])
            .values(actor="user:forger", hash=compute_hash(forged))
        )

    async with sessions(admin_engine)() as session, session.begin():
        result = await verify_audit_chain(session, table, tenant_id=tenant)
    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.reason is not None and "prev_hash" in result.reason


async def test_deleted_record_is_a_gap(
    admin_engine: AsyncEngine, app_engine: AsyncEngine, table: Table, tenant: str
) -> None:
    await write(app_engine, table, tenant, 4)
    async with admin_engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(table.delete().where(table.c.tenant_id == tenant, table.c.seq == 2))

    async with sessions(admin_engine)() as session, session.begin():
        result = await verify_audit_chain(session, table, tenant_id=tenant)
    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.reason is not None and "expected seq 2" in result.reason


async def test_naive_timestamps_and_floats_nan_are_refused(
    app_engine: AsyncEngine, table: Table, tenant: str
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await write(app_engine, table, tenant, 1, occurred_at=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="NaN"):
        await write(app_engine, table, tenant, 1, details={"x": float("nan")})
    records = await write(app_engine, table, tenant, 1, occurred_at=datetime(2025, 1, 1, tzinfo=UTC))
    assert records[0].seq == 1  # the refused attempts rolled back and left no trace


def one_record(tenant: str, entity_id: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "actor": "user:wang.wu",
        "action": "declaration.submit",
        "entity_type": "declaration",
        "entity_id": entity_id,
        "from_state": "draft",
        "to_state": "submitted",
        "citations": ["wuxing-2023 §7"],
        "details": {},
    }


async def test_writers_of_one_tenant_do_not_wait_for_each_other(
    app_engine: AsyncEngine, table: Table, tenant: str
) -> None:
    # Two open transactions of the same tenant both append: the second must not block on the first.
    async with sessions(app_engine)() as first, first.begin():
        await bind_tenant(first, tenant)
        a = await record_audit(first, table, **one_record(tenant, "D-a"))
        async with sessions(app_engine)() as second, second.begin():
            await bind_tenant(second, tenant)
            b = await asyncio.wait_for(record_audit(second, table, **one_record(tenant, "D-b")), timeout=5)
        assert a.seq is None and a.hash is None  # unsealed until the sealer links it

    async with sessions(app_engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        before = await verify_audit_chain(session, table, tenant_id=tenant)
    assert before.ok and before.checked == 0 and before.unsealed == 2

    assert await seal(app_engine, table) >= 2
    records = await sealed_records(app_engine, table, tenant, [a.id, b.id])
    # Both were committed when the sealer ran: sealed in the order they were written.
    assert [r.entity_id for r in records] == ["D-a", "D-b"]
    assert [r.seq for r in records] == [1, 2] and records[0].prev_hash == GENESIS_HASH
    async with sessions(app_engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        after = await verify_audit_chain(session, table, tenant_id=tenant)
    assert after.ok and after.checked == 2 and after.unsealed == 0


async def test_an_uncommitted_record_is_not_sealed(
    app_engine: AsyncEngine, table: Table, tenant: str
) -> None:
    async with sessions(app_engine)() as open_tx, open_tx.begin():
        await bind_tenant(open_tx, tenant)
        pending = await record_audit(open_tx, table, **one_record(tenant, "D-late"))
        # Written later but committed (and sealed) first: it takes seq 1.
        done = await write(app_engine, table, tenant, 1)
        assert done[0].seq == 1 and pending.id < done[0].id
    await seal(app_engine, table)
    (late,) = await sealed_records(app_engine, table, tenant, [pending.id])
    assert late.seq == 2 and late.prev_hash == done[0].hash


async def test_only_one_sealer_works_at_a_time(app_engine: AsyncEngine, table: Table, tenant: str) -> None:
    async with sessions(app_engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        await record_audit(session, table, **one_record(tenant, "D-1"))
    async with sessions(app_engine)() as holder, holder.begin():
        assert await seal_audit_log(holder, table) >= 1  # holds the sealer lock until it commits
        async with sessions(app_engine)() as other, other.begin():
            assert await seal_audit_log(other, table) == 0  # gives way at once, no waiting


@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {SCHEMA}.audit_log SET actor = 'someone else'",
        f"UPDATE {SCHEMA}.audit_log SET hash = repeat('a', 64), prev_hash = repeat('0', 64), seq = 99,"
        " sealed_at = now()",
    ],
    ids=["content", "reseal"],
)
async def test_the_sealer_setting_does_not_open_the_content(
    app_engine: AsyncEngine, table: Table, tenant: str, statement: str
) -> None:
    (record,) = await write(app_engine, table, tenant, 1)
    async with sessions(app_engine)() as session, session.begin():
        await session.execute(text("SELECT set_config('app.audit_sealer', 'on', true)"))
        if "actor" in statement:
            with pytest.raises(DBAPIError, match="permission denied"):
                await session.execute(text(statement))
        else:
            # A sealed record is invisible to the sealer's UPDATE policy: nothing changes.
            changed = await session.execute(text(f"{statement} WHERE id = {record.id}"))
            assert changed.rowcount == 0  # type: ignore[attr-defined]
    (again,) = await sealed_records(app_engine, table, tenant, [record.id])
    assert again == record
