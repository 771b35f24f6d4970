"""review's event consumers: intake's declaration.submitted, .resubmitted and .withdrawn;
procurement's procurement.started (the approval stops expiring); evaluation's discredited.changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.bootstrap import Infrastructure
from govkit.events import Envelope
from govkit.events.consumer import EventConsumer
from govkit.events.nats import stream_name
from review.service import ReviewDeps
from review.service import cases as case_service
from review.service import experts as expert_service
from review.service import procurement as procurement_service

DECLARATION_SUBMITTED = "govproj.intake.v1.declaration.submitted"
DECLARATION_RESUBMITTED = "govproj.intake.v1.declaration.resubmitted"
DECLARATION_WITHDRAWN = "govproj.intake.v1.declaration.withdrawn"
DISCREDITED_CHANGED = "govproj.evaluation.v1.discredited.changed"
PROCUREMENT_STARTED = "govproj.procurement.v1.procurement.started"

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


def _bound(handler: Callable[..., Awaitable[None]], deps: ReviewDeps) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        await handler(session, envelope, deps=deps)

    return handle


def consumers_for(infra: Infrastructure, deps: ReviewDeps) -> list[EventConsumer]:
    """Durable consumers of the review service (one per subject, each with its own inbox name)."""
    specs = [
        ("review-declaration-submitted", DECLARATION_SUBMITTED, case_service.open_case),
        ("review-declaration-resubmitted", DECLARATION_RESUBMITTED, case_service.resubmit_case),
        ("review-declaration-withdrawn", DECLARATION_WITHDRAWN, case_service.withdraw_case),
    ]
    bound = [(name, "intake", subject, handler) for name, subject, handler in specs]
    bound.append(
        (
            "review-procurement-started",
            "procurement",
            PROCUREMENT_STARTED,
            procurement_service.record_procurement_started,
        )
    )
    # evaluation's discredited list (lhasa §22): listed experts are refused by the draws.
    bound.append(
        ("review-discredited-changed", "evaluation", DISCREDITED_CHANGED, expert_service.apply_discredited)
    )
    return [
        EventConsumer(
            name=name,
            stream=stream_name(context),
            filter_subjects=[subject],
            handler=_bound(handler, deps),
            session_factory=infra.uow.session_factory,
            tables=infra.tables,
            nats=infra.nats,
        )
        for name, context, subject, handler in bound
    ]
