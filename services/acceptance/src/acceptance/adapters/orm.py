"""acceptance's tables, in schema `acceptance`.

Every table with tenant data has ``tenant_id`` under FORCE'd row-level security (migration 0002):
the contracts learned from procurement, the projects, their evidence, acceptances and
rectification items. The event infrastructure (outbox, inbox, dead letters, audit) is govkit's.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from govkit.audit import audit_table
from govkit.events import event_tables

SCHEMA = "acceptance"
metadata = MetaData(schema=SCHEMA)
events = event_tables(metadata, schema=SCHEMA)
audit = audit_table(metadata, schema=SCHEMA)
MONEY = Numeric(16, 2)


def _uuid() -> UUID[str]:
    return UUID(as_uuid=False)


contracts = Table(
    "contracts",
    metadata,
    Column("id", Text, primary_key=True),  # procurement's contract id
    Column("tenant_id", Text, nullable=False),
    Column("declaration_id", Text, nullable=False, index=True),
    Column("project_code", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("period_end", Date),
    Column("supplier_name", Text, nullable=False),
    Column("supplier_credit_code", Text, nullable=False),
    Column("filed_at", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("declaration_id", Text, nullable=False, unique=True),
    Column("project_code", Text, nullable=False, index=True),
    Column("project_name", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("pack_id", Text, nullable=False),
    Column("approved_amount", MONEY, nullable=False),
    Column("contract_amount", MONEY, nullable=False),
    Column("contract_ids", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("public_facing", Boolean),
    Column("category", Text),
    Column("trial_started_on", Date),
    Column("completed_on", Date),
    Column("trial_min_months", Integer),
    Column("trial_ends_on", Date),
    Column("trial_cite", JSONB, nullable=False),
    Column("initial_passed_on", Date),
    Column("final_due_on", Date),
    Column("final_due_cite", JSONB, nullable=False),
    Column("extension", JSONB),
    Column("accepted_on", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("project_id", _uuid(), ForeignKey(f"{SCHEMA}.projects.id"), nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("conclusion", Text, nullable=False),
    Column("level", Integer),
    Column("issued_by", Text, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("filename", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("object_key", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

acceptances = Table(
    "acceptances",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("project_id", _uuid(), ForeignKey(f"{SCHEMA}.projects.id"), nullable=False, index=True),
    Column("stage", Text, nullable=False),
    Column("round", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("organizer", Text, nullable=False),
    Column("organizer_cite", JSONB, nullable=False),
    Column("applied_on", Date, nullable=False),
    Column("applied_by", Text, nullable=False),
    Column("checklist", JSONB, nullable=False),
    Column("panel", JSONB),
    Column("decided_on", Date),
    Column("decided_by", Text),
    Column("opinion", Text, nullable=False),
    Column("report_sha256", Text),
    Column("report_key", Text),
    Column("filing_due_on", Date),
    Column("filing_cite", JSONB, nullable=False),
    Column("filed_on", Date),
    Column("filed_late", Boolean, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("project_id", "stage", "round", name="uq_acceptances_project_stage_round"),
)

rectifications = Table(
    "rectifications",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("project_id", _uuid(), ForeignKey(f"{SCHEMA}.projects.id"), nullable=False, index=True),
    Column("acceptance_id", _uuid(), ForeignKey(f"{SCHEMA}.acceptances.id"), nullable=False, index=True),
    Column("description", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("done_on", Date),
    Column("done_by", Text),
    Column("note", Text, nullable=False),
    Column("version", Integer, nullable=False),
)

TENANT_TABLES = ("contracts", "projects", "evidence", "acceptances", "rectifications")
