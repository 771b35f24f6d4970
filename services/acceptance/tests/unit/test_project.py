"""Trial run length from the pack, the final-acceptance deadline and its extension (pure rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from acceptance.domain import project as p
from govkit.errors import AppError
from govkit.policy import PolicyRegistry, evaluate, obligations


def _project(**overrides: object) -> p.AcceptanceProject:
    base = p.AcceptanceProject(
        id="p1",
        tenant_id="county-b",
        declaration_id="d1",
        project_code="2025-230522-65-01-000001",
        project_name="智慧城管平台",
        org_id="unit-1",
        pack_id="qiaokou-2022",
        approved_amount=Decimal("12000000.00"),
        contract_amount=Decimal("11800000.00"),
        contract_ids=("c1",),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def _trial(packs: PolicyRegistry, project: p.AcceptanceProject, started: date) -> p.AcceptanceProject:
    req = evaluate(packs.get(project.pack_id), project.facts())["trial_run_min_months"]
    return p.start_trial(project, started_on=started, completed_on=None, min_months=req.value, cite=req.cite)


def test_qiaokou_trial_run_is_three_months_above_ten_million(packs: PolicyRegistry) -> None:
    big = _trial(packs, _project(), date(2025, 3, 3))
    assert big.trial_min_months == 3
    assert big.trial_ends_on == date(2025, 6, 3)
    assert big.trial_cite == ("qiaokou-2022 §28(1)",)
    with pytest.raises(AppError) as refused:
        p.ensure_trial_long_enough(big, date(2025, 6, 2))
    assert refused.value.code == "TRIAL_RUN_TOO_SHORT"
    assert refused.value.cite == ["qiaokou-2022 §28(1)"]
    assert refused.value.details["ends_on"] == "2025-06-03"
    p.ensure_trial_long_enough(big, date(2025, 6, 3))


def test_exactly_ten_million_is_not_above_it_one_month(packs: PolicyRegistry) -> None:
    small = _trial(packs, _project(approved_amount=Decimal("10000000.00")), date(2025, 1, 31))
    assert small.trial_min_months == 1
    assert small.trial_ends_on == date(2025, 2, 28)  # the month's last day when it is shorter


def test_trial_cannot_start_twice_or_before_completion(packs: PolicyRegistry) -> None:
    started = _trial(packs, _project(), date(2025, 3, 3))
    with pytest.raises(AppError) as twice:
        _trial(packs, started, date(2025, 3, 4))
    assert twice.value.code == "TRIAL_ALREADY_STARTED"
    with pytest.raises(AppError) as order:
        p.start_trial(
            _project(), started_on=date(2025, 3, 3), completed_on=date(2025, 3, 4), min_months=1, cite=[]
        )
    assert order.value.code == "COMPLETION_AFTER_TRIAL"


def test_no_trial_before_the_contract_was_signed() -> None:
    with pytest.raises(AppError) as early:
        p.start_trial(
            _project(),
            started_on=date(2025, 3, 3),
            completed_on=None,
            min_months=1,
            cite=[],
            signed_on=date(2025, 3, 4),
        )
    assert early.value.code == "TRIAL_BEFORE_CONTRACT"
    same_day = p.start_trial(
        _project(),
        started_on=date(2025, 3, 4),
        completed_on=None,
        min_months=None,
        cite=[],
        signed_on=date(2025, 3, 4),
    )
    assert same_day.trial_ends_on == date(2025, 3, 4)  # no minimum in the pack (lhasa, heze)


def test_no_application_before_the_trial_started() -> None:
    with pytest.raises(AppError) as refused:
        p.ensure_trial_long_enough(_project(), date(2025, 3, 3))
    assert refused.value.code == "TRIAL_NOT_STARTED"


def test_heze_final_acceptance_due_half_a_year_after_completion_and_extended(packs: PolicyRegistry) -> None:
    pack = packs.get("heze-2021")
    rule = evaluate(pack, {"amount": 800_000})["final_acceptance_within_months"]
    due = p.final_due(rule.value, initial_passed_on=None, completed_on=date(2021, 3, 31))
    assert due == date(2021, 9, 30)
    project = _project(pack_id="heze-2021", final_due_on=due, final_due_cite=tuple(rule.cite))
    extension_cite = obligations(pack, "acceptance_extension")[0]["cite"]
    assert extension_cite == ["heze-2021 §23"]
    with pytest.raises(AppError) as late:
        p.ensure_final_in_time(project, date(2021, 10, 8), extension_cite=extension_cite)
    assert late.value.code == "FINAL_ACCEPTANCE_OVERDUE"
    assert late.value.cite == ["heze-2021 §23"]
    asked = p.request_extension(
        project,
        reason="系统对接延迟",
        until=date(2021, 12, 31),
        by="u",
        cite=extension_cite,
        today=date(2021, 9, 1),
    )
    with pytest.raises(AppError):
        p.ensure_final_in_time(asked, date(2021, 10, 8), extension_cite=extension_cite)  # not yet agreed
    agreed = p.decide_extension(asked, approve=True, by="b", note="")
    p.ensure_final_in_time(agreed, date(2021, 10, 8), extension_cite=extension_cite)
    with pytest.raises(AppError):
        p.ensure_final_in_time(agreed, date(2022, 1, 4), extension_cite=extension_cite)


def test_lhasa_counts_from_the_initial_acceptance(packs: PolicyRegistry) -> None:
    rule = evaluate(packs.get("lhasa"), {"amount": 800_000})["final_acceptance_within_months"]
    assert p.final_due(rule.value, initial_passed_on=date(2025, 4, 30), completed_on=None) == date(
        2025, 10, 30
    )
    assert p.final_due(rule.value, initial_passed_on=None, completed_on=date(2025, 1, 1)) is None
    assert p.final_due(None, initial_passed_on=date(2025, 4, 30), completed_on=None) is None


def test_extension_only_where_the_pack_provides_one() -> None:
    with pytest.raises(AppError) as refused:
        p.request_extension(
            _project(), reason="x", until=date(2026, 1, 1), by="u", cite=[], today=date(2025, 1, 1)
        )
    assert refused.value.code == "EXTENSION_NOT_PROVIDED"


def test_refused_extension_needs_a_reason() -> None:
    asked = p.request_extension(
        _project(final_due_on=date(2025, 6, 1)),
        reason="延迟",
        until=date(2025, 9, 1),
        by="u",
        cite=["heze-2021 §23"],
        today=date(2025, 5, 1),
    )
    with pytest.raises(AppError):
        p.decide_extension(asked, approve=False, by="b", note=" ")
    refused = p.decide_extension(asked, approve=False, by="b", note="理由不充分")
    assert refused.extension is not None and refused.extension.status is p.ExtensionStatus.REJECTED


def test_contracts_add_up_construction_only() -> None:
    project = _project(contract_amount=Decimal(0), contract_ids=())
    c1 = p.Contract("c1", "t", "d1", "construction", Decimal("100.00"), date(2025, 1, 1), None, "甲公司")
    c2 = p.Contract("c2", "t", "d1", "supervision", Decimal("5.00"), date(2025, 1, 1), None, "监理公司")
    both = p.add_contract(p.add_contract(p.add_contract(project, c1), c2), c1)
    assert both.contract_amount == Decimal("100.00")
    assert both.contract_ids == ("c1", "c2")
    assert both.facts()["contract_amount"] == Decimal("100.00")
