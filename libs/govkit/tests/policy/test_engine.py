"""The engine itself: contract shape, a made-up pack, facts validation, loading errors, extras."""

from __future__ import annotations

import ast
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from govkit.policy import (
    REQUIREMENT_KEYS,
    FactsError,
    PackLoadError,
    PolicyRegistry,
    UnknownPackError,
    acceptance_checklist,
    call_calendar,
    evaluate,
    evaluation_indicators,
    load_pack,
    obligations,
    opinions,
    plan_slot,
    pre_review_date,
    prohibited_types,
    prohibition,
    quotas,
    review_criteria,
)

SHIPPED = ("qiaokou-2022", "wuxing-2023", "lhasa", "heze-2021", "shuangyashan-2024")
CONTRACT_KEYS = {
    "approver", "ndrc_documents", "alternative_documents", "required_documents", "city_review_required",
    "opinion_departments", "review_sla_workdays", "max_review_rounds", "approval_validity_months",
    "max_declarations_per_org_per_year", "change_requires_rereview", "contract_filing_workdays",
    "supervision_required", "warranty_min_years", "trial_run_min_months", "third_party_acceptance_test",
    "acceptance_organizer", "acceptance_filing_workdays", "final_acceptance_within_months",
    "rectification_months", "financial_review", "self_evaluation_window_months", "evaluation_start_workdays",
    "om_funding_blocked_years",
}  # fmt: skip
CITE_RE = re.compile(r"^[a-z0-9-]+ §[1-9][0-9]*(\([1-9][0-9]*\))?$")
FULL_FACTS: dict[str, Any] = {
    "amount": 3_000_000,
    "category": "cross_department",
    "construction_type": "new",
    "goods_and_services_only": False,
    "simple": False,
    "emergency": False,
    "public_facing": True,
    "contract_amount": 2_800_000,
    "change_amount": 100_000,
    "cumulative_change_amount": 50_000,
    "org_budget_units": 3,
    "tenant_level": "county",
    "built_by_bureau": False,
    "major_content_change": False,
    "approved_amount": 3_000_000,
}

# ------------------------------------------------------------------ contract shape


def test_requirement_keys_are_the_contract_table() -> None:
    assert set(REQUIREMENT_KEYS) == CONTRACT_KEYS


@pytest.mark.parametrize("pack_id", SHIPPED)
@pytest.mark.parametrize("facts", [FULL_FACTS, {"amount": 1}], ids=["all-facts", "amount-only"])
def test_every_key_present_with_citations(
    registry: PolicyRegistry, pack_id: str, facts: dict[str, Any]
) -> None:
    """Every contract key, nothing else; decided values cite; null without needs cites nothing."""
    body = evaluate(registry.get(pack_id), facts).to_json()
    assert body["pack"] == pack_id
    assert set(body["requirements"]) == CONTRACT_KEYS
    for key, req in body["requirements"].items():
        assert set(req) <= {"value", "cite", "needs"}, key
        assert req["cite"] == sorted(req["cite"]), key
        assert all(CITE_RE.match(c) and c.startswith(f"{pack_id} §") for c in req["cite"]), key
        if req["value"] is not None:
            assert req["cite"], f"{pack_id} {key}: decided without a citation"
            assert "needs" not in req, key
            if isinstance(req["value"], list) and all(isinstance(v, str) for v in req["value"]):
                assert req["value"] == sorted(req["value"]), key
        elif "needs" in req:
            assert req["cite"] and req["needs"] == sorted(req["needs"]), key
        else:
            assert req["cite"] == [], f"{pack_id} {key}: null means 'no rule', so no citation"


@pytest.mark.parametrize("pack_id", SHIPPED)
def test_all_facts_decide_everything_the_document_rules(registry: PolicyRegistry, pack_id: str) -> None:
    """With every fact given, no rule is left waiting for one."""
    reqs = evaluate(registry.get(pack_id), FULL_FACTS)
    assert [k for k, r in reqs.items() if r.needs] == []


def test_expired_pack_still_answers(registry: PolicyRegistry) -> None:
    heze = registry.get("heze-2021")
    assert heze.effective_until == date(2022, 12, 27)
    assert evaluate(heze, {"amount": 1}).value("contract_filing_workdays") == 5


def test_decimal_amounts_are_exact(registry: PolicyRegistry) -> None:
    """0.1 + 0.2 style float drift must not move a boundary: 10% of 0.30 is exactly 0.03."""
    q = registry.get("qiaokou-2022")
    facts = {"amount": Decimal("0.30"), "change_amount": 0.03, "major_content_change": False}
    assert evaluate(q, facts).value("change_requires_rereview") is False


# ------------------------------------------------------------------ a made-up pack


def test_made_up_pack_changes_every_answer(made_up: PolicyRegistry, registry: PolicyRegistry) -> None:
    """A pack none of the five: every answer is its own, so nothing comes from the engine."""
    pack = made_up.get("testland-2030")
    facts = {**FULL_FACTS, "amount": 420_000, "category": "infrastructure", "contract_amount": 2_600_000,
             "org_budget_units": 6, "change_amount": 100_000, "cumulative_change_amount": 70_000,
             "approved_amount": 420_000, "public_facing": False}  # fmt: skip
    got = {k: r.value for k, r in evaluate(pack, facts).items()}
    assert got == {
        "approver": "bureau",
        "ndrc_documents": [],
        "alternative_documents": [],
        "required_documents": ["application_form", "resource_catalog"],
        "city_review_required": False,
        "opinion_departments": ["ndrc", "police"],
        "review_sla_workdays": {"formal_review": 9, "expert_review": 11},
        "max_review_rounds": 4,
        "approval_validity_months": 18,
        "max_declarations_per_org_per_year": 7,
        # 100,000 is 23.8% of 420,000 (<= 25%), but with the earlier 70,000 it is 40.5% (> 40%).
        "change_requires_rereview": True,
        "contract_filing_workdays": 12,
        "supervision_required": True,
        "warranty_min_years": 5,
        "trial_run_min_months": 2,
        "third_party_acceptance_test": True,
        "acceptance_organizer": "unit_with_bureau_supervision",
        "acceptance_filing_workdays": 7,
        "final_acceptance_within_months": {"months": 9, "from": "completion"},
        "rectification_months": 4,
        "financial_review": {"by": "bureau_financial_review", "within_months": 5},
        "self_evaluation_window_months": [3, 9],
        "evaluation_start_workdays": 15,
        "om_funding_blocked_years": 2,
    }
    # The same facts under each shipped pack: the thresholds that decide differ.
    for pack_id in SHIPPED:
        shipped = evaluate(registry.get(pack_id), facts)
        assert shipped.value("contract_filing_workdays") != 12
        assert shipped.value("supervision_required") is not True or pack_id == "lhasa"


@pytest.mark.parametrize(
    ("facts", "key", "value", "cite"),
    [
        ({"amount": 299_999}, "approver", "tech_center", ["testland-2030 §3(1)"]),
        ({"amount": 300_000}, "approver", "bureau", ["testland-2030 §3(2)"]),
        ({"amount": 419_999}, "supervision_required", False, ["testland-2030 §13"]),
        ({"amount": 420_000}, "supervision_required", True, ["testland-2030 §13"]),
        (
            {"amount": 3_000_000},
            "ndrc_documents",
            ["feasibility_study", "project_proposal"],
            ["testland-2030 §4"],
        ),
        (
            {"amount": 8_000_001},
            "required_documents",
            ["application_form", "crypto_plan", "resource_catalog"],
            None,
        ),
        ({"amount": 7_000_001}, "city_review_required", True, ["testland-2030 §6"]),
        ({"amount": 1, "org_budget_units": 5}, "max_declarations_per_org_per_year", 3, None),
        ({"amount": 100, "change_amount": 25}, "change_requires_rereview", None, ["testland-2030 §11"]),
        ({"amount": 100, "change_amount": 26}, "change_requires_rereview", True, None),
        (
            {"amount": 100, "change_amount": 20, "cumulative_change_amount": 20},
            "change_requires_rereview",
            False,
            None,
        ),
        (
            {"amount": 100, "change_amount": 20, "cumulative_change_amount": 21},
            "change_requires_rereview",
            True,
            None,
        ),
        ({"amount": 100 * 10**6}, "trial_run_min_months", 6, None),
        ({"amount": 1, "contract_amount": 2_500_000}, "third_party_acceptance_test", False, None),
        ({"amount": 1, "public_facing": True}, "acceptance_organizer", "department_with_bureau", None),
        ({"amount": 1}, "acceptance_organizer", None, ["testland-2030 §17"]),
        (
            {"amount": 1, "public_facing": False},
            "acceptance_organizer",
            "unit_with_bureau_supervision",
            ["testland-2030 §17", "testland-2030 §2"],
        ),
        ({"amount": 30_000_001}, "financial_review", {"by": "audit", "within_months": 5}, None),
        (
            {"amount": 1, "simple": True},
            "alternative_documents",
            [["feasibility_study", "technical_scheme"]],
            None,
        ),
    ],
)
def test_made_up_thresholds(
    made_up: PolicyRegistry, facts: dict[str, Any], key: str, value: Any, cite: list[str] | None
) -> None:
    """Its own thresholds, operators, percentages, sums and document defaults (cited) decide."""
    answer = evaluate(made_up.get("testland-2030"), facts)[key]
    assert answer.value == value
    if cite is not None:
        assert answer.cite == cite


def test_made_up_extras(made_up: PolicyRegistry) -> None:
    pack = made_up.get("testland-2030")
    assert [p["code"] for p in prohibited_types(pack)] == ["blockchain_hype", "new_machine_room"]
    assert prohibition(pack, "new_cloud") is None
    cal = call_calendar(pack)
    assert cal["declaration_deadline"] == {"month": 6, "day": 30, "cite": ["testland-2030 §23"]}
    # nth_weekday: the 2nd Tuesday; 2031-04-01 is a Tuesday, so the 8th.
    assert pre_review_date(pack, 2031, 4) == date(2031, 4, 8)
    assert plan_slot(pack, date(2031, 7, 1)).route == "not_accepted"
    assert plan_slot(pack, date(2031, 6, 30)).plan_year == 2032
    assert [c["code"] for c in review_criteria(pack, "plan")] == ["plan_fit"]
    assert [i["code"] for i in evaluation_indicators(pack)] == ["carbon"]
    items = {i["code"]: i for i in acceptance_checklist(pack, {"amount": 1})}
    assert items["load_test"]["applies"] is True
    assert items["user_test"]["applies"] is None and items["user_test"]["needs"] == ["public_facing"]
    ops = opinions(pack, {"amount": 1, "category": "other"})
    assert [(o["department"], o["applies"]) for o in ops] == [("police", True), ("ndrc", False)]
    assert obligations(pack, "delay_report")[0]["params"] == {
        "delay_percent_over_contract_period": 30,
        "fine": Decimal(50_000),
    }


# ------------------------------------------------------------------ facts validation


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"amount": 1, "amout": 2}, "unknown fact 'amout'"),
        ({}, "missing required fact 'amount'"),
        ({"amount": "500000"}, "fact 'amount': expected a number"),
        ({"amount": True}, "fact 'amount': expected a number"),
        ({"amount": -1}, "fact 'amount': must not be negative"),
        ({"amount": 1, "simple": "yes"}, "fact 'simple'"),
        ({"amount": 1, "category": "hospital"}, "fact 'category'"),
        ({"amount": 1, "org_budget_units": 2.5}, "fact 'org_budget_units'"),
        ({"amount": 1, "tenant_level": 1}, "fact 'tenant_level'"),
    ],
)
def test_bad_facts_are_errors(registry: PolicyRegistry, facts: dict[str, Any], message: str) -> None:
    with pytest.raises(FactsError, match=re.escape(message)):
        evaluate(registry.get("wuxing-2023"), facts)


def test_facts_must_be_an_object(registry: PolicyRegistry) -> None:
    with pytest.raises(FactsError, match="JSON object"):
        evaluate(registry.get("wuxing-2023"), [1, 2])  # type: ignore[arg-type]


def test_unknown_pack(registry: PolicyRegistry) -> None:
    with pytest.raises(UnknownPackError, match="unknown pack 'nope'"):
        registry.get("nope")


# ------------------------------------------------------------------ loading errors


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        ("unknown-key.yaml", 14, "unknown key 'threshhold'"),
        ("unknown-top.yaml", 10, "unknown key 'rulez'"),
        ("no-article.yaml", 10, "missing key 'cite'"),
        ("empty-cite.yaml", 10, "prohibited_types.0.cite"),
        ("bad-amount.yaml", 16, "bad amount '一百万'"),
        ("float-amount.yaml", 13, "bad amount 1000000.5"),
        ("duplicate-key.yaml", 14, "duplicate key 'warranty_min_years'"),
        ("wrong-value.yaml", 13, "'tech_center' or 'bureau'"),
        ("bool-vs-amount.yaml", 13, "need amount facts"),
        ("bad-yaml.yaml", 5, "invalid YAML"),
    ],
)
def test_broken_pack_names_file_and_line(broken_dir: Path, name: str, line: int, message: str) -> None:
    file = broken_dir / name
    with pytest.raises(PackLoadError) as info:
        load_pack(file)
    assert info.value.file == file
    assert info.value.line == line
    assert f"{file}:{line}:" in str(info.value)
    assert message in str(info.value)


def test_pack_id_must_match_file_name(tmp_path: Path, made_up_dir: Path) -> None:
    text = (made_up_dir / "otherland-2031.yaml").read_text(encoding="utf-8")
    file = tmp_path / "elsewhere-2031.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(PackLoadError, match=r"elsewhere-2031.yaml:\d+: pack id 'otherland-2031'"):
        load_pack(file)


def test_registry_checks_tenants_file(tmp_path: Path, made_up_dir: Path) -> None:
    (tmp_path / "otherland-2031.yaml").write_text(
        (made_up_dir / "otherland-2031.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "tenants.yaml").write_text(
        'tenants:\n  x:\n    name: X\n    region_code: "990100"\n    level: city\n    packs: [ghost-2020]\n',
        encoding="utf-8",
    )
    with pytest.raises(PackLoadError, match=r"tenants.yaml:6: tenant 'x': unknown pack 'ghost-2020'"):
        PolicyRegistry.load(tmp_path)


def test_policies_dir_from_environment(monkeypatch: pytest.MonkeyPatch, made_up_dir: Path) -> None:
    monkeypatch.setenv("GOVPROJ_POLICIES_DIR", str(made_up_dir))
    assert sorted(PolicyRegistry.load().packs) == ["otherland-2031", "testland-2030", "testland-2035"]
    monkeypatch.delenv("GOVPROJ_POLICIES_DIR")
    assert sorted(PolicyRegistry.load().packs) == sorted(SHIPPED)


def _code_strings(file: Path) -> list[str]:
    """Identifiers and string literals of a module, docstrings left out (they may give examples)."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            out.append(node.value)
        elif isinstance(node, ast.Name):
            out.append(node.id)
        elif isinstance(node, ast.Attribute):
            out.append(node.attr)
    return out


def test_engine_has_no_jurisdiction_in_code() -> None:
    """Rules are data: no pack id, place name or amount literal in the engine's code."""
    import govkit.policy as policy

    words = (
        *SHIPPED,
        "qiaokou",
        "wuxing",
        "lhasa",
        "heze",
        "shuangyashan",
        "硚口",
        "吴兴",
        "拉萨",
        "菏泽",
        "双鸭山",
    )
    for file in Path(policy.__file__).parent.glob("*.py"):
        for text in _code_strings(file):
            assert not any(w in text.lower() for w in words), (file.name, text)


# ------------------------------------------------------------------ intake and review extras


def test_prohibited_types_per_document(registry: PolicyRegistry) -> None:
    codes = {pid: {p["code"] for p in prohibited_types(registry.get(pid))} for pid in SHIPPED}
    assert {"new_machine_room", "new_cloud", "new_data_center"} <= codes["wuxing-2023"]
    assert {
        "new_machine_room",
        "new_cloud",
        "new_data_center",
        "not_on_gov_cloud",
        "project_splitting",
    } <= codes["qiaokou-2022"]
    assert {"not_on_gov_cloud", "duplicate_function", "idle_system_upgrade", "unclear_goals"} <= codes[
        "shuangyashan-2024"
    ]
    assert codes["lhasa"] == {"new_machine_room"}
    assert codes["heze-2021"] == set()
    assert prohibition(registry.get("wuxing-2023"), "project_splitting") == {
        "code": "project_splitting",
        "label_zh": "以化整为零的方式拆分项目规避监管",
        "cite": ["wuxing-2023 §8(6)"],
    }


def test_qiaokou_ten_review_criteria(registry: PolicyRegistry) -> None:
    criteria = review_criteria(registry.get("qiaokou-2022"), "approval")
    assert len(criteria) == 10
    assert [c["cite"] for c in criteria] == [[f"qiaokou-2022 §18({i})"] for i in range(1, 11)]
    assert all(c["label_zh"] for c in criteria)


def test_evaluation_indicators(registry: PolicyRegistry) -> None:
    wuxing = [i["code"] for i in evaluation_indicators(registry.get("wuxing-2023"))]
    qiaokou = [i["code"] for i in evaluation_indicators(registry.get("qiaokou-2022"))]
    assert wuxing == ["cost_effectiveness", "application_effect", "sharing", "security", "innovation"]
    assert set(wuxing) < set(qiaokou)
    assert {"quality", "operational_efficiency", "frequency_of_use", "economic_social_benefit"} <= set(
        qiaokou
    )


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2025, 9, date(2025, 9, 25)),  # starts Monday: rows = 4th Thursday
        (2025, 8, date(2025, 8, 21)),  # starts Friday: row 4's Thursday is the 3rd Thursday
        (2025, 5, date(2025, 5, 22)),  # starts Thursday: 4th Thursday
        (2026, 2, date(2026, 2, 19)),  # starts Sunday
    ],
)
def test_lhasa_pre_review_fourth_week_thursday(
    registry: PolicyRegistry, year: int, month: int, expected: date
) -> None:
    assert pre_review_date(registry.get("lhasa"), year, month) == expected


def test_call_calendars(registry: PolicyRegistry) -> None:
    lhasa = registry.get("lhasa")
    assert call_calendar(lhasa)["declaration_deadline"] == {"month": 8, "day": 31, "cite": ["lhasa §7"]}
    assert plan_slot(lhasa, date(2025, 8, 31)).to_json() == {
        "route": "annual_plan",
        "plan_year": 2026,
        "cite": ["lhasa §7"],
    }
    assert plan_slot(lhasa, date(2025, 9, 1)).plan_year == 2027
    wuxing = registry.get("wuxing-2023")
    assert call_calendar(wuxing)["late_declarations"]["route"] == "supplementary_only"
    assert plan_slot(wuxing, date(2025, 9, 1)).route == "unknown"  # deadline announced yearly
    assert call_calendar(registry.get("shuangyashan-2024"))["call_month"]["month"] == 7
    assert call_calendar(registry.get("heze-2021")) == {}


def test_quotas_and_acceptance_checklist(registry: PolicyRegistry) -> None:
    sy = registry.get("shuangyashan-2024")
    assert quotas(sy, {"amount": 1, "org_budget_units": 6})["max_declarations_per_org_per_year"].value == 6
    facts = {"amount": 1, "contract_amount": 999_999, "public_facing": True}
    items = {i["code"]: i["applies"] for i in acceptance_checklist(sy, facts)}
    assert items["third_party_acceptance_test"] is False
    assert items["user_testing"] is True
    assert {o["department"] for o in opinions(registry.get("wuxing-2023"))} == {
        "reform", "finance", "cyberspace", "crypto", "police",
    }  # fmt: skip


def test_obligations_with_facts_say_whether_their_condition_applies(registry: PolicyRegistry) -> None:
    pack = registry.get("shuangyashan-2024")
    users = [
        o for o in obligations(pack, "acceptance_evidence") if o["params"]["kind"] == "user_participation"
    ]
    assert "applies" not in users[0]
    public = obligations(pack, "acceptance_evidence", {"amount": 1, "public_facing": True})
    internal = obligations(pack, "acceptance_evidence", {"amount": 1, "public_facing": False})
    unknown = obligations(pack, "acceptance_evidence", {"amount": 1})
    kinds = {o["params"]["kind"]: o for o in public}
    assert kinds["user_participation"]["applies"] is True
    assert kinds["user_participation"]["cite"] == ["shuangyashan-2024 §29(5)"]
    assert kinds["mlps"]["applies"] is True  # no condition: always
    assert [o["applies"] for o in internal if o["params"]["kind"] == "user_participation"] == [False]
    assert [o.get("needs") for o in unknown if o["params"]["kind"] == "user_participation"] == [
        ["public_facing"]
    ]
