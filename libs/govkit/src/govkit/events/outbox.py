"""Transactional outbox: events are rows written in the same transaction as the state change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from govkit.events.envelope import Envelope
from govkit.events.tables import EventTables


def _current_trace_context() -> dict[str, str]:
    from govkit.telemetry import inject_trace_context

    return inject_trace_context()


def outbox_writer(tables: EventTables) -> Callable[[AsyncSession, list[Any]], Awaitable[None]]:
    """A writer for UnitOfWork: inserts the envelopes and NOTIFYs the relay (delivered on commit)."""

    async def write(session: AsyncSession, events: list[Any]) -> None:
        rows = []
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
            rows.append(
                {
                    "event_id": event.id,
                    "subject": event.subject,
                    "tenant_id": event.tenant,
                    "body": event.to_json().decode(),
                    "headers": trace,
                }
            )
        # Stamped when written (at commit, where the unit of work writes its events), not at the
        # start of a transaction that may have run for a while: latency is measured from here.
        await session.execute(insert(tables.outbox).values(created_at=func.clock_timestamp()), rows)
        await session.execute(text(f"NOTIFY {tables.notify_channel}"))

    return write
