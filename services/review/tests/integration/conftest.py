"""Fixtures of review's integration tests: the real PostgreSQL (app role, RLS) and NATS, the real
policy packs, test tenants of their own (so tests do not see each other's rows), a clock the test
moves, a folder object store and a folder mailer."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.events import new_event
from govkit.events.outbox import outbox_writer
from govkit.mail import FolderMailer
from govkit.objectstore import LocalObjectStore
from govkit.policy import PolicyRegistry
from govkit.policy.resolution import Delegation, Tenant, TenantMap
from govkit.testing.services import service_db
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2
from review.adapters.orm import events
from review.bootstrap import spec
from review.service import ReviewDeps
from review.service import cases as case_service

CHINA = timedelta(hours=8)


class Clock:
    """The tests' clock: a Chinese calendar day at 10:00 local time, moved by the test."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> datetime:
        return datetime.combine(self.day, time(2, 0), tzinfo=UTC)  # 10:00 in China


@dataclass
class Tenants:
    """A fresh set of tenant ids per test, mapped to the shipped packs."""

    city: str  # shuangyashan-2024, the city level
    qiaokou: str  # county under qiaokou-2022 delegating its technical review to `city`
    wuxing: str  # county under wuxing-2023
    lhasa: str  # lhasa (city level)
    suffix: str = ""


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
                delegations=[Delegation(step="technical_review", to=t.city, cite=["shuangyashan-2024 §40"])],
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
    suffix = uuid.uuid4().hex[:6]
    return Tenants(
        city=f"city-{suffix}",
        qiaokou=f"qk-{suffix}",
        wuxing=f"wx-{suffix}",
        lhasa=f"lh-{suffix}",
        suffix=suffix,
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
async def uow(pg: Any) -> AsyncIterator[UnitOfWorkFactory]:
    """A unit-of-work factory on the app role (NOSUPERUSER NOBYPASSRLS)."""
    db = await service_db(pg, spec())
    engine = create_engine(db.app_url)
    yield UnitOfWorkFactory(engine=engine, outbox_writer=outbox_writer(events))
    await engine.dispose()


@pytest.fixture
def deps(
    uow: UnitOfWorkFactory, shipped_packs: PolicyRegistry, tenants: Tenants, clock: Clock, tmp_path: Path
) -> ReviewDeps:
    """The use cases' dependencies for these tenants."""
    registry = PolicyRegistry(directory=shipped_packs.directory, packs=dict(shipped_packs.packs))
    registry.tenants = _tenant_map(tenants)
    return ReviewDeps(
        uow=uow,
        policies=registry,
        store=LocalObjectStore(tmp_path / "objects"),
        mailer=FolderMailer(tmp_path / "mail"),
        clock=clock,
    )


def who(tenant: str, *roles: str, org: str | None = "bureau", name: str | None = None) -> Principal:
    """A signed-in user."""
    username = name or f"{roles[0]}.{tenant}"
    return Principal(sub=username, username=username, tenant=tenant, org=org, roles=frozenset(roles))


@pytest.fixture
def principal() -> Callable[..., Principal]:
    """who(tenant, *roles, org=..., name=...)."""
    return who


def material(doc_type: str) -> dict[str, Any]:
    """A material's metadata as intake sends it."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, doc_type).hex * 2
    return {
        "doc_type": doc_type,
        "filename": f"{doc_type}.pdf",
        "sha256": digest,
        "size": 1024,
        "content_type": "application/pdf",
    }


def submitted_payload(tenant: str, **overrides: Any) -> events_pb2.DeclarationSubmitted:
    """A complete declaration (override any field)."""
    fields: dict[str, Any] = {
        "declaration_id": str(uuid.uuid4()),
        "tenant_id": tenant,
        "org_id": "unit-1",
        "org_name": "市城市管理局",
        "name": "智慧城管平台",
        "amount": common_pb2.Money(amount="800000.00"),
        "category": "business_app",
        "construction_type": "new",
        "submitted_by": f"unit_head.{tenant}",
        "submitted_at": "2025-03-03T09:00:00+08:00",
        "target_year": 2026,
        "necessity": "现有系统分散，数据不能共享。",
        "goals": "建成统一的城管业务平台。",
        "content": "建设城管业务系统和数据接口。",
        "performance_goals": "案件办结率提高20%。",
        "breakdown": events_pb2.AmountBreakdown(software=common_pb2.Money(amount="800000.00")),
        "designer_org": "某某设计院有限公司",
        "round": 1,
        "materials": [events_pb2.Material(**material("application_form"))],
    }
    fields.update(overrides)
    return events_pb2.DeclarationSubmitted(**fields)


async def open_case(deps: ReviewDeps, tenant: str, **overrides: Any) -> str:
    """Feed a declaration.submitted to the consumer's handler (in a transaction, as the consumer does)."""
    payload = submitted_payload(tenant, **overrides)
    envelope = new_event(event_type="govproj.intake.v1.declaration.submitted", tenant=tenant, payload=payload)
    async with deps.uow(tenant_id=tenant) as tx:
        await case_service.open_case(tx.session, envelope, deps=deps)
        await tx.commit()
    async with deps.uow(tenant_id=tenant) as tx:
        from review.adapters import repository

        found = await repository.find_by_declaration(tx.session, payload.declaration_id)
    assert found is not None
    return found.id


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

    open_case: Callable[..., Any] = open_case
    outbox: Callable[..., Any] = outbox
    material: Callable[..., dict[str, Any]] = material
    who: Callable[..., Principal] = who
    submitted_payload: Callable[..., Any] = submitted_payload
    money: Callable[[str], Decimal] = field(default=Decimal)


@pytest.fixture
def h() -> Helpers:
    """Shared helpers."""
    return Helpers()
