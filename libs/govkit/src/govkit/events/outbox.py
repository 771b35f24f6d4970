"""Transactional outbox: events are rows written in the same transaction as the state change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Select, bindparam, exists, func, insert, select, union_all
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


_CHUNK = 32


def outbox_writer(
    tables: EventTables, *, origin: str = ""
) -> Callable[[AsyncSession, list[Any]], Awaitable[list[OutboxRow]]]:
    """A writer for UnitOfWork: inserts the envelopes and NOTIFYs relays (delivered on commit).

    Returns the rows written, which the unit of work hands to its after-commit callbacks: the
    relay of this process publishes them from memory. The NOTIFY carries ``origin`` so that relay
    can ignore its own process's notifications and only other writers' wake its sweep.
    """

    statements: dict[int, Executable] = {}

    def statement(count: int) -> Executable:
        """The insert of ``count`` rows and the NOTIFY, in one round trip (delivered on commit).

        Built once per row count with bound parameters, so that it is compiled once. The rows are
        a SELECT of bound parameters (UNION ALL for several), not a multi-row VALUES: SQLAlchemy
        gives a multi-row VALUES no cache key, so that form was compiled anew in every transaction.
        """
        if count not in statements:
            outbox = tables.outbox
            columns = ("event_id", "subject", "tenant_id", "body", "headers")

            def row(i: int) -> Select[Any]:
                bound = [bindparam(f"{name}_{i}", type_=outbox.c[name].type) for name in columns]
                # Stamped when written (at commit, where the unit of work writes its events), not
                # at the start of a transaction that may have run for a while: latency counts
                # from here.
                return select(*bound, func.clock_timestamp())

            rows = row(0) if count == 1 else union_all(*(row(i) for i in range(count)))
            written_rows = (
                insert(outbox)
                .from_select([*columns, "created_at"], rows)
                .returning(outbox.c.seq)
                .cte("written")
            )
            notify = select(func.pg_notify(tables.notify_channel, bindparam("origin"))).add_cte(written_rows)
            statements[count] = notify.where(exists(select(written_rows.c.seq)))
        return statements[count]

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
        pairs = list(zip(written, events, strict=True))
        # Chunks keep the cached statements few (one per chunk size) however many events a
        # transaction writes; PostgreSQL folds identical NOTIFYs of a transaction into one.
        for start in range(0, len(pairs), _CHUNK):
            chunk = pairs[start : start + _CHUNK]
            params: dict[str, Any] = {"origin": origin}
            for i, (r, e) in enumerate(chunk):
                params.update(
                    {
                        f"event_id_{i}": r.event_id,
                        f"subject_{i}": r.subject,
                        f"tenant_id_{i}": e.tenant,
                        f"body_{i}": r.body,
                        f"headers_{i}": r.headers,
                    }
                )
            await session.execute(statement(len(chunk)), params)
        return written

    return write
