"""intake's tables, all in schema `intake` of the service's own database (every one under tenant RLS)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Sequence,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from govkit.audit import audit_table
from govkit.events import event_tables

SCHEMA = "intake"
metadata = MetaData(schema=SCHEMA)

# Bumped (under the tenant's submission lock) whenever what duplicate screening indexes changes, so
# every replica's in-memory index catches up by reading rows with a higher value.
screen_seq = Sequence("screen_seq", metadata=metadata, schema=SCHEMA)

_EMPTY_LIST = text("'[]'::jsonb")
_FALSE = text("false")
_BLANK = text("''")

declarations = Table(
    "declarations",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("construction_type", Text, nullable=False),
    Column("amount", Numeric(16, 2), nullable=False),
    Column("necessity", Text, nullable=False),
    Column("goals", Text, nullable=False),
    Column("contact", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("project_code", Text),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("construction_unit", Text, nullable=False, server_default=_BLANK),
    # {"hardware": "100000.00", ...}: Decimal strings, exact.
    Column("breakdown", JSONB),
    Column("funding_source", Text, nullable=False, server_default=_BLANK),
    Column("content", Text, nullable=False, server_default=_BLANK),
    Column("performance_goals", Text, nullable=False, server_default=_BLANK),
    Column("cloud_deployment", Boolean, nullable=False, server_default=_FALSE),
    Column("data_sharing_entries", JSONB, nullable=False, server_default=_EMPTY_LIST),
    Column("mlps_level", Integer, nullable=False, server_default=text("0")),
    Column("crypto_plan", Text, nullable=False, server_default=_BLANK),
    Column("related_systems", JSONB, nullable=False, server_default=_EMPTY_LIST),
    Column("public_facing", Boolean, nullable=False, server_default=_FALSE),
    Column("public_video", Boolean, nullable=False, server_default=_FALSE),
    Column("goods_and_services_only", Boolean, nullable=False, server_default=_FALSE),
    Column("simple", Boolean, nullable=False, server_default=_FALSE),
    Column("emergency", Boolean, nullable=False, server_default=_FALSE),
    Column("designer_org", Text, nullable=False, server_default=_BLANK),
    Column("construction_items", JSONB, nullable=False, server_default=_EMPTY_LIST),
    Column("call_id", UUID(as_uuid=False)),
    Column("target_year", Integer),
    Column("plan_year", Integer),
    Column("supplementary", Boolean, nullable=False, server_default=_FALSE),
    Column("funds_secured", Boolean, nullable=False, server_default=_FALSE),
    Column("supplementary_reason", Text, nullable=False, server_default=_BLANK),
    Column("supplementary_approved_by", Text, nullable=False, server_default=_BLANK),
    Column("late_route", Text, nullable=False, server_default=_BLANK),
    Column("round", Integer, nullable=False, server_default=text("0")),
    Column("provincial_code", Text),
    Column("findings", JSONB, nullable=False, server_default=_EMPTY_LIST),
    Column("citations", JSONB, nullable=False, server_default=_EMPTY_LIST),
    Column("signoff_by", Text),
    Column("signoff_at", DateTime(timezone=True)),
    Column("send_back_reason", Text, nullable=False, server_default=_BLANK),
    Column("return_reason", Text, nullable=False, server_default=_BLANK),
    Column("return_items", JSONB, nullable=False, server_default=_EMPTY_LIST),
    Column("return_stage", Text, nullable=False, server_default=_BLANK),
    Column("review_started", Boolean, nullable=False, server_default=_FALSE),
    Column("withdrawn_reason", Text, nullable=False, server_default=_BLANK),
    Column("screen_seq", BigInteger, nullable=False, server_default=text("0")),
)
Index("ix_declarations_tenant_org", declarations.c.tenant_id, declarations.c.org_id)
Index(
    "ix_declarations_tenant_org_plan_year",
    declarations.c.tenant_id,
    declarations.c.org_id,
    declarations.c.plan_year,
)
Index("ix_declarations_tenant_screen_seq", declarations.c.tenant_id, declarations.c.screen_seq)
Index(
    "uq_declarations_project_code",
    declarations.c.project_code,
    unique=True,
    postgresql_where=declarations.c.project_code.isnot(None),
)

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("region_code", Text, nullable=False, unique=True),
    Column("level", Text, nullable=False),
    Column("parent_id", Text),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

orgs = Table(
    "orgs",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("org_type", Text, nullable=False),
    Column("budget_units", Integer, nullable=False),
    Column("dept_code", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id", name="pk_orgs"),
)

annual_calls = Table(
    "annual_calls",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("target_year", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("opens_on", Date, nullable=False),
    Column("deadline", Date),
    Column("deadline_source", Text, nullable=False, server_default=_BLANK),
    Column("late_route", Text, nullable=False, server_default=_BLANK),
    Column("title", Text, nullable=False, server_default=_BLANK),
    Column("notes", Text, nullable=False, server_default=_BLANK),
    Column("opened_by", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("citations", JSONB, nullable=False, server_default=_EMPTY_LIST),
    Column("version", Integer, nullable=False),
    UniqueConstraint("tenant_id", "target_year", name="uq_annual_calls_tenant_year"),
)

existing_systems = Table(
    "existing_systems",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=_BLANK),
    Column("built_year", Integer),
    Column("status", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("screen_seq", BigInteger, nullable=False, server_default=text("0")),
)
Index("ix_existing_systems_tenant_screen_seq", existing_systems.c.tenant_id, existing_systems.c.screen_seq)

materials = Table(
    "materials",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column(
        "declaration_id",
        UUID(as_uuid=False),
        ForeignKey(f"{SCHEMA}.declarations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("org_id", Text, nullable=False),
    Column("doc_type", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("storage_key", Text, nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
)
Index("ix_materials_declaration", materials.c.tenant_id, materials.c.declaration_id)

# The last serial handed out per tenant and year (NNNNNN of the project code).
project_code_serials = Table(
    "project_code_serials",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("last_serial", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "year", name="pk_project_code_serials"),
)

TENANT_TABLES = (
    "declarations",
    "tenants",
    "orgs",
    "annual_calls",
    "existing_systems",
    "materials",
    "project_code_serials",
)

events = event_tables(metadata, schema=SCHEMA)
audit = audit_table(metadata, schema=SCHEMA)
