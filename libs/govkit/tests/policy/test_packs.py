"""Table-driven checks of the five shipped packs: every row names the article it checks.

Each row: (pack, article, facts, key, expected value, expected citations or None to skip,
expected needs). Boundary amounts sit exactly on the thresholds of the documents.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from govkit.policy import PolicyRegistry, evaluate

M = 1_000_000
Row = tuple[str, str, dict[str, Any], str, Any, list[str] | None, list[str]]

ROWS: list[Row] = [
    # ---------------- qiaokou-2022 ----------------
    ("qiaokou-2022", "§15/§17(1)", {"amount": Decimal("499999.99")}, "approver", "tech_center",
     ["qiaokou-2022 §15", "qiaokou-2022 §17(1)"], []),
    ("qiaokou-2022", "§15/§17(2)", {"amount": 500_000}, "approver", "bureau",
     ["qiaokou-2022 §15", "qiaokou-2022 §17(2)"], []),
    ("qiaokou-2022", "§15/§17(4)", {"amount": 1_999_999, "goods_and_services_only": False}, "ndrc_documents", [],
     ["qiaokou-2022 §15", "qiaokou-2022 §17(4)"], []),
    ("qiaokou-2022", "§15/§17(4)", {"amount": 2 * M, "goods_and_services_only": False}, "ndrc_documents",
     ["feasibility_study", "preliminary_design"], ["qiaokou-2022 §15", "qiaokou-2022 §17(4)"], []),
    ("qiaokou-2022", "§15/§17(4)", {"amount": 2 * M, "goods_and_services_only": True}, "ndrc_documents", [],
     None, []),
    ("qiaokou-2022", "§15/§17(4)", {"amount": 2 * M}, "ndrc_documents", None,
     ["qiaokou-2022 §15", "qiaokou-2022 §17(4)"], ["goods_and_services_only"]),
    ("qiaokou-2022", "§10/§16/§17(4)", {"amount": 5 * M, "goods_and_services_only": False}, "required_documents",
     ["application_form", "feasibility_study", "preliminary_design", "technical_scheme"], None, []),
    ("qiaokou-2022", "§10/§16", {"amount": M}, "required_documents", ["application_form", "technical_scheme"],
     ["qiaokou-2022 §10", "qiaokou-2022 §16"], []),
    ("qiaokou-2022", "§22", {"amount": M}, "approval_validity_months", 12, ["qiaokou-2022 §22"], []),
    ("qiaokou-2022", "§25", {"amount": M}, "contract_filing_workdays", 5, ["qiaokou-2022 §25"], []),
    ("qiaokou-2022", "§26", {"amount": 999_999, "goods_and_services_only": False}, "supervision_required", False,
     ["qiaokou-2022 §26"], []),
    ("qiaokou-2022", "§26", {"amount": M, "goods_and_services_only": False}, "supervision_required", True,
     ["qiaokou-2022 §26"], []),
    ("qiaokou-2022", "§26", {"amount": 2 * M, "goods_and_services_only": True, "category": "infrastructure"},
     "supervision_required", False, ["qiaokou-2022 §26"], []),
    ("qiaokou-2022", "§26", {"amount": M, "goods_and_services_only": True, "category": "business_app"},
     "supervision_required", True, ["qiaokou-2022 §26"], []),
    ("qiaokou-2022", "§28(1)", {"amount": 10 * M}, "trial_run_min_months", 1, ["qiaokou-2022 §28(1)"], []),
    ("qiaokou-2022", "§28(1)", {"amount": Decimal("10000000.01")}, "trial_run_min_months", 3, None, []),
    ("qiaokou-2022", "§28(3)", {"amount": 499_999}, "acceptance_organizer", "unit", ["qiaokou-2022 §28(3)"], []),
    ("qiaokou-2022", "§28(3)", {"amount": 500_000}, "acceptance_organizer", "unit_with_bureau_spot_check", None, []),
    ("qiaokou-2022", "§28(3)", {"amount": 4_999_999}, "acceptance_organizer", "unit_with_bureau_spot_check", None,
     []),
    ("qiaokou-2022", "§28(3)", {"amount": 5 * M}, "acceptance_organizer", "department_with_bureau", None, []),
    ("qiaokou-2022", "§28(3)", {"amount": 100_000}, "acceptance_filing_workdays", 3, ["qiaokou-2022 §28(3)"], []),
    # §19 change control: > 10% of the approved budget, or a major content change.
    ("qiaokou-2022", "§19", {"amount": M, "change_amount": 100_000, "major_content_change": False},
     "change_requires_rereview", False, ["qiaokou-2022 §19"], []),
    ("qiaokou-2022", "§19", {"amount": M, "change_amount": 100_001, "major_content_change": False},
     "change_requires_rereview", True, ["qiaokou-2022 §19"], []),
    ("qiaokou-2022", "§19", {"amount": M, "change_amount": 100_001}, "change_requires_rereview", True, None, []),
    ("qiaokou-2022", "§19", {"amount": 2 * M, "approved_amount": M, "change_amount": 150_000,
                             "major_content_change": False}, "change_requires_rereview", True, None, []),
    ("qiaokou-2022", "§19", {"amount": M, "change_amount": 0, "major_content_change": True},
     "change_requires_rereview", True, None, []),
    ("qiaokou-2022", "§19", {"amount": M, "change_amount": 50_000}, "change_requires_rereview", None,
     ["qiaokou-2022 §19"], ["major_content_change"]),
    ("qiaokou-2022", "none", {"amount": M}, "review_sla_workdays", None, [], []),
    ("qiaokou-2022", "none", {"amount": M}, "warranty_min_years", None, [], []),
    # ---------------- wuxing-2023 ----------------
    ("wuxing-2023", "§9/§10", {"amount": 100}, "approver", "bureau", ["wuxing-2023 §10", "wuxing-2023 §9"], []),
    ("wuxing-2023", "§13", {"amount": 4_999_999}, "ndrc_documents", ["contact_sheet"], ["wuxing-2023 §13"], []),
    ("wuxing-2023", "§13", {"amount": 5 * M}, "ndrc_documents", ["feasibility_study"], ["wuxing-2023 §13"], []),
    ("wuxing-2023", "§13", {"amount": 19_999_999}, "ndrc_documents", ["feasibility_study"], None, []),
    ("wuxing-2023", "§13", {"amount": 20 * M}, "ndrc_documents", ["feasibility_study", "preliminary_design"], None,
     []),
    ("wuxing-2023", "§7/§13", {"amount": 20 * M}, "required_documents",
     ["application_form", "feasibility_study", "preliminary_design"], ["wuxing-2023 §13", "wuxing-2023 §7"], []),
    ("wuxing-2023", "§7", {"amount": M}, "required_documents", ["application_form", "feasibility_study"],
     ["wuxing-2023 §7"], []),
    ("wuxing-2023", "§10", {"amount": 5 * M, "category": "cross_department"}, "city_review_required", True,
     ["wuxing-2023 §10"], []),
    ("wuxing-2023", "§10", {"amount": 4_999_999, "category": "cross_department"}, "city_review_required", False,
     ["wuxing-2023 §10"], []),
    ("wuxing-2023", "§10", {"amount": 100 * M, "category": "business_app"}, "city_review_required", False, None, []),
    ("wuxing-2023", "§10", {"amount": 5 * M}, "city_review_required", None, ["wuxing-2023 §10"], ["category"]),
    ("wuxing-2023", "§10", {"amount": 4_999_999}, "city_review_required", False, None, []),
    ("wuxing-2023", "§9", {"amount": M, "category": "cross_department"}, "opinion_departments",
     ["crypto", "cyberspace", "finance", "police", "reform"], ["wuxing-2023 §9"], []),
    ("wuxing-2023", "§9", {"amount": M, "category": "business_app"}, "opinion_departments",
     ["crypto", "cyberspace", "finance", "police"], ["wuxing-2023 §9"], []),
    ("wuxing-2023", "§15", {"amount": M}, "contract_filing_workdays", 5, ["wuxing-2023 §15"], []),
    ("wuxing-2023", "§17", {"amount": 999_999}, "supervision_required", False, ["wuxing-2023 §17"], []),
    ("wuxing-2023", "§17", {"amount": M}, "supervision_required", True, ["wuxing-2023 §17"], []),
    ("wuxing-2023", "§27", {"amount": M}, "warranty_min_years", 3, ["wuxing-2023 §27"], []),
    ("wuxing-2023", "§20", {"amount": M}, "trial_run_min_months", 1, ["wuxing-2023 §20"], []),
    ("wuxing-2023", "§20", {"amount": 500_000}, "acceptance_organizer", "unit", ["wuxing-2023 §20"], []),
    ("wuxing-2023", "§20", {"amount": Decimal("500000.01")}, "acceptance_organizer", "bureau", None, []),
    ("wuxing-2023", "§20", {"amount": M}, "rectification_months", 3, ["wuxing-2023 §20"], []),
    # §19(2): > 10% of the investment or >= 1,000,000.
    ("wuxing-2023", "§19(2)", {"amount": 20 * M, "change_amount": M}, "change_requires_rereview", True,
     ["wuxing-2023 §19(2)"], []),
    ("wuxing-2023", "§19(2)", {"amount": 20 * M, "change_amount": 999_999}, "change_requires_rereview", False,
     ["wuxing-2023 §19(2)"], []),
    ("wuxing-2023", "§19(2)", {"amount": 5 * M, "change_amount": 500_000}, "change_requires_rereview", False, None,
     []),
    ("wuxing-2023", "§19(2)", {"amount": 5 * M, "change_amount": 500_001}, "change_requires_rereview", True, None,
     []),
    ("wuxing-2023", "§19(2)", {"amount": 5 * M}, "change_requires_rereview", None, ["wuxing-2023 §19(2)"],
     ["change_amount"]),
    ("wuxing-2023", "none", {"amount": M}, "approval_validity_months", None, [], []),
    # ---------------- lhasa ----------------
    ("lhasa", "§4/§11", {"amount": M}, "approver", "bureau", ["lhasa §11", "lhasa §4"], []),
    ("lhasa", "§4/§11", {"amount": 100 * M}, "ndrc_documents", [], ["lhasa §11", "lhasa §4"], []),
    ("lhasa", "§10", {"amount": 9_999_999, "simple": True}, "required_documents", ["crypto_plan"], ["lhasa §10"],
     []),
    ("lhasa", "§10", {"amount": 9_999_999, "simple": True}, "alternative_documents",
     [["implementation_plan", "preliminary_design"]], ["lhasa §10"], []),
    ("lhasa", "§10", {"amount": 10 * M, "simple": True}, "required_documents",
     ["crypto_plan", "feasibility_study", "preliminary_design"], ["lhasa §10"], []),
    ("lhasa", "§10", {"amount": 10 * M, "simple": True}, "alternative_documents", [], ["lhasa §10"], []),
    ("lhasa", "§10", {"amount": 5 * M, "simple": False}, "required_documents",
     ["crypto_plan", "feasibility_study", "preliminary_design"], None, []),
    ("lhasa", "§10", {"amount": 5 * M}, "required_documents", None, ["lhasa §10"], ["simple"]),
    ("lhasa", "§10", {"amount": 20 * M}, "required_documents", ["crypto_plan", "feasibility_study",
                                                              "preliminary_design"], None, []),
    ("lhasa", "§11", {"amount": M, "tenant_level": "county"}, "city_review_required", True, ["lhasa §11"], []),
    ("lhasa", "§11", {"amount": M, "tenant_level": "city"}, "city_review_required", False, ["lhasa §11"], []),
    ("lhasa", "§4/§7", {"amount": M}, "opinion_departments", ["crypto", "cyberspace", "finance", "ndrc"],
     ["lhasa §4", "lhasa §7"], []),
    ("lhasa", "§11", {"amount": M}, "review_sla_workdays",
     {"formal_review": 5, "issue_approval": 2, "return_feedback": 2, "applicant_revision": 3, "second_review": 3},
     ["lhasa §11"], []),
    ("lhasa", "§11", {"amount": M}, "max_review_rounds", 2, ["lhasa §11"], []),
    ("lhasa", "§7", {"amount": M}, "max_declarations_per_org_per_year", 2, ["lhasa §7"], []),
    ("lhasa", "§13", {"amount": 1}, "supervision_required", True, ["lhasa §13"], []),
    ("lhasa", "§17", {"amount": M}, "acceptance_organizer", "bureau", ["lhasa §17"], []),
    ("lhasa", "§17", {"amount": M}, "final_acceptance_within_months", {"months": 6, "from": "initial_acceptance"},
     ["lhasa §17"], []),
    ("lhasa", "§20", {"amount": M}, "om_funding_blocked_years", 3, ["lhasa §20"], []),
    ("lhasa", "§21", {"amount": 100 * M}, "financial_review", {"by": "bureau_financial_review", "within_months": 2},
     ["lhasa §21"], []),
    ("lhasa", "§21", {"amount": Decimal("100000000.01")}, "financial_review", {"by": "audit", "within_months": 2},
     ["lhasa §21"], []),
    ("lhasa", "§21", {"amount": 150 * M, "approved_amount": 100 * M}, "financial_review",
     {"by": "bureau_financial_review", "within_months": 2}, None, []),
    ("lhasa", "§22", {"amount": M}, "self_evaluation_window_months", [12, 24], ["lhasa §22"], []),
    ("lhasa", "§22", {"amount": M}, "evaluation_start_workdays", 10, ["lhasa §22"], []),
    # §16: cumulative absolute adjustments (earlier ones + this one) <= 15% → file only.
    ("lhasa", "§16", {"amount": M, "cumulative_change_amount": 100_000, "change_amount": 50_000},
     "change_requires_rereview", False, ["lhasa §16"], []),
    ("lhasa", "§16", {"amount": M, "cumulative_change_amount": 100_000, "change_amount": 50_001},
     "change_requires_rereview", True, ["lhasa §16"], []),
    ("lhasa", "§16", {"amount": M, "change_amount": 150_001}, "change_requires_rereview", True, ["lhasa §16"], []),
    ("lhasa", "§16", {"amount": M, "change_amount": 10_000}, "change_requires_rereview", None, ["lhasa §16"],
     ["cumulative_change_amount"]),
    ("lhasa", "§16", {"amount": M, "change_amount": 10_000, "cumulative_change_amount": 0},
     "change_requires_rereview", False, None, []),
    ("lhasa", "none", {"amount": M}, "contract_filing_workdays", None, [], []),
    # ---------------- heze-2021 (expired, still answers) ----------------
    ("heze-2021", "§4/§10/§11", {"amount": M}, "approver", "bureau",
     ["heze-2021 §10", "heze-2021 §11", "heze-2021 §4"], []),
    ("heze-2021", "§8/§9/§27", {"amount": M}, "required_documents",
     ["pre_performance_assessment", "resource_catalog", "technical_scheme"],
     ["heze-2021 §27", "heze-2021 §8", "heze-2021 §9"], []),
    ("heze-2021", "§16", {"amount": M}, "contract_filing_workdays", 5, ["heze-2021 §16"], []),
    ("heze-2021", "§15", {"amount": 100 * M}, "supervision_required", False, ["heze-2021 §15"], []),
    ("heze-2021", "§22/§23", {"amount": M}, "acceptance_organizer", "unit", ["heze-2021 §22", "heze-2021 §23"], []),
    ("heze-2021", "§23", {"amount": M}, "final_acceptance_within_months", {"months": 6, "from": "completion"},
     ["heze-2021 §23"], []),
    ("heze-2021", "§24", {"amount": M}, "self_evaluation_window_months", [12, 24], ["heze-2021 §24"], []),
    ("heze-2021", "none", {"amount": M}, "ndrc_documents", None, [], []),
    ("heze-2021", "none", {"amount": M, "change_amount": M}, "change_requires_rereview", None, [], []),
    # ---------------- shuangyashan-2024 ----------------
    ("shuangyashan-2024", "§17/§19", {"amount": M}, "approver", "bureau",
     ["shuangyashan-2024 §17", "shuangyashan-2024 §19"], []),
    ("shuangyashan-2024", "§17/§18", {"amount": M}, "ndrc_documents", ["feasibility_study"],
     ["shuangyashan-2024 §17", "shuangyashan-2024 §18"], []),
    ("shuangyashan-2024", "§17/§20/§31", {"amount": M, "construction_type": "upgrade"}, "required_documents",
     ["feasibility_study", "pre_performance_assessment"],
     ["shuangyashan-2024 §17", "shuangyashan-2024 §20", "shuangyashan-2024 §31"], []),
    ("shuangyashan-2024", "§20(2)", {"amount": M, "construction_type": "new", "emergency": True},
     "required_documents", ["feasibility_study", "pre_performance_assessment"], None, []),
    ("shuangyashan-2024", "§17/§19/§31",
     {"amount": M, "construction_type": "new", "emergency": False, "simple": False}, "required_documents",
     ["feasibility_study", "pre_performance_assessment", "preliminary_design"],
     ["shuangyashan-2024 §17", "shuangyashan-2024 §19", "shuangyashan-2024 §31"], []),
    ("shuangyashan-2024", "§20", {"amount": M, "construction_type": "new"}, "required_documents", None, None,
     ["emergency", "simple"]),
    ("shuangyashan-2024", "§40", {"amount": M, "tenant_level": "county"}, "city_review_required", True,
     ["shuangyashan-2024 §40"], []),
    ("shuangyashan-2024", "§40", {"amount": M, "tenant_level": "city"}, "city_review_required", False, None, []),
    ("shuangyashan-2024", "§8/§17-§19", {"amount": M}, "review_sla_workdays",
     {"ndrc_approval": 8, "design_review": 20},
     ["shuangyashan-2024 §17", "shuangyashan-2024 §18", "shuangyashan-2024 §19", "shuangyashan-2024 §8"], []),
    ("shuangyashan-2024", "§17-§19", {"amount": M, "built_by_bureau": False}, "review_sla_workdays",
     {"bureau_review": 15, "ndrc_approval": 8, "design_review": 20},
     ["shuangyashan-2024 §17", "shuangyashan-2024 §18", "shuangyashan-2024 §19"], []),
    ("shuangyashan-2024", "§13", {"amount": M, "org_budget_units": 4}, "max_declarations_per_org_per_year", 4,
     ["shuangyashan-2024 §13"], []),
    ("shuangyashan-2024", "§13", {"amount": M}, "max_declarations_per_org_per_year", None,
     ["shuangyashan-2024 §13"], ["org_budget_units"]),
    ("shuangyashan-2024", "§25(2)", {"amount": M}, "warranty_min_years", 2, ["shuangyashan-2024 §25(2)"], []),
    ("shuangyashan-2024", "§29(1)", {"amount": M}, "trial_run_min_months", 1, ["shuangyashan-2024 §29(1)"], []),
    ("shuangyashan-2024", "§29(3)", {"amount": M, "contract_amount": Decimal("999999.99")},
     "third_party_acceptance_test", False, ["shuangyashan-2024 §29(3)"], []),
    ("shuangyashan-2024", "§29(3)", {"amount": M, "contract_amount": M}, "third_party_acceptance_test", True,
     ["shuangyashan-2024 §29(3)"], []),
    ("shuangyashan-2024", "§29(3)", {"amount": M}, "third_party_acceptance_test", None,
     ["shuangyashan-2024 §29(3)"], ["contract_amount"]),
    ("shuangyashan-2024", "§8/§28", {"amount": M}, "acceptance_organizer", "bureau",
     ["shuangyashan-2024 §28", "shuangyashan-2024 §8"], []),
    ("shuangyashan-2024", "§28", {"amount": M, "built_by_bureau": False}, "acceptance_organizer",
     "unit_with_bureau_supervision", ["shuangyashan-2024 §28"], []),
    ("shuangyashan-2024", "§31", {"amount": M}, "self_evaluation_window_months", [6, 12],
     ["shuangyashan-2024 §31"], []),
    ("shuangyashan-2024", "none", {"amount": M}, "supervision_required", None, [], []),
]


@pytest.mark.parametrize(
    ("pack_id", "article", "facts", "key", "value", "cite", "needs"),
    ROWS,
    ids=[f"{r[0]}-{r[1]}-{r[3]}-{i}" for i, r in enumerate(ROWS)],
)
def test_pack_rule(
    registry: PolicyRegistry,
    pack_id: str,
    article: str,
    facts: dict[str, Any],
    key: str,
    value: Any,
    cite: list[str] | None,
    needs: list[str],
) -> None:
    """The engine's answer for one row of the source document."""
    answer = evaluate(registry.get(pack_id), facts)[key]
    assert answer.value == value, article
    if cite is not None:
        assert answer.cite == cite, article
    if value is not None or needs:
        # A decided value and a missing fact both point at the article.
        assert answer.cite, article
    assert answer.needs == needs, article


BOUNDARIES = [500_000, 1_000_000, 5_000_000, 10_000_000, 20_000_000, 100_000_000]


@pytest.mark.parametrize("amount", BOUNDARIES)
def test_boundaries_exact_amounts(registry: PolicyRegistry, amount: int) -> None:
    """At each boundary amount, each pack answers from the side its document puts the number on."""
    q = evaluate(registry.get("qiaokou-2022"), {"amount": amount, "goods_and_services_only": False})
    w = evaluate(registry.get("wuxing-2023"), {"amount": amount, "category": "cross_department"})
    lh = evaluate(registry.get("lhasa"), {"amount": amount, "simple": True})
    # qiaokou §15: 50万 itself is approved by the bureau (以下 "不含50万元").
    assert q.value("approver") == "bureau"
    # qiaokou §26: from 100万 (含) supervised; wuxing §17: 100万及以上.
    assert q.value("supervision_required") is (amount >= 1_000_000)
    assert w.value("supervision_required") is (amount >= 1_000_000)
    # qiaokou §28(1): only *above* 1000万 the trial run is 3 months.
    assert q.value("trial_run_min_months") == (3 if amount > 10_000_000 else 1)
    # qiaokou §28(3): 500万 (含) and above → competent department organizes.
    assert (q.value("acceptance_organizer") == "department_with_bureau") is (amount >= 5_000_000)
    # wuxing §10/§13: 500万以上 includes 500万; 2000万以上 includes 2000万.
    assert w.value("city_review_required") is (amount >= 5_000_000)
    assert ("preliminary_design" in w.value("ndrc_documents")) is (amount >= 20_000_000)
    # wuxing §20: 50万以下 includes 50万 → self-organized.
    assert (w.value("acceptance_organizer") == "unit") is (amount <= 500_000)
    # lhasa §10: 1000万 (不含) — at 1000万 the simple route is closed.
    assert (lh.value("alternative_documents") == []) is (amount >= 10_000_000)
    # lhasa §21: 1亿 (含) 以内 → financial review, not audit.
    assert lh.value("financial_review")["by"] == "bureau_financial_review"
