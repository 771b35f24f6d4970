"""acceptance's event consumers: procurement's contract.filed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from acceptance.service import AcceptanceDeps
from acceptance.service import contracts as contract_service
from govkit.bootstrap import Infrastructure
from govkit.events import Envelope
from govkit.events.consumer import EventConsumer
from govkit.events.nats import stream_name

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


def _bound(handler: Callable[..., Awaitable[None]], deps: AcceptanceDeps) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        await handler(session, envelope, deps=deps)

    return handle


def consumers_for(infra: Infrastructure, deps: AcceptanceDeps) -> list[EventConsumer]:
    """Durable consumers of the acceptance service (one per subject, each with its own inbox name)."""
    return [
        EventConsumer(
            name="acceptance-contract-filed",
            stream=stream_name("procurement"),
            filter_subjects=[contract_service.CONTRACT_FILED],
            handler=_bound(contract_service.learn_contract, deps),
            session_factory=infra.uow.session_factory,
            tables=infra.tables,
            nats=infra.nats,
        )
    ]
