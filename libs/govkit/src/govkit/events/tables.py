"""The outbox, inbox and dead-letter tables every service has in its own schema.

They hold infrastructure state, not tenant data a user reads: the relay and consumers work across
tenants, so these tables carry no row-level-security policy; only the service's roles reach them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from govkit.db import ident

OUTBOX_PENDING = "pending"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"


@dataclass(frozen=True)
class EventTables:
    """A service's outbox, inbox and dead-letter tables."""

    schema: str
    outbox: Table
    inbox: Table
    dead_letters: Table

    @property
    def notify_channel(self) -> str:
        """PostgreSQL NOTIFY channel that wakes this service's relay on commit."""
        return f"{self.schema}_outbox"


def event_tables(metadata: MetaData, *, schema: str) -> EventTables:
    """Declare the three tables in `metadata` under `schema`."""
    ident(schema)
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        Column("tenant_id", Text, nullable=False),
        Column("body", Text, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("state", Text, nullable=False, server_default=text(f"'{OUTBOX_PENDING}'")),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        schema=schema,
    )
    Index(f"ix_{schema}_outbox_pending", outbox.c.seq, postgresql_where=outbox.c.state == OUTBOX_PENDING)
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", UUID(as_uuid=False), nullable=False),
        Column("subject", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
        schema=schema,
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("consumer", Text, nullable=False),
        Column("event_id", Text),
        Column("subject", Text, nullable=False),
        Column("body", Text, nullable=False),
        Column("error", Text, nullable=False),
        Column("deliveries", Integer, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        schema=schema,
    )
    return EventTables(schema=schema, outbox=outbox, inbox=inbox, dead_letters=dead_letters)
