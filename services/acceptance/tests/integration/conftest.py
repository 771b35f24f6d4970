"""Fixtures of acceptance's integration tests: the real PostgreSQL (app role, RLS) and NATS, the
real policy packs, test tenants of their own, a clock the test moves, a folder object store, and
an expert library standing in for review's gRPC (the real call runs in tests/e2e)."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from acceptance.adapters.orm import events
from acceptance.bootstrap import spec
from acceptance.service import AcceptanceDeps, DrawnExpert, DrawResult
from acceptance.service import contracts as contract_service
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.errors import AppError, ErrorKind
from govkit.events import new_event
from govkit.events.outbox import outbox_writer
from govkit.objectstore import LocalObjectStore
from govkit.policy import PolicyRegistry
from govkit.policy.resolution import Tenant, TenantMap
from govkit.testing.services import service_db
from govproj.common.v1 import common_pb2
from govproj.procurement.events.v1 import events_pb2


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
    qiaokou: str
    wuxing: str
    heze: str


@pytest.fixture
def tenants() -> Tenants:
    """Tenant ids of this test only."""
    s = uuid.uuid4().hex[:6]
    return Tenants(city=f"city-{s}", qiaokou=f"qk-{s}", wuxing=f"wx-{s}", heze=f"hz-{s}")


def _tenant_map(t: Tenants) -> TenantMap:
    return TenantMap(
        tenants={
            t.city: Tenant(
                name="测试市本级", region_code="100000", level="city", packs=["shuangyashan-2024"]
            ),
            t.qiaokou: Tenant(name="测试乙县", region_code="100001", level="county", packs=["qiaokou-2022"]),
            t.wuxing: Tenant(name="测试甲县", region_code="100002", level="county", packs=["wuxing-2023"]),
            t.heze: Tenant(name="测试菏泽", region_code="100003", level="city", packs=["heze-2021"]),
        }
    )


@dataclass
class Library:
    """review's expert library as DrawExperts answers (conflict avoidance by org, seeded draw)."""

    experts: list[DrawnExpert] = field(
        default_factory=lambda: [
            DrawnExpert(f"e{i}", f"专家{i}", org)
            for i, org in enumerate(["大学一", "大学二", "大学三", "承建公司", "unit-1"])
        ]
    )
    calls: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    async def draw(
        self,
        *,
        tenant_id: str,
        purpose: str,
        reference_id: str,
        size: int,
        seed: str | None,
        specialty: str | None,
        declaring_orgs: Sequence[str],
        bidders: Sequence[str],
        requested_by: str,
    ) -> DrawResult:
        self.calls.append(
            {
                "tenant_id": tenant_id,
                "reference_id": reference_id,
                "declaring_orgs": list(declaring_orgs),
                "bidders": list(bidders),
                "requested_by": requested_by,
            }
        )
        if self.down:
            raise AppError(
                code="EXPERT_LIBRARY_UNAVAILABLE", message="专家库暂时无法访问。", kind=ErrorKind.UNAVAILABLE
            )
        avoid = {*declaring_orgs, *bidders}
        excluded = {e.expert_id: "same_org" for e in self.experts if e.org in avoid}
        candidates = tuple(e.expert_id for e in self.experts if e.expert_id not in excluded)
        chosen = seed or secrets.token_hex(4)
        picked = candidates[:size]
        by_id = {e.expert_id: e for e in self.experts}
        return DrawResult(
            chosen, candidates, excluded, tuple(by_id[i] for i in picked), f"draw-{reference_id}"
        )


@pytest.fixture(scope="session")
def shipped_packs() -> PolicyRegistry:
    """The repository's packs, loaded once."""
    return PolicyRegistry.load()


@pytest.fixture
def clock() -> Clock:
    """Monday 3 March 2025 unless the test moves it."""
    return Clock(date(2025, 3, 3))


@pytest.fixture
def library() -> Library:
    """The stand-in expert library."""
    return Library()


@pytest.fixture
async def uow(pg: Any) -> AsyncIterator[UnitOfWorkFactory]:
    """A unit-of-work factory on the app role (NOSUPERUSER NOBYPASSRLS)."""
    db = await service_db(pg, spec())
    engine = create_engine(db.app_url)
    yield UnitOfWorkFactory(engine=engine, outbox_writer=outbox_writer(events))
    await engine.dispose()


@pytest.fixture
def deps(
    uow: UnitOfWorkFactory,
    shipped_packs: PolicyRegistry,
    tenants: Tenants,
    clock: Clock,
    library: Library,
    tmp_path: Path,
) -> AcceptanceDeps:
    """The use cases' dependencies for these tenants."""
    registry = PolicyRegistry(directory=shipped_packs.directory, packs=dict(shipped_packs.packs))
    registry.tenants = _tenant_map(tenants)
    return AcceptanceDeps(
        uow=uow, policies=registry, store=LocalObjectStore(tmp_path / "objects"), panels=library, clock=clock
    )


def who(tenant: str, *roles: str, org: str | None = "bureau", name: str | None = None) -> Principal:
    """A signed-in user."""
    username = name or f"{roles[0]}.{tenant}"
    return Principal(sub=username, username=username, tenant=tenant, org=org, roles=frozenset(roles))


def contract_filed(
    tenant: str,
    *,
    declaration_id: str | None = None,
    amount: str = "12000000.00",
    contract_amount: str | None = None,
    signed_on: str = "2025-01-06",
    public_facing: bool = False,
    role: str = "construction",
    supplier: str = "承建公司",
    code: str | None = None,
) -> events_pb2.ContractFiled:
    """A contract.filed as procurement publishes it."""
    declaration = declaration_id or str(uuid.uuid4())
    return events_pb2.ContractFiled(
        contract_id=str(uuid.uuid4()),
        filing_id=str(uuid.uuid4()),
        declaration_id=declaration,
        tenant_id=tenant,
        project_code=code or f"2025-{declaration[:6]}",
        role=role,
        contract_amount=common_pb2.Money(amount=contract_amount or amount),
        signed_on=signed_on,
        period_start=signed_on,
        period_end="2025-12-31",
        period_days=359,
        supplier_name=supplier,
        supplier_credit_code="91110000600037341L",
        method="open_tender",
        warranty_months="36",
        facts=events_pb2.PackFacts(
            amount=common_pb2.Money(amount=amount),
            category="business_app",
            public_facing=public_facing,
            org_id="unit-1",
            project_name="智慧城管平台",
        ),
        filed_at="2025-01-08T10:00:00+08:00",
        citations=[common_pb2.Citation(ref="qiaokou-2022 §25")],
    )


async def learn(deps: AcceptanceDeps, payload: events_pb2.ContractFiled) -> None:
    """Feed a contract.filed to the consumer's handler (in a transaction, as the consumer does)."""
    envelope = new_event(
        event_type=contract_service.CONTRACT_FILED, tenant=payload.tenant_id, payload=payload
    )
    async with deps.uow(tenant_id=payload.tenant_id) as tx:
        await contract_service.learn_contract(tx.session, envelope, deps=deps)
        await tx.commit()


async def outbox(uow: UnitOfWorkFactory, tenant: str, subject: str | None = None) -> list[dict[str, Any]]:
    """Events of a tenant in the outbox (optionally of one subject), oldest first, as JSON."""
    async with uow(tenant_id=None) as tx:
        query = select(events.outbox).where(events.outbox.c.tenant_id == tenant).order_by(events.outbox.c.seq)
        rows = (await tx.session.execute(query)).all()
    out = [json.loads(r.body) for r in rows]
    return [e for e in out if subject is None or e["type"] == subject]


@dataclass
class Helpers:
    """The helpers above, handed to tests as one fixture."""

    who: Callable[..., Principal] = who
    contract_filed: Callable[..., events_pb2.ContractFiled] = contract_filed
    learn: Callable[..., Any] = learn
    outbox: Callable[..., Any] = outbox
    money: Callable[[str], Decimal] = field(default=Decimal)


@pytest.fixture
def h() -> Helpers:
    """Shared helpers."""
    return Helpers()
