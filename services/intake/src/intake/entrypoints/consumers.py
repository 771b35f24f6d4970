"""intake's event consumers: what the review service decided about a declaration.

One durable consumer on the review stream takes every review event: ``review.returned``,
``review.rejected`` and ``plan.decided`` move the declaration (returned / rejected / in_plan); any
other review event about a declaration tells intake that review has started, which closes
withdrawal. Payloads are read by their JSON field names (the review service's proto), so a new
field there changes nothing here.
"""

from __future__ import annotations

from govkit.bootstrap import Infrastructure
from govkit.events.consumer import EventConsumer
from govkit.events.nats import stream_name
from intake import service

REVIEW_RETURNED = "govproj.review.v1.review.returned"
REVIEW_REJECTED = "govproj.review.v1.review.rejected"
PLAN_DECIDED = "govproj.review.v1.plan.decided"
REVIEW_EVENTS = "govproj.review.v1.>"


def consumers(infra: Infrastructure) -> list[EventConsumer]:
    """Durable consumers of the intake service."""
    return [
        EventConsumer(
            name="intake-review-events",
            stream=stream_name("review"),
            filter_subjects=[REVIEW_EVENTS],
            handler=service.apply_review_event,
            session_factory=infra.uow.session_factory,
            tables=infra.tables,
            nats=infra.nats,
        )
    ]
