"""declaration form fields, sign-off and review outcomes; tenants, orgs, annual calls, existing
systems, materials, project-code serials; the screening sequence

Revision ID: 2026_11_23_0002
Revises: 2026_11_23_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from govkit.db import ServiceDatabase, tenant_rls_sql
from govkit.migrations import grant_schema

revision = "2026_11_23_0002"
down_revision = "2026_11_23_0001"
branch_labels = None
depends_on = None

SCHEMA = "intake"
APP_ROLE = ServiceDatabase(SCHEMA).app_role
EMPTY_LIST = sa.text("'[]'::jsonb")
FALSE = sa.text("false")
BLANK = sa.text("''")
ZERO = sa.text("0")

NEW_DECLARATION_COLUMNS = [
    sa.Column("construction_unit", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("breakdown", JSONB),
    sa.Column("funding_source", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("content", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("performance_goals", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("cloud_deployment", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("data_sharing_entries", JSONB, nullable=False, server_default=EMPTY_LIST),
    sa.Column("mlps_level", sa.Integer, nullable=False, server_default=ZERO),
    sa.Column("crypto_plan", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("related_systems", JSONB, nullable=False, server_default=EMPTY_LIST),
    sa.Column("public_facing", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("public_video", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("goods_and_services_only", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("simple", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("emergency", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("designer_org", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("construction_items", JSONB, nullable=False, server_default=EMPTY_LIST),
    sa.Column("call_id", UUID(as_uuid=False)),
    sa.Column("target_year", sa.Integer),
    sa.Column("plan_year", sa.Integer),
    sa.Column("supplementary", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("funds_secured", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("supplementary_reason", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("supplementary_approved_by", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("late_route", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("round", sa.Integer, nullable=False, server_default=ZERO),
    sa.Column("provincial_code", sa.Text),
    sa.Column("findings", JSONB, nullable=False, server_default=EMPTY_LIST),
    sa.Column("citations", JSONB, nullable=False, server_default=EMPTY_LIST),
    sa.Column("signoff_by", sa.Text),
    sa.Column("signoff_at", sa.DateTime(timezone=True)),
    sa.Column("send_back_reason", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("return_reason", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("return_items", JSONB, nullable=False, server_default=EMPTY_LIST),
    sa.Column("return_stage", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("review_started", sa.Boolean, nullable=False, server_default=FALSE),
    sa.Column("withdrawn_reason", sa.Text, nullable=False, server_default=BLANK),
    sa.Column("screen_seq", sa.BigInteger, nullable=False, server_default=ZERO),
]
STATUSES = ("draft", "pending_signoff", "submitted", "withdrawn", "returned", "rejected", "in_plan")


def upgrade() -> None:
    for column in NEW_DECLARATION_COLUMNS:
        op.add_column("declarations", column, schema=SCHEMA)
    # Declarations submitted before sign-off existed went to the bureau once.
    op.execute(  # SCHEMA is this module's constant, not input
        f"UPDATE {SCHEMA}.declarations SET round = 1 "  # noqa: S608
        "WHERE status IN ('submitted', 'returned', 'withdrawn')"
    )
    op.create_check_constraint(
        "ck_declarations_status",
        "declarations",
        "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        "ck_declarations_mlps_level", "declarations", "mlps_level BETWEEN 0 AND 5", schema=SCHEMA
    )
    op.create_index(
        "ix_declarations_tenant_org_plan_year",
        "declarations",
        ["tenant_id", "org_id", "plan_year"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_declarations_tenant_screen_seq", "declarations", ["tenant_id", "screen_seq"], schema=SCHEMA
    )
    op.create_index(
        "uq_declarations_project_code",
        "declarations",
        ["project_code"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("project_code IS NOT NULL"),
    )
    op.execute(f"CREATE SEQUENCE IF NOT EXISTS {SCHEMA}.screen_seq")

    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("region_code", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("parent_id", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("region_code", name="tenants_region_code_key"),
        sa.CheckConstraint("region_code ~ '^[0-9]{6}$'", name="ck_tenants_region_code"),
        schema=SCHEMA,
    )
    op.create_table(
        "orgs",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("org_type", sa.Text, nullable=False),
        sa.Column("budget_units", sa.Integer, nullable=False),
        sa.Column("dept_code", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_orgs"),
        sa.CheckConstraint("dept_code ~ '^[0-9]{2}$'", name="ck_orgs_dept_code"),
        sa.CheckConstraint("budget_units >= 0", name="ck_orgs_budget_units"),
        schema=SCHEMA,
    )
    op.create_table(
        "annual_calls",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("target_year", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opens_on", sa.Date, nullable=False),
        sa.Column("deadline", sa.Date),
        sa.Column("deadline_source", sa.Text, nullable=False, server_default=BLANK),
        sa.Column("late_route", sa.Text, nullable=False, server_default=BLANK),
        sa.Column("title", sa.Text, nullable=False, server_default=BLANK),
        sa.Column("notes", sa.Text, nullable=False, server_default=BLANK),
        sa.Column("opened_by", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("citations", JSONB, nullable=False, server_default=EMPTY_LIST),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("tenant_id", "target_year", name="uq_annual_calls_tenant_year"),
        schema=SCHEMA,
    )
    op.create_table(
        "existing_systems",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=BLANK),
        sa.Column("built_year", sa.Integer),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("screen_seq", sa.BigInteger, nullable=False, server_default=ZERO),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_existing_systems_tenant_screen_seq",
        "existing_systems",
        ["tenant_id", "screen_seq"],
        schema=SCHEMA,
    )
    op.create_table(
        "materials",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column(
            "declaration_id",
            UUID(as_uuid=False),
            sa.ForeignKey(f"{SCHEMA}.declarations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("doc_type", sa.Text, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("storage_key", sa.Text, nullable=False),
        sa.Column("uploaded_by", sa.Text, nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size > 0", name="ck_materials_size_positive"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="ck_materials_sha256_hex"),
        schema=SCHEMA,
    )
    op.create_index("ix_materials_declaration", "materials", ["tenant_id", "declaration_id"], schema=SCHEMA)
    op.create_table(
        "project_code_serials",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("last_serial", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "year", name="pk_project_code_serials"),
        schema=SCHEMA,
    )
    for table in ("tenants", "orgs", "annual_calls", "existing_systems", "materials", "project_code_serials"):
        for statement in tenant_rls_sql(schema=SCHEMA, table=table, app_role=APP_ROLE):
            op.execute(statement)
    grant_schema(op.get_bind(), schema=SCHEMA, app_role=APP_ROLE)


def downgrade() -> None:
    for table in ("project_code_serials", "materials", "existing_systems", "annual_calls", "orgs", "tenants"):
        op.drop_table(table, schema=SCHEMA)
    op.execute(f"DROP SEQUENCE IF EXISTS {SCHEMA}.screen_seq")
    op.drop_index("uq_declarations_project_code", table_name="declarations", schema=SCHEMA)
    op.drop_index("ix_declarations_tenant_screen_seq", table_name="declarations", schema=SCHEMA)
    op.drop_index("ix_declarations_tenant_org_plan_year", table_name="declarations", schema=SCHEMA)
    op.drop_constraint("ck_declarations_mlps_level", "declarations", schema=SCHEMA)
    op.drop_constraint("ck_declarations_status", "declarations", schema=SCHEMA)
    for column in reversed(NEW_DECLARATION_COLUMNS):
        op.drop_column("declarations", column.name, schema=SCHEMA)
