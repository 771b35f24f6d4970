"""The portfolio over a real nats-server: the service's consumers fold every stream live, and a
rebuild that replays the streams from their first message yields the same rows."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest

from evaluation.adapters.orm import events
from evaluation.adapters.streams import replay, stream_sizes
from evaluation.entrypoints.consumers import consumers_for
from evaluation.service import EvaluationDeps
from evaluation.service import portfolio as portfolio_service
from govkit.events import Envelope
from govkit.events.nats import NatsConnection, ensure_stream
from govproj.common.v1 import common_pb2
from govproj.evaluation.events.v1 import events_pb2 as evaluation_pb2
from govproj.intake.events.v1 import events_pb2 as intake_pb2
from govproj.procurement.events.v1 import events_pb2 as procurement_pb2
from govproj.review.events.v1 import events_pb2 as review_pb2

pytestmark = pytest.mark.integration


def _money(text: str) -> common_pb2.Money:
    return common_pb2.Money(amount=text)


def _project_events(h: Any, tenant: str, n: int) -> list[Envelope]:
    d = h.submitted(tenant, name=f"项目{n}", amount=_money("1000000.00"))
    resubmitted = intake_pb2.DeclarationSubmitted()
    resubmitted.CopyFrom(d)
    resubmitted.amount.amount = "900000.00"
    resubmitted.round = 2
    code = d.project_code
    contract_a, contract_b = str(uuid.uuid4()), str(uuid.uuid4())
    out = [
        h.envelope(d, tenant),
        h.envelope(
            intake_pb2.DeclarationResubmitted(declaration=resubmitted),
            tenant,
            "govproj.intake.v1.declaration.resubmitted",
        ),
        h.envelope(h.planned(resubmitted), tenant),
        h.envelope(
            review_pb2.ApprovalGranted(
                approval_id=str(uuid.uuid4()),
                declaration_id=d.declaration_id,
                tenant_id=tenant,
                project_code=code,
                approved_amount=_money("880000.00"),
                approved_on="2022-06-01",
                valid_until="2023-06-01",
            ),
            tenant,
        ),
    ]
    if n % 2 == 0:
        for cid, amount in ((contract_a, "800000.00"), (contract_b, "50000.00")):
            out.append(
                h.envelope(
                    procurement_pb2.ContractFiled(
                        contract_id=cid,
                        declaration_id=d.declaration_id,
                        tenant_id=tenant,
                        project_code=code,
                        role="construction",
                        contract_amount=_money(amount),
                        signed_on="2022-08-01",
                        period_end="2023-03-31",
                    ),
                    tenant,
                    "govproj.procurement.v1.contract.filed",
                )
            )
        for total in ("240000.00", "560000.00", "560000.00"):  # the last one re-delivered
            out.append(
                h.envelope(
                    procurement_pb2.PaymentRecorded(
                        payment_id=str(uuid.uuid4()),
                        contract_id=contract_a,
                        declaration_id=d.declaration_id,
                        tenant_id=tenant,
                        project_code=code,
                        kind="progress",
                        amount=_money("1.00"),
                        paid_total=_money(total),
                        paid_on="2022-10-01",
                    ),
                    tenant,
                    "govproj.procurement.v1.payment.recorded",
                )
            )
        out.append(h.envelope(h.accepted(d, date(2023, 5, 10)), tenant))
        out.append(
            h.envelope(
                evaluation_pb2.RectificationEscalated(
                    order_id=str(uuid.uuid4()),
                    declaration_id=d.declaration_id,
                    tenant_id=tenant,
                    project_code=code,
                ),
                tenant,
                "govproj.evaluation.v1.rectification.escalated",
            )
        )
        out.append(
            h.envelope(
                evaluation_pb2.EvaluationCompleted(
                    evaluation_id=str(uuid.uuid4()),
                    declaration_id=d.declaration_id,
                    tenant_id=tenant,
                    kind="self",
                    total_score="88.00",
                    grade="良",
                    completed_on="2024-06-01",
                ),
                tenant,
                "govproj.evaluation.v1.evaluation.completed",
            )
        )
    return out


def _complete(row: Any) -> bool:
    """Every event of the project folded (the consumers run concurrently, one per stream)."""
    base = row.declared_amount == 900000 and row.approved_amount is not None and row.level == "key"
    if not row.name or int(row.name.removeprefix("项目")) % 2:  # odd projects stop at the approval
        return bool(base)
    return bool(
        base
        and len(row.contracts) == 2
        and row.paid_amount == 560000
        and row.grade
        and row.accepted_on
        and "rectification_escalated" in row.flags
    )


async def test_rebuilt_from_the_streams_equals_the_live_portfolio(
    deps: EvaluationDeps, tenants: Any, h: Any, nats_server: Any
) -> None:
    nats = NatsConnection(url=nats_server.url, name="evaluation-rebuild-test")
    mine = [tenants.lhasa, tenants.qiaokou]
    envelopes = [e for t in mine for n in range(6) for e in _project_events(h, t, n)]
    try:
        js = await nats.jetstream(timeout=10)
        for context in portfolio_service.CONTEXTS:
            await ensure_stream(js, context)
        for env in envelopes:
            await js.publish(env.type, env.to_json(), headers={"Nats-Msg-Id": env.id})

        class Infra:
            pass

        infra = Infra()
        infra.uow, infra.tables, infra.nats = deps.uow, events, nats  # type: ignore[attr-defined]
        consumers = consumers_for(infra, deps)  # type: ignore[arg-type]
        for consumer in consumers:
            consumer.name = f"{consumer.name}-{uuid.uuid4().hex[:6]}"
        tasks = [asyncio.create_task(c.run()) for c in consumers]
        try:
            for _ in range(400):
                live = {t: await portfolio_service.live_rows(deps, t) for t in mine}
                if all(len(live[t]) == 6 and all(_complete(r) for r in live[t].values()) for t in mine):
                    break
                await asyncio.sleep(0.05)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        live = {t: await portfolio_service.live_rows(deps, t) for t in mine}
        built = next(r for r in live[tenants.lhasa].values() if r.contracts)
        assert built.declared_amount == 900000 and built.approved_amount == 880000
        assert built.contracted_amount == 850000 and built.paid_amount == 560000
        assert built.stage.value == "operation" and built.grade == "良"
        assert built.planned_on is not None  # the day plan.decided occurred
        assert built.self_evaluation_opens_on == date(2024, 5, 10)  # lhasa §22: month 12
        assert "rectification_escalated" in built.flags
        assert all(r.stage.value == "approved" for r in live[tenants.lhasa].values() if not r.contracts)

        sizes = await stream_sizes(js, portfolio_service.CONTEXTS)
        counted: list[int] = []
        folded = await portfolio_service.fold_stream(
            deps, replay(js, portfolio_service.CONTEXTS, upto=sizes), progress=counted.append
        )
        assert folded.events == sum(sizes.values()) == len(counted)
        for t in mine:
            assert portfolio_service.differences(live[t], folded.rows[t]) == []

        # Replacing the rows with the rebuilt ones changes nothing.
        await portfolio_service.replace_rows(deps, folded, tenants=mine)
        for t in mine:
            assert portfolio_service.differences(live[t], await portfolio_service.live_rows(deps, t)) == []
    finally:
        await nats.close()


async def test_two_first_events_of_a_new_project_are_both_folded(
    deps: EvaluationDeps, tenants: Any, h: Any
) -> None:
    """The submission and the approval of a new project folded in two transactions at once (two
    streams' consumers): the second waits for the first's row and folds onto it, although that row
    was committed after the second's claim began."""
    tenant = tenants.lhasa
    d = h.submitted(tenant, name="并发项目", amount=_money("1000000.00"))
    approved = h.envelope(
        review_pb2.ApprovalGranted(
            approval_id=str(uuid.uuid4()),
            declaration_id=d.declaration_id,
            tenant_id=tenant,
            project_code=d.project_code,
            approved_amount=_money("880000.00"),
            approved_on="2022-06-01",
            valid_until="2023-06-01",
        ),
        tenant,
    )
    async with deps.uow(tenant_id=tenant) as first:
        await portfolio_service.project_event(first.session, h.envelope(d, tenant), deps=deps)

        async def second() -> None:
            async with deps.uow(tenant_id=tenant) as tx:
                await portfolio_service.project_event(tx.session, approved, deps=deps)
                await tx.commit()

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # held by the first transaction's new row
        await first.commit()
    await asyncio.wait_for(waiting, timeout=10)
    row = (await portfolio_service.live_rows(deps, tenant))[d.declaration_id]
    assert row.declared_amount == 1000000 and row.approved_amount == 880000 and row.name == "并发项目"
