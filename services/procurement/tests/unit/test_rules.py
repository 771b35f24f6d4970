"""procurement's pure rules: the filing checks, the project's states, delays, payments, OCDS facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from govkit.errors import AppError, ErrorKind
from procurement.domain import construction, trading
from procurement.domain import procurement as rules
from procurement.domain import project as projects
from procurement.domain.construction import PaymentKind
from procurement.domain.procurement import ContractTerms, FilingContext, Method, Milestone, Role
from procurement.domain.project import Project, ProjectStatus

CODE_A = "91230500MA1C7QXK2H"
CODE_B = "91110108MA01RB4C3A"


def terms(**kw: Any) -> ContractTerms:
    values: dict[str, Any] = {
        "contract_no": "HT-1",
        "supplier_name": "甲公司",
        "supplier_credit_code": CODE_A,
        "amount": Decimal("500000.00"),
        "signed_on": date(2025, 3, 3),
        "period_start": date(2025, 3, 10),
        "period_end": date(2025, 6, 7),
        "warranty_months": 24,
        "ip_clause": "归建设单位",
        "termination_clause": "可解除",
        "schedule": (),
    }
    values.update(kw)
    return ContractTerms(**values)


def ctx(**kw: Any) -> FilingContext:
    values: dict[str, Any] = {
        "approved_amount": Decimal("600000.00"),
        "approval_valid_at_signing": True,
        "approval_cite": ("p §22",),
        "amount_cite": ("p §19",),
        "other_contracts_total": Decimal(0),
        "filing_workdays": 5,
        "filing_cite": ("p §25",),
        "due_on": date(2025, 3, 10),
        "filed_on": date(2025, 3, 10),
        "warranty_min_years": 2,
        "warranty_cite": ("p §25(2)",),
        "supervision_required": False,
        "supervision_cite": ("p §26",),
        "supervisor_credit_codes": (),
        "contractor_credit_codes": (),
        "independence_cite": ("p §17",),
        "excluded_parties": ("设计院",),
        "exclusion_cite": ("p §17",),
        "discredited": False,
        "discredited_cite": ("p §22",),
        "ip_cite": (),
        "termination_cite": (),
    }
    values.update(kw)
    return FilingContext(**values)


def codes(checks: list[rules.Check]) -> dict[str, bool]:
    return {c.code: c.passed for c in checks}


def test_a_clean_filing_passes_every_check_with_its_articles() -> None:
    checks = rules.check_filing(Role.CONSTRUCTION, terms(), ctx())
    assert all(c.passed for c in checks) and rules.failures(checks) == []
    assert {c.code: c.cite for c in checks}["FILED_WITHIN_DEADLINE"] == ("p §25",)


def test_late_is_a_mark_not_a_refusal() -> None:
    checks = rules.check_filing(Role.CONSTRUCTION, terms(), ctx(filed_on=date(2025, 3, 11)))
    late = next(c for c in checks if c.code == "FILED_WITHIN_DEADLINE")
    assert not late.passed and not late.blocking and rules.failures(checks) == []


def test_amount_counts_the_other_construction_contracts() -> None:
    checks = rules.check_filing(Role.CONSTRUCTION, terms(), ctx(other_contracts_total=Decimal("100000.01")))
    assert [c.code for c in rules.failures(checks)] == ["AMOUNT_WITHIN_APPROVAL"]
    exact = rules.check_filing(Role.CONSTRUCTION, terms(), ctx(other_contracts_total=Decimal("100000.00")))
    assert rules.failures(exact) == []


def test_warranty_validity_discredited_and_independence() -> None:
    checks = rules.check_filing(
        Role.CONSTRUCTION,
        terms(warranty_months=23),
        ctx(approval_valid_at_signing=False, discredited=True, supervisor_credit_codes=(CODE_A,)),
    )
    assert {c.code for c in rules.failures(checks)} == {
        "WARRANTY_MINIMUM",
        "APPROVAL_VALID_AT_SIGNING",
        "SUPPLIER_NOT_DISCREDITED",
        "SUPERVISOR_INDEPENDENT",
        "DESIGNER_SUPERVISOR_TESTER_EXCLUDED",
    }
    supervision = rules.check_filing(Role.SUPERVISION, terms(), ctx(contractor_credit_codes=(CODE_A,)))
    assert [c.code for c in rules.failures(supervision)] == ["SUPERVISOR_INDEPENDENT"]
    assert "AMOUNT_WITHIN_APPROVAL" not in codes(supervision)


def test_the_designer_by_name_may_not_build() -> None:
    checks = rules.check_filing(Role.CONSTRUCTION, terms(supplier_name="设计院"), ctx())
    assert [c.code for c in rules.failures(checks)] == ["DESIGNER_SUPERVISOR_TESTER_EXCLUDED"]
    no_rule = rules.check_filing(Role.CONSTRUCTION, terms(supplier_name="设计院"), ctx(exclusion_cite=()))
    assert rules.failures(no_rule) == []  # a pack without the rule does not exclude the designer


CODE_C = "91230500MA1D2M5N72"


def test_the_tester_takes_no_other_part_in_the_project_wuxing_17() -> None:
    """wuxing-2023 §17: whoever tests the project is neither its contractor, supervisor nor designer."""
    tester_builds = rules.check_filing(Role.CONSTRUCTION, terms(), ctx(tester_credit_codes=(CODE_A,)))
    (failed,) = rules.failures(tester_builds)
    assert failed.code == "DESIGNER_SUPERVISOR_TESTER_EXCLUDED" and failed.cite == ("p §17",)
    assert "检测（测评）单位" in failed.message
    contractor_tests = rules.check_filing(Role.TESTING, terms(), ctx(contractor_credit_codes=(CODE_A,)))
    (failed,) = rules.failures(contractor_tests)
    assert failed.code == "DESIGNER_SUPERVISOR_TESTER_EXCLUDED" and "承建单位" in failed.message
    supervisor_tests = rules.check_filing(Role.TESTING, terms(), ctx(supervisor_credit_codes=(CODE_A,)))
    assert [c.code for c in rules.failures(supervisor_tests)] == ["DESIGNER_SUPERVISOR_TESTER_EXCLUDED"]
    designer_tests = rules.check_filing(Role.TESTING, terms(supplier_name="设计院"), ctx())
    assert [c.code for c in rules.failures(designer_tests)] == ["DESIGNER_SUPERVISOR_TESTER_EXCLUDED"]
    tester_supervises = rules.check_filing(Role.SUPERVISION, terms(), ctx(tester_credit_codes=(CODE_A,)))
    assert [c.code for c in rules.failures(tester_supervises)] == ["DESIGNER_SUPERVISOR_TESTER_EXCLUDED"]
    independent = rules.check_filing(
        Role.TESTING,
        terms(),
        ctx(
            contractor_credit_codes=(CODE_B,),
            supervisor_credit_codes=(CODE_C,),
            tester_credit_codes=(CODE_A,),
        ),
    )
    assert rules.failures(independent) == []
    # A testing contract is not a construction contract: it is not summed against the approval.
    assert "AMOUNT_WITHIN_APPROVAL" not in codes(independent) and "SUPERVISOR_INDEPENDENT" not in codes(
        independent
    )


def test_a_pack_without_the_exclusion_rule_does_not_check_the_tester() -> None:
    checks = rules.check_filing(
        Role.TESTING, terms(), ctx(contractor_credit_codes=(CODE_A,), exclusion_cite=())
    )
    assert rules.failures(checks) == [] and "DESIGNER_SUPERVISOR_TESTER_EXCLUDED" not in codes(checks)


def test_no_rule_no_check() -> None:
    checks = rules.check_filing(
        Role.CONSTRUCTION, terms(warranty_months=0), ctx(warranty_min_years=None, filing_workdays=None)
    )
    assert "WARRANTY_MINIMUM" not in codes(checks) and "FILED_WITHIN_DEADLINE" not in codes(checks)


def test_supervision_check_only_where_required() -> None:
    assert rules.supervision_check(required=None, filed_supervision=False, cite=[]) is None
    assert rules.supervision_check(required=False, filed_supervision=False, cite=[]) is None
    check = rules.supervision_check(required=True, filed_supervision=False, cite=["wuxing-2023 §17"])
    assert check is not None and not check.passed and check.cite == ("wuxing-2023 §17",)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"period_end": date(2025, 3, 9)}, "period_end"),
        ({"period_start": date(2025, 3, 1)}, "period_start"),
        ({"ip_clause": " "}, "ip_clause"),
        ({"termination_clause": ""}, "termination_clause"),
        ({"schedule": (Milestone("上线", date(2025, 7, 1)),)}, "schedule"),
    ],
)
def test_terms_are_validated(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(AppError) as caught:
        rules.validate_terms(terms(**changes))
    assert caught.value.kind is ErrorKind.INVALID
    assert caught.value.details["fields"][0]["field"] == field


def test_required_documents_by_method() -> None:
    assert rules.required_documents(Method.SELF_PROCURED) == (
        rules.DocKind.SELF_PROCUREMENT_EXPLANATION,
        rules.DocKind.CONTRACT,
    )
    assert rules.DocKind.AWARD_NOTICE in rules.required_documents(Method.SINGLE_SOURCE)
    assert set(rules.METHOD_ZH.values()) >= {
        "公开招标",
        "邀请招标",
        "竞争性谈判",
        "竞争性磋商",
        "单一来源",
        "询价",
        "框架协议",
    }


def project(**kw: Any) -> Project:
    values: dict[str, Any] = {
        "declaration_id": "d",
        "tenant_id": "t",
        "approval_id": "a",
        "project_code": "c",
        "name": "n",
        "org_id": "unit-1",
        "approved_amount": Decimal("1"),
        "approved_on": date(2025, 3, 3),
        "valid_until": date(2026, 3, 3),
        "status": ProjectStatus.APPROVED,
    }
    values.update(kw)
    return Project(**values)


def test_project_states() -> None:
    p = projects.started(project(), date(2025, 3, 4))
    assert p.status is ProjectStatus.PROCURING and p.procurement_started_on == date(2025, 3, 4)
    assert projects.started(p, date(2025, 4, 1)).procurement_started_on == date(2025, 3, 4)
    built = projects.construction_filed(p)
    suspended = projects.suspend(built)
    assert projects.resume(suspended, has_construction_contract=True).status is ProjectStatus.CONSTRUCTION
    assert (
        projects.resume(projects.suspend(p), has_construction_contract=False).status
        is ProjectStatus.PROCURING
    )
    with pytest.raises(AppError):
        projects.resume(built, has_construction_contract=True)
    with pytest.raises(AppError):
        projects.suspend(project())
    with pytest.raises(AppError):
        projects.ensure_building(suspended)
    with pytest.raises(AppError):
        projects.ensure_open_for_procurement(replace(p, status=ProjectStatus.EXPIRED))
    assert projects.terminate(suspended).status is ProjectStatus.TERMINATED
    accepted = projects.accepted(built, on=date(2026, 1, 1), acceptance_id="x")
    assert accepted.status is ProjectStatus.ACCEPTED and accepted.accepted_on == date(2026, 1, 1)
    assert projects.approval_valid_on(p, date(2026, 3, 3)) and not projects.approval_valid_on(
        p, date(2026, 3, 4)
    )
    assert not projects.approval_valid_on(p, date(2025, 3, 2))


def test_reading_is_the_tenant_bureau_or_the_own_unit() -> None:
    p = project()
    assert projects.can_read(tenant="t", org="unit-1", roles=frozenset({"applicant"}), project=p)
    assert not projects.can_read(tenant="t", org="unit-2", roles=frozenset({"applicant"}), project=p)
    assert projects.can_read(tenant="t", org="bureau", roles=frozenset({"auditor"}), project=p)
    assert not projects.can_read(tenant="u", org="unit-1", roles=frozenset({"bureau_head"}), project=p)


LHASA = {"cite": ["lhasa §18"], "params": {"delay_percent_over_contract_period": 50}}


@pytest.mark.parametrize(
    ("today", "complete", "days", "serious"),
    [
        (date(2025, 1, 10), False, 0, False),
        (date(2025, 1, 15), False, 5, False),  # 50.0%: not beyond
        (date(2025, 1, 16), False, 6, True),  # 60%
        (date(2025, 1, 16), True, 0, False),
    ],
)
def test_serious_delay_is_beyond_the_margin(today: date, complete: bool, days: int, serious: bool) -> None:
    found = construction.delay(
        period_start=date(2025, 1, 1),
        period_end=date(2025, 1, 10),
        today=today,
        complete=complete,
        rule=LHASA,
        margin_param="delay_percent_over_contract_period",
    )
    assert (found.days_over, found.serious) == (days, serious)
    assert found.cite == ("lhasa §18",)


def test_a_pack_without_a_margin_detects_no_serious_delay() -> None:
    found = construction.delay(
        period_start=date(2025, 1, 1),
        period_end=date(2025, 1, 10),
        today=date(2026, 1, 1),
        complete=False,
        rule={"cite": ["heze-2021 §20"], "params": {}},
        margin_param="delay_percent_over_contract_period",
    )
    assert found.days_over > 0 and found.margin_percent is None and not found.serious


def test_payments() -> None:
    construction.check_payment(
        kind=PaymentKind.PROGRESS,
        amount=Decimal(10),
        contract_amount=Decimal(10),
        paid_so_far=Decimal(0),
        accepted=False,
        final_cite=[],
    )
    with pytest.raises(AppError) as final:
        construction.check_payment(
            kind=PaymentKind.FINAL,
            amount=Decimal(1),
            contract_amount=Decimal(10),
            paid_so_far=Decimal(0),
            accepted=False,
            final_cite=["qiaokou-2022 §29"],
        )
    assert final.value.cite == ["qiaokou-2022 §29"]
    with pytest.raises(AppError):
        construction.check_payment(
            kind=PaymentKind.FINAL,
            amount=Decimal(11),
            contract_amount=Decimal(10),
            paid_so_far=Decimal(0),
            accepted=True,
            final_cite=[],
        )
    with pytest.raises(AppError):
        construction.validate_progress(Decimal(101), previous=None)
    with pytest.raises(AppError):
        construction.validate_progress(Decimal(10), previous=Decimal(20))


def test_grounds_come_from_the_pack() -> None:
    found = construction.grounds(
        [
            {"label_zh": "不可抗力", "cite": ["qiaokou-2022 §27(1)"], "params": {"ground": "force_majeure"}},
            {"label_zh": "其他", "cite": ["x §1"], "params": {}},
        ]
    )
    assert found == {"force_majeure": {"label_zh": "不可抗力", "cite": ["qiaokou-2022 §27(1)"]}}
    with pytest.raises(AppError) as caught:
        construction.ground_of(found, "serious_delay")
    assert caught.value.code == "UNKNOWN_SUSPENSION_GROUND"


def release(**kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "ocid": "ocds-1",
        "id": "r1",
        "date": "2025-03-04T10:00:00+08:00",
        "tag": ["contract"],
        "initiationType": "tender",
        "planning": {"budget": {"projectID": "P-1"}},
        "tender": {"id": "t", "procurementMethod": "selective", "procurementMethodDetails": "竞争性磋商"},
        "parties": [{"id": "s1", "name": "甲公司", "identifier": {"scheme": "CN-USCC", "id": CODE_A}}],
        "awards": [
            {
                "id": "a1",
                "value": {"amount": 100, "currency": "CNY"},
                "suppliers": [{"id": "s1", "name": "甲公司"}],
            }
        ],
        "contracts": [
            {
                "id": "c1",
                "awardID": "a1",
                "value": {"amount": 100, "currency": "CNY"},
                "dateSigned": "2025-03-03T16:00:00+08:00",
                "period": {"startDate": "2025-03-10T00:00:00+08:00", "endDate": "2025-06-10T00:00:00+08:00"},
            }
        ],
    }
    values.update(kw)
    return values


def test_release_facts_and_prefill() -> None:
    f = trading.facts(release())
    assert f.project_code == "P-1" and f.method is Method.COMPETITIVE_CONSULTATION
    assert f.supplier_credit_code == CODE_A and f.contract_amount == Decimal("100.00")
    assert f.signed_on == date(2025, 3, 3) and f.period_end == date(2025, 6, 10)
    assert f.prefill()["amount"] == "100.00" and f.prefill()["contract_no"] == "c1"
    assert (
        trading.facts(release(tender={"id": "t", "procurementMethod": "direct"})).method
        is Method.SINGLE_SOURCE
    )
    with pytest.raises(trading.ReleaseError):
        trading.facts(release(contracts=[{"id": "c", "awardID": "a1", "dateSigned": "yesterday"}]))


def test_mismatches() -> None:
    known = trading.Known(
        approved_amount=Decimal("90.00"),
        approved_on=date(2025, 3, 4),
        valid_until=None,
        approval_cite=("a §1",),
        filed_supplier_name="乙公司",
        filed_credit_code=CODE_B,
        filed_amount=Decimal("95.00"),
        filed_signed_on=date(2025, 3, 2),
    )
    found = trading.mismatches(trading.facts(release()), known, amount_cite=["a §2"])
    kinds = sorted((m.kind, m.path) for m in found)
    assert kinds == [
        ("amount", "contracts.value.amount"),
        ("amount", "contracts.value.amount"),
        ("date", "contracts.dateSigned"),
        ("date", "contracts.dateSigned"),
        ("supplier", "awards.suppliers"),
    ]
    clean = trading.Known(
        approved_amount=Decimal(100), approved_on=date(2025, 3, 1), valid_until=None, approval_cite=()
    )
    assert trading.mismatches(trading.facts(release()), clean) == []
