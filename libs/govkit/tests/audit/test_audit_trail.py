"""The AuditTrail servicer's reads on a real PostgreSQL, as the unprivileged, RLS-bound role."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from govkit.audit import AuditEntry, AuditSealer, record_audits
from govkit.audit_trail import list_project_audit
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind

from .conftest import bind_tenant, sessions

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _principal(tenant: str, org: str | None, *roles: str) -> Principal:
    return Principal(sub=f"u-{org}", username=f"u-{org}", tenant=tenant, org=org, roles=frozenset(roles))


class Projects:
    """A stand-in for a service's own project table: who owns a declaration and its entities.

    The scope reads it the way a service's does: its tenant's bureau sees every project, a unit
    only its own org's; the records themselves come from the real audit table under RLS.
    """

    def __init__(self) -> None:
        self.owners: dict[str, tuple[str, str, list[str]]] = {}

    def add(self, tenant: str, org: str, declaration_id: str, *entities: str) -> None:
        self.owners[declaration_id] = (tenant, org, [declaration_id, *entities])

    async def scope(
        self, session: AsyncSession, principal: Principal, declaration_id: str
    ) -> Sequence[str] | None:
        """Visible entities, or None; it must run inside the caller's tenant-bound transaction."""
        assert session.in_transaction()
        owner = self.owners.get(declaration_id)
        if owner is None or owner[0] != principal.tenant:
            return None
        if not principal.has_role("bureau_head", "auditor") and principal.org != owner[1]:
            return None
        return owner[2]


async def _write(engine: AsyncEngine, table: Table, tenant: str, entries: list[AuditEntry]) -> None:
    async with sessions(engine)() as session, session.begin():
        await bind_tenant(session, tenant)
        await record_audits(session, table, tenant_id=tenant, entries=entries)


def _entry(
    entity_type: str, entity_id: str, action: str, minutes: int, cite: Sequence[str] = ()
) -> AuditEntry:
    return AuditEntry(
        actor="user:someone",
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        from_state="a",
        to_state="b",
        citations=cite,
        occurred_at=T0 + timedelta(minutes=minutes),
    )


@pytest.fixture
def other_tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


async def test_project_records_oldest_first_only_the_callers_tenant_and_visible_projects(
    app_engine: AsyncEngine, table: Table, tenant: str, other_tenant: str
) -> None:
    declaration, material = str(uuid.uuid4()), str(uuid.uuid4())
    other_unit_project = str(uuid.uuid4())
    projects = Projects()
    projects.add(tenant, "unit-a", declaration, material)
    projects.add(tenant, "unit-b", other_unit_project)
    # Written out of time order, over two transactions: the answer is ordered by occurred_at.
    await _write(
        app_engine,
        table,
        tenant,
        [
            _entry("declaration", declaration, "declaration.submit", 30, ["lhasa-2024 §9"]),
            _entry("material", material, "material.upload", 10),
            _entry("declaration", other_unit_project, "declaration.create", 5),
        ],
    )
    await _write(app_engine, table, tenant, [_entry("declaration", declaration, "declaration.create", 0)])
    # Another tenant's records about the same entity ids: RLS keeps them out of the answer.
    await _write(
        app_engine,
        table,
        other_tenant,
        [
            _entry("declaration", declaration, "declaration.forged", 1),
            _entry("material", material, "material.forged", 2),
        ],
    )
    await AuditSealer(engine=app_engine, table=table).seal_pending()
    uow = UnitOfWorkFactory(engine=app_engine)

    async def ask(principal: Principal, declaration_id: str, **page: object) -> list[tuple[str, str, bool]]:
        answer = await list_project_audit(
            uow=uow,
            table=table,
            scope=projects.scope,
            service="intake",
            principal=principal,
            declaration_id=declaration_id,
            **page,  # type: ignore[arg-type]
        )
        return [(r.action, r.occurred_at, r.sealed) for r in answer.records]

    unit_a = _principal(tenant, "unit-a", "applicant")
    answer = await list_project_audit(
        uow=uow,
        table=table,
        scope=projects.scope,
        service="intake",
        principal=unit_a,
        declaration_id=declaration,
    )
    assert [r.action for r in answer.records] == [
        "declaration.create",
        "material.upload",
        "declaration.submit",
    ]
    assert [r.occurred_at for r in answer.records] == [
        (T0 + timedelta(minutes=m)).isoformat() for m in (0, 10, 30)
    ]
    submit = answer.records[2]
    assert [c.ref for c in submit.citations] == ["lhasa-2024 §9"]
    assert (submit.entity_type, submit.entity_id, submit.from_state, submit.to_state) == (
        "declaration",
        declaration,
        "a",
        "b",
    )
    assert submit.service == "intake" and all(r.sealed and r.seq >= 1 for r in answer.records)
    assert answer.next_page_token == ""

    # The tenant's bureau sees the same records; pages follow each other without gaps.
    bureau = _principal(tenant, None, "bureau_head")
    first = await list_project_audit(
        uow=uow,
        table=table,
        scope=projects.scope,
        service="intake",
        principal=bureau,
        declaration_id=declaration,
        page_size=2,
    )
    rest = await list_project_audit(
        uow=uow,
        table=table,
        scope=projects.scope,
        service="intake",
        principal=bureau,
        declaration_id=declaration,
        page_size=2,
        page_token=first.next_page_token,
    )
    assert [r.action for r in [*first.records, *rest.records]] == [r.action for r in answer.records]
    assert first.next_page_token == "2" and rest.next_page_token == ""

    # Another unit's project, another tenant's caller, an unknown or malformed id: NOT_FOUND.
    for principal, declaration_id in [
        (unit_a, other_unit_project),
        (_principal(other_tenant, "unit-a", "bureau_head"), declaration),
        (unit_a, str(uuid.uuid4())),
        (unit_a, "not-a-uuid"),
    ]:
        with pytest.raises(AppError) as refused:
            await ask(principal, declaration_id)
        assert refused.value.kind is ErrorKind.NOT_FOUND
        assert refused.value.code == "PROJECT_NOT_FOUND"
    assert await ask(_principal(tenant, "unit-b", "applicant"), other_unit_project) == [
        ("declaration.create", (T0 + timedelta(minutes=5)).isoformat(), True)
    ]
    with pytest.raises(AppError) as bad_token:
        await ask(unit_a, declaration, page_token="x")
    assert bad_token.value.kind is ErrorKind.INVALID
