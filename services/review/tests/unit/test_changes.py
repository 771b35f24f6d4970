"""Change control after approval: re-review or file only, per pack (qiaokou §19, wuxing §19, lhasa §16)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from govkit.errors import AppError
from govkit.policy import PolicyRegistry
from review.domain import changes as ch
from review.domain.changes import ChangeKind, ChangeOutcome, ChangeStatus

BASE = Decimal(1_000_000)


def route(
    packs: PolicyRegistry, pack: str, new: Decimal | None, *, cumulative: int = 0, major: bool = False
) -> ch.Routing:
    return ch.route(
        packs.get(pack),
        {"amount": BASE, "category": "business_app"},
        base_amount=BASE,
        new_amount=new,
        cumulative_before=Decimal(cumulative),
        major_content_change=major,
    )


def test_qiaokou_more_than_ten_percent_or_major_content_is_re_reviewed(packs: PolicyRegistry) -> None:
    assert route(packs, "qiaokou-2022", Decimal(1_100_000)).outcome is ChangeOutcome.FILE_ONLY  # exactly 10%
    over = route(packs, "qiaokou-2022", Decimal("1100000.01"))
    assert over.outcome is ChangeOutcome.RE_REVIEW and over.cite == ("qiaokou-2022 §19",)
    assert (
        route(packs, "qiaokou-2022", Decimal(899_999)).outcome is ChangeOutcome.RE_REVIEW
    )  # decreases count too
    assert route(packs, "qiaokou-2022", None, major=True).outcome is ChangeOutcome.RE_REVIEW


def test_wuxing_one_million_or_ten_percent(packs: PolicyRegistry) -> None:
    assert route(packs, "wuxing-2023", Decimal(1_050_000)).outcome is ChangeOutcome.FILE_ONLY
    assert route(packs, "wuxing-2023", Decimal(1_100_001)).outcome is ChangeOutcome.RE_REVIEW
    big = ch.route(
        packs.get("wuxing-2023"),
        {"amount": Decimal(50_000_000)},
        base_amount=Decimal(50_000_000),
        new_amount=Decimal(51_000_000),
        cumulative_before=Decimal(0),
        major_content_change=False,
    )
    assert big.outcome is ChangeOutcome.RE_REVIEW and big.cite == ("wuxing-2023 §19(2)",)


def test_lhasa_cumulative_adjustments_within_fifteen_percent_are_filed(packs: PolicyRegistry) -> None:
    assert route(packs, "lhasa", Decimal(1_100_000), cumulative=50_000).outcome is ChangeOutcome.FILE_ONLY
    assert route(packs, "lhasa", Decimal(1_100_000), cumulative=50_001).outcome is ChangeOutcome.RE_REVIEW
    alone = route(packs, "lhasa", Decimal(1_150_001))
    assert alone.outcome is ChangeOutcome.RE_REVIEW and alone.cite == ("lhasa §16",)


def test_no_rule_means_the_bureau_decides(packs: PolicyRegistry) -> None:
    heze = route(packs, "heze-2021", Decimal(1_010_000))
    assert heze.outcome is ChangeOutcome.RE_REVIEW and heze.cite == () and heze.note


def test_validation_and_decision() -> None:
    with pytest.raises(AppError) as err:
        ch.validate(ChangeKind.AMOUNT, description="增加功能", new_amount=None, base_amount=BASE)
    assert err.value.code == "CHANGE_AMOUNT_REQUIRED"
    with pytest.raises(AppError):
        ch.validate(ChangeKind.CONTENT, description="x", new_amount=BASE, base_amount=BASE)
    with pytest.raises(AppError):
        ch.validate(ChangeKind.AMOUNT, description="x", new_amount=BASE, base_amount=BASE)
    now = datetime.now(UTC)
    request = ch.ChangeRequest(
        id="ch",
        tenant_id="t",
        approval_id="a",
        case_id="c",
        kind=ChangeKind.AMOUNT,
        description="x",
        base_amount=BASE,
        change_amount=Decimal(1),
        cumulative_before=Decimal(0),
        major_content_change=False,
        status=ChangeStatus.UNDER_REVIEW,
        routed=ChangeOutcome.RE_REVIEW,
        requested_by="u",
        requested_at=now,
    )
    with pytest.raises(AppError):
        ch.decide(request, approve=False, by="h", at=now, reason="")
    assert ch.decide(request, approve=True, by="h", at=now, reason="").status is ChangeStatus.APPROVED
