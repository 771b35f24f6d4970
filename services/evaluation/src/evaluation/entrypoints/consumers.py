"""evaluation's event consumers: one per upstream stream, folding every event into the portfolio
(which is also where evaluation learns accepted projects and their performance goals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.service import EvaluationDeps
from evaluation.service import portfolio as portfolio_service
from govkit.bootstrap import Infrastructure
from govkit.events import Envelope
from govkit.events.consumer import EventConsumer
from govkit.events.nats import stream_name, stream_subjects

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


def _bound(deps: EvaluationDeps) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        await portfolio_service.project_event(session, envelope, deps=deps)

    return handle


def consumers_for(infra: Infrastructure, deps: EvaluationDeps) -> list[EventConsumer]:
    """Durable consumers ``evaluation-portfolio-<context>``, each on a whole stream (one stream's
    events stay in order, which the fold relies on)."""
    return [
        EventConsumer(
            name=f"evaluation-portfolio-{context}",
            stream=stream_name(context),
            filter_subjects=stream_subjects(context),
            handler=_bound(deps),
            session_factory=infra.uow.session_factory,
            tables=infra.tables,
            nats=infra.nats,
        )
        for context in portfolio_service.CONTEXTS
    ]
