"""The packs' review_process section (plan-review documents and fields, opinion deadlines) and
qiaokou's department opinions (§6), which the review service routes cases by."""

from __future__ import annotations

import pytest

from govkit.policy import PolicyRegistry, evaluate, opinions, review_process

M = 1_000_000


def test_qiaokou_declaration_is_the_application_form_with_its_fields(registry: PolicyRegistry) -> None:
    got = review_process(registry.get("qiaokou-2022"), {"amount": M})
    assert got["plan_documents"].value == ["application_form"]
    assert got["plan_documents"].cite == ["qiaokou-2022 §10"]
    assert [f["code"] for f in got["plan_fields"]] == ["necessity", "goals", "content", "breakdown"]
    assert all(f["applies"] is True and f["cite"] == ["qiaokou-2022 §10"] for f in got["plan_fields"])
    # §11(1) sets a date (end of September), not a working-day limit for opinions.
    assert got["opinion_workdays"].value is None and got["opinion_workdays"].cite == []


@pytest.mark.parametrize(
    ("facts", "departments", "cite"),
    [
        ({"amount": 2 * M, "goods_and_services_only": False}, ["crypto", "finance", "ndrc", "police"],
         ["qiaokou-2022 §15", "qiaokou-2022 §6"]),
        ({"amount": 2 * M - 1}, ["crypto", "finance", "police"], ["qiaokou-2022 §6"]),
        ({"amount": 5 * M, "goods_and_services_only": True}, ["crypto", "finance", "police"],
         ["qiaokou-2022 §6"]),
    ],
)  # fmt: skip
def test_qiaokou_asks_ndrc_only_for_the_projects_it_approves(
    registry: PolicyRegistry, facts: dict[str, object], departments: list[str], cite: list[str]
) -> None:
    pack = registry.get("qiaokou-2022")
    req = evaluate(pack, facts)["opinion_departments"]
    assert (req.value, req.cite) == (departments, cite)
    listed = {o["department"] for o in opinions(pack, facts) if o["applies"]}
    assert sorted(listed) == departments


def test_qiaokou_opinion_rule_waits_for_the_goods_fact_above_2m(registry: PolicyRegistry) -> None:
    req = evaluate(registry.get("qiaokou-2022"), {"amount": 3 * M})["opinion_departments"]
    assert req.value is None and req.needs == ["goods_and_services_only"]


def test_wuxing_declaration_needs_fs_and_performance_goals(registry: PolicyRegistry) -> None:
    got = review_process(registry.get("wuxing-2023"), {"amount": M})
    assert got["plan_documents"].value == ["application_form", "feasibility_study"]
    goals = next(f for f in got["plan_fields"] if f["code"] == "performance_goals")
    assert goals["cite"] == ["wuxing-2023 §8(2)"]


def test_lhasa_framework_fields_only_for_cross_department_projects(registry: PolicyRegistry) -> None:
    pack = registry.get("lhasa")
    cross = review_process(pack, {"amount": M, "category": "cross_department"})
    single = review_process(pack, {"amount": M, "category": "business_app"})
    assert [f["applies"] for f in cross["plan_fields"]] == [True, True]
    assert [f["applies"] for f in single["plan_fields"]] == [False, False]
    assert cross["plan_documents"].value is None  # §7 names no documents for the pre-review
    assert (cross["opinion_workdays"].value, cross["opinion_workdays"].cite) == (5, ["lhasa §11", "lhasa §4"])


def test_shuangyashan_opinion_deadline_only_when_a_unit_builds(registry: PolicyRegistry) -> None:
    pack = registry.get("shuangyashan-2024")
    unit_built = review_process(pack, {"amount": M, "built_by_bureau": False})
    assert unit_built["opinion_workdays"].value == 15
    # §8: the bureau builds by default; its own projects have no §17 review step.
    assert review_process(pack, {"amount": M})["opinion_workdays"].value is None
    assert unit_built["plan_documents"].value == ["pre_performance_assessment", "technical_scheme"]


def test_a_pack_without_the_section_answers_no_rule(registry: PolicyRegistry) -> None:
    got = review_process(registry.get("heze-2021"), {"amount": M})
    assert got["plan_documents"].value is None and got["plan_fields"] == []
