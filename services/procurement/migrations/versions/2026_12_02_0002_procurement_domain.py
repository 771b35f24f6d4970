"""procurement domain: approved projects, procurements, contract filings, progress, payments,
interventions (suspension/termination), the discredited list, OCDS releases, mismatches, webhook
nonces; FORCE'd row-level security on each

Revision ID: 2026_12_02_0002
Revises: 2026_11_23_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from govkit.db import ServiceDatabase, ident, tenant_rls_sql

revision = "2026_12_02_0002"
down_revision = "2026_11_23_0001"
branch_labels = None
depends_on = None

SCHEMA = "procurement"
APP_ROLE = ServiceDatabase(SCHEMA).app_role

# Frozen here (not imported from the ORM) so that a later revision's change is not applied twice.
TENANT_TABLES = (
    "projects",
    "procurements",
    "filings",
    "progress_reports",
    "payments",
    "interventions",
    "ocds_releases",
    "mismatches",
    "webhook_nonces",
)
ALL_TABLES = (*TENANT_TABLES, "discredited")


def _discredited_rls_sql() -> list[str]:
    """The tenant's own entries and the platform-wide ones are visible; writes stay in one's tenant
    or are platform entries (written by the consumer of evaluation's discredited.changed)."""
    s, t, r = ident(SCHEMA), ident("discredited"), ident(APP_ROLE)
    setting = "current_setting('app.tenant_id', true)"
    visible = f"(tenant_id = {setting} OR scope = 'platform')"
    return [
        f"ALTER TABLE {s}.{t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {s}.{t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {s}.{t}",
        f"CREATE POLICY tenant_isolation ON {s}.{t} USING {visible} WITH CHECK {visible}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.{t} TO {r}",
    ]


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("declaration_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("approval_id", UUID(as_uuid=False), nullable=False),
        sa.Column("project_code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("org_name", sa.Text, nullable=False, server_default=""),
        sa.Column("designer_org", sa.Text, nullable=False, server_default=""),
        sa.Column("approved_amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("approved_on", sa.Date, nullable=False),
        sa.Column("valid_until", sa.Date),
        sa.Column("baseline_version", sa.Integer, nullable=False),
        sa.Column("facts", JSONB, nullable=False),
        sa.Column("pack_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("procurement_started_on", sa.Date),
        sa.Column("expired_on", sa.Date),
        sa.Column("accepted_on", sa.Date),
        sa.Column("acceptance_id", sa.Text, nullable=False, server_default=""),
        sa.Column("serious_delay_since", sa.Date),
        sa.Column("approval_cite", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_projects_tenant_code", "projects", ["tenant_id", "project_code"], schema=SCHEMA)
    op.create_table(
        "procurements",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column(
            "declaration_id",
            UUID(as_uuid=False),
            sa.ForeignKey("procurement.projects.declaration_id"),
            nullable=False,
            index=True,
        ),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("started_on", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("signed_on", sa.Date),
        sa.Column("filing_due_on", sa.Date, index=True),
        sa.Column("overdue_notified_on", sa.Date),
        sa.Column("ocid", sa.Text, nullable=False, server_default=""),
        sa.Column("prefill", JSONB, nullable=False),
        sa.Column("documents", JSONB, nullable=False),
        sa.Column("cite", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_procurements_tenant_ocid", "procurements", ["tenant_id", "ocid"], schema=SCHEMA)
    op.create_table(
        "filings",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column(
            "procurement_id",
            UUID(as_uuid=False),
            sa.ForeignKey("procurement.procurements.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("declaration_id", UUID(as_uuid=False), nullable=False, index=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("contract_no", sa.Text, nullable=False),
        sa.Column("supplier_name", sa.Text, nullable=False),
        sa.Column("supplier_credit_code", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("signed_on", sa.Date, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("warranty_months", sa.Integer, nullable=False),
        sa.Column("ip_clause", sa.Text, nullable=False),
        sa.Column("termination_clause", sa.Text, nullable=False),
        sa.Column("schedule", JSONB, nullable=False),
        sa.Column("filed_on", sa.Date, nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_by", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("overdue", sa.Boolean, nullable=False),
        sa.Column("checks", JSONB, nullable=False),
        sa.Column("cite", JSONB, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("percent", sa.Numeric(5, 2), nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("procurement_id", name=None),
        schema=SCHEMA,
    )
    op.create_table(
        "progress_reports",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("declaration_id", UUID(as_uuid=False), nullable=False, index=True),
        sa.Column(
            "filing_id",
            UUID(as_uuid=False),
            sa.ForeignKey("procurement.filings.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("reported_on", sa.Date, nullable=False),
        sa.Column("percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("milestones_done", JSONB, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("reported_by", sa.Text, nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delay", JSONB, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "payments",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("declaration_id", UUID(as_uuid=False), nullable=False, index=True),
        sa.Column(
            "filing_id",
            UUID(as_uuid=False),
            sa.ForeignKey("procurement.filings.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cite", JSONB, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "interventions",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("declaration_id", UUID(as_uuid=False), nullable=False, index=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("ground", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("on_date", sa.Date, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_ref", sa.Text, nullable=False, server_default=""),
        sa.Column("cite", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "discredited",
        sa.Column("entry_id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("subject_kind", sa.Text, nullable=False),
        sa.Column("credit_code", sa.Text, nullable=False, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("grounds", sa.Text, nullable=False),
        sa.Column("period_from", sa.Date),
        sa.Column("period_until", sa.Date),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("cite", JSONB, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "ocds_releases",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("ocid", sa.Text, nullable=False),
        sa.Column("release_id", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("declaration_id", UUID(as_uuid=False)),
        sa.Column("procurement_id", UUID(as_uuid=False)),
        sa.Column("errors", JSONB, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.UniqueConstraint("tenant_id", "ocid", "release_id", name="uq_ocds_releases_release"),
        schema=SCHEMA,
    )
    op.create_table(
        "mismatches",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("declaration_id", UUID(as_uuid=False), nullable=False, index=True),
        sa.Column("procurement_id", UUID(as_uuid=False)),
        sa.Column("ocid", sa.Text, nullable=False),
        sa.Column("release_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("release_value", sa.Text, nullable=False),
        sa.Column("platform_value", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("cite", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "webhook_nonces",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("nonce", sa.Text, primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
        schema=SCHEMA,
    )
    bind = op.get_bind()
    for table in TENANT_TABLES:
        for statement in tenant_rls_sql(schema=SCHEMA, table=table, app_role=APP_ROLE):
            bind.exec_driver_sql(statement)
    for statement in _discredited_rls_sql():
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    for table in reversed(ALL_TABLES):
        op.drop_table(table, schema=SCHEMA)
