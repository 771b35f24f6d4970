"""The declaration state machine and visibility rules, without a database."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind
from intake.domain import declaration as rules
from intake.domain.declaration import Category, ConstructionType, Declaration, DeclarationStatus

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def make(status: DeclarationStatus = DeclarationStatus.DRAFT, org: str = "unit-1") -> Declaration:
    return Declaration(
        id="d1",
        tenant_id="county-a",
        org_id=org,
        name="智慧教育平台",
        category=Category.BUSINESS_APP,
        construction_type=ConstructionType.NEW,
        amount=Decimal("800000.00"),
        necessity="",
        goals="",
        contact="",
        status=status,
        version=1,
        created_by="applicant.county-a",
        created_at=NOW,
        updated_at=NOW,
    )


def who(roles: set[str], tenant: str = "county-a", org: str | None = "unit-1") -> Principal:
    return Principal(sub="s", username="u", tenant=tenant, org=org, roles=frozenset(roles))


def test_unit_sees_only_its_own_declarations() -> None:
    assert rules.can_read(who({"applicant"}), make())
    assert not rules.can_read(who({"applicant"}, org="unit-2"), make())


def test_bureau_sees_the_whole_tenant_but_not_other_tenants() -> None:
    assert rules.can_read(who({"bureau_reviewer"}, org="bureau"), make(org="unit-2"))
    assert not rules.can_read(who({"bureau_reviewer"}, tenant="county-b", org="bureau"), make())


def test_submit_moves_draft_to_submitted_once() -> None:
    submitted = rules.submit(make(), at=NOW)
    assert submitted.status is DeclarationStatus.SUBMITTED
    assert submitted.submitted_at == NOW
    with pytest.raises(AppError) as err:
        rules.submit(submitted, at=NOW)
    assert err.value.code == "DECLARATION_NOT_SUBMITTABLE"


def test_submitted_declaration_cannot_be_edited() -> None:
    with pytest.raises(AppError) as err:
        rules.ensure_can_edit(who({"applicant"}), make(DeclarationStatus.SUBMITTED))
    assert err.value.kind is ErrorKind.PRECONDITION


def test_only_applicants_of_the_unit_edit() -> None:
    with pytest.raises(AppError) as err:
        rules.ensure_can_edit(who({"bureau_reviewer"}, org="bureau"), make())
    assert err.value.kind is ErrorKind.FORBIDDEN
    with pytest.raises(AppError):
        rules.ensure_can_edit(who({"applicant"}, org="unit-2"), make())


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(AppError) as err:
        rules.apply_changes(make(), {"status": "submitted"}, at=NOW)
    assert err.value.code == "UNKNOWN_FIELDS"
