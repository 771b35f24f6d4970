"""What review decides comes back over NATS: returned → edit → resubmit, rejected, in plan; withdrawal
is possible only before any review event. Real nats-server and PostgreSQL."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from govkit.errors import AppError
from govkit.events import Envelope
from govkit.events.nats import NatsConnection, ensure_stream
from intake import service
from intake.adapters.orm import audit, events
from intake.domain.declaration import Declaration, DeclarationStatus
from intake.entrypoints.consumers import PLAN_DECIDED, REVIEW_REJECTED, REVIEW_RETURNED, consumers

pytestmark = pytest.mark.integration


class Review:
    """Publishes review events and runs intake's consumer until they are applied."""

    def __init__(self, nats: NatsConnection, world: Any) -> None:
        self.nats = nats
        self.world = world

    async def publish(self, subject: str, payload: dict[str, Any], *, times: int = 1) -> None:
        envelope = Envelope(
            id=str(uuid.uuid4()),
            type=subject,
            tenant=self.world.tenant,
            occurred_at=self.world.clock(),
            payload=payload,
        )
        js = await self.nats.jetstream(timeout=10)
        for _ in range(times):
            # Different message ids: JetStream's de-duplication does not hide a copy, the inbox must.
            await js.publish(subject, envelope.to_json(), headers={"Nats-Msg-Id": str(uuid.uuid4())})

    async def deliver(self, count: int) -> None:
        class Infra:
            pass

        infra = Infra()
        infra.uow, infra.tables, infra.nats = self.world.deps.uow, events, self.nats  # type: ignore[attr-defined]
        (consumer,) = consumers(infra)  # type: ignore[arg-type]
        consumer.name = f"intake-test-{uuid.uuid4().hex[:8]}"
        task = asyncio.create_task(consumer.run())
        try:
            for _ in range(200):
                if consumer.processed >= count:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
        assert consumer.processed >= count


@pytest.fixture
async def review(nats_server, make_world) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    nats = NatsConnection(url=nats_server.url, name="intake-test")
    js = await nats.jetstream(timeout=10)
    await ensure_stream(js, "review")
    world = await make_world("wuxing-2023")
    await world.open_call()
    # A fresh stream per test keeps earlier tests' events out of this one's durable consumer.
    await js.purge_stream("GOVPROJ_REVIEW")
    try:
        yield Review(nats, world)
    finally:
        await nats.close()


def returned_payload(d: Declaration, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": str(uuid.uuid4()),
        "declaration_id": d.id,
        "tenant_id": d.tenant_id,
        "stage": "plan",
        "items": ["可行性研究报告投资估算依据不足", "补充数据共享目录"],
        "reason": "材料需补正",
        "returned_at": "2026-07-10T09:00:00+08:00",
        "citations": [{"ref": "wuxing-2023 §9"}],
        **extra,
    }


async def test_returned_then_edited_then_resubmitted_in_round_two(review) -> None:  # type: ignore[no-untyped-def]
    world = review.world
    submitted = await world.submit(await world.draft())
    await review.publish(REVIEW_RETURNED, returned_payload(submitted), times=2)
    await review.deliver(2)
    returned = await service.get_declaration(
        deps=world.deps, principal=world.applicant, declaration_id=submitted.id
    )
    assert returned.status is DeclarationStatus.RETURNED and returned.return_stage == "plan"
    assert returned.return_items == ("可行性研究报告投资估算依据不足", "补充数据共享目录")
    assert returned.version == submitted.version + 1  # the copy had no second effect

    edited = await service.update_declaration(
        deps=world.deps,
        principal=world.applicant,
        declaration_id=returned.id,
        expected_version=returned.version,
        changes={"data_sharing_entries": ("学籍信息", "学校基本信息")},
    )
    with pytest.raises(AppError):  # the applicant cannot bypass the unit head
        await service.resubmit(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=edited.id,
            expected_version=edited.version,
        )
    again = await service.resubmit(
        deps=world.deps, principal=world.head, declaration_id=edited.id, expected_version=edited.version
    )
    assert again.status is DeclarationStatus.SUBMITTED and again.round == 2
    assert again.project_code == submitted.project_code and again.plan_year == submitted.plan_year
    subjects = [s for s, _ in await world.outbox()]
    assert subjects == [
        "govproj.intake.v1.declaration.submitted",
        "govproj.intake.v1.declaration.resubmitted",
    ]
    _, payload = (await world.outbox())[-1]
    assert payload["declaration"]["round"] == 2 and payload["declaration"]["data_sharing_entries"] == [
        "学籍信息",
        "学校基本信息",
    ]


async def test_withdraw_before_review_emits_the_event_and_after_a_review_event_is_refused(review) -> None:  # type: ignore[no-untyped-def]
    world = review.world
    early = await world.submit(await world.draft(name="早撤回的项目"))
    withdrawn = await service.withdraw(
        deps=world.deps,
        principal=world.applicant,
        declaration_id=early.id,
        expected_version=early.version,
        reason="需求变更",
    )
    assert withdrawn.status is DeclarationStatus.WITHDRAWN
    subject, payload = (await world.outbox())[-1]
    assert subject == "govproj.intake.v1.declaration.withdrawn"
    assert payload["declaration_id"] == early.id and payload["reason"] == "需求变更"
    assert payload["withdrawn_by"] == world.applicant.username

    late = await world.submit(await world.draft(name="审查已开始的项目", content="另一项目"))
    await review.publish(
        "govproj.review.v1.formal_review.started", {"case_id": "c1", "declaration_id": late.id}
    )
    await review.deliver(1)
    started = await service.get_declaration(
        deps=world.deps, principal=world.applicant, declaration_id=late.id
    )
    assert started.status is DeclarationStatus.SUBMITTED and started.review_started
    with pytest.raises(AppError) as err:
        await service.withdraw(
            deps=world.deps,
            principal=world.head,
            declaration_id=late.id,
            expected_version=started.version,
            reason="",
        )
    assert err.value.code == "REVIEW_ALREADY_STARTED"


async def test_plan_decision_and_rejection_move_the_declaration(review) -> None:  # type: ignore[no-untyped-def]
    world = review.world
    planned = await world.submit(await world.draft(name="列入计划的项目"))
    refused = await world.submit(await world.draft(name="未通过的项目", content="其他内容"))
    await review.publish(
        PLAN_DECIDED,
        {
            "case_id": "c1",
            "declaration_id": planned.id,
            "tenant_id": world.tenant,
            "outcome": "in_plan",
            "level": "key",
            "budget": {"amount": "800000.00"},
            "citations": [{"ref": "wuxing-2023 §11"}],
        },
    )
    await review.publish(
        REVIEW_REJECTED,
        {
            "case_id": "c2",
            "declaration_id": refused.id,
            "tenant_id": world.tenant,
            "stage": "plan",
            "reason": "不符合规划",
        },
    )
    await review.publish(
        REVIEW_RETURNED, returned_payload(planned, declaration_id=str(uuid.uuid4()))
    )  # unknown id
    await review.deliver(3)
    in_plan = await service.get_declaration(
        deps=world.deps, principal=world.bureau, declaration_id=planned.id
    )
    rejected = await service.get_declaration(
        deps=world.deps, principal=world.bureau, declaration_id=refused.id
    )
    assert in_plan.status is DeclarationStatus.IN_PLAN and rejected.status is DeclarationStatus.REJECTED
    assert rejected.return_reason == "不符合规划"


async def test_an_approval_stage_return_leaves_the_project_in_the_plan(review) -> None:  # type: ignore[no-untyped-def]
    """The approval application goes back for correction in review; the project stays in the plan
    (its applicant cannot reopen the declaration) and its history records the return."""
    world = review.world
    planned = await world.submit(await world.draft(name="已列入计划待审批的项目"))
    await review.publish(
        PLAN_DECIDED,
        {
            "case_id": "c1",
            "declaration_id": planned.id,
            "tenant_id": world.tenant,
            "outcome": "in_plan",
            "level": "key",
            "budget": {"amount": "800000.00"},
            "citations": [{"ref": "wuxing-2023 §11"}],
        },
    )
    await review.deliver(1)
    await review.publish(
        REVIEW_RETURNED,
        returned_payload(
            planned, stage="approval", reason="可研报告需补充投资估算", citations=[{"ref": "wuxing-2023 §13"}]
        ),
    )
    await review.deliver(2)
    after = await service.get_declaration(deps=world.deps, principal=world.bureau, declaration_id=planned.id)
    assert after.status is DeclarationStatus.IN_PLAN and after.return_stage != "approval"
    with pytest.raises(AppError):
        await service.update_declaration(
            deps=world.deps,
            principal=world.applicant,
            declaration_id=planned.id,
            expected_version=after.version,
            changes={"name": "改名"},
        )
    async with world.deps.uow(tenant_id=world.tenant) as tx:
        rows = (
            await tx.session.execute(
                select(audit.c.action, audit.c.citations, audit.c.details)
                .where(audit.c.entity_id == planned.id)
                .order_by(audit.c.seq)
            )
        ).all()
    noted = [r for r in rows if r.action == "declaration.approval_returned"]
    assert len(noted) == 1 and "wuxing-2023 §13" in noted[0].citations
    assert noted[0].details["reason"] == "可研报告需补充投资估算"
