"""evaluation's discredited.changed (lhasa §22) reaches review's expert library: a listed expert is
excluded from the draw as "discredited"; removal clears the flag; other tenants' and non-expert
listings change nothing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from govkit.errors import AppError
from govkit.events import new_event
from govproj.common.v1 import common_pb2
from govproj.evaluation.events.v1 import events_pb2
from review.entrypoints.consumers import DISCREDITED_CHANGED
from review.service import ReviewDeps
from review.service import experts as expert_service

pytestmark = pytest.mark.integration


async def _deliver(deps: ReviewDeps, tenant: str, **fields: Any) -> None:
    payload = events_pb2.DiscreditedChanged(
        entry_id=str(uuid.uuid4()),
        scope="tenant",
        tenant_id=tenant,
        citations=[common_pb2.Citation(ref="lhasa §22")],
        **fields,
    )
    envelope = new_event(event_type=DISCREDITED_CHANGED, tenant=tenant, payload=payload)
    async with deps.uow(tenant_id=tenant) as tx:
        await expert_service.apply_discredited(tx.session, envelope, deps=deps)
        await tx.commit()


async def _library(deps: ReviewDeps, keeper: Any, *, org: str, specialty: str) -> list[Any]:
    """Four experts of four orgs, all of one specialty."""
    return [
        await expert_service.create_expert(
            deps=deps,
            principal=keeper,
            fields=expert_service.ExpertFields(name=f"专家{i}", org=f"{org}{i}", specialties=(specialty,)),
        )
        for i in range(4)
    ]


async def test_a_discredited_expert_is_refused_by_the_draw_until_removed(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    tenant = tenants.lhasa
    keeper = h.who(tenant, "bureau_reviewer")
    experts = await _library(deps, keeper, org="大学", specialty="软件")
    target = experts[0]
    await _deliver(
        deps,
        tenant,
        subject_kind="expert",
        expert_id=target.id,
        name="专家0",
        change="added",
        grounds="评审中收受财物",
        period_from="2025-03-01",
    )
    # A supplier listing and another tenant's listing of the same id leave the library alone.
    await _deliver(deps, tenant, subject_kind="supplier", credit_code="91350100M000100Y43", change="added")
    await _deliver(deps, tenants.wuxing, subject_kind="expert", expert_id=experts[1].id, change="added")
    # A listing whose period ended before today (the tests' clock: 3 March 2025) flags nobody.
    await _deliver(
        deps,
        tenant,
        subject_kind="expert",
        expert_id=experts[2].id,
        change="added",
        period_from="2023-01-01",
        period_until="2024-12-31",
    )

    library = {e.id: e for e in await expert_service.list_experts(deps=deps, principal=keeper)}
    assert library[target.id].discredited and library[target.id].discredited_reason == "评审中收受财物"
    assert library[target.id].version == target.version + 1
    assert not library[experts[1].id].discredited
    assert not library[experts[2].id].discredited

    case_id = await h.open_case(deps, tenant)
    panel = await expert_service.draw_panel(deps=deps, principal=keeper, case_id=case_id, size=3, seed="s")
    (draw,) = panel.draws
    assert draw.excluded == {target.id: "discredited"}
    assert target.id not in draw.candidates

    await _deliver(
        deps, tenant, subject_kind="expert", expert_id=target.id, change="removed", grounds="复核撤销"
    )
    library = {e.id: e for e in await expert_service.list_experts(deps=deps, principal=keeper)}
    assert not library[target.id].discredited and library[target.id].discredited_reason == ""


async def test_a_listing_for_a_period_bars_the_expert_only_until_its_last_day(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h, clock
) -> None:
    """lhasa §22 lists for a period: the expert is refused by draws through its last day and may
    be drawn again the day after, without anyone removing the listing."""
    tenant = tenants.lhasa
    keeper = h.who(tenant, "bureau_reviewer")
    experts = await _library(deps, keeper, org="学院", specialty="网络")
    target = experts[0]
    last_day = clock.day + timedelta(days=10)
    await _deliver(
        deps,
        tenant,
        subject_kind="expert",
        expert_id=target.id,
        change="added",
        grounds="无故缺席评审",
        period_from=clock.day.isoformat(),
        period_until=last_day.isoformat(),
    )
    library = {e.id: e for e in await expert_service.list_experts(deps=deps, principal=keeper)}
    assert library[target.id].discredited and library[target.id].discredited_until == last_day

    case_id = await h.open_case(deps, tenant)
    clock.day = last_day  # the last day: still barred
    panel = await expert_service.draw_panel(deps=deps, principal=keeper, case_id=case_id, size=1, seed="a")
    assert panel.draws[-1].excluded == {target.id: "discredited"}

    clock.day = last_day + timedelta(days=1)  # the period has ended
    library = {e.id: e for e in await expert_service.list_experts(deps=deps, principal=keeper)}
    assert not library[target.id].discredited and library[target.id].discredited_until is None
    other = await h.open_case(deps, tenant)
    panel = await expert_service.draw_panel(deps=deps, principal=keeper, case_id=other, size=3, seed="b")
    assert target.id in panel.draws[-1].candidates and not panel.draws[-1].excluded


async def test_the_bureau_lists_an_expert_for_a_period_but_not_one_already_over(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h, clock
) -> None:
    tenant = tenants.lhasa
    keeper = h.who(tenant, "bureau_reviewer")
    expert = await expert_service.create_expert(
        deps=deps, principal=keeper, fields=expert_service.ExpertFields(name="专家甲", org="研究院")
    )
    base = expert_service.ExpertFields(
        name="专家甲", org="研究院", discredited=True, discredited_reason="泄露评审信息"
    )
    with pytest.raises(AppError) as refused:
        await expert_service.update_expert(
            deps=deps,
            principal=keeper,
            expert_id=expert.id,
            expected_version=expert.version,
            fields=replace(base, discredited_until=clock.day - timedelta(days=1)),
        )
    assert refused.value.code == "DISCREDIT_PERIOD_ENDED" and "截止日期已过" in refused.value.message
    listed = await expert_service.update_expert(
        deps=deps,
        principal=keeper,
        expert_id=expert.id,
        expected_version=expert.version,
        fields=replace(base, discredited_until=clock.day),
    )
    assert listed.discredited and listed.discredited_until == clock.day
    # Clearing the flag clears its reason and period with it.
    cleared = await expert_service.update_expert(
        deps=deps,
        principal=keeper,
        expert_id=expert.id,
        expected_version=listed.version,
        fields=replace(base, discredited=False, discredited_until=clock.day),
    )
    assert not cleared.discredited and cleared.discredited_reason == "" and cleared.discredited_until is None
