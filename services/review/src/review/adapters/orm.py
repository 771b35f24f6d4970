"""review's tables, in schema `review`.

Every table with tenant data has ``tenant_id`` and row-level security. Tables of a case also carry
``reviewing_tenant_id``: where a county delegates its technical review to the city (DESIGN.md
principle 4), the policy admits either tenant (migration 0002). The expert library,
the annual plans, notifications and document counters belong to one tenant only.
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

SCHEMA = "review"
metadata = MetaData(schema=SCHEMA)
MONEY = Numeric(16, 2)


def _uuid() -> UUID[str]:
    return UUID(as_uuid=False)


def _case_columns() -> list[Column[object]]:
    """Tenant, reviewing tenant and case of a case's child row."""
    return [
        Column("tenant_id", Text, nullable=False),
        Column("reviewing_tenant_id", Text),
        Column("case_id", _uuid(), ForeignKey(f"{SCHEMA}.review_cases.id"), nullable=False, index=True),
    ]


review_cases = Table(
    "review_cases",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("declaration_id", _uuid(), nullable=False, unique=True),
    Column("declaring_org_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("project_code", Text),
    Column("status", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("reviewing_tenant_id", Text),
    Column("stage", Text, nullable=False, server_default="plan"),
    Column("org_name", Text, nullable=False, server_default=""),
    Column("supplementary", Boolean, nullable=False, server_default="false"),
    Column("pack_id", Text, nullable=False, server_default=""),
    Column("target_year", Integer),
    Column("round", Integer, nullable=False, server_default="1"),
    Column("declaration", JSONB),
    Column("plan_level", Text),
    Column("plan_budget", MONEY),
    Column("delegation_cite", JSONB, nullable=False, server_default="[]"),
    Column("updated_at", DateTime(timezone=True)),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("kind", Text, nullable=False),
    Column("stage", Text, nullable=False),
    Column("holder_tenant_id", Text, nullable=False),
    Column("holder_role", Text, nullable=False),
    Column("holder_org", Text),
    Column("holder_user", Text),
    Column("subject", Text),
    Column("sla", JSONB),
    Column("fixed_due", Date),
    Column("due_on", Date, index=True),  # denormalised from sla/fixed_due for the work lists
    Column("calendar", Text),
    Column("status", Text, nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date),
    Column("cite", JSONB, nullable=False, server_default="[]"),
    Column("version", Integer, nullable=False),
)

formal_reviews = Table(
    "formal_reviews",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("stage", Text, nullable=False),
    Column("round", Integer, nullable=False),
    Column("outcome", Text, nullable=False),  # passed | incomplete
    Column("checklist", JSONB, nullable=False),
    Column("reviewed_by", Text, nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
    Column("cite", JSONB, nullable=False, server_default="[]"),
)

opinions = Table(
    "opinions",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("department", Text, nullable=False),
    Column("reviews_zh", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("task_id", _uuid()),
    Column("verdict", Text),
    Column("text", Text, nullable=False, server_default=""),
    Column("given_by", Text),
    Column("given_at", DateTime(timezone=True)),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("cite", JSONB, nullable=False, server_default="[]"),
    Column("version", Integer, nullable=False),
    UniqueConstraint("case_id", "department", name="uq_opinions_case_department"),
)

experts = Table(
    "experts",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("org", Text, nullable=False),
    Column("specialties", JSONB, nullable=False, server_default="[]"),
    Column("contact", Text, nullable=False, server_default=""),
    Column("available", Boolean, nullable=False, server_default="true"),
    Column("discredited", Boolean, nullable=False, server_default="false"),
    Column("discredited_reason", Text, nullable=False, server_default=""),
    Column("username", Text),
    Column("affiliations", JSONB, nullable=False, server_default="[]"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("discredited_until", Date),
    Column("version", Integer, nullable=False),
)

draws = Table(
    "draws",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("stage", Text, nullable=False),
    Column("seed", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("specialty", Text),
    Column("candidates", JSONB, nullable=False),
    Column("excluded", JSONB, nullable=False),
    Column("drawn", JSONB, nullable=False),
    Column("replaces_member_id", _uuid()),
    Column("drawn_by", Text, nullable=False),
    Column("drawn_at", DateTime(timezone=True), nullable=False),
)

panel_members = Table(
    "panel_members",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("stage", Text, nullable=False),
    Column("draw_id", _uuid(), ForeignKey(f"{SCHEMA}.draws.id"), nullable=False),
    Column("expert_id", _uuid(), nullable=False),
    Column("expert_username", Text),
    Column("expert_name", Text, nullable=False, server_default=""),
    Column("status", Text, nullable=False),
    Column("declined_reason", Text, nullable=False, server_default=""),
    Column("replaced_by_draw_id", _uuid()),
    Column("version", Integer, nullable=False),
    UniqueConstraint("case_id", "stage", "expert_id", name="uq_panel_members_case_stage_expert"),
)

score_sheets = Table(
    "score_sheets",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("stage", Text, nullable=False),
    Column("expert_id", _uuid(), nullable=False),
    Column("scores", JSONB, nullable=False),
    Column("comments", JSONB, nullable=False),
    Column("overall_comment", Text, nullable=False, server_default=""),
    Column("total", Numeric(8, 2), nullable=False),
    Column("criteria", JSONB, nullable=False),
    Column("submitted_by", Text, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("case_id", "stage", "expert_id", name="uq_score_sheets_case_stage_expert"),
)

plan_decisions = Table(
    "plan_decisions",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("outcome", Text, nullable=False),
    Column("level", Text),
    Column("budget", MONEY),
    Column("reason", Text, nullable=False, server_default=""),
    Column("decided_by", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("cite", JSONB, nullable=False, server_default="[]"),
)

annual_plans = Table(
    "annual_plans",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("compiled_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True)),
    Column("published_by", Text),
    Column("version", Integer, nullable=False),
    UniqueConstraint("tenant_id", "year", name="uq_annual_plans_tenant_year"),
)

plan_entries = Table(
    "plan_entries",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("declaration_id", _uuid(), nullable=False),
    Column("plan_id", _uuid(), ForeignKey(f"{SCHEMA}.annual_plans.id")),
    Column("name", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("org_name", Text, nullable=False, server_default=""),
    Column("project_code", Text),
    Column("level", Text, nullable=False),
    Column("budget", MONEY, nullable=False),
    Column("target_year", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("valid_until", Date),
    Column("extended_months", Integer),
    Column("cite", JSONB, nullable=False, server_default="[]"),
    Column("version", Integer, nullable=False),
    UniqueConstraint("case_id", name="uq_plan_entries_case"),
)

approval_applications = Table(
    "approval_applications",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("attempt", Integer, nullable=False),
    Column("round", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("approver", Text, nullable=False),
    Column("materials", JSONB, nullable=False),
    Column("sign_off", JSONB),
    Column("conclusion", Text, nullable=False, server_default=""),
    Column("items", JSONB, nullable=False, server_default="[]"),
    Column("submitted_by", Text, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("cite", JSONB, nullable=False, server_default="[]"),
    Column("version", Integer, nullable=False),
    UniqueConstraint("case_id", "attempt", name="uq_approval_applications_case_attempt"),
)

approval_reviews = Table(
    "approval_reviews",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("application_id", _uuid(), ForeignKey(f"{SCHEMA}.approval_applications.id"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("outcome", Text, nullable=False),  # passed | returned | prepare_anew
    Column("comments", Text, nullable=False, server_default=""),
    Column("items", JSONB, nullable=False, server_default="[]"),
    Column("reviewed_by", Text, nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
    Column("cite", JSONB, nullable=False, server_default="[]"),
)

approval_steps = Table(
    "approval_steps",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("application_id", _uuid(), ForeignKey(f"{SCHEMA}.approval_applications.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("label_zh", Text, nullable=False),
    Column("blocking", Boolean, nullable=False),
    Column("status", Text, nullable=False),
    Column("reference", Text, nullable=False, server_default=""),
    Column("recorded_by", Text),
    Column("recorded_on", Date),
    Column("task_id", _uuid()),
    Column("cite", JSONB, nullable=False, server_default="[]"),
    Column("version", Integer, nullable=False),
    UniqueConstraint("application_id", "kind", name="uq_approval_steps_application_kind"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("declaration_id", _uuid(), nullable=False),
    Column("application_id", _uuid(), nullable=False),
    Column("project_code", Text),
    Column("document_number", Text, nullable=False),
    Column("approved_amount", MONEY, nullable=False),
    Column("approved_on", Date, nullable=False),
    Column("valid_until", Date),
    Column("conditions", JSONB, nullable=False, server_default="[]"),
    Column("content", Text, nullable=False, server_default=""),
    Column("document_key", Text, nullable=False),
    Column("document_sha256", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("baseline_version", Integer, nullable=False),
    Column("issued_by", Text, nullable=False),
    Column("procurement_started_on", Date),
    Column("cite", JSONB, nullable=False, server_default="[]"),
    Column("version", Integer, nullable=False),
    UniqueConstraint("tenant_id", "document_number", name="uq_approvals_tenant_document_number"),
    UniqueConstraint("case_id", name="uq_approvals_case"),
)

approval_baselines = Table(
    "approval_baselines",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("approval_id", _uuid(), ForeignKey(f"{SCHEMA}.approvals.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("content", Text, nullable=False, server_default=""),
    Column("conditions", JSONB, nullable=False, server_default="[]"),
    Column("change_id", _uuid()),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("cite", JSONB, nullable=False, server_default="[]"),
    UniqueConstraint("approval_id", "version", name="uq_approval_baselines_approval_version"),
)

change_requests = Table(
    "change_requests",
    metadata,
    Column("id", _uuid(), primary_key=True),
    *_case_columns(),
    Column("approval_id", _uuid(), ForeignKey(f"{SCHEMA}.approvals.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("new_amount", MONEY),
    Column("new_content", Text, nullable=False, server_default=""),
    Column("base_amount", MONEY, nullable=False),
    Column("change_amount", MONEY, nullable=False),
    Column("cumulative_before", MONEY, nullable=False),
    Column("major_content_change", Boolean, nullable=False),
    Column("status", Text, nullable=False),
    Column("routed", Text, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_reason", Text, nullable=False, server_default=""),
    Column("baseline_version", Integer),
    Column("cite", JSONB, nullable=False, server_default="[]"),
    Column("version", Integer, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", _uuid(), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("task_id", _uuid(), ForeignKey(f"{SCHEMA}.tasks.id"), nullable=False),
    Column("case_id", _uuid(), nullable=False),
    Column("kind", Text, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("recipient_role", Text, nullable=False),
    Column("recipient_user", Text),
    Column("recipient_org", Text),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("emailed_at", DateTime(timezone=True)),
    Column("email_to", Text),
    Column("read_at", DateTime(timezone=True)),
    # One reminder of a kind per task and due date, however often the sweep runs.
    UniqueConstraint("task_id", "kind", "due_on", name="uq_notifications_task_kind_due"),
)

document_counters = Table(
    "document_counters",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_seq", Integer, nullable=False),
)

events = event_tables(metadata, schema=SCHEMA)
audit = audit_table(metadata, schema=SCHEMA)

# Tables of a case: either the declaring tenant or its reviewing tenant may see them.
DELEGATED_TABLES = (
    "review_cases",
    "tasks",
    "formal_reviews",
    "opinions",
    "draws",
    "panel_members",
    "score_sheets",
    "plan_decisions",
    "plan_entries",
    "approval_applications",
    "approval_reviews",
    "approval_steps",
    "approvals",
    "change_requests",
)
# One tenant's own tables.
TENANT_TABLES = ("experts", "annual_plans", "notifications", "document_counters")
# Kept forever as written: SELECT and INSERT only (every approved baseline, DESIGN "changes").
APPEND_ONLY_TABLES = ("approval_baselines",)
