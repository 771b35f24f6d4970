"""portfolio: each contract's filing details (role, supplier, method, dates) for the OC4IDS export

Revision ID: 2026_12_09_0003
Revises: 2026_12_02_0002
"""

from alembic import op
from sqlalchemy import text

revision = "2026_12_09_0003"
down_revision = "2026_12_02_0002"
branch_labels = None
depends_on = None

SCHEMA = "evaluation"


def upgrade() -> None:
    # IF NOT EXISTS: revision 0002 creates the table from the current orm, so a fresh database
    # already has the column; an existing one gets it here (empty until a rebuild refills it).
    op.get_bind().execute(
        text(
            f"ALTER TABLE {SCHEMA}.portfolio_projects "
            "ADD COLUMN IF NOT EXISTS contract_details JSONB NOT NULL DEFAULT '{}'::jsonb"
        )
    )


def downgrade() -> None:
    op.get_bind().execute(text(f"ALTER TABLE {SCHEMA}.portfolio_projects DROP COLUMN contract_details"))
