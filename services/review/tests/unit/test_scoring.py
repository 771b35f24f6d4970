"""Scoring sheets: the pack's criteria, every line scored, the panel's summary."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from govkit.errors import AppError
from govkit.policy import PolicyRegistry
from review.domain import scoring as s


def test_qiaokou_approval_sheet_is_the_ten_items_of_article_18(packs: PolicyRegistry) -> None:
    criteria = s.criteria_for(packs.get("qiaokou-2022"), "approval", default_pack=None)
    assert len(criteria) == 10
    assert criteria[0].cite == ("qiaokou-2022 §18(1)",) and criteria[-1].cite == ("qiaokou-2022 §18(10)",)
    plan = s.criteria_for(packs.get("qiaokou-2022"), "plan", default_pack=None)
    assert [c.cite for c in plan] == [("qiaokou-2022 §11(1)",)] * 5


def test_a_pack_without_criteria_uses_the_default_pack_cited_as_such(packs: PolicyRegistry) -> None:
    criteria = s.criteria_for(packs.get("lhasa"), "plan", default_pack=packs.get("qiaokou-2022"))
    assert len(criteria) == 10 and all(c.cite[0].startswith("qiaokou-2022 §18") for c in criteria)
    # wuxing has plan criteria only: its approval sheet uses them rather than another pack's.
    wuxing = s.criteria_for(packs.get("wuxing-2023"), "approval", default_pack=packs.get("qiaokou-2022"))
    assert next(c.code for c in wuxing) == "plan_completeness"


def sheet(expert: str, scores: dict[str, Decimal], comment: str = "") -> s.ScoreSheet:
    return s.ScoreSheet(
        id=expert,
        tenant_id="t",
        case_id="c",
        stage="approval",
        expert_id=expert,
        scores=scores,
        comments={},
        overall_comment=comment,
        total=sum(scores.values(), Decimal(0)),
        submitted_by=expert,
        submitted_at=datetime.now(UTC),
    )


def test_every_line_scored_within_the_scale(packs: PolicyRegistry) -> None:
    criteria = s.criteria_for(packs.get("qiaokou-2022"), "approval", default_pack=None)
    full = {c.code: "8" for c in criteria}
    _scores, notes, total = s.validate(criteria, full, {"approval_budget": "测算偏高 "})
    assert total == Decimal(80) and notes == {"approval_budget": "测算偏高"}
    with pytest.raises(AppError) as err:
        s.validate(criteria, {**full, "approval_budget": "10.5"}, {})
    assert err.value.code == "SCORE_INVALID"
    missing = dict(full)
    del missing["approval_security"]
    with pytest.raises(AppError) as err:
        s.validate(criteria, {**missing, "made_up": 3}, {})
    assert err.value.details == {"missing": ["approval_security"], "unknown": ["made_up"]}


def test_panel_summary_means_and_completeness(packs: PolicyRegistry) -> None:
    criteria = s.criteria_for(packs.get("qiaokou-2022"), "plan", default_pack=None)
    a = sheet("a", {c.code: Decimal(8) for c in criteria}, "可行")
    b = sheet("b", {c.code: Decimal(7) for c in criteria})
    summary = s.summarize(criteria, [a, b], expected=3)
    assert summary.criteria[0].mean == Decimal("7.50") and summary.criteria[0].minimum == Decimal(7)
    assert summary.mean_total == Decimal("37.50") and summary.max_total == Decimal(50)
    assert not summary.complete and summary.comments == ("可行",)
    assert s.summarize(criteria, [a, b], expected=2).complete
