"""experts: the last day of a discredited listing's period (lhasa §22), so a lapsed listing no
longer bars the expert from draws

Revision ID: 2026_12_03_0003
Revises: 2026_11_23_0002
"""

from alembic import op
from sqlalchemy import text

revision = "2026_12_03_0003"
down_revision = "2026_11_23_0002"
branch_labels = None
depends_on = None

SCHEMA = "review"


def upgrade() -> None:
    # Existing listings keep NULL (in force until removed), as they were read before this column.
    op.get_bind().execute(text(f"ALTER TABLE {SCHEMA}.experts ADD COLUMN discredited_until DATE"))


def downgrade() -> None:
    op.get_bind().execute(text(f"ALTER TABLE {SCHEMA}.experts DROP COLUMN discredited_until"))
