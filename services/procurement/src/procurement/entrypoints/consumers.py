"""procurement's event consumers: review's approval.granted, change.decided and approval.expired,
acceptance's acceptance.passed, evaluation's discredited.changed and rectification.escalated."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.bootstrap import Infrastructure
from govkit.events import Envelope
from govkit.events.consumer import EventConsumer
from govkit.events.nats import stream_name
from procurement.service import ProcurementDeps
from procurement.service import construction as construction_service
from procurement.service import projects as project_service

APPROVAL_GRANTED = "govproj.review.v1.approval.granted"
CHANGE_DECIDED = "govproj.review.v1.change.decided"
APPROVAL_EXPIRED = "govproj.review.v1.approval.expired"
ACCEPTANCE_PASSED = "govproj.acceptance.v1.acceptance.passed"
DISCREDITED_CHANGED = "govproj.evaluation.v1.discredited.changed"
RECTIFICATION_ESCALATED = "govproj.evaluation.v1.rectification.escalated"
CONSUMES_FROM = ["review", "acceptance", "evaluation"]

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


def _bound(handler: Callable[..., Awaitable[None]], deps: ProcurementDeps) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        await handler(session, envelope, deps=deps)

    return handle


def consumers_for(infra: Infrastructure, deps: ProcurementDeps) -> list[EventConsumer]:
    """Durable consumers (one per subject, each with its own inbox name)."""
    specs = [
        ("procurement-approval-granted", "review", APPROVAL_GRANTED, project_service.approval_granted),
        ("procurement-change-decided", "review", CHANGE_DECIDED, project_service.change_decided),
        ("procurement-approval-expired", "review", APPROVAL_EXPIRED, project_service.approval_expired),
        ("procurement-acceptance-passed", "acceptance", ACCEPTANCE_PASSED, project_service.acceptance_passed),
        (
            "procurement-discredited-changed",
            "evaluation",
            DISCREDITED_CHANGED,
            project_service.discredited_changed,
        ),
        (
            "procurement-rectification-escalated",
            "evaluation",
            RECTIFICATION_ESCALATED,
            construction_service.rectification_escalated,
        ),
    ]
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
        for name, context, subject, handler in specs
    ]
