"""outbox, inbox, dead letters, audit log

Revision ID: 2026_11_23_0001
Revises:
"""

from alembic import op

from govkit.db import ServiceDatabase
from govkit.migrations import create_infrastructure, grant_schema

revision = "2026_11_23_0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "procurement"
APP_ROLE = ServiceDatabase(SCHEMA).app_role


def upgrade() -> None:
    bind = op.get_bind()
    create_infrastructure(bind, schema=SCHEMA, app_role=APP_ROLE)
    grant_schema(bind, schema=SCHEMA, app_role=APP_ROLE)


def downgrade() -> None:
    for table in ("audit_log", "dead_letters", "inbox", "outbox"):
        op.drop_table(table, schema=SCHEMA)
