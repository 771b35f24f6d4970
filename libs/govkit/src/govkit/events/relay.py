"""The outbox relay: publishes committed outbox rows to JetStream, in order, exactly once per id.

Two paths, one task (so they never interleave):

- **fresh rows**: the unit of work hands the rows it has just committed to :meth:`OutboxRelay.wake`;
  the relay publishes them from memory, in commit order, and then marks them sent. No read of
  the outbox stands between a commit and its publication (ADR 0009 addendum: the read and its
  transaction were most of the event latency on a busy loop).
- **the sweep**: reads pending rows in ``seq`` order (``FOR UPDATE SKIP LOCKED``) and publishes
  them. It runs at start, on every poll tick (the safety net), when another writer's ``NOTIFY``
  arrives (another replica, a command-line tool), and after any failure — and while a failure is
  outstanding the fresh path is suspended, so a row that failed is never overtaken by a later one.

A row is published with ``Nats-Msg-Id`` = event id, so a row published twice (a crash between
publish and marking, or a sweep of another replica racing the fresh path) is dropped by the
stream's de-duplication window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from govkit.events.nats import NatsConnection
from govkit.events.outbox import OutboxRow
from govkit.events.tables import OUTBOX_PENDING, OUTBOX_SENT, EventTables

log = logging.getLogger(__name__)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain libpq DSN of a `postgresql+asyncpg://` URL (for LISTEN on a raw connection)."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass
class OutboxRelay:
    """Moves pending outbox rows to JetStream."""

    engine: AsyncEngine
    tables: EventTables
    nats: NatsConnection
    listen_dsn: str | None = None
    batch_size: int = 200
    poll_interval: float = 1.0
    publish_timeout: float = 5.0
    # Identifies this relay's own writers' NOTIFYs (see outbox_writer's ``origin``).
    origin: str = field(default_factory=lambda: uuid.uuid4().hex)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _listen_conn: asyncpg.Connection | None = field(default=None, init=False)
    _fresh: deque[OutboxRow] = field(default_factory=deque, init=False)
    _sweep_due: bool = field(default=True, init=False)

    def wake(self, rows: Sequence[OutboxRow] = ()) -> None:
        """Called after a commit that wrote events: publish ``rows`` now (or sweep, given none)."""
        if rows:
            self._fresh.extend(rows)
        else:
            self._sweep_due = True
        self._wakeup.set()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload != self.origin:  # our own commits come through wake() already
            self._sweep_due = True
            self._wakeup.set()

    async def publish_fresh(self) -> int:
        """Publish the rows handed over by :meth:`wake`, then mark them sent; returns how many.

        On a failed publish the rest stays pending in the table and the sweep takes over, in
        ``seq`` order, from the row that failed.
        """
        if not self._fresh:
            return 0
        rows = list(self._fresh)
        self._fresh.clear()
        js = await self.nats.jetstream(timeout=self.publish_timeout)
        published: list[str] = []
        try:
            for row in rows:
                await js.publish(
                    row.subject,
                    row.body.encode(),
                    timeout=self.publish_timeout,
                    headers={"Nats-Msg-Id": row.event_id, **row.headers},
                )
                published.append(row.event_id)
        except Exception as exc:  # noqa: BLE001 - NATS away: the sweep retries from the table
            log.warning("outbox relay: publish failed (%s); sweeping the outbox", exc)
            self._sweep_due = True
        if published:
            outbox = self.tables.outbox
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.event_id.in_(published), outbox.c.state == OUTBOX_PENDING)
                    .values(state=OUTBOX_SENT, sent_at=func.clock_timestamp(), attempts=outbox.c.attempts + 1)
                )
        return len(published)

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were sent."""
        outbox = self.tables.outbox
        sent = 0
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(outbox.c.seq, outbox.c.event_id, outbox.c.subject, outbox.c.body, outbox.c.headers)
                    .where(outbox.c.state == OUTBOX_PENDING)
                    .order_by(outbox.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            js = await self.nats.jetstream(timeout=self.publish_timeout)
            published = []
            for row in rows:
                # One at a time, awaiting each ack: the stream keeps the service's order even when a
                # publish fails midway (the rest then waits for the next round).
                try:
                    await js.publish(
                        row.subject,
                        row.body.encode(),
                        timeout=self.publish_timeout,
                        headers={"Nats-Msg-Id": str(row.event_id), **(row.headers or {})},
                    )
                except Exception as exc:  # noqa: BLE001 - NATS away: the row stays pending
                    await conn.execute(
                        update(outbox)
                        .where(outbox.c.seq == row.seq)
                        .values(attempts=outbox.c.attempts + 1, last_error=str(exc)[:500])
                    )
                    break
                published.append(row.seq)
            if published:
                # One statement for the batch instead of one per row.
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_(published))
                    .values(state=OUTBOX_SENT, sent_at=func.clock_timestamp(), attempts=outbox.c.attempts + 1)
                )
            sent = len(published)
        return sent

    async def _listen(self) -> None:
        if self.listen_dsn is None or self._listen_conn is not None:
            return
        try:
            conn = await asyncpg.connect(self.listen_dsn)
            await conn.add_listener(self.tables.notify_channel, self._notified)
            self._listen_conn = conn
        except Exception as exc:  # noqa: BLE001 - polling is the safety net
            log.warning("outbox LISTEN unavailable (%s); relying on polling", exc)

    async def run(self) -> None:
        """Relay until cancelled; survives PostgreSQL and NATS outages."""
        backoff = self.poll_interval
        while True:
            await self._listen()
            failed = False
            try:
                if self._sweep_due:
                    # The sweep reads whatever was handed over too, in order; the next failure
                    # sets it due again.
                    self._sweep_due = False
                    self._fresh.clear()
                    while await self.publish_pending() >= self.batch_size:
                        pass
                else:
                    await self.publish_fresh()
                backoff = self.poll_interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep relaying across outages
                log.warning("outbox relay round failed (%s); retrying", exc)
                failed = True
                self._sweep_due = True
                backoff = min(backoff * 2, 10 * self.poll_interval)
                if self._listen_conn is not None and self._listen_conn.is_closed():
                    self._listen_conn = None
            if not failed and (self._fresh or self._sweep_due):
                continue  # more arrived (or a sweep was asked for) while publishing
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=backoff)
            except TimeoutError:
                self._sweep_due = True  # the poll tick: the safety net
            self._wakeup.clear()

    async def close(self) -> None:
        """Release the LISTEN connection."""
        if self._listen_conn is not None:
            with contextlib.suppress(Exception):
                await self._listen_conn.close()
            self._listen_conn = None
