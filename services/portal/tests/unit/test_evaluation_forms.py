"""Where evaluation's refusals land on the evaluation forms, and the scoring form's rows."""

from __future__ import annotations

from govkit.errors import AppError, ErrorKind, invalid_field
from portal.domain import evaluation_forms as spec
from portal.domain.formspec import names


def test_the_packs_indicators_become_rows_with_their_weights_and_own_rows_take_the_goals() -> None:
    sheet = [
        {"code": "sharing", "label_zh": "协同共享", "weight": "0.5000", "target": "共享率90%"},
        {"code": "security", "label_zh": "安全保密", "weight": "0.5000", "target": ""},
    ]
    rows = spec.indicator_rows(sheet, goals="申报的绩效目标")
    assert [(r.code, r.label, r.weight, r.target, r.own) for r in rows] == [
        ("sharing", "协同共享", "0.5000", "共享率90%", False),
        ("security", "安全保密", "0.5000", "申报的绩效目标", False),
    ]
    assert "label.sharing" not in names(spec.score_fields(rows))
    own = spec.indicator_rows([], goals="申报的绩效目标")
    assert len(own) == spec.OWN_INDICATOR_ROWS and all(r.own and r.target == "申报的绩效目标" for r in own)
    assert {"label.custom-1", "score.custom-1", "evidence.custom-1", "report"} <= names(
        spec.score_fields(own)
    )


def test_a_score_refused_by_its_index_lands_beside_that_indicators_input() -> None:
    rows = spec.indicator_rows([], goals="")
    known = names(spec.score_fields(rows))
    placed = spec.place_errors(
        invalid_field("indicators[1].score", "数值超出范围"),
        form="score",
        known_fields=known,
        indicator_codes=["custom-1", "custom-3"],
    )
    assert placed.fields == {"score.custom-3": "数值超出范围"} and not placed.message
    actual = spec.place_errors(
        AppError(code="ACTUAL_REQUIRED", message="请填写指标的实际完成值。", details={"code": "custom-2"}),
        form="score",
        known_fields=known,
    )
    assert actual.fields == {"actual.custom-2": "请填写指标的实际完成值。"}


def test_codes_without_field_details_land_on_their_field_the_rest_above_the_form() -> None:
    order = names((*spec.ORDER_STATIC,))
    past = spec.place_errors(
        AppError(code="DUE_DATE_PAST", message="整改期限不能早于今天。"), form="order", known_fields=order
    )
    assert past.fields == {"due_on": "整改期限不能早于今天。"}
    code = spec.place_errors(
        AppError(code="CREDIT_CODE_INVALID", message="统一社会信用代码格式或校验位不正确。"),
        form="discredited",
        known_fields=names(spec.DISCREDITED),
    )
    assert code.fields == {"credit_code": "统一社会信用代码格式或校验位不正确。"}
    window = spec.place_errors(
        AppError(
            code="OUTSIDE_SELF_EVALUATION_WINDOW",
            message="不在绩效自评期内。",
            kind=ErrorKind.PRECONDITION,
            cite=["lhasa §22"],
        ),
        form="start",
        known_fields=set(),
    )
    assert window.fields == {} and window.message == "不在绩效自评期内。" and window.cite == ["lhasa §22"]
