"""plan review, annual plan, approval review, SLA tasks, change requests; RLS admitting the reviewing tenant

Revision ID: 2026_11_23_0002
Revises: 2026_11_23_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from govkit.db import ServiceDatabase, ident, tenant_rls_sql

revision = "2026_11_23_0002"
down_revision = "2026_11_23_0001"
branch_labels = None
depends_on = None

SCHEMA = "review"
APP_ROLE = ServiceDatabase(SCHEMA).app_role

# Frozen here (not imported from the ORM) so that a later revision's change is not applied twice.
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
TENANT_TABLES = ("experts", "annual_plans", "notifications", "document_counters")
APPEND_ONLY_TABLES = ("approval_baselines",)
NEW_TABLES = (
    "tasks",
    "formal_reviews",
    "opinions",
    "experts",
    "draws",
    "panel_members",
    "score_sheets",
    "plan_decisions",
    "annual_plans",
    "plan_entries",
    "approval_applications",
    "approval_reviews",
    "approval_steps",
    "approvals",
    "approval_baselines",
    "change_requests",
    "notifications",
    "document_counters",
)


def _either_tenant_sql(table: str, grants: str) -> list[str]:
    """RLS admitting the row's tenant or its reviewing tenant (DESIGN.md principle 4), FORCE'd."""
    s, t, r = ident(SCHEMA), ident(table), ident(APP_ROLE)
    setting = "current_setting('app.tenant_id', true)"
    either = f"(tenant_id = {setting} OR reviewing_tenant_id = {setting})"
    return [
        f"ALTER TABLE {s}.{t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {s}.{t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {s}.{t}",
        f"CREATE POLICY tenant_isolation ON {s}.{t} USING {either} WITH CHECK {either}",
        f"REVOKE ALL ON {s}.{t} FROM {r}",
        f"GRANT {grants} ON {s}.{t} TO {r}",
    ]


def _append_only_trigger_sql(table: str) -> list[str]:
    """Refuse UPDATE and DELETE even to the owner: an approved baseline is never overwritten."""
    s, t = ident(SCHEMA), ident(table)
    fn = f"{s}.{t}_forbid_change"
    return [
        f"""CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION '{s}.{t} is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$""",
        f"DROP TRIGGER IF EXISTS {t}_forbid_change ON {s}.{t}",
        f"CREATE TRIGGER {t}_forbid_change BEFORE UPDATE OR DELETE ON {s}.{t} "
        f"FOR EACH ROW EXECUTE FUNCTION {fn}()",
        f"DROP TRIGGER IF EXISTS {t}_forbid_truncate ON {s}.{t}",
        f"CREATE TRIGGER {t}_forbid_truncate BEFORE TRUNCATE ON {s}.{t} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()",
    ]


def upgrade() -> None:
    with op.batch_alter_table("review_cases", schema=SCHEMA) as batch:
        batch.add_column(sa.Column("reviewing_tenant_id", sa.Text))
        batch.add_column(sa.Column("stage", sa.Text, nullable=False, server_default="plan"))
        batch.add_column(sa.Column("org_name", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("supplementary", sa.Boolean, nullable=False, server_default="false"))
        batch.add_column(sa.Column("pack_id", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("target_year", sa.Integer))
        batch.add_column(sa.Column("round", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("declaration", JSONB))
        batch.add_column(sa.Column("plan_level", sa.Text))
        batch.add_column(sa.Column("plan_budget", sa.Numeric(16, 2)))
        batch.add_column(sa.Column("delegation_cite", JSONB, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True)))
    op.create_index("ix_review_cases_status", "review_cases", ["status"], schema=SCHEMA)
    op.create_index(
        "ix_review_cases_reviewing_tenant_id", "review_cases", ["reviewing_tenant_id"], schema=SCHEMA
    )
    op.create_table(
        "tasks",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("holder_tenant_id", sa.Text, nullable=False),
        sa.Column("holder_role", sa.Text, nullable=False),
        sa.Column("holder_org", sa.Text),
        sa.Column("holder_user", sa.Text),
        sa.Column("subject", sa.Text),
        sa.Column("sla", JSONB),
        sa.Column("fixed_due", sa.Date),
        sa.Column("due_on", sa.Date, index=True),
        sa.Column("calendar", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_on", sa.Date, nullable=False),
        sa.Column("closed_on", sa.Date),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        sa.Column("version", sa.Integer, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "formal_reviews",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("checklist", JSONB, nullable=False),
        sa.Column("reviewed_by", sa.Text, nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        schema=SCHEMA,
    )
    op.create_table(
        "opinions",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("reviews_zh", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("task_id", UUID(as_uuid=False)),
        sa.Column("verdict", sa.Text),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("given_by", sa.Text),
        sa.Column("given_at", sa.DateTime(timezone=True)),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("case_id", "department", name="uq_opinions_case_department"),
        schema=SCHEMA,
    )
    op.create_table(
        "experts",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("org", sa.Text, nullable=False),
        sa.Column("specialties", JSONB, nullable=False, server_default="[]"),
        sa.Column("contact", sa.Text, nullable=False, server_default=""),
        sa.Column("available", sa.Boolean, nullable=False, server_default="true"),
        sa.Column("discredited", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("discredited_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("username", sa.Text),
        sa.Column("affiliations", JSONB, nullable=False, server_default="[]"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "draws",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("seed", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("specialty", sa.Text),
        sa.Column("candidates", JSONB, nullable=False),
        sa.Column("excluded", JSONB, nullable=False),
        sa.Column("drawn", JSONB, nullable=False),
        sa.Column("replaces_member_id", UUID(as_uuid=False)),
        sa.Column("drawn_by", sa.Text, nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "panel_members",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("draw_id", UUID(as_uuid=False), sa.ForeignKey("review.draws.id"), nullable=False),
        sa.Column("expert_id", UUID(as_uuid=False), nullable=False),
        sa.Column("expert_username", sa.Text),
        sa.Column("expert_name", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("declined_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("replaced_by_draw_id", UUID(as_uuid=False)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("case_id", "stage", "expert_id", name="uq_panel_members_case_stage_expert"),
        schema=SCHEMA,
    )
    op.create_table(
        "score_sheets",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("expert_id", UUID(as_uuid=False), nullable=False),
        sa.Column("scores", JSONB, nullable=False),
        sa.Column("comments", JSONB, nullable=False),
        sa.Column("overall_comment", sa.Text, nullable=False, server_default=""),
        sa.Column("total", sa.Numeric(8, 2), nullable=False),
        sa.Column("criteria", JSONB, nullable=False),
        sa.Column("submitted_by", sa.Text, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("case_id", "stage", "expert_id", name="uq_score_sheets_case_stage_expert"),
        schema=SCHEMA,
    )
    op.create_table(
        "plan_decisions",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("level", sa.Text),
        sa.Column("budget", sa.Numeric(16, 2)),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("decided_by", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        schema=SCHEMA,
    )
    op.create_table(
        "annual_plans",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("compiled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("published_by", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("tenant_id", "year", name="uq_annual_plans_tenant_year"),
        schema=SCHEMA,
    )
    op.create_table(
        "plan_entries",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("declaration_id", UUID(as_uuid=False), nullable=False),
        sa.Column("plan_id", UUID(as_uuid=False), sa.ForeignKey("review.annual_plans.id")),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("org_name", sa.Text, nullable=False, server_default=""),
        sa.Column("project_code", sa.Text),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("budget", sa.Numeric(16, 2), nullable=False),
        sa.Column("target_year", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.Date),
        sa.Column("extended_months", sa.Integer),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("case_id", name="uq_plan_entries_case"),
        schema=SCHEMA,
    )
    op.create_table(
        "approval_applications",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("approver", sa.Text, nullable=False),
        sa.Column("materials", JSONB, nullable=False),
        sa.Column("sign_off", JSONB),
        sa.Column("conclusion", sa.Text, nullable=False, server_default=""),
        sa.Column("items", JSONB, nullable=False, server_default="[]"),
        sa.Column("submitted_by", sa.Text, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("case_id", "attempt", name="uq_approval_applications_case_attempt"),
        schema=SCHEMA,
    )
    op.create_table(
        "approval_reviews",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "application_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.approval_applications.id"),
            nullable=False,
        ),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("comments", sa.Text, nullable=False, server_default=""),
        sa.Column("items", JSONB, nullable=False, server_default="[]"),
        sa.Column("reviewed_by", sa.Text, nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        schema=SCHEMA,
    )
    op.create_table(
        "approval_steps",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "application_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.approval_applications.id"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("label_zh", sa.Text, nullable=False),
        sa.Column("blocking", sa.Boolean, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False, server_default=""),
        sa.Column("recorded_by", sa.Text),
        sa.Column("recorded_on", sa.Date),
        sa.Column("task_id", UUID(as_uuid=False)),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("application_id", "kind", name="uq_approval_steps_application_kind"),
        schema=SCHEMA,
    )
    op.create_table(
        "approvals",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("declaration_id", UUID(as_uuid=False), nullable=False),
        sa.Column("application_id", UUID(as_uuid=False), nullable=False),
        sa.Column("project_code", sa.Text),
        sa.Column("document_number", sa.Text, nullable=False),
        sa.Column("approved_amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("approved_on", sa.Date, nullable=False),
        sa.Column("valid_until", sa.Date),
        sa.Column("conditions", JSONB, nullable=False, server_default="[]"),
        sa.Column("content", sa.Text, nullable=False, server_default=""),
        sa.Column("document_key", sa.Text, nullable=False),
        sa.Column("document_sha256", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("baseline_version", sa.Integer, nullable=False),
        sa.Column("issued_by", sa.Text, nullable=False),
        sa.Column("procurement_started_on", sa.Date),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("tenant_id", "document_number", name="uq_approvals_tenant_document_number"),
        sa.UniqueConstraint("case_id", name="uq_approvals_case"),
        schema=SCHEMA,
    )
    op.create_table(
        "approval_baselines",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("approval_id", UUID(as_uuid=False), sa.ForeignKey("review.approvals.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("content", sa.Text, nullable=False, server_default=""),
        sa.Column("conditions", JSONB, nullable=False, server_default="[]"),
        sa.Column("change_id", UUID(as_uuid=False)),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        sa.UniqueConstraint("approval_id", "version", name="uq_approval_baselines_approval_version"),
        schema=SCHEMA,
    )
    op.create_table(
        "change_requests",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("reviewing_tenant_id", sa.Text),
        sa.Column(
            "case_id",
            UUID(as_uuid=False),
            sa.ForeignKey("review.review_cases.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("approval_id", UUID(as_uuid=False), sa.ForeignKey("review.approvals.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("new_amount", sa.Numeric(16, 2)),
        sa.Column("new_content", sa.Text, nullable=False, server_default=""),
        sa.Column("base_amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("change_amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("cumulative_before", sa.Numeric(16, 2), nullable=False),
        sa.Column("major_content_change", sa.Boolean, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("routed", sa.Text, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("baseline_version", sa.Integer),
        sa.Column("cite", JSONB, nullable=False, server_default="[]"),
        sa.Column("version", sa.Integer, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "notifications",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("task_id", UUID(as_uuid=False), sa.ForeignKey("review.tasks.id"), nullable=False),
        sa.Column("case_id", UUID(as_uuid=False), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("recipient_role", sa.Text, nullable=False),
        sa.Column("recipient_user", sa.Text),
        sa.Column("recipient_org", sa.Text),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("emailed_at", sa.DateTime(timezone=True)),
        sa.Column("email_to", sa.Text),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("task_id", "kind", "due_on", name="uq_notifications_task_kind_due"),
        schema=SCHEMA,
    )
    op.create_table(
        "document_counters",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_tasks_holder", "tasks", ["holder_tenant_id", "status", "holder_role"], schema=SCHEMA)
    op.create_index("ix_approvals_status_valid_until", "approvals", ["status", "valid_until"], schema=SCHEMA)
    op.create_index(
        "ix_plan_entries_tenant_year", "plan_entries", ["tenant_id", "target_year"], schema=SCHEMA
    )
    for table in DELEGATED_TABLES:
        for statement in _either_tenant_sql(table, "SELECT, INSERT, UPDATE, DELETE"):
            op.execute(statement)
    for table in TENANT_TABLES:
        for statement in tenant_rls_sql(schema=SCHEMA, table=table, app_role=APP_ROLE):
            op.execute(statement)
    for table in APPEND_ONLY_TABLES:
        for statement in [*_either_tenant_sql(table, "SELECT, INSERT"), *_append_only_trigger_sql(table)]:
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table, schema=SCHEMA)
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.approval_baselines_forbid_change()")
    op.drop_index("ix_review_cases_reviewing_tenant_id", "review_cases", schema=SCHEMA)
    op.drop_index("ix_review_cases_status", "review_cases", schema=SCHEMA)
    with op.batch_alter_table("review_cases", schema=SCHEMA) as batch:
        for column in (
            "updated_at",
            "delegation_cite",
            "plan_budget",
            "plan_level",
            "declaration",
            "round",
            "target_year",
            "pack_id",
            "supplementary",
            "org_name",
            "stage",
            "reviewing_tenant_id",
        ):
            batch.drop_column(column)
    for statement in tenant_rls_sql(schema=SCHEMA, table="review_cases", app_role=APP_ROLE):
        op.execute(statement)
