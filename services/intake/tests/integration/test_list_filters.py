"""The project library's filters on ListDeclarations: category and amount range (issue 8), with
the unit's own-org visibility still applied, against a real PostgreSQL under the app role."""

from decimal import Decimal

import pytest

from intake import service
from intake.adapters.repository import DeclarationFilter
from intake.domain.declaration import Category

pytestmark = pytest.mark.integration


async def test_category_and_amount_range_narrow_the_list(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    small = await world.draft(name="小额业务系统", amount="300000.00")
    large = await world.draft(name="大额业务系统", amount="2000000.00")
    infra = await world.draft(name="基础设施项目", amount="800000.00", category=Category.INFRASTRUCTURE)
    other_unit = await world.draft(world.who("applicant", "unit-2"), name="二号单位项目", amount="800000.00")

    async def ids(principal, **where) -> set[str]:  # type: ignore[no-untyped-def]
        page = await service.list_declarations(
            deps=world.deps, principal=principal, where=DeclarationFilter(**where)
        )
        assert page.total == len(page.items)
        return {d.id for d in page.items}

    bureau = world.who("bureau_reviewer", "bureau")
    assert await ids(bureau, category="business_app") == {small.id, large.id, other_unit.id}
    assert await ids(bureau, category="infrastructure") == {infra.id}
    # Both ends included.
    assert await ids(bureau, amount_min=Decimal("300000.00"), amount_max=Decimal("800000.00")) == {
        small.id,
        infra.id,
        other_unit.id,
    }
    assert await ids(bureau, amount_min=Decimal("800000.01")) == {large.id}
    assert await ids(bureau, category="business_app", amount_max=Decimal("800000.00")) == {
        small.id,
        other_unit.id,
    }
    # A unit still sees only its own org's declarations under the same filters.
    assert await ids(world.applicant, amount_min=Decimal("800000.00")) == {large.id, infra.id}
