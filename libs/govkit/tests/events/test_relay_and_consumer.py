"""Outbox relay and consumer against real PostgreSQL and nats-server."""

import asyncio
import logging
import uuid

import pytest
from sqlalchemy import MetaData, func, select, text

from govkit.db import UnitOfWorkFactory, create_engine, provision_service_database
from govkit.events import Envelope, event_tables, new_event
from govkit.events.consumer import EventConsumer
from govkit.events.nats import NatsConnection, ensure_stream, stream_name
from govkit.events.outbox import outbox_writer
from govkit.events.relay import OutboxRelay
from govkit.events.tables import OUTBOX_PENDING, OUTBOX_SENT
from govproj.intake.events.v1 import events_pb2

pytestmark = pytest.mark.integration
SUBJECT = "govproj.evtest.v1.thing.happened"


@pytest.fixture
async def infra(pg, nats_server):  # type: ignore[no-untyped-def]
    names = await provision_service_database(pg.server.dsn(), "evtest", owner_password="o", app_password="a")
    metadata = MetaData()
    tables = event_tables(metadata, schema="evtest")
    owner = create_engine(pg.server.url(names.database, user=names.owner_role, password="o"))
    async with owner.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for table in ("outbox", "inbox", "dead_letters"):
            await conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON evtest.{table} TO evtest_app"))
        await conn.execute(text("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA evtest TO evtest_app"))
        await conn.execute(text("TRUNCATE evtest.outbox, evtest.inbox, evtest.dead_letters"))
    await owner.dispose()
    engine = create_engine(pg.server.url(names.database, user=names.app_role, password="a"))
    nats = NatsConnection(url=nats_server.url, name="evtest")
    js = await nats.jetstream(timeout=10)
    await ensure_stream(js, "evtest")
    yield engine, tables, nats
    await nats.close()
    await engine.dispose()


def _consumer(infra, topic: str, handler, **options) -> EventConsumer:  # type: ignore[no-untyped-def]
    """A consumer of govproj.evtest.v1.<topic>.> under a fresh durable name."""
    engine, tables, nats = infra
    return EventConsumer(
        name=f"evtest-{uuid.uuid4().hex[:6]}",
        stream=stream_name("evtest"),
        filter_subjects=[f"govproj.evtest.v1.{topic}.>"],
        handler=handler,
        session_factory=UnitOfWorkFactory(engine=engine).session_factory,
        tables=tables,
        nats=nats,
        **options,
    )


async def _run_until_dead_lettered(consumer: EventConsumer, engine, tables) -> list[str]:  # type: ignore[no-untyped-def]
    """Runs the consumer until a dead letter is written (or ten seconds pass); their event ids."""
    task = asyncio.create_task(consumer.run())
    dead: list[str] = []
    try:
        for _ in range(100):
            async with engine.connect() as conn:
                dead = list((await conn.execute(select(tables.dead_letters.c.event_id))).scalars())
            if dead:
                break
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
    return dead


async def test_relay_publishes_committed_rows_once_and_marks_them_sent(infra) -> None:  # type: ignore[no-untyped-def]
    engine, tables, nats = infra
    uow = UnitOfWorkFactory(engine=engine, outbox_writer=outbox_writer(tables))
    relay = OutboxRelay(engine=engine, tables=tables, nats=nats)
    async with uow(tenant_id="t1") as tx:
        tx.emit(new_event(event_type=SUBJECT, tenant="t1", payload=events_pb2.DeclarationSubmitted(name="a")))
        tx.emit(new_event(event_type=SUBJECT, tenant="t1", payload=events_pb2.DeclarationSubmitted(name="b")))
        await tx.commit()
    async with uow(tenant_id="t1") as tx:  # rolled back: its event must never be published
        tx.emit(new_event(event_type=SUBJECT, tenant="t1", payload=events_pb2.DeclarationSubmitted(name="c")))
    js = await nats.jetstream()
    before = (await js.stream_info(stream_name("evtest"))).state.messages
    assert await relay.publish_pending() == 2
    assert await relay.publish_pending() == 0
    after = (await js.stream_info(stream_name("evtest"))).state.messages
    assert after - before == 2
    async with engine.connect() as conn:
        states = (await conn.execute(select(tables.outbox.c.state))).scalars().all()
    assert states == [OUTBOX_SENT, OUTBOX_SENT]
    # A crash after publishing but before marking sent republishes the row: the stream drops it.
    async with engine.begin() as conn:
        await conn.execute(tables.outbox.update().values(state=OUTBOX_PENDING))
    assert await relay.publish_pending() == 2
    assert (await js.stream_info(stream_name("evtest"))).state.messages == after


async def test_relay_keeps_rows_while_nats_is_down(infra, nats_server) -> None:  # type: ignore[no-untyped-def]
    engine, tables, nats = infra
    uow = UnitOfWorkFactory(engine=engine, outbox_writer=outbox_writer(tables))
    relay = OutboxRelay(engine=engine, tables=tables, nats=nats, publish_timeout=0.5)
    nats_server.stop()
    try:
        async with uow(tenant_id="t1") as tx:
            tx.emit(
                new_event(event_type=SUBJECT, tenant="t1", payload=events_pb2.DeclarationSubmitted(name="x"))
            )
            await tx.commit()
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            await relay.publish_pending()
        async with engine.connect() as conn:
            assert (await conn.execute(select(tables.outbox.c.state))).scalars().all() == [OUTBOX_PENDING]
    finally:
        nats_server.start()
    for _ in range(100):
        try:
            if await relay.publish_pending() == 1:
                break
        except TimeoutError:
            pass
        await asyncio.sleep(0.1)
    async with engine.connect() as conn:
        assert (await conn.execute(select(tables.outbox.c.state))).scalars().all() == [OUTBOX_SENT]


async def test_poison_message_goes_to_dead_letters_after_max_deliver(infra) -> None:  # type: ignore[no-untyped-def]
    engine, tables, nats = infra
    calls = 0

    async def always_fails(session, envelope: Envelope) -> None:  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        raise RuntimeError("handler bug")

    consumer = _consumer(infra, "poison", always_fails, max_deliver=2, backoff=(0.1,))
    js = await nats.jetstream()
    event = new_event(
        event_type="govproj.evtest.v1.poison.x", tenant="t1", payload=events_pb2.DeclarationSubmitted()
    )
    await js.publish(event.subject, event.to_json())
    dead = await _run_until_dead_lettered(consumer, engine, tables)
    assert dead == [event.id] and calls == 2
    async with engine.connect() as conn:
        # The failed attempts left no inbox row behind (their transactions rolled back).
        assert (await conn.execute(select(func.count()).select_from(tables.inbox))).scalar_one() == 0


async def _sent_and_stream(engine, tables, js) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        states = (await conn.execute(select(tables.outbox.c.state).order_by(tables.outbox.c.seq))).scalars()
        listed = list(states)
    return listed, (await js.stream_info(stream_name("evtest"))).state.messages


async def test_running_relay_publishes_committed_rows_from_memory_in_commit_order(infra) -> None:  # type: ignore[no-untyped-def]
    """The unit of work hands its committed rows to the relay, which publishes them in order."""
    engine, tables, nats = infra
    relay = OutboxRelay(engine=engine, tables=tables, nats=nats, poll_interval=30)
    uow = UnitOfWorkFactory(
        engine=engine, outbox_writer=outbox_writer(tables, origin=relay.origin), after_commit=[relay.wake]
    )
    js = await nats.jetstream()
    sub = await js.pull_subscribe("govproj.evtest.v1.ordered.>", durable=f"ord-{uuid.uuid4().hex[:6]}")
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.2)  # the start-up sweep finds nothing
        names = [f"n{i}" for i in range(6)]
        for name in names:
            async with uow(tenant_id="t1") as tx:
                tx.emit(
                    new_event(
                        event_type="govproj.evtest.v1.ordered.x",
                        tenant="t1",
                        payload=events_pb2.DeclarationSubmitted(name=name),
                    )
                )
                await tx.commit()
        received: list[str] = []
        while len(received) < len(names):
            for msg in await sub.fetch(10, timeout=5):
                envelope = Envelope.from_json(msg.data)
                received.append(envelope.payload_as(events_pb2.DeclarationSubmitted).name)
                await msg.ack()
        assert received == names
        for _ in range(50):
            states, _count = await _sent_and_stream(engine, tables, js)
            if states == [OUTBOX_SENT] * len(names):
                break
            await asyncio.sleep(0.05)
        assert states == [OUTBOX_SENT] * len(names)
    finally:
        task.cancel()
        await relay.close()


async def test_fresh_rows_that_fail_to_publish_stay_pending_for_the_sweep(infra, nats_server) -> None:  # type: ignore[no-untyped-def]
    """NATS away at commit: the rows stay pending, the sweep publishes them once NATS is back."""
    engine, tables, nats = infra
    relay = OutboxRelay(engine=engine, tables=tables, nats=nats, publish_timeout=0.5)
    uow = UnitOfWorkFactory(
        engine=engine, outbox_writer=outbox_writer(tables, origin=relay.origin), after_commit=[relay.wake]
    )
    nats_server.stop()
    try:
        async with uow(tenant_id="t1") as tx:
            tx.emit(
                new_event(event_type=SUBJECT, tenant="t1", payload=events_pb2.DeclarationSubmitted(name="y"))
            )
            await tx.commit()
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            await relay.publish_fresh()
        async with engine.connect() as conn:
            assert (await conn.execute(select(tables.outbox.c.state))).scalars().all() == [OUTBOX_PENDING]
    finally:
        nats_server.start()
    # The handed-over rows are gone from memory; the table is where the sweep finds them.
    assert await relay.publish_fresh() == 0
    for _ in range(100):
        try:
            if await relay.publish_pending() == 1:
                break
        except TimeoutError:
            pass
        await asyncio.sleep(0.1)
    async with engine.connect() as conn:
        assert (await conn.execute(select(tables.outbox.c.state))).scalars().all() == [OUTBOX_SENT]


async def test_a_transaction_with_many_events_writes_all_of_them_in_order(infra) -> None:  # type: ignore[no-untyped-def]
    """A bulk change (an import, a plan of many projects) emits more events than one write chunk."""
    engine, tables, nats = infra
    uow = UnitOfWorkFactory(engine=engine, outbox_writer=outbox_writer(tables))
    names = [f"项目{i:03d}" for i in range(70)]
    async with uow(tenant_id="t1") as tx:
        for name in names:
            tx.emit(
                new_event(event_type=SUBJECT, tenant="t1", payload=events_pb2.DeclarationSubmitted(name=name))
            )
        await tx.commit()
    async with engine.connect() as conn:
        await conn.execute(text("select set_config('app.tenant_id', 't1', false)"))
        rows = (
            (await conn.execute(select(tables.outbox.c.body).order_by(tables.outbox.c.seq))).scalars().all()
        )
    stored = [Envelope.from_json(body.encode()).payload["name"] for body in rows[-70:]]
    assert stored == names
    relay = OutboxRelay(engine=engine, tables=tables, nats=nats)
    assert await relay.publish_pending() >= 70


async def test_the_outbox_insert_is_compiled_once_per_row_count(infra, caplog) -> None:  # type: ignore[no-untyped-def]
    """Every transaction that emits writes the outbox: its statement must come from SQLAlchemy's
    compiled cache after the first time, whether it carries one event or several."""
    engine, tables, _nats = infra
    uow = UnitOfWorkFactory(engine=engine, outbox_writer=outbox_writer(tables))

    async def emit(count: int) -> None:
        async with uow(tenant_id="t1") as tx:
            for i in range(count):
                tx.emit(
                    new_event(
                        event_type=SUBJECT, tenant="t1", payload=events_pb2.DeclarationSubmitted(name=str(i))
                    )
                )
            await tx.commit()

    for count in (1, 3):
        await emit(count)
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"):
        for count in (1, 3):
            await emit(count)
    outbox_inserts = [r.getMessage() for r in caplog.records if "INSERT INTO evtest.outbox" in r.getMessage()]
    assert len(outbox_inserts) == 2
    cache_notes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[")]
    assert len(cache_notes) >= 2 and all("cached since" in note for note in cache_notes), cache_notes


async def test_consumer_binds_the_handler_to_the_event_tenant_and_applies_a_redelivery_once(infra) -> None:  # type: ignore[no-untyped-def]
    """The inbox claim also binds the transaction to the event's tenant (one statement): the
    handler's statements run under that tenant, and the same event delivered again is skipped."""
    engine, tables, nats = infra
    seen: list[tuple[str, str | None]] = []

    async def record_tenant(session, envelope: Envelope) -> None:  # type: ignore[no-untyped-def]
        setting = await session.scalar(text("select current_setting('app.tenant_id', true)"))
        seen.append((envelope.tenant, setting))

    consumer = _consumer(infra, "bound", record_tenant)
    js = await nats.jetstream()
    first = new_event(
        event_type="govproj.evtest.v1.bound.x", tenant="county-a", payload=events_pb2.DeclarationSubmitted()
    )
    second = new_event(
        event_type="govproj.evtest.v1.bound.x", tenant="county-b", payload=events_pb2.DeclarationSubmitted()
    )
    for event in (first, second, first):  # the third is a redelivery of the first (same event id)
        await js.publish(event.subject, event.to_json())
    task = asyncio.create_task(consumer.run())
    try:
        for _ in range(100):
            if consumer.processed == 3:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert consumer.processed == 3
    assert consumer.batched == 3  # the backlog was fetched and applied in one transaction
    assert seen == [("county-a", "county-a"), ("county-b", "county-b")]
    async with engine.connect() as conn:
        claimed = (
            await conn.execute(select(tables.inbox.c.event_id).order_by(tables.inbox.c.processed_at))
        ).scalars()
        assert sorted(claimed) == sorted([first.id, second.id])


async def test_a_failing_event_in_a_batch_fails_alone(infra) -> None:  # type: ignore[no-untyped-def]
    """A backlog applied in one transaction: when one event's handler fails, the batch is rolled
    back and applied one by one, so the good events are applied once and only the bad one is
    retried and dead-lettered."""
    engine, tables, nats = infra
    bad = new_event(
        event_type="govproj.evtest.v1.mixed.x",
        tenant="t2",
        payload=events_pb2.DeclarationSubmitted(name="bad"),
    )
    good = [
        new_event(
            event_type="govproj.evtest.v1.mixed.x",
            tenant="t1",
            payload=events_pb2.DeclarationSubmitted(name=n),
        )
        for n in ("one", "two")
    ]

    async def fails_on_bad(session, envelope: Envelope) -> None:  # type: ignore[no-untyped-def]
        if envelope.id == bad.id:
            raise RuntimeError("handler bug")

    consumer = _consumer(infra, "mixed", fails_on_bad, max_deliver=2, backoff=(0.1,))
    js = await nats.jetstream()
    for event in (good[0], bad, good[1]):
        await js.publish(event.subject, event.to_json())
    dead = await _run_until_dead_lettered(consumer, engine, tables)
    assert dead == [bad.id] and consumer.processed == 2
    async with engine.connect() as conn:
        claimed = (await conn.execute(select(tables.inbox.c.event_id))).scalars().all()
    assert sorted(claimed) == sorted(e.id for e in good)
