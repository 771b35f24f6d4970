"""Fixtures of evaluation's integration tests: the real PostgreSQL (app role, RLS) and NATS, the
real policy packs, tenants of their own per test, a clock the test moves, a folder object store,
and helpers that feed upstream events to the portfolio fold as the consumers do."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from google.protobuf.message import Message
from sqlalchemy import select

from evaluation.adapters.orm import events
from evaluation.bootstrap import spec
from evaluation.domain.scoring import parse_grade_bands
from evaluation.entrypoints.rest import routers
from evaluation.service import EvaluationDeps
from evaluation.service import portfolio as portfolio_service
from govkit.auth import Principal
from govkit.auth.rest import current_principal
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.events import Envelope, new_event
from govkit.events.outbox import outbox_writer
from govkit.objectstore import LocalObjectStore
from govkit.policy import PolicyRegistry
from govkit.policy.resolution import Tenant, TenantMap
from govkit.testing.services import service_db
from govkit.web import create_app
from govproj.acceptance.events.v1 import events_pb2 as acceptance_pb2
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2 as intake_pb2
from govproj.review.events.v1 import events_pb2 as review_pb2

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(seed: int) -> str:
    """A unified social credit code with a correct check character (GB 32100-2015)."""
    body = f"91330500{seed:09d}"[:17]
    total = sum(_ALPHABET.index(ch) * w for ch, w in zip(body, _WEIGHTS, strict=True))
    return body + _ALPHABET[(31 - total % 31) % 31]


class Clock:
    """The tests' clock: a Chinese calendar day at 10:00 local time, moved by the test."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> datetime:
        return datetime.combine(self.day, time(2, 0), tzinfo=UTC)


@dataclass
class Tenants:
    """Fresh tenant ids per test, mapped to the shipped packs."""

    lhasa: str
    qiaokou: str
    wuxing: str
    city: str  # shuangyashan-2024
    heze: str
    suffix: str


@pytest.fixture
def tenants() -> Tenants:
    """Tenant ids of this test only."""
    s = uuid.uuid4().hex[:6]
    return Tenants(
        lhasa=f"lh-{s}", qiaokou=f"qk-{s}", wuxing=f"wx-{s}", city=f"city-{s}", heze=f"hz-{s}", suffix=s
    )


def _tenant_map(t: Tenants) -> TenantMap:
    n = int(t.suffix, 16) % 90_000
    packs = {
        t.lhasa: "lhasa",
        t.qiaokou: "qiaokou-2022",
        t.wuxing: "wuxing-2023",
        t.city: "shuangyashan-2024",
        t.heze: "heze-2021",
    }
    out = {}
    for i, (tenant, pack) in enumerate(packs.items()):
        out[tenant] = Tenant(
            name=f"测试{i}",
            region_code=f"{200000 + n * 5 + i:06d}",
            level="county" if tenant in (t.qiaokou, t.wuxing) else "city",
            parent=t.city if tenant in (t.qiaokou, t.wuxing) else None,
            packs=[pack],
            approval_number="测〔{year}〕{seq}号",
        )
    return TenantMap(tenants=out)


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
) -> EvaluationDeps:
    """The use cases' dependencies for these tenants."""
    registry = PolicyRegistry(directory=shipped_packs.directory, packs=dict(shipped_packs.packs))
    registry.tenants = _tenant_map(tenants)
    return EvaluationDeps(
        uow=uow,
        policies=registry,
        store=LocalObjectStore(tmp_path / "objects"),
        grade_bands=parse_grade_bands("优:90,良:80,中:60,差:0"),
        clock=clock,
    )


def who(tenant: str, *roles: str, org: str | None = "bureau", name: str | None = None) -> Principal:
    """A signed-in user."""
    username = name or f"{roles[0]}.{tenant}"
    return Principal(sub=username, username=username, tenant=tenant, org=org, roles=frozenset(roles))


def submitted(tenant: str, **overrides: Any) -> intake_pb2.DeclarationSubmitted:
    """A declaration as intake publishes it."""
    fields: dict[str, Any] = {
        "declaration_id": str(uuid.uuid4()),
        "tenant_id": tenant,
        "org_id": "unit-1",
        "org_name": "市城市管理局",
        "name": "智慧城管平台",
        "amount": common_pb2.Money(amount="800000.00"),
        "category": "business_app",
        "construction_type": "new",
        "submitted_at": "2022-03-01T09:00:00+08:00",
        "target_year": 2022,
        "plan_year": 2022,
        "performance_goals": "案件办结率提高20%；群众满意度达到90%。",
        "project_code": f"P-{uuid.uuid4().hex[:8]}",
    }
    fields.update(overrides)
    return intake_pb2.DeclarationSubmitted(**fields)


def accepted(d: intake_pb2.DeclarationSubmitted, on: date) -> acceptance_pb2.AcceptancePassed:
    """acceptance.passed of the final acceptance."""
    return acceptance_pb2.AcceptancePassed(
        acceptance_id=str(uuid.uuid4()),
        declaration_id=d.declaration_id,
        tenant_id=d.tenant_id,
        project_code=d.project_code,
        accepted_on=on.isoformat(),
        stage="final",
        result="passed",
        round=1,
    )


def planned(d: intake_pb2.DeclarationSubmitted, level: str = "key") -> review_pb2.PlanDecided:
    """plan.decided: in the plan at the declared amount."""
    return review_pb2.PlanDecided(
        case_id=str(uuid.uuid4()),
        declaration_id=d.declaration_id,
        tenant_id=d.tenant_id,
        outcome="in_plan",
        level=level,
        budget=d.amount,
        target_year=d.target_year,
    )


SUBJECTS = {
    intake_pb2.DeclarationSubmitted: "govproj.intake.v1.declaration.submitted",
    acceptance_pb2.AcceptancePassed: "govproj.acceptance.v1.acceptance.passed",
    review_pb2.PlanDecided: "govproj.review.v1.plan.decided",
    review_pb2.ApprovalGranted: "govproj.review.v1.approval.granted",
}


def envelope(message: Message, tenant: str, subject: str | None = None) -> Envelope:
    """The envelope an upstream service would publish."""
    return new_event(event_type=subject or SUBJECTS[type(message)], tenant=tenant, payload=message)


async def feed(deps: EvaluationDeps, *messages: Message, tenant: str) -> list[Envelope]:
    """Fold events into the portfolio as the consumer does (one transaction each)."""
    out = []
    for message in messages:
        env = envelope(message, tenant)
        async with deps.uow(tenant_id=tenant) as tx:
            await portfolio_service.project_event(tx.session, env, deps=deps)
            await tx.commit()
        out.append(env)
    return out


async def outbox(uow: UnitOfWorkFactory, tenant: str, subject: str | None = None) -> list[dict[str, Any]]:
    """Events of a tenant in the outbox (optionally of one subject), oldest first."""
    async with uow(tenant_id=None) as tx:
        query = select(events.outbox).where(events.outbox.c.tenant_id == tenant).order_by(events.outbox.c.seq)
        rows = (await tx.session.execute(query)).all()
    out = [json.loads(r.body) for r in rows]
    return [e for e in out if subject is None or e["type"] == subject]


def app_for(deps: EvaluationDeps, users: dict[str, Principal]) -> Any:
    """The REST app with the caller named by an ``X-Test-User`` header."""
    app = create_app(title="evaluation-test")
    for router in routers:
        app.include_router(router)
    app.state.evaluation_deps = deps
    app.state.evaluation_max_upload_bytes = 1024 * 1024

    async def principal(request: Request) -> Principal:
        return users[request.headers["x-test-user"]]

    app.dependency_overrides[current_principal] = principal
    return app


@dataclass
class Helpers:
    """The helpers above as one fixture."""

    who: Callable[..., Principal] = who
    submitted: Callable[..., Any] = submitted
    accepted: Callable[..., Any] = accepted
    planned: Callable[..., Any] = planned
    feed: Callable[..., Any] = feed
    outbox: Callable[..., Any] = outbox
    envelope: Callable[..., Any] = envelope
    credit_code: Callable[[int], str] = credit_code
    app_for: Callable[..., Any] = app_for


@pytest.fixture
def h() -> Helpers:
    """Shared helpers."""
    return Helpers()
