"""Fixtures of procurement's integration tests: the real PostgreSQL (app role, RLS), the real
policy packs, test tenants of their own, a clock the test moves, a folder object store, and
helpers that feed review's approval.granted (as its consumer does) and build contracts."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from govkit.auth import Principal
from govkit.credit_code import check_character
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.events import Envelope, new_event
from govkit.events.outbox import outbox_writer
from govkit.objectstore import LocalObjectStore
from govkit.policy import PolicyRegistry
from govkit.policy.resolution import Tenant, TenantMap
from govkit.testing.services import service_db
from govproj.common.v1 import common_pb2
from govproj.review.events.v1 import events_pb2 as review_events
from procurement.adapters.orm import events
from procurement.bootstrap import spec
from procurement.service import ProcurementDeps
from procurement.service import projects as project_service

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SECRET = "trading-center-test-secret"


def credit_code(body: str) -> str:
    """A valid 18-character unified social credit code from its first 17 characters."""
    return body + check_character(body)


CONTRACTOR = credit_code("91230500MA1C7QXK2")
SUPERVISOR = credit_code("91230500MA1D2M5N7")
OTHER_SUPPLIER = credit_code("91110108MA01RB4C3")


class Clock:
    """The tests' clock: a Chinese calendar day at 10:00 local time, moved by the test."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> datetime:
        return datetime.combine(self.day, time(2, 0), tzinfo=UTC)


@dataclass
class Tenants:
    """A fresh set of tenant ids per test, mapped to the shipped packs."""

    city: str  # shuangyashan-2024
    qiaokou: str  # qiaokou-2022
    wuxing: str  # wuxing-2023
    lhasa: str  # lhasa
    suffix: str


def _tenant_map(t: Tenants) -> TenantMap:
    n = int(t.suffix, 16) % 90_000
    return TenantMap(
        tenants={
            t.city: Tenant(
                name="测试市本级",
                region_code=f"{100000 + n * 4:06d}",
                level="city",
                packs=["shuangyashan-2024"],
                approval_number="测数审〔{year}〕{seq}号",
            ),
            t.qiaokou: Tenant(
                name="测试乙县",
                region_code=f"{100001 + n * 4:06d}",
                level="county",
                parent=t.city,
                packs=["qiaokou-2022"],
                approval_number="乙数审〔{year}〕{seq}号",
            ),
            t.wuxing: Tenant(
                name="测试甲县",
                region_code=f"{100002 + n * 4:06d}",
                level="county",
                parent=t.city,
                packs=["wuxing-2023"],
                approval_number="甲数审〔{year}〕{seq}号",
            ),
            t.lhasa: Tenant(
                name="测试拉萨",
                region_code=f"{100003 + n * 4:06d}",
                level="city",
                packs=["lhasa"],
                approval_number="拉经信审〔{year}〕{seq}号",
            ),
        }
    )


@pytest.fixture
def tenants() -> Tenants:
    """Tenant ids of this test only."""
    s = uuid.uuid4().hex[:6]
    return Tenants(city=f"city-{s}", qiaokou=f"qk-{s}", wuxing=f"wx-{s}", lhasa=f"lh-{s}", suffix=s)


@pytest.fixture(scope="session")
def shipped_packs() -> PolicyRegistry:
    """The repository's packs, loaded once."""
    return PolicyRegistry.load()


@pytest.fixture
def clock() -> Clock:
    """Monday 3 March 2025 unless the test moves it."""
    return Clock(date(2025, 3, 3))


@pytest.fixture
async def uow(pg: Any) -> AsyncIterator[UnitOfWorkFactory]:
    """A unit-of-work factory on the app role (NOSUPERUSER NOBYPASSRLS)."""
    db = await service_db(pg, spec())
    engine = create_engine(db.app_url)
    yield UnitOfWorkFactory(engine=engine, outbox_writer=outbox_writer(events))
    await engine.dispose()


@pytest.fixture
def deps(
    uow: UnitOfWorkFactory, shipped_packs: PolicyRegistry, tenants: Tenants, clock: Clock, tmp_path: Path
) -> ProcurementDeps:
    """The use cases' dependencies for these tenants."""
    registry = PolicyRegistry(directory=shipped_packs.directory, packs=dict(shipped_packs.packs))
    registry.tenants = _tenant_map(tenants)
    return ProcurementDeps(
        uow=uow,
        policies=registry,
        store=LocalObjectStore(tmp_path / "objects"),
        clock=clock,
        webhook_secret=SECRET,
    )


def who(tenant: str, *roles: str, org: str | None = "unit-1", name: str | None = None) -> Principal:
    """A signed-in user."""
    username = name or f"{roles[0]}.{tenant}"
    return Principal(sub=username, username=username, tenant=tenant, org=org, roles=frozenset(roles))


async def feed(deps: ProcurementDeps, handler: Callable[..., Any], envelope: Envelope) -> None:
    """Run a consumer's handler in a transaction bound to the event's tenant (as the consumer does)."""
    from govkit.db import set_tenant

    async with deps.uow.session_factory() as session, session.begin():
        await set_tenant(session, envelope.tenant)
        await handler(session, envelope, deps=deps)


async def grant(
    deps: ProcurementDeps,
    tenant: str,
    *,
    amount: str = "800000.00",
    approved_on: date | None = None,
    valid_until: date | None = None,
    facts: dict[str, Any] | None = None,
    code: str | None = None,
    org_id: str = "unit-1",
    designer_org: str = "某某设计院有限公司",
) -> str:
    """Feed review's approval.granted; returns the declaration id (the project's id)."""
    declaration_id = str(uuid.uuid4())
    on = approved_on or deps.today()
    payload = review_events.ApprovalGranted(
        approval_id=str(uuid.uuid4()),
        case_id=str(uuid.uuid4()),
        declaration_id=declaration_id,
        tenant_id=tenant,
        project_code=code or f"2025-230500-65-01-{uuid.uuid4().hex[:6]}",
        document_number="测数审〔2025〕1号",
        approved_amount=common_pb2.Money(amount=amount),
        approved_on=on.isoformat(),
        valid_until=(valid_until or on + timedelta(days=365)).isoformat(),
        citations=[common_pb2.Citation(ref="qiaokou-2022 §22")],
        project_name="智慧城管平台",
        org_id=org_id,
        org_name="县城市管理局",
        designer_org=designer_org,
        facts_json=json.dumps(
            {"amount": amount, "category": "business_app", "public_facing": True, **(facts or {})}
        ),
    )
    envelope = new_event(event_type="govproj.review.v1.approval.granted", tenant=tenant, payload=payload)
    await feed(deps, project_service.approval_granted, envelope)
    return declaration_id


async def outbox(uow: UnitOfWorkFactory, tenant: str, subject: str | None = None) -> list[dict[str, Any]]:
    """Events of a tenant in the outbox (optionally of one subject), oldest first, as JSON."""
    async with uow(tenant_id=None) as tx:
        query = select(events.outbox).where(events.outbox.c.tenant_id == tenant).order_by(events.outbox.c.seq)
        rows = (await tx.session.execute(query)).all()
    out = [json.loads(r.body) for r in rows]
    return [e for e in out if subject is None or e["type"] == subject]


def terms(**overrides: Any) -> dict[str, Any]:
    """A contract's terms as ContractTerms keyword arguments."""
    from procurement.domain.procurement import Milestone

    values: dict[str, Any] = {
        "contract_no": "HT-2025-001",
        "supplier_name": "某某信息技术有限公司",
        "supplier_credit_code": CONTRACTOR,
        "amount": Decimal("750000.00"),
        "signed_on": date(2025, 3, 3),
        "period_start": date(2025, 3, 10),
        "period_end": date(2025, 9, 10),
        "warranty_months": 36,
        "ip_clause": "定制开发软件的知识产权归建设单位所有。",
        "termination_clause": "承建单位严重违约时建设单位可解除合同。",
        "schedule": (Milestone("需求确认", date(2025, 4, 1)), Milestone("上线试运行", date(2025, 8, 1))),
    }
    values.update(overrides)
    return values


@dataclass
class Helpers:
    """The helpers above, handed to tests as one fixture."""

    grant: Callable[..., Any] = grant
    feed: Callable[..., Any] = feed
    outbox: Callable[..., Any] = outbox
    who: Callable[..., Principal] = who
    terms: Callable[..., dict[str, Any]] = terms


@pytest.fixture
def h() -> Helpers:
    """Shared helpers."""
    return Helpers()
