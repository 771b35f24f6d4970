"""Reliable integration events: envelope, transactional outbox, relay, inbox and consumers."""

from govkit.events.envelope import Envelope, new_event
from govkit.events.tables import EventTables, event_tables

__all__ = ["Envelope", "EventTables", "event_tables", "new_event"]
