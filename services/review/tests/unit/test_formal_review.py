"""Formal review checklists come from the pack for the facts, with articles."""

from decimal import Decimal

from govkit.policy import PolicyRegistry
from review.domain.declaration import DeclarationSnapshot, Material, from_payload
from review.domain.formal_review import approval_checklist, plan_checklist


def material(doc_type: str) -> Material:
    return Material(
        doc_type=doc_type,
        filename=f"{doc_type}.pdf",
        sha256="0" * 64,
        size=10,
        content_type="application/pdf",
    )


def declaration(**kw: object) -> DeclarationSnapshot:
    base: dict[str, object] = {
        "declaration_id": "d",
        "tenant_id": "county-b",
        "org_id": "unit-1",
        "name": "智慧城管",
        "amount": Decimal("800000"),
        "category": "business_app",
        "necessity": "分散建设",
        "goals": "统一平台",
        "content": "建设城管业务系统",
        "breakdown": [{"item": "软件", "amount": "800000"}],
        "materials": (material("application_form"),),
    }
    base.update(kw)
    return DeclarationSnapshot(**base)  # type: ignore[arg-type]


def test_qiaokou_complete_declaration_passes(packs: PolicyRegistry) -> None:
    d = declaration()
    check = plan_checklist(packs.get("qiaokou-2022"), d.facts(tenant_level="county"), d)
    assert check.complete
    assert check.cite == ["qiaokou-2022 §10"]


def test_qiaokou_missing_form_and_blank_content_are_listed_for_correction(packs: PolicyRegistry) -> None:
    d = declaration(materials=(), content="  ", breakdown=None)
    check = plan_checklist(packs.get("qiaokou-2022"), d.facts(tenant_level="county"), d)
    assert [i.code for i in check.missing] == ["application_form", "content", "breakdown"]
    assert check.missing_labels() == ["缺少项目申报表", "未填写主要建设内容", "未填写投资估算及年度资金估算"]


def test_wuxing_needs_the_feasibility_study_and_performance_goals(packs: PolicyRegistry) -> None:
    d = declaration(tenant_id="county-a")
    check = plan_checklist(packs.get("wuxing-2023"), d.facts(tenant_level="county"), d)
    missing = {i.code: i.cite for i in check.missing}
    assert missing == {"feasibility_study": ("wuxing-2023 §7",), "performance_goals": ("wuxing-2023 §8(2)",)}


def test_reviewer_notes_join_the_list() -> None:
    from review.domain.formal_review import FormalCheck

    check = FormalCheck(items=()).with_reviewer_items(["预算明细与申报表不一致", " "])
    assert check.missing_labels() == ["预算明细与申报表不一致"]


def test_lhasa_approval_documents_with_the_simple_project_alternative(packs: PolicyRegistry) -> None:
    lhasa = packs.get("lhasa")
    facts = {"amount": Decimal("3000000"), "simple": True}
    check = approval_checklist(lhasa, facts, frozenset({"crypto_plan", "implementation_plan"}))
    assert check.complete
    check = approval_checklist(lhasa, facts, frozenset({"crypto_plan"}))
    assert [i.label_zh for i in check.missing] == ["实施方案或初步设计（含概算）（任选其一）"]
    full = approval_checklist(lhasa, {"amount": Decimal("30000000")}, frozenset({"crypto_plan"}))
    assert sorted(i.code for i in full.missing) == ["feasibility_study", "preliminary_design"]


def test_a_rule_waiting_for_a_fact_asks_the_applicant(packs: PolicyRegistry) -> None:
    # qiaokou ≥ 200万: FS and PD unless goods and services only — the applicant must say which.
    check = approval_checklist(packs.get("qiaokou-2022"), {"amount": Decimal("3000000")}, frozenset())
    assert "fact_goods_and_services_only" in [i.code for i in check.missing]
    assert "请说明是否仅为货物和服务类项目" in check.missing_labels()


def test_payload_snapshot_reads_new_fields_and_ignores_unknown_ones() -> None:
    snap = from_payload(
        {
            "declaration_id": "d",
            "tenant_id": "county-b",
            "org_id": "unit-1",
            "name": "n",
            "amount": {"amount": "1200000.00"},
            "supplementary": True,
            "target_year": 2026,
            "goods_and_services_only": False,
            "materials": [{"doc_type": "application_form", "filename": "a.pdf", "sha256": "ab", "size": 3}],
            "something_new": 1,
        }
    )
    assert snap.amount == Decimal("1200000.00") and snap.supplementary and snap.target_year == 2026
    assert snap.document_types() == frozenset({"application_form"})
    # proto3 JSON leaves out false values: an absent yes/no field of the contract reads as "no".
    assert snap.facts(tenant_level="county") == {
        "amount": Decimal("1200000.00"),
        "goods_and_services_only": False,
        "public_facing": False,
        "simple": False,
        "emergency": False,
        "tenant_level": "county",
    }
    breakdown = from_payload({"amount": {"amount": "1"}, "breakdown": {"software": {"amount": "1.00"}}})
    assert breakdown.has_field("breakdown")
    assert not from_payload({"amount": {"amount": "1"}, "breakdown": {"software": {}}}).has_field("breakdown")
    assert from_payload(snap.to_dict()) == snap
