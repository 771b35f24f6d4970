"""review cases, outbox, inbox, dead letters, audit log

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

SCHEMA = "review"
APP_ROLE = ServiceDatabase(SCHEMA).app_role


def upgrade() -> None:
    op.create_table(
        "review_cases",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("declaration_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("declaring_org_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("project_code", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        schema=SCHEMA,
    )
    bind = op.get_bind()
    for statement in tenant_rls_sql(schema=SCHEMA, table="review_cases", app_role=APP_ROLE):
        op.execute(statement)
    create_infrastructure(bind, schema=SCHEMA, app_role=APP_ROLE)
    grant_schema(bind, schema=SCHEMA, app_role=APP_ROLE)


def downgrade() -> None:
    op.drop_table("review_cases", schema=SCHEMA)
