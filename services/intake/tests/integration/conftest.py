"""A world per test: a tenant of its own governed by a chosen pack, its registry rows, the real
intake database (PostgreSQL, app role under RLS) and a local object store."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory, create_engine
from govkit.events.outbox import outbox_writer
from govkit.objectstore import DOCX, JPEG, OFD, PDF, PNG, XLSX, ZIP, LocalObjectStore
from govkit.policy import PolicyRegistry
from govkit.policy.resolution import Tenant, TenantMap
from govkit.testing.services import service_db
from intake import service
from intake.adapters.orm import events
from intake.adapters.screening_index import ScreeningIndexes
from intake.bootstrap import spec
from intake.domain.calls import AnnualCall
from intake.domain.declaration import AmountBreakdown, Category, ConstructionType, Declaration
from intake.domain.orgs import OrgType, TenantLevel

BASE_REGISTRY = PolicyRegistry.load()
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# 2026-07-01 10:00 in Beijing: in the middle of a call season.
DEFAULT_NOW = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)


def registry_with(tenant_id: str, pack_id: str, level: str, region_code: str) -> PolicyRegistry:
    """The shipped packs plus one test tenant governed by ``pack_id``."""
    base: TenantMap = BASE_REGISTRY.tenants
    tenants = dict(base.tenants)
    tenants[tenant_id] = Tenant.model_validate(
        {"name": tenant_id, "region_code": region_code, "level": level, "packs": [pack_id]}
    )
    return PolicyRegistry(
        directory=BASE_REGISTRY.directory,
        packs=BASE_REGISTRY.packs,
        tenants=TenantMap.model_validate({"tenants": {k: v.model_dump() for k, v in tenants.items()}}),
    )


class Clock:
    """A settable clock for the use cases."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def breakdown_for(amount: Decimal) -> AmountBreakdown:
    """A breakdown adding up to ``amount`` (security and supervision included, wuxing-2023 §7)."""
    security = (amount * Decimal("0.08")).quantize(Decimal("0.01"))
    supervision = (amount * Decimal("0.03")).quantize(Decimal("0.01"))
    hardware = (amount * Decimal("0.25")).quantize(Decimal("0.01"))
    return AmountBreakdown(
        hardware=hardware,
        software=amount - security - supervision - hardware,
        security=security,
        supervision=supervision,
    )


def full_fields(**overrides: Any) -> service.DeclarationFields:
    """A complete declaration form."""
    amount = Decimal(str(overrides.pop("amount", "800000.00")))
    values: dict[str, Any] = {
        "name": "县域智慧教育云平台",
        "category": Category.BUSINESS_APP,
        "construction_type": ConstructionType.NEW,
        "amount": amount,
        "breakdown": breakdown_for(amount),
        "necessity": "各学校业务系统分散建设，数据不能共享，家校沟通渠道不统一。",
        "goals": "建成统一的教育业务平台，实现学籍、教务、家校沟通一网通办。",
        "content": "建设教育数据中台、学籍管理、教务排课、家校互动四个子系统，部署在政务云。",
        "performance_goals": "覆盖全县中小学100%，家校互动月活跃用户不少于2万人。",
        "funding_source": "县级财政资金",
        "contact": "王老师 0451-88888888",
        "cloud_deployment": True,
        "mlps_level": 2,
        "crypto_plan": "采用商用密码进行身份鉴别和传输加密。",
    }
    values.update(overrides)
    return service.DeclarationFields(**values)


@dataclass
class World:
    """One test tenant: its pack, registry rows, principals and shortcuts through the use cases."""

    deps: service.IntakeDeps
    tenant: str
    region_code: str
    pack_id: str
    clock: Clock

    def who(self, role: str, org: str | None = "unit-1", tenant: str | None = None) -> Principal:
        """A principal of this tenant (or another)."""
        tenant = tenant or self.tenant
        return Principal(
            sub=f"{role}-{org}-{tenant}",
            username=f"{role}.{org}.{tenant}",
            tenant=tenant,
            org=org,
            roles=frozenset({role}),
        )

    @property
    def applicant(self) -> Principal:
        return self.who("applicant")

    @property
    def head(self) -> Principal:
        return self.who("unit_head")

    @property
    def bureau(self) -> Principal:
        return self.who("bureau_reviewer", "bureau")

    @property
    def auditor(self) -> Principal:
        return self.who("auditor", "audit")

    @property
    def admin(self) -> Principal:
        return self.who("tenant_admin", "bureau")

    async def draft(self, who: Principal | None = None, **overrides: Any) -> Declaration:
        """A complete draft of the applicant's unit."""
        return await service.create_declaration(
            deps=self.deps, principal=who or self.applicant, fields=full_fields(**overrides)
        )

    async def upload(
        self, d: Declaration, doc_type: str, who: Principal | None = None, data: bytes = PDF_BYTES
    ) -> Any:
        """Upload a (tiny, valid) PDF as ``doc_type``."""
        return await service.upload_material(
            deps=self.deps,
            principal=who or self.applicant,
            declaration_id=d.id,
            doc_type=doc_type,
            filename=f"{doc_type}.pdf",
            content_type="application/pdf",
            data=data,
        )

    async def upload_required(self, d: Declaration, who: Principal | None = None) -> None:
        """Upload every document the pack requires for the declaration."""
        listed = await service.list_materials(
            deps=self.deps, principal=who or self.applicant, declaration_id=d.id
        )
        for doc_type in [*listed.missing, *(g[0] for g in listed.missing_one_of)]:
            await self.upload(d, doc_type, who)

    async def open_call(self, *, target_year: int = 2027, deadline: date | None = None) -> AnnualCall:
        """The bureau opens the call (a deadline is given only where the pack leaves it to the bureau)."""
        from govkit.policy.model import Announced

        pack = self.deps.policies.get(self.pack_id)
        if deadline is None and isinstance(pack.call_calendar.declaration_deadline, Announced):
            deadline = date(target_year - 1, 9, 30)
        return await service.open_call(
            deps=self.deps, principal=self.bureau, target_year=target_year, deadline=deadline
        )

    async def to_head(self, d: Declaration, who: Principal | None = None) -> Declaration:
        """Upload the required documents and hand the draft to the unit head."""
        await self.upload_required(d, who)
        return await service.submit_for_signoff(
            deps=self.deps, principal=who or self.applicant, declaration_id=d.id, expected_version=d.version
        )

    async def sign(self, d: Declaration, head: Principal | None = None) -> Declaration:
        """The unit head signs off (submission to the bureau)."""
        return await service.sign_off(
            deps=self.deps, principal=head or self.head, declaration_id=d.id, expected_version=d.version
        )

    async def submit(self, d: Declaration, *, org: str = "unit-1") -> Declaration:
        """draft → pending_signoff → submitted."""
        pending = await self.to_head(d, self.who("applicant", org))
        return await self.sign(pending, self.who("unit_head", org))

    async def outbox(self) -> list[tuple[str, dict[str, Any]]]:
        """(subject, payload) of this tenant's outbox rows, in order."""
        async with self.deps.uow(tenant_id=None) as tx:
            rows = (
                await tx.session.execute(
                    select(events.outbox)
                    .where(events.outbox.c.tenant_id == self.tenant)
                    .order_by(events.outbox.c.seq)
                )
            ).all()
        return [(r.subject, json.loads(r.body)["payload"]) for r in rows]


@pytest.fixture
async def intake_db(pg):  # type: ignore[no-untyped-def]
    """The intake database, migrated (once per session)."""
    return await service_db(pg, spec())


@pytest.fixture
async def engine(intake_db) -> AsyncIterator[AsyncEngine]:  # type: ignore[no-untyped-def]
    """An engine of the app role (NOSUPERUSER NOBYPASSRLS)."""
    created = create_engine(intake_db.app_url, pool_size=4, max_overflow=4)
    yield created
    await created.dispose()


WorldFactory = Callable[..., Awaitable[World]]


@pytest.fixture
def make_world(engine: AsyncEngine, tmp_path: Path) -> WorldFactory:
    """make_world("wuxing-2023", level="county") → a fresh tenant governed by that pack."""
    uow = UnitOfWorkFactory(engine=engine, outbox_writer=outbox_writer(events))
    store = LocalObjectStore(tmp_path / "objects")

    async def build(pack_id: str, *, level: str = "county", max_upload_bytes: int = 1024 * 1024) -> World:
        tenant = f"t-{uuid.uuid4().hex[:10]}"
        region = str(random.randint(300000, 999999))
        clock = Clock()
        deps = service.IntakeDeps(
            uow=uow,
            policies=registry_with(tenant, pack_id, level, region),
            screening=ScreeningIndexes(),
            store=store,
            max_upload_bytes=max_upload_bytes,
            allowed_upload_types=(PDF, DOCX, XLSX, OFD, ZIP, PNG, JPEG),
            clock=clock,
        )
        orgs = (
            service.SeedOrg("unit-1", "县教育局", OrgType.CONSTRUCTION_UNIT, 3, "01"),
            service.SeedOrg("unit-2", "县卫生健康委员会", OrgType.CONSTRUCTION_UNIT, 1, "02"),
            service.SeedOrg("bureau", "县数据局", OrgType.DATA_BUREAU, 1, "11"),
            service.SeedOrg("audit", "县审计局", OrgType.AUDIT, 1, "19"),
        )
        await service.seed_registry(
            deps=deps,
            tenants=[
                service.SeedTenant(
                    id=tenant,
                    name=f"测试县 {tenant}",
                    region_code=region,
                    level=TenantLevel(level),
                    parent_id=None,
                    orgs=orgs,
                )
            ],
        )
        return World(deps=deps, tenant=tenant, region_code=region, pack_id=pack_id, clock=clock)

    return build


def same_deps_other_tenant(world: World, other: World) -> World:
    """``other`` seen through ``world``'s dependencies (one process serving both tenants)."""
    return replace(other, deps=world.deps)
