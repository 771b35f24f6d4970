"""procurement's tables, in schema `procurement`.

Every table with tenant data has ``tenant_id`` under FORCE'd row-level security (migration 0002).
The discredited list also admits platform-wide entries (scope ``platform``) to every tenant.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
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

SCHEMA = "procurement"
metadata = MetaData(schema=SCHEMA)
events = event_tables(metadata, schema=SCHEMA)
audit = audit_table(metadata, schema=SCHEMA)
MONEY = Numeric(16, 2)


def _uuid() -> UUID[str]:
    return UUID(as_uuid=False)


projects = Table(
    "projects",
    metadata,
    Column("declaration_id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("approval_id", _uuid(), nullable=False),
    Column("project_code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("org_name", Text, nullable=False, server_default=""),
    Column("designer_org", Text, nullable=False, server_default=""),
    Column("approved_amount", MONEY, nullable=False),
    Column("approved_on", Date, nullable=False),
    Column("valid_until", Date),
    Column("baseline_version", Integer, nullable=False),
    Column("facts", JSONB, nullable=False),
    Column("pack_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("procurement_started_on", Date),
    Column("expired_on", Date),
    Column("accepted_on", Date),
    Column("acceptance_id", Text, nullable=False, server_default=""),
    Column("serious_delay_since", Date),
    Column("approval_cite", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_projects_tenant_code", "tenant_id", "project_code"),
)

procurements = Table(
    "procurements",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column(
        "declaration_id", _uuid(), ForeignKey(f"{SCHEMA}.projects.declaration_id"), nullable=False, index=True
    ),
    Column("role", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("title", Text, nullable=False, server_default=""),
    Column("started_on", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("signed_on", Date),
    Column("filing_due_on", Date, index=True),
    Column("overdue_notified_on", Date),
    Column("ocid", Text, nullable=False, server_default=""),
    Column("prefill", JSONB, nullable=False),
    Column("documents", JSONB, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_procurements_tenant_ocid", "tenant_id", "ocid"),
)

filings = Table(
    "filings",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("procurement_id", _uuid(), ForeignKey(f"{SCHEMA}.procurements.id"), nullable=False, unique=True),
    Column("declaration_id", _uuid(), nullable=False, index=True),
    Column("role", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("contract_no", Text, nullable=False),
    Column("supplier_name", Text, nullable=False),
    Column("supplier_credit_code", Text, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("warranty_months", Integer, nullable=False),
    Column("ip_clause", Text, nullable=False),
    Column("termination_clause", Text, nullable=False),
    Column("schedule", JSONB, nullable=False),
    Column("filed_on", Date, nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("filed_by", Text, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("overdue", Boolean, nullable=False),
    Column("checks", JSONB, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("source", Text, nullable=False),
    Column("percent", Numeric(5, 2), nullable=False, server_default="0"),
    Column("version", Integer, nullable=False),
)

progress_reports = Table(
    "progress_reports",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("declaration_id", _uuid(), nullable=False, index=True),
    Column("filing_id", _uuid(), ForeignKey(f"{SCHEMA}.filings.id"), nullable=False, index=True),
    Column("reported_on", Date, nullable=False),
    Column("percent", Numeric(5, 2), nullable=False),
    Column("milestones_done", JSONB, nullable=False),
    Column("note", Text, nullable=False),
    Column("reported_by", Text, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
    Column("delay", JSONB, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("declaration_id", _uuid(), nullable=False, index=True),
    Column("filing_id", _uuid(), ForeignKey(f"{SCHEMA}.filings.id"), nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("note", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("cite", JSONB, nullable=False),
)

interventions = Table(
    "interventions",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("declaration_id", _uuid(), nullable=False, index=True),
    Column("kind", Text, nullable=False),  # suspension | resumption | termination
    Column("ground", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("on_date", Date, nullable=False),
    Column("actor", Text, nullable=False),
    Column("source", Text, nullable=False),  # bureau | rectification_escalated
    Column("source_ref", Text, nullable=False, server_default=""),
    Column("cite", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

discredited = Table(
    "discredited",
    metadata,
    Column("entry_id", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("scope", Text, nullable=False),  # tenant | platform
    Column("subject_kind", Text, nullable=False),
    Column("credit_code", Text, nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("grounds", Text, nullable=False),
    Column("period_from", Date),
    Column("period_until", Date),
    Column("active", Boolean, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

ocds_releases = Table(
    "ocds_releases",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("ocid", Text, nullable=False),
    Column("release_id", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("released_at", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),  # matched | unmatched | invalid
    Column("declaration_id", _uuid()),
    Column("procurement_id", _uuid()),
    Column("errors", JSONB, nullable=False),
    Column("channel", Text, nullable=False),  # webhook | import
    UniqueConstraint("tenant_id", "ocid", "release_id", name="uq_ocds_releases_release"),
)

mismatches = Table(
    "mismatches",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("declaration_id", _uuid(), nullable=False, index=True),
    Column("procurement_id", _uuid()),
    Column("ocid", Text, nullable=False),
    Column("release_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("release_value", Text, nullable=False),
    Column("platform_value", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

webhook_nonces = Table(
    "webhook_nonces",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("nonce", Text, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
)

TENANT_TABLES = (
    "projects",
    "procurements",
    "filings",
    "progress_reports",
    "payments",
    "interventions",
    "ocds_releases",
    "mismatches",
    "webhook_nonces",
)
