"""evaluation's tables, in schema `evaluation`.

Every table with tenant data has ``tenant_id`` under FORCE'd row-level security; the platform's
own discredited list (scope "platform", kept by platform admins and applied in every tenant) is
the one table every tenant reads, so it has no tenant column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from govkit.audit import audit_table
from govkit.events import event_tables

SCHEMA = "evaluation"
metadata = MetaData(schema=SCHEMA)
events = event_tables(metadata, schema=SCHEMA)
audit = audit_table(metadata, schema=SCHEMA)
MONEY = Numeric(16, 2)
SCORE = Numeric(7, 2)


def _uuid() -> UUID[str]:
    return UUID(as_uuid=False)


portfolio = Table(
    "portfolio_projects",
    metadata,
    Column("declaration_id", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False, index=True),
    Column("org_id", Text, nullable=False, server_default=""),
    Column("org_name", Text, nullable=False, server_default=""),
    Column("name", Text, nullable=False, server_default=""),
    Column("project_code", Text, nullable=False, server_default=""),
    Column("category", Text, nullable=False, server_default=""),
    Column("plan_year", Integer, nullable=False, server_default="0"),
    Column("level", Text, nullable=False, server_default=""),
    Column("performance_goals", Text, nullable=False, server_default=""),
    Column("stage", Text, nullable=False),
    Column("declared_amount", MONEY),
    Column("planned_amount", MONEY),
    Column("approved_amount", MONEY),
    Column("contracted_amount", MONEY, nullable=False, server_default="0"),
    Column("paid_amount", MONEY, nullable=False, server_default="0"),
    Column("contracts", JSONB, nullable=False, server_default="{}"),
    Column("payments", JSONB, nullable=False, server_default="{}"),
    Column("contract_details", JSONB, nullable=False, server_default="{}"),
    Column("submitted_on", Date),
    Column("planned_on", Date),
    Column("approved_on", Date),
    Column("approval_valid_until", Date),
    Column("procurement_started_on", Date),
    Column("contracted_on", Date),
    Column("contract_end_on", Date),
    Column("trial_started_on", Date),
    Column("accepted_on", Date),
    Column("self_evaluation_opens_on", Date),
    Column("self_evaluation_closes_on", Date),
    Column("self_evaluated_on", Date),
    Column("evaluated_on", Date),
    Column("grade", Text, nullable=False, server_default=""),
    Column("total_score", SCORE),
    Column("om_outcome", Text, nullable=False, server_default=""),
    Column("plan_outcome", Text, nullable=False, server_default=""),
    Column("withdrawn", Boolean, nullable=False, server_default="false"),
    Column("rejected", Boolean, nullable=False, server_default="false"),
    Column("terminated", Boolean, nullable=False, server_default="false"),
    Column("suspended", Boolean, nullable=False, server_default="false"),
    Column("flags", JSONB, nullable=False, server_default="[]"),
    Column("last_event_at", DateTime(timezone=True)),
)


def _discredited_columns(*, tenant: bool) -> list[Column[Any]]:
    """The columns of a listing (the platform's list has no tenant)."""
    columns: list[Column[Any]] = [
        Column("id", _uuid(), primary_key=True),
        Column("tenant_id", Text, nullable=False, index=True),
        Column("scope", Text, nullable=False),
        Column("subject_kind", Text, nullable=False),
        Column("credit_code", Text, nullable=False, server_default=""),
        Column("expert_id", Text, nullable=False, server_default=""),
        Column("name", Text, nullable=False),
        Column("grounds", Text, nullable=False),
        Column("period_from", Date, nullable=False),
        Column("period_until", Date),
        Column("cite", JSONB, nullable=False),
        Column("listed_by", Text, nullable=False),
        Column("listed_at", DateTime(timezone=True), nullable=False),
        Column("removed_at", DateTime(timezone=True)),
        Column("removed_by", Text),
        Column("removal_reason", Text, nullable=False, server_default=""),
        Column("version", Integer, nullable=False),
    ]
    return columns if tenant else [c for c in columns if c.name != "tenant_id"]


discredited = Table("discredited_entries", metadata, *_discredited_columns(tenant=True))
platform_discredited = Table("platform_discredited_entries", metadata, *_discredited_columns(tenant=False))


rectifications = Table(
    "rectification_orders",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False, index=True),
    Column("declaration_id", Text, nullable=False, index=True),
    Column("project_code", Text, nullable=False, server_default=""),
    Column("org_id", Text, nullable=False, server_default=""),
    Column("stage", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("items", JSONB, nullable=False),
    Column("grounds", Text, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", Text, nullable=False, index=True),
    Column("cite", JSONB, nullable=False),
    Column("issued_by", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("escalated_on", Date),
    Column("escalation_cite", JSONB, nullable=False, server_default="[]"),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolution", Text, nullable=False, server_default=""),
    Column("version", Integer, nullable=False),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False, index=True),
    Column("declaration_id", Text, nullable=False, index=True),
    Column("project_code", Text, nullable=False, server_default=""),
    Column("org_id", Text, nullable=False, server_default=""),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("evaluator", Text, nullable=False),
    Column("started_on", Date, nullable=False),
    Column("due_on", Date),
    Column("late", Boolean, nullable=False, server_default="false"),
    Column("pack_id", Text, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("indicators", JSONB, nullable=False, server_default="[]"),
    Column("total_score", SCORE),
    Column("grade", Text, nullable=False, server_default=""),
    Column("completed_on", Date),
    Column("report_sha256", Text, nullable=False, server_default=""),
    Column("summary", Text, nullable=False, server_default=""),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)

evidence = Table(
    "evidence_files",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("evaluation_id", _uuid(), nullable=False, index=True),
    Column("filename", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("object_key", Text, nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
)

om_requests = Table(
    "om_requests",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False, index=True),
    Column("declaration_id", Text, nullable=False, index=True),
    Column("project_code", Text, nullable=False, server_default=""),
    Column("org_id", Text, nullable=False),
    Column("budget_year", Integer, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("free_maintenance_ends_on", Date, nullable=False),
    Column("declared", JSONB, nullable=False),
    Column("evaluation_id", _uuid()),
    Column("outcome", Text, nullable=False),
    Column("refusals", JSONB, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("deadline", Date),
    Column("filed_by", Text, nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("version", Integer, nullable=False),
)

self_checks = Table(
    "self_checks",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False, index=True),
    Column("declaration_id", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("checked_on", Date, nullable=False),
    Column("compliant", Boolean, nullable=False),
    Column("findings", JSONB, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("checked_by", Text, nullable=False),
)

closures = Table(
    "closure_requests",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False, index=True),
    Column("declaration_id", Text, nullable=False),
    Column("project_code", Text, nullable=False, server_default=""),
    Column("org_id", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("cite", JSONB, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("self_check_id", _uuid()),
    Column("decided_by", Text),
    Column("decided_on", Date),
    Column("decision_reason", Text, nullable=False, server_default=""),
    Column("version", Integer, nullable=False),
)

TENANT_TABLES = (
    portfolio,
    discredited,
    rectifications,
    evaluations,
    evidence,
    om_requests,
    self_checks,
    closures,
)
