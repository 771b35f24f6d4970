"""portfolio, discredited list, rectification orders, evaluations, evidence, O&M requests,
self-checks and closure requests

Revision ID: 2026_12_02_0002
Revises: 2026_11_23_0001
"""

from alembic import op
from sqlalchemy import text

from evaluation.adapters import orm
from govkit.db import ServiceDatabase, plain_grants_sql, tenant_rls_sql
from govkit.migrations import grant_schema

revision = "2026_12_02_0002"
down_revision = "2026_11_23_0001"
branch_labels = None
depends_on = None

SCHEMA = "evaluation"
APP_ROLE = ServiceDatabase(SCHEMA).app_role


def upgrade() -> None:
    bind = op.get_bind()
    for table in (*orm.TENANT_TABLES, orm.platform_discredited):
        table.create(bind)
    for table in orm.TENANT_TABLES:
        for statement in tenant_rls_sql(schema=SCHEMA, table=table.name, app_role=APP_ROLE):
            bind.execute(text(statement))
    # The platform's list is read by every tenant (its rows name no tenant); only platform admins
    # write it, which the use case checks.
    for statement in plain_grants_sql(schema=SCHEMA, table=orm.platform_discredited.name, app_role=APP_ROLE):
        bind.execute(text(statement))
    bind.execute(
        text(
            f"CREATE INDEX portfolio_report ON {SCHEMA}.portfolio_projects "
            "(tenant_id, plan_year, stage, category, org_id)"
        )
    )
    grant_schema(bind, schema=SCHEMA, app_role=APP_ROLE)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed((*orm.TENANT_TABLES, orm.platform_discredited)):
        table.drop(bind)
