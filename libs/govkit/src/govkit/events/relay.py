"""The outbox relay: publishes committed outbox rows to JetStream, in order, exactly once per id.

It wakes on commit (the unit of work calls :meth:`OutboxRelay.wake` in-process, and the outbox
writer's ``NOTIFY`` wakes relays of other replicas), and polls slowly as a safety net. A row is
published with ``Nats-Msg-Id`` = event id, so a row republished after a crash between publish and
commit is dropped by the stream's de-duplication window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from govkit.events.nats import NatsConnection
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
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _listen_conn: asyncpg.Connection | None = field(default=None, init=False)

    def wake(self) -> None:
        """Ask the relay to look at the outbox now (called after a commit that wrote events)."""
        self._wakeup.set()

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
            await conn.add_listener(self.tables.notify_channel, lambda *_: self._wakeup.set())
            self._listen_conn = conn
        except Exception as exc:  # noqa: BLE001 - polling is the safety net
            log.warning("outbox LISTEN unavailable (%s); relying on polling", exc)

    async def run(self) -> None:
        """Relay until cancelled; survives PostgreSQL and NATS outages."""
        backoff = self.poll_interval
        while True:
            await self._listen()
            try:
                while await self.publish_pending() >= self.batch_size:
                    pass
                backoff = self.poll_interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep relaying across outages
                log.warning("outbox relay round failed (%s); retrying", exc)
                backoff = min(backoff * 2, 10 * self.poll_interval)
                if self._listen_conn is not None and self._listen_conn.is_closed():
                    self._listen_conn = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=backoff)
            self._wakeup.clear()

    async def close(self) -> None:
        """Release the LISTEN connection."""
        if self._listen_conn is not None:
            with contextlib.suppress(Exception):
                await self._listen_conn.close()
            self._listen_conn = None
