"""contracts read model, projects, evidence, acceptances, rectifications; FORCE'd RLS by tenant

Revision ID: 2026_12_02_0002
Revises: 2026_11_23_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from govkit.db import ServiceDatabase, tenant_rls_sql
from govkit.migrations import grant_schema

revision = "2026_12_02_0002"
down_revision = "2026_11_23_0001"
branch_labels = None
depends_on = None

SCHEMA = "acceptance"
APP_ROLE = ServiceDatabase(SCHEMA).app_role
# Frozen here (not imported from the ORM) so that a later revision's change is not applied twice.
TABLES = ("contracts", "projects", "evidence", "acceptances", "rectifications")
MONEY = sa.Numeric(16, 2)


def _uuid() -> UUID:
    return UUID(as_uuid=False)


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{SCHEMA}.{table}.id")


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("declaration_id", sa.Text, nullable=False, index=True),
        sa.Column("project_code", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("signed_on", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date),
        sa.Column("supplier_name", sa.Text, nullable=False),
        sa.Column("supplier_credit_code", sa.Text, nullable=False),
        sa.Column("filed_at", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "projects",
        sa.Column("id", _uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("declaration_id", sa.Text, nullable=False, unique=True),
        sa.Column("project_code", sa.Text, nullable=False, index=True),
        sa.Column("project_name", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("pack_id", sa.Text, nullable=False),
        sa.Column("approved_amount", MONEY, nullable=False),
        sa.Column("contract_amount", MONEY, nullable=False),
        sa.Column("contract_ids", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("public_facing", sa.Boolean),
        sa.Column("category", sa.Text),
        sa.Column("trial_started_on", sa.Date),
        sa.Column("completed_on", sa.Date),
        sa.Column("trial_min_months", sa.Integer),
        sa.Column("trial_ends_on", sa.Date),
        sa.Column("trial_cite", JSONB, nullable=False),
        sa.Column("initial_passed_on", sa.Date),
        sa.Column("final_due_on", sa.Date),
        sa.Column("final_due_cite", JSONB, nullable=False),
        sa.Column("extension", JSONB),
        sa.Column("accepted_on", sa.Date),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "evidence",
        sa.Column("id", _uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("project_id", _uuid(), _fk("projects"), nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("conclusion", sa.Text, nullable=False),
        sa.Column("level", sa.Integer),
        sa.Column("issued_by", sa.Text, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "acceptances",
        sa.Column("id", _uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("project_id", _uuid(), _fk("projects"), nullable=False, index=True),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("organizer", sa.Text, nullable=False),
        sa.Column("organizer_cite", JSONB, nullable=False),
        sa.Column("applied_on", sa.Date, nullable=False),
        sa.Column("applied_by", sa.Text, nullable=False),
        sa.Column("checklist", JSONB, nullable=False),
        sa.Column("panel", JSONB),
        sa.Column("decided_on", sa.Date),
        sa.Column("decided_by", sa.Text),
        sa.Column("opinion", sa.Text, nullable=False),
        sa.Column("report_sha256", sa.Text),
        sa.Column("report_key", sa.Text),
        sa.Column("filing_due_on", sa.Date),
        sa.Column("filing_cite", JSONB, nullable=False),
        sa.Column("filed_on", sa.Date),
        sa.Column("filed_late", sa.Boolean, nullable=False),
        sa.Column("cite", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("project_id", "stage", "round", name="uq_acceptances_project_stage_round"),
        schema=SCHEMA,
    )
    op.create_table(
        "rectifications",
        sa.Column("id", _uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("project_id", _uuid(), _fk("projects"), nullable=False, index=True),
        sa.Column("acceptance_id", _uuid(), _fk("acceptances"), nullable=False, index=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("cite", JSONB, nullable=False),
        sa.Column("done_on", sa.Date),
        sa.Column("done_by", sa.Text),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        schema=SCHEMA,
    )
    for table in TABLES:
        for statement in tenant_rls_sql(schema=SCHEMA, table=table, app_role=APP_ROLE):
            op.execute(statement)
    grant_schema(op.get_bind(), schema=SCHEMA, app_role=APP_ROLE)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
