"""Plan decision, validity, one extension of at most a year (qiaokou §13) and lapse."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from govkit.errors import AppError
from govkit.policy import PolicyRegistry
from review.domain import plan as p
from review.domain.plan import EntryStatus, PlanLevel, PlanOutcome


def test_into_the_plan_needs_a_level_and_a_budget_within_the_declared_amount() -> None:
    ok = p.decide(
        outcome=PlanOutcome.IN_PLAN,
        level=PlanLevel.KEY,
        budget=Decimal(800_000),
        declared=Decimal(800_000),
        reason="",
    )
    assert ok.level is PlanLevel.KEY
    with pytest.raises(AppError) as err:
        p.decide(
            outcome=PlanOutcome.IN_PLAN,
            level=PlanLevel.KEY,
            budget=Decimal("800000.01"),
            declared=Decimal(800_000),
            reason="",
        )
    assert err.value.code == "PLAN_BUDGET_EXCEEDS_DECLARED"
    with pytest.raises(AppError):
        p.decide(outcome=PlanOutcome.IN_PLAN, level=None, budget=Decimal(1), declared=Decimal(2), reason="")
    with pytest.raises(AppError) as err:
        p.decide(outcome=PlanOutcome.REJECTED, level=None, budget=None, declared=Decimal(2), reason=" ")
    assert err.value.code == "DECISION_REASON_REQUIRED"


def entry(valid_until: date | None, **kw: object) -> p.PlanEntry:
    base: dict[str, object] = {
        "id": "e",
        "tenant_id": "county-b",
        "case_id": "c",
        "declaration_id": "d",
        "name": "n",
        "org_id": "unit-1",
        "level": PlanLevel.GENERAL,
        "budget": Decimal(1),
        "target_year": 2026,
        "status": EntryStatus.PLANNED,
        "decided_at": datetime(2025, 9, 20, tzinfo=UTC),
        "valid_until": valid_until,
    }
    base.update(kw)
    return p.PlanEntry(**base)  # type: ignore[arg-type]


def test_qiaokou_plan_is_valid_one_year_from_the_target_year(packs: PolicyRegistry) -> None:
    q = packs.get("qiaokou-2022")
    end, cite = p.validity_end(q, target_year=2026, published_on=date(2025, 10, 10))
    assert end == date(2026, 12, 31) and cite == ["qiaokou-2022 §13"]
    late, _ = p.validity_end(q, target_year=2026, published_on=date(2026, 3, 15))
    assert late == date(2027, 3, 14)
    assert p.validity_end(packs.get("wuxing-2023"), target_year=2026, published_on=date(2026, 1, 1)) == (
        None,
        [],
    )


def test_extension_once_and_at_most_twelve_months(packs: PolicyRegistry) -> None:
    q = packs.get("qiaokou-2022")
    current = entry(date(2026, 12, 31))
    with pytest.raises(AppError) as err:
        p.extend(current, pack=q, months=13, today=date(2026, 11, 1))
    assert err.value.code == "PLAN_EXTENSION_TOO_LONG" and err.value.cite == ["qiaokou-2022 §13"]
    extended, _cite = p.extend(current, pack=q, months=12, today=date(2026, 11, 1))
    assert extended.valid_until == date(2027, 12, 31) and extended.extended_months == 12
    with pytest.raises(AppError) as err:
        p.extend(extended, pack=q, months=1, today=date(2026, 11, 2))
    assert err.value.code == "PLAN_ALREADY_EXTENDED"
    with pytest.raises(AppError) as err:
        p.extend(current, pack=q, months=6, today=date(2027, 1, 1))
    assert err.value.code == "PLAN_ENTRY_EXPIRED"
    with pytest.raises(AppError) as err:
        p.extend(current, pack=packs.get("wuxing-2023"), months=6, today=date(2026, 11, 1))
    assert err.value.code == "PLAN_EXTENSION_NOT_PROVIDED"


def test_an_unextended_entry_lapses_the_day_after_its_validity() -> None:
    current = entry(date(2026, 12, 31))
    assert not p.lapses(current, date(2026, 12, 31))
    assert p.lapses(current, date(2027, 1, 1))
    assert not p.lapses(entry(date(2026, 12, 31), status=EntryStatus.APPROVED), date(2027, 1, 1))
    assert not p.lapses(entry(None), date(2099, 1, 1))


def test_add_months_clamps_to_the_month_end() -> None:
    assert p.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert p.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
