"""declarations, outbox, inbox, dead letters, audit log

Revision ID: 2026_11_23_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from govkit.db import ServiceDatabase, tenant_rls_sql
from govkit.migrations import create_infrastructure, grant_schema

revision = "2026_11_23_0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "intake"
APP_ROLE = ServiceDatabase(SCHEMA).app_role


def upgrade() -> None:
    op.create_table(
        "declarations",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("construction_type", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("necessity", sa.Text, nullable=False),
        sa.Column("goals", sa.Text, nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("project_code", sa.Text),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("amount > 0", name="ck_declarations_amount_positive"),
        schema=SCHEMA,
    )
    op.create_index("ix_declarations_tenant_org", "declarations", ["tenant_id", "org_id"], schema=SCHEMA)
    bind = op.get_bind()
    for statement in tenant_rls_sql(schema=SCHEMA, table="declarations", app_role=APP_ROLE):
        op.execute(statement)
    create_infrastructure(bind, schema=SCHEMA, app_role=APP_ROLE)
    grant_schema(bind, schema=SCHEMA, app_role=APP_ROLE)


def downgrade() -> None:
    op.drop_table("declarations", schema=SCHEMA)
