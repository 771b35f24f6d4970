"""review's event consumers."""

from __future__ import annotations

from govkit.bootstrap import Infrastructure
from govkit.events.consumer import EventConsumer
from govkit.events.nats import stream_name
from review import service

DECLARATION_SUBMITTED = "govproj.intake.v1.declaration.submitted"


def consumers(infra: Infrastructure) -> list[EventConsumer]:
    """Durable consumers of the review service."""
    return [
        EventConsumer(
            name="review-declaration-submitted",
            stream=stream_name("intake"),
            filter_subjects=[DECLARATION_SUBMITTED],
            handler=service.open_case_for_declaration,
            session_factory=infra.uow.session_factory,
            tables=infra.tables,
            nats=infra.nats,
        )
    ]
