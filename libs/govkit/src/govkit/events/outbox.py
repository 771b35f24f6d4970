"""Transactional outbox: events are rows written in the same transaction as the state change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from govkit.events.envelope import Envelope
from govkit.events.tables import EventTables


def _current_trace_context() -> dict[str, str]:
    from govkit.telemetry import inject_trace_context

    return inject_trace_context()


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """What the relay publishes of one outbox row (handed to it in memory after the commit)."""

    event_id: str
    subject: str
    body: str
    headers: dict[str, str]


def outbox_writer(
    tables: EventTables, *, origin: str = ""
) -> Callable[[AsyncSession, list[Any]], Awaitable[list[OutboxRow]]]:
    """A writer for UnitOfWork: inserts the envelopes and NOTIFYs relays (delivered on commit).

    Returns the rows written, which the unit of work hands to its after-commit callbacks: the
    relay of this process publishes them from memory. The NOTIFY carries ``origin`` so that relay
    can ignore its own process's notifications and only other writers' wake its sweep.
    """

    async def write(session: AsyncSession, events: list[Any]) -> list[OutboxRow]:
        written: list[OutboxRow] = []
        for event in events:
            if not isinstance(event, Envelope):
                raise TypeError(f"only Envelope can be emitted, got {type(event).__name__}")
            # The trace context is captured now, under the request's span, so the relay publishes
            # the event in the request's trace rather than its own (PITFALLS, nats-py).
            trace = event.trace_context or _current_trace_context()
            if trace is not event.trace_context:
                event = Envelope(
                    id=event.id,
                    type=event.type,
                    tenant=event.tenant,
                    occurred_at=event.occurred_at,
                    payload=event.payload,
                    version=event.version,
                    trace_context=trace,
                )
            written.append(OutboxRow(event.id, event.subject, event.to_json().decode(), trace))
        rows = [
            {
                "event_id": r.event_id,
                "subject": r.subject,
                "tenant_id": e.tenant,
                "body": r.body,
                "headers": r.headers,
                # Stamped when written (at commit, where the unit of work writes its events), not
                # at the start of a transaction that may have run for a while: latency counts
                # from here.
                "created_at": func.clock_timestamp(),
            }
            for r, e in zip(written, events, strict=True)
        ]
        # One round trip for the rows and the NOTIFY (delivered on commit).
        written_rows = insert(tables.outbox).values(rows).returning(tables.outbox.c.seq).cte("written")
        notify = select(func.pg_notify(tables.notify_channel, origin)).add_cte(written_rows)
        await session.execute(notify.where(exists(select(written_rows.c.seq))))
        return written

    return write
