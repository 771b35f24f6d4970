"""review's consumer of declaration.submitted, over a real nats-server and PostgreSQL."""

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from govkit.db import UnitOfWorkFactory
from govkit.events import new_event
from govkit.events.nats import NatsConnection, ensure_stream
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2
from review.adapters.orm import events, review_cases
from review.entrypoints.consumers import DECLARATION_SUBMITTED, consumers_for
from review.service import ReviewDeps

pytestmark = pytest.mark.integration


def submitted_event(tenant: str) -> bytes:
    envelope = new_event(
        event_type=DECLARATION_SUBMITTED,
        tenant=tenant,
        payload=events_pb2.DeclarationSubmitted(
            declaration_id=str(uuid.uuid4()),
            tenant_id=tenant,
            org_id="unit-1",
            name="智慧城管",
            amount=common_pb2.Money(amount="1500000.00"),
            category="business_app",
            construction_type="new",
            submitted_by="applicant",
            submitted_at="2026-03-02T08:00:00+00:00",
        ),
    )
    return envelope.to_json()


async def count_cases(uow: UnitOfWorkFactory, tenant: str) -> int:
    async with uow(tenant_id=tenant) as tx:
        return int((await tx.session.execute(select(func.count()).select_from(review_cases))).scalar_one())


async def test_the_same_event_delivered_twice_opens_one_case(deps: ReviewDeps, tenants, nats_server) -> None:  # type: ignore[no-untyped-def]
    nats = NatsConnection(url=nats_server.url, name="review-test")
    tenant = tenants.wuxing
    try:
        js = await nats.jetstream(timeout=10)
        await ensure_stream(js, "intake")
        body = submitted_event(tenant)
        # Published twice with different msg ids, so JetStream's de-duplication does NOT hide the
        # second copy: only the inbox can keep it from opening a second case.
        await js.publish(DECLARATION_SUBMITTED, body, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        await js.publish(DECLARATION_SUBMITTED, body, headers={"Nats-Msg-Id": str(uuid.uuid4())})

        class Infra:
            pass

        infra = Infra()
        infra.uow, infra.tables, infra.nats = deps.uow, events, nats  # type: ignore[attr-defined]
        consumer = consumers_for(infra, deps)[0]  # type: ignore[arg-type]
        assert consumer.filter_subjects == [DECLARATION_SUBMITTED]
        consumer.name = f"review-test-{uuid.uuid4().hex[:6]}"
        task = asyncio.create_task(consumer.run())
        try:
            for _ in range(100):
                if consumer.processed >= 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
        assert consumer.processed >= 2
        assert await count_cases(deps.uow, tenant) == 1
    finally:
        await nats.close()
