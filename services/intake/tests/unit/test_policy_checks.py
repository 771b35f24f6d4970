"""What each pack says at intake: classified refusal, prohibited types, quotas, documents, supplementary."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from govkit.errors import AppError, ErrorKind
from govkit.policy import PolicyRegistry
from intake.domain import policy_checks as checks
from intake.domain.declaration import (
    AmountBreakdown,
    Category,
    ConstructionItem,
    ConstructionType,
    Declaration,
    DeclarationStatus,
)

REGISTRY = PolicyRegistry.load()
NOW = datetime(2026, 3, 2, tzinfo=UTC)


def make(**changes: object) -> Declaration:
    base = Declaration(
        id="d1",
        tenant_id="t",
        org_id="unit-1",
        name="智慧教育平台",
        category=Category.BUSINESS_APP,
        construction_type=ConstructionType.NEW,
        amount=Decimal("800000.00"),
        necessity="各学校系统分散建设",
        goals="统一平台",
        contact="张三",
        status=DeclarationStatus.DRAFT,
        version=1,
        created_by="a",
        created_at=NOW,
        updated_at=NOW,
        breakdown=AmountBreakdown(software=Decimal("800000.00")),
        performance_goals="覆盖全县中小学",
        cloud_deployment=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pack_id", "article"),
    [
        ("wuxing-2023", "wuxing-2023 §3"),
        ("qiaokou-2022", "qiaokou-2022 §41"),
        ("lhasa", "lhasa §31"),
        ("heze-2021", "heze-2021 §4"),
        ("shuangyashan-2024", "shuangyashan-2024 §39"),
    ],
)
def test_classified_projects_are_refused_under_every_pack_with_its_article(
    pack_id: str, article: str
) -> None:
    error = checks.classified_refusal(REGISTRY.get(pack_id))
    assert error.code == "CLASSIFIED_OUT_OF_SCOPE" and error.cite == [article]
    assert "保密" in error.message and error.kind is ErrorKind.PRECONDITION


def test_a_new_machine_room_is_blocked_with_each_packs_article() -> None:
    room = make(construction_items=(ConstructionItem.MACHINE_ROOM,))
    for pack_id, article in (
        ("lhasa", "lhasa §8"),
        ("wuxing-2023", "wuxing-2023 §8(1)"),
        ("qiaokou-2022", "qiaokou-2022 §11(3)"),
        ("shuangyashan-2024", "shuangyashan-2024 §13(1)"),
    ):
        with pytest.raises(AppError) as err:
            checks.ensure_not_prohibited(REGISTRY.get(pack_id), room)
        assert err.value.code == "DECLARATION_PROHIBITED" and err.value.cite == [article]
        assert err.value.details["prohibited"][0]["code"] == "new_machine_room"
    checks.ensure_not_prohibited(REGISTRY.get("heze-2021"), room)  # heze lists no prohibitions


def test_a_cloud_platform_is_prohibited_where_the_document_says_so_and_not_in_lhasa() -> None:
    cloud = make(construction_items=(ConstructionItem.CLOUD_PLATFORM,))
    assert [p["code"] for p in checks.prohibited(REGISTRY.get("wuxing-2023"), cloud)] == ["new_cloud"]
    assert checks.prohibited(REGISTRY.get("lhasa"), cloud) == []  # lhasa §8: machine rooms only


def test_not_on_the_government_cloud_is_blocked_in_shuangyashan_and_qiaokou_only() -> None:
    off_cloud = make(cloud_deployment=False)
    found = checks.prohibited(REGISTRY.get("shuangyashan-2024"), off_cloud)
    assert found == [
        {
            "code": "not_on_gov_cloud",
            "label_zh": "不部署、迁移到全市云平台的新建或升级改造项目",
            "cite": ["shuangyashan-2024 §13(2)"],
        }
    ]
    assert [p["code"] for p in checks.prohibited(REGISTRY.get("qiaokou-2022"), off_cloud)] == [
        "not_on_gov_cloud"
    ]
    assert checks.prohibited(REGISTRY.get("wuxing-2023"), off_cloud) == []
    # Operation and maintenance builds nothing new: the deployment rule does not apply.
    assert (
        checks.prohibited(
            REGISTRY.get("qiaokou-2022"), replace(off_cloud, construction_type=ConstructionType.OM)
        )
        == []
    )


def test_unclear_performance_goals_are_blocked_where_the_document_says_so() -> None:
    vague = make(performance_goals="  ")
    assert [p["cite"] for p in checks.prohibited(REGISTRY.get("wuxing-2023"), vague)] == [
        ["wuxing-2023 §8(2)"]
    ]
    assert [p["cite"] for p in checks.prohibited(REGISTRY.get("shuangyashan-2024"), vague)] == [
        ["shuangyashan-2024 §13(6)"]
    ]
    assert checks.prohibited(REGISTRY.get("lhasa"), vague) == []


def test_lhasa_allows_two_declarations_per_department_per_year() -> None:
    p = REGISTRY.get("lhasa")
    facts = checks.facts_for(make(), org_budget_units=5, tenant_level="city")
    assert checks.ensure_quota(p, facts, already=1, plan_year=2027) == ("lhasa §7",)
    with pytest.raises(AppError) as err:
        checks.ensure_quota(p, facts, already=2, plan_year=2027)
    assert err.value.code == "DECLARATION_QUOTA_EXCEEDED" and err.value.cite == ["lhasa §7"]
    assert err.value.details == {"limit": 2, "already": 2, "plan_year": 2027}


def test_shuangyashan_quota_is_the_number_of_budget_units() -> None:
    p = REGISTRY.get("shuangyashan-2024")
    three = checks.facts_for(make(), org_budget_units=3, tenant_level="city")
    checks.ensure_quota(p, three, already=2, plan_year=2027)
    with pytest.raises(AppError) as err:
        checks.ensure_quota(p, three, already=3, plan_year=2027)
    assert err.value.cite == ["shuangyashan-2024 §13"]


def test_packs_without_a_quota_set_none() -> None:
    facts = checks.facts_for(make(), org_budget_units=1, tenant_level="county")
    assert checks.ensure_quota(REGISTRY.get("wuxing-2023"), facts, already=50, plan_year=2027) == ()


def test_required_documents_follow_the_pack_and_the_facts() -> None:
    small = checks.facts_for(make(), org_budget_units=1, tenant_level="county")
    docs = checks.required_documents(REGISTRY.get("qiaokou-2022"), small)
    assert docs.required == ("application_form", "technical_scheme")
    with pytest.raises(AppError) as err:
        checks.ensure_materials(docs, {"application_form"})
    assert err.value.code == "MATERIALS_MISSING" and err.value.details["missing"] == ["technical_scheme"]
    assert "技术方案" in err.value.message and "qiaokou-2022 §10" in err.value.cite
    checks.ensure_materials(docs, {"application_form", "technical_scheme", "other"})
    large = checks.facts_for(make(amount=Decimal("3000000")), org_budget_units=1, tenant_level="county")
    assert "feasibility_study" in checks.required_documents(REGISTRY.get("qiaokou-2022"), large).required


def test_lhasa_simple_project_needs_one_of_the_alternative_documents() -> None:
    facts = checks.facts_for(make(simple=True), org_budget_units=1, tenant_level="city")
    docs = checks.required_documents(REGISTRY.get("lhasa"), facts)
    assert docs.required == ("crypto_plan",)
    assert docs.alternatives == (("implementation_plan", "preliminary_design"),)
    with pytest.raises(AppError) as err:
        checks.ensure_materials(docs, {"crypto_plan"})
    assert err.value.details["missing_one_of"] == [["implementation_plan", "preliminary_design"]]
    checks.ensure_materials(docs, {"crypto_plan", "implementation_plan"})


def test_supplementary_projects_get_the_higher_sign_off_of_their_pack() -> None:
    assert checks.supplementary_terms(
        REGISTRY.get("lhasa"), funds_secured=False
    ) == checks.SupplementaryTerms(approved_by="city_government", citations=("lhasa §7",))
    assert checks.supplementary_terms(REGISTRY.get("shuangyashan-2024"), funds_secured=False).citations == (
        "shuangyashan-2024 §16",
    )
    assert (
        checks.supplementary_terms(REGISTRY.get("qiaokou-2022"), funds_secured=False).approved_by == "bureau"
    )
    with pytest.raises(AppError) as err:
        checks.supplementary_terms(REGISTRY.get("wuxing-2023"), funds_secured=False)
    assert err.value.code == "SUPPLEMENTARY_FUNDS_NOT_SECURED" and err.value.cite == ["wuxing-2023 §7"]
    with pytest.raises(AppError) as err:
        checks.supplementary_terms(REGISTRY.get("heze-2021"), funds_secured=True)
    assert err.value.code == "SUPPLEMENTARY_NOT_PROVIDED"


def test_splitting_thresholds_and_duplicate_articles_come_from_the_pack() -> None:
    wuxing = checks.splitting_thresholds(REGISTRY.get("wuxing-2023"))
    assert [(t.amount, t.window_months) for t in wuxing] == [
        (Decimal("5000000"), 12),
        (Decimal("20000000"), 12),
    ]
    assert "wuxing-2023 §8(6)" in wuxing[0].citations
    assert checks.splitting_thresholds(REGISTRY.get("lhasa")) == []
    assert checks.duplicate_citations(REGISTRY.get("shuangyashan-2024")) == ("shuangyashan-2024 §13(4)",)
    assert checks.provincial_code_citations(REGISTRY.get("shuangyashan-2024")) == ("shuangyashan-2024 §18",)
