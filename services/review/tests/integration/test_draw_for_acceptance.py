"""DrawExperts: a panel for another service's record (an acceptance), with conflict avoidance,
a replayable seed, review's audit, and the tenant named by the calling service only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from govkit.auth import Principal
from govkit.errors import AppError
from review.adapters.orm import audit
from review.domain import experts as x
from review.service import ReviewDeps
from review.service import experts as expert_service

pytestmark = pytest.mark.integration

SERVICE = Principal(
    sub="svc",
    username="service-account-govproj-acceptance",
    tenant=None,
    org=None,
    roles=frozenset({"service"}),
)


async def _library(deps: ReviewDeps, h: Any, tenant: str) -> dict[str, str]:
    keeper = h.who(tenant, "bureau_reviewer")
    made = {}
    for name, org in [
        ("甲", "大学一"),
        ("乙", "大学二"),
        ("丙", "大学三"),
        ("丁", "承建公司"),
        ("戊", "unit-1"),
    ]:
        expert = await expert_service.create_expert(
            deps=deps, principal=keeper, fields=expert_service.ExpertFields(name=name, org=org)
        )
        made[name] = expert.id
    return made


async def test_service_draws_from_the_named_tenant_avoiding_unit_and_contractor(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    library = await _library(deps, h, tenants.wuxing)
    drawn = await expert_service.draw_experts(
        deps=deps,
        principal=SERVICE,
        tenant_id=tenants.wuxing,
        purpose="acceptance",
        reference_id="acc-1",
        size=3,
        seed="s-1",
        declaring_orgs=["unit-1"],
        bidders=["承建公司"],
        requested_by="bureau_head.x",
    )
    assert drawn.excluded == {
        library["丁"]: x.Exclusion.BIDDER.value,
        library["戊"]: x.Exclusion.SAME_ORG.value,
    }
    assert {e.name for e in drawn.drawn} == {"甲", "乙", "丙"}
    assert x.draw(drawn.candidates, 3, "s-1") == tuple(e.id for e in drawn.drawn)  # replayable
    async with deps.uow(tenant_id=tenants.wuxing) as tx:
        rows = (await tx.session.execute(select(audit).where(audit.c.entity_id == drawn.draw_id))).all()
    assert [(r.action, r.actor, r.details["purpose"], r.details["reference_id"]) for r in rows] == [
        ("panel.drawn_for", "bureau_head.x", "acceptance", "acc-1")
    ]
    with pytest.raises(AppError) as small:
        await expert_service.draw_experts(
            deps=deps,
            principal=SERVICE,
            tenant_id=tenants.wuxing,
            purpose="acceptance",
            reference_id="acc-1",
            size=4,
            declaring_orgs=["unit-1"],
            bidders=["承建公司"],
        )
    assert small.value.code == "EXPERT_POOL_TOO_SMALL"


async def test_tenant_named_by_services_only(deps: ReviewDeps, tenants, h) -> None:  # type: ignore[no-untyped-def]
    await _library(deps, h, tenants.wuxing)
    with pytest.raises(AppError) as none:
        await expert_service.draw_experts(
            deps=deps, principal=SERVICE, tenant_id="", purpose="acceptance", reference_id="a", size=1
        )
    assert none.value.code == "TENANT_REQUIRED"
    other = h.who(tenants.city, "bureau_reviewer")
    with pytest.raises(AppError) as cross:
        await expert_service.draw_experts(
            deps=deps,
            principal=other,
            tenant_id=tenants.wuxing,
            purpose="acceptance",
            reference_id="a",
            size=1,
        )
    assert cross.value.code == "FORBIDDEN"
    applicant = h.who(tenants.wuxing, "applicant", org="unit-1")
    with pytest.raises(AppError):
        await expert_service.draw_experts(
            deps=deps, principal=applicant, tenant_id="", purpose="acceptance", reference_id="a", size=1
        )
    keeper = h.who(tenants.wuxing, "bureau_reviewer")
    own = await expert_service.draw_experts(
        deps=deps, principal=keeper, tenant_id="", purpose="acceptance", reference_id="a", size=2
    )
    assert len(own.drawn) == 2
    with pytest.raises(AppError) as purpose:
        await expert_service.draw_experts(
            deps=deps, principal=keeper, tenant_id="", purpose="lottery", reference_id="a", size=1
        )
    assert purpose.value.code == "DRAW_PURPOSE_INVALID"
