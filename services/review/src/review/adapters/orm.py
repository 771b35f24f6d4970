"""review's tables, in schema `review`."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from govkit.audit import audit_table
from govkit.events import event_tables

SCHEMA = "review"
metadata = MetaData(schema=SCHEMA)

review_cases = Table(
    "review_cases",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("declaration_id", UUID(as_uuid=False), nullable=False, unique=True),
    Column("declaring_org_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("amount", Numeric(16, 2), nullable=False),
    Column("project_code", Text),
    Column("status", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)

events = event_tables(metadata, schema=SCHEMA)
audit = audit_table(metadata, schema=SCHEMA)
