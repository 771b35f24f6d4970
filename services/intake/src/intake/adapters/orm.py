"""intake's tables, all in schema `intake` of the service's own database."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from govkit.audit import audit_table
from govkit.events import event_tables

SCHEMA = "intake"
metadata = MetaData(schema=SCHEMA)

declarations = Table(
    "declarations",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("construction_type", Text, nullable=False),
    Column("amount", Numeric(16, 2), nullable=False),
    Column("necessity", Text, nullable=False),
    Column("goals", Text, nullable=False),
    Column("contact", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("project_code", Text),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
)
Index("ix_declarations_tenant_org", declarations.c.tenant_id, declarations.c.org_id)

events = event_tables(metadata, schema=SCHEMA)
audit = audit_table(metadata, schema=SCHEMA)
