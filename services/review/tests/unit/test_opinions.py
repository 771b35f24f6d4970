"""Department opinions are routed per pack and facts; answers need text unless a plain yes."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from govkit.errors import AppError
from govkit.policy import PolicyRegistry
from review.domain import opinions as o
from review.domain.opinions import OpinionStatus, Verdict

NOW = datetime(2025, 3, 3, tzinfo=UTC)


def test_wuxing_asks_reform_only_for_cross_department_projects(packs: PolicyRegistry) -> None:
    wuxing = packs.get("wuxing-2023")
    cross = [r.department for r in o.route(wuxing, {"amount": Decimal(1), "category": "cross_department"})]
    single = [r.department for r in o.route(wuxing, {"amount": Decimal(1), "category": "business_app"})]
    assert cross == ["crypto", "cyberspace", "finance", "police", "reform"]
    assert single == ["crypto", "cyberspace", "finance", "police"]
    police = next(
        r
        for r in o.route(wuxing, {"amount": Decimal(1), "category": "business_app"})
        if r.department == "police"
    )
    assert police.reviews_zh == "公共视频监控建设"
    assert police.cite == ("wuxing-2023 §6", "wuxing-2023 §9")


def test_qiaokou_asks_ndrc_from_two_million(packs: PolicyRegistry) -> None:
    qiaokou = packs.get("qiaokou-2022")
    big = {"amount": Decimal(2_000_000), "goods_and_services_only": False}
    assert [r.department for r in o.route(qiaokou, big)] == ["crypto", "finance", "ndrc", "police"]
    small = {"amount": Decimal("1_999_999.99")}
    assert [r.department for r in o.route(qiaokou, small)] == ["crypto", "finance", "police"]


def test_a_rule_waiting_for_a_fact_asks_every_department_that_may_apply(packs: PolicyRegistry) -> None:
    # wuxing's rule needs the category; without it the reform office may apply and is asked too.
    routed = [r.department for r in o.route(packs.get("wuxing-2023"), {"amount": Decimal(1)})]
    assert routed == ["reform", "finance", "cyberspace", "crypto", "police"]


def test_heze_sets_no_opinions(packs: PolicyRegistry) -> None:
    assert o.route(packs.get("heze-2021"), {"amount": Decimal(1)}) == []


def pending() -> o.Opinion:
    return o.Opinion(
        id="op",
        tenant_id="t",
        case_id="c",
        department="finance",
        reviews_zh="资金",
        status=OpinionStatus.PENDING,
        requested_at=NOW,
    )


def test_conditions_and_disagreement_must_say_why() -> None:
    with pytest.raises(AppError) as err:
        o.give(pending(), verdict=Verdict.DISAGREE, text=" ", by="finance.t", at=NOW)
    assert err.value.code == "OPINION_TEXT_REQUIRED"
    given = o.give(
        pending(), verdict=Verdict.AGREE_WITH_CONDITIONS, text="资金分两年安排", by="finance.t", at=NOW
    )
    assert given.status is OpinionStatus.GIVEN and given.verdict is Verdict.AGREE_WITH_CONDITIONS
    with pytest.raises(AppError):
        o.give(given, verdict=Verdict.AGREE, text="", by="finance.t", at=NOW)
    assert o.give(pending(), verdict=Verdict.AGREE, text="", by="f", at=NOW).text == ""
