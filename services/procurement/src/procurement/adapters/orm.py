"""procurement's tables, in schema `procurement`. Its domain tables arrive with its issue; the event
infrastructure (outbox, inbox, dead letters, audit) is here from the start."""

from __future__ import annotations

from sqlalchemy import MetaData

from govkit.audit import audit_table
from govkit.events import event_tables

SCHEMA = "procurement"
metadata = MetaData(schema=SCHEMA)
events = event_tables(metadata, schema=SCHEMA)
audit = audit_table(metadata, schema=SCHEMA)
