"""Scoring an evaluation: the pack's indicators (wuxing §28, qiaokou §40), each with a target, an
actual value, a score 0–100 and evidence; the weighted total and the grade.

No seed document gives weights, so a pack's indicators weigh equally unless the pack's
``evaluation_weights`` obligation sets them; the grade bands are the platform's setting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from govkit.errors import AppError, ErrorKind

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Indicator:
    """An indicator to score: from the pack, or the unit's own when the pack lists none."""

    code: str
    label_zh: str
    weight: Decimal
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndicatorScore:
    """How one indicator was scored."""

    code: str
    label_zh: str
    weight: Decimal
    target: str
    actual: str
    score: Decimal
    evidence: tuple[str, ...] = ()  # SHA-256 of uploaded evidence files


@dataclass(frozen=True)
class ScoreInput:
    """What the evaluator enters for one indicator."""

    code: str
    actual: str
    score: Decimal
    target: str = ""
    label_zh: str = ""
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class GradeBand:
    """A grade from a minimum total upwards (e.g. 优 from 90)."""

    grade: str
    minimum: Decimal


def parse_grade_bands(text: str) -> tuple[GradeBand, ...]:
    """``"优:90,良:80,中:60,差:0"`` → bands, highest first; a malformed setting fails at start-up."""
    bands = []
    for part in text.split(","):
        grade, _, minimum = part.strip().partition(":")
        if not grade or not minimum:
            raise ValueError(f"grade band {part!r} is not <grade>:<minimum>")
        bands.append(GradeBand(grade.strip(), Decimal(minimum.strip())))
    bands.sort(key=lambda b: b.minimum, reverse=True)
    if not bands or bands[-1].minimum > 0:
        raise ValueError("the lowest grade band must start at 0")
    return tuple(bands)


def indicators_of(
    pack_items: Sequence[Mapping[str, object]], weights: Mapping[str, object]
) -> tuple[Indicator, ...]:
    """The pack's indicators with their weights (equal when the pack sets none)."""
    if not pack_items:
        return ()
    if weights:
        raw = {str(i["code"]): Decimal(str(weights.get(str(i["code"]), 0))) for i in pack_items}
    else:
        raw = {str(i["code"]): Decimal(1) for i in pack_items}
    total = sum(raw.values(), Decimal(0))
    return tuple(
        Indicator(
            code=str(i["code"]),
            label_zh=str(i["label_zh"]),
            weight=(raw[str(i["code"])] / total).quantize(Decimal("0.0001")),
            cite=tuple(str(c) for c in i.get("cite", []) or []),  # type: ignore[attr-defined]
        )
        for i in pack_items
    )


def _invalid(error: str, message: str, **details: object) -> AppError:
    return AppError(code=error, message=message, kind=ErrorKind.INVALID, details=dict(details))


def score(
    indicators: Sequence[Indicator], entered: Sequence[ScoreInput], *, default_target: str
) -> tuple[IndicatorScore, ...]:
    """Every indicator scored exactly once (the pack's when it lists them, otherwise the unit's own,
    equally weighted); scores are 0–100; a target missing falls back to the declaration's goals."""
    codes = [e.code for e in entered]
    if len(set(codes)) != len(codes):
        raise _invalid("INDICATOR_DUPLICATE", "同一指标只能评分一次。", codes=codes)
    for e in entered:
        if not (Decimal(0) <= e.score <= HUNDRED):
            raise _invalid(
                "SCORE_OUT_OF_RANGE", "指标得分应在0至100分之间。", code=e.code, score=str(e.score)
            )
        if not e.actual:
            raise _invalid("ACTUAL_REQUIRED", "请填写指标的实际完成值。", code=e.code)
    if indicators:
        wanted = {i.code for i in indicators}
        missing = sorted(wanted - set(codes))
        unknown = sorted(set(codes) - wanted)
        if missing or unknown:
            raise _invalid(
                "INDICATORS_MISMATCH",
                "请按管理办法规定的绩效评价指标逐项评分。",
                missing=missing,
                unknown=unknown,
            )
        by_code = {e.code: e for e in entered}
        pairs = [(i, by_code[i.code]) for i in indicators]
    else:
        if not entered:
            raise _invalid("INDICATORS_REQUIRED", "请至少填写一项绩效评价指标。")
        if any(not e.label_zh for e in entered):
            raise _invalid("INDICATOR_LABEL_REQUIRED", "自定指标须填写指标名称。")
        weight = (Decimal(1) / len(entered)).quantize(Decimal("0.0001"))
        pairs = [(Indicator(e.code, e.label_zh, weight), e) for e in entered]
    return tuple(
        IndicatorScore(
            code=i.code,
            label_zh=i.label_zh,
            weight=i.weight,
            target=e.target or default_target,
            actual=e.actual,
            score=e.score,
            evidence=e.evidence,
        )
        for i, e in pairs
    )


def weighted_total(scores: Sequence[IndicatorScore]) -> Decimal:
    """Σ weight × score over the weights' sum (so rounded weights still give a 0–100 total)."""
    weights = sum((s.weight for s in scores), Decimal(0))
    if weights == 0:
        return Decimal("0.00")
    return (sum((s.weight * s.score for s in scores), Decimal(0)) / weights).quantize(CENT, ROUND_HALF_UP)


def grade(total: Decimal, bands: Sequence[GradeBand]) -> str:
    """The band the total falls in."""
    for band in bands:
        if total >= band.minimum:
            return band.grade
    return bands[-1].grade
