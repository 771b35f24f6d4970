"""Expert scoring sheets (评审打分表) and the panel's summary.

The criteria are the pack's ``review_criteria`` for the stage (``plan_`` / ``approval_`` codes);
a pack with none for the stage uses its other stage's, and a pack with none at all uses the default
pack's approval criteria (qiaokou-2022 §18's ten items), cited to that pack so nobody mistakes
them for the tenant's own.

Each expert scores every criterion from 0 to :data:`SCORE_MAX` with an optional comment and gives
an overall comment. The scale is the sheet's form, not a rule of any document: the summary reports
means and spreads, and the bureau decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from govkit.errors import AppError, ErrorKind
from govkit.policy import Pack, review_criteria

SCORE_MAX = Decimal(10)  # the form's scale per criterion
_TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Criterion:
    """One line of the scoring sheet."""

    code: str
    label_zh: str
    cite: tuple[str, ...]


@dataclass(frozen=True)
class ScoreSheet:
    """One expert's sheet for one case and stage."""

    id: str
    tenant_id: str
    case_id: str
    stage: str
    expert_id: str
    scores: dict[str, Decimal]
    comments: dict[str, str]
    overall_comment: str
    total: Decimal
    submitted_by: str
    submitted_at: datetime
    reviewing_tenant_id: str | None = None


@dataclass(frozen=True)
class CriterionSummary:
    """The panel on one criterion."""

    code: str
    label_zh: str
    mean: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None


@dataclass(frozen=True)
class PanelSummary:
    """The panel's summary: per criterion and overall."""

    criteria: tuple[CriterionSummary, ...]
    sheets: int
    expected: int
    mean_total: Decimal | None
    max_total: Decimal
    complete: bool
    comments: tuple[str, ...]


def criteria_for(pack: Pack, stage: str, *, default_pack: Pack | None) -> list[Criterion]:
    """The sheet's lines for ``stage`` ("plan" / "approval" / "change" scores as approval)."""
    wanted = "approval" if stage == "change" else stage
    other = "plan" if wanted == "approval" else "approval"
    rows = review_criteria(pack, wanted) or review_criteria(pack, other)
    if not rows and default_pack is not None:
        rows = review_criteria(default_pack, "approval")
    return [Criterion(code=r["code"], label_zh=r["label_zh"], cite=tuple(r["cite"])) for r in rows]


def _score(code: str, raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0 or value > SCORE_MAX or value != value.quantize(Decimal("0.1")):
        raise AppError(
            code="SCORE_INVALID",
            message=f"评分须在0至{SCORE_MAX}分之间，最多一位小数。",
            kind=ErrorKind.INVALID,
            details={"criterion": code, "score": str(raw)},
        )
    return value


def validate(
    criteria: Sequence[Criterion], scores: Mapping[str, Any], comments: Mapping[str, str]
) -> tuple[dict[str, Decimal], dict[str, str], Decimal]:
    """Scores for exactly the sheet's criteria (no more, no fewer); returns them with the total."""
    codes = [c.code for c in criteria]
    missing = [c for c in codes if c not in scores]
    unknown = sorted(set(scores) - set(codes)) + sorted(set(comments) - set(codes))
    if missing or unknown:
        raise AppError(
            code="SCORE_SHEET_MISMATCH",
            message="评分表须对每一项评审内容打分，且不能包含评审内容以外的项目。",
            kind=ErrorKind.INVALID,
            details={"missing": missing, "unknown": unknown},
        )
    clean = {code: _score(code, scores[code]) for code in codes}
    notes = {code: str(text).strip() for code, text in comments.items() if str(text).strip()}
    return clean, notes, sum(clean.values(), Decimal(0))


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)


def summarize(criteria: Sequence[Criterion], sheets: Sequence[ScoreSheet], *, expected: int) -> PanelSummary:
    """Means, lows and highs per criterion, the mean total, and whether every expert has scored."""
    rows = []
    for criterion in criteria:
        values = [s.scores[criterion.code] for s in sheets if criterion.code in s.scores]
        rows.append(
            CriterionSummary(
                code=criterion.code,
                label_zh=criterion.label_zh,
                mean=_mean(values),
                minimum=min(values) if values else None,
                maximum=max(values) if values else None,
            )
        )
    return PanelSummary(
        criteria=tuple(rows),
        sheets=len(sheets),
        expected=expected,
        mean_total=_mean([s.total for s in sheets]),
        max_total=SCORE_MAX * len(criteria),
        complete=expected > 0 and len(sheets) >= expected,
        comments=tuple(s.overall_comment for s in sheets if s.overall_comment),
    )
