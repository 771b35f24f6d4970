"""Approval review: rounds limit (lhasa §11), steps per pack, sign-off, validity, expiry."""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from govkit.errors import AppError
from govkit.policy import PolicyRegistry, evaluate
from review.domain import approval as a
from review.domain.approval import ApplicationStatus, ApprovalStatus, Consequence
from review.domain.declaration import Material

NOW = datetime(2025, 3, 3, tzinfo=UTC)


def application(round_: int = 1) -> a.Application:
    return a.Application(
        id="app",
        tenant_id="t",
        case_id="c",
        attempt=1,
        round=round_,
        status=ApplicationStatus.UNDER_REVIEW,
        approver="bureau",
        materials=(),
        submitted_by="u",
        submitted_at=NOW,
    )


def test_lhasa_after_two_failed_rounds_the_materials_are_prepared_anew(packs: PolicyRegistry) -> None:
    max_rounds = evaluate(packs.get("lhasa"), {"amount": 1}).value("max_review_rounds")
    assert max_rounds == 2
    first, consequence = a.conclude(
        application(1), passed=False, comments="", items=["补充安全方案"], max_rounds=2
    )
    assert (first.status, consequence) == (ApplicationStatus.RETURNED, Consequence.RETURN)
    second = a.resubmit(first, [Material("crypto_plan", "c2.pdf", "1" * 64, 1, "application/pdf")])
    assert second.round == 2 and second.status is ApplicationStatus.UNDER_REVIEW
    void, consequence = a.conclude(second, passed=False, comments="仍不满足", items=[], max_rounds=2)
    assert (void.status, consequence) == (ApplicationStatus.VOID, Consequence.PREPARE_ANEW)
    with pytest.raises(AppError):
        a.resubmit(void, [])


def test_without_a_limit_rounds_go_on_and_a_failure_needs_written_feedback() -> None:
    _app, consequence = a.conclude(application(7), passed=False, comments="再改", items=[], max_rounds=None)
    assert consequence is Consequence.RETURN
    with pytest.raises(AppError) as err:
        a.conclude(application(), passed=False, comments=" ", items=[], max_rounds=None)
    assert err.value.code == "REVIEW_FEEDBACK_REQUIRED"
    passed, consequence = a.conclude(application(), passed=True, comments="同意", items=[], max_rounds=2)
    assert (passed.status, consequence) == (ApplicationStatus.PASSED, Consequence.ISSUE)


def test_resubmission_replaces_documents_of_the_same_type() -> None:
    old = (
        Material("crypto_plan", "v1.pdf", "a", 1, "x"),
        Material("feasibility_study", "fs.pdf", "b", 1, "x"),
    )
    merged = a.merge_materials(old, [Material("crypto_plan", "v2.pdf", "c", 1, "x")])
    assert [m.filename for m in merged] == ["v2.pdf", "fs.pdf"]


def kinds(steps: list[a.Step]) -> list[str]:
    return [s.kind for s in steps]


def test_steps_follow_each_pack(packs: PolicyRegistry) -> None:
    q = packs.get("qiaokou-2022")
    big = evaluate(q, {"amount": 3_000_000, "goods_and_services_only": False})
    assert kinds(a.steps(q, big, supplementary=False, delegated=True, delegation_cite=[])) == [
        "ndrc_feasibility_study",
        "ndrc_preliminary_design",
    ]
    w = packs.get("wuxing-2023")
    cross = evaluate(w, {"amount": 5_000_000, "category": "cross_department"})
    steps = a.steps(w, cross, supplementary=False, delegated=False, delegation_cite=[])
    assert kinds(steps) == ["ndrc_feasibility_study", "city_review"]
    assert steps[1].blocking and steps[1].cite == ("wuxing-2023 §10",)
    s = packs.get("shuangyashan-2024")
    unit_built = evaluate(
        s,
        {
            "amount": 3_000_000,
            "built_by_bureau": False,
            "tenant_level": "city",
            "construction_type": "new",
            "emergency": False,
            "simple": False,
        },
    )
    steps = a.steps(s, unit_built, supplementary=True, delegated=False, delegation_cite=[])
    assert kinds(steps) == ["ndrc_feasibility_study", "design_review", "supplementary_sign_off"]
    assert steps[0].workdays == 8 and steps[1].workdays == 20
    assert steps[2].label_zh == "计划外项目经市人民政府批准"


def test_supplementary_sign_off_is_the_packs(packs: PolicyRegistry) -> None:
    w = packs.get("wuxing-2023")
    with pytest.raises(AppError) as err:
        a.check_sign_off(w, {"approved_by": "bureau", "reference": "吴数〔2025〕3号"})
    assert err.value.code == "SUPPLEMENTARY_SIGN_OFF_REQUIRED" and err.value.cite == ["wuxing-2023 §7"]
    assert a.check_sign_off(
        w, {"approved_by": "bureau", "reference": "吴数〔2025〕3号", "funds_secured": True}
    )
    with pytest.raises(AppError):
        a.check_sign_off(packs.get("lhasa"), {"approved_by": "bureau", "reference": "x"})


def test_validity_and_expiry_before_procurement(packs: PolicyRegistry) -> None:
    reqs = evaluate(packs.get("qiaokou-2022"), {"amount": 800_000})
    until, cite = a.validity(reqs, date(2025, 3, 3))
    assert until == date(2026, 3, 2) and cite == ["qiaokou-2022 §22"]
    approval = a.Approval(
        id="ap",
        tenant_id="t",
        case_id="c",
        declaration_id="d",
        application_id="app",
        document_number="n",
        approved_amount=Decimal(1),
        approved_on=date(2025, 3, 3),
        status=ApprovalStatus.VALID,
        issued_by="h",
        valid_until=until,
    )
    assert not a.expires(approval, date(2026, 3, 2))
    assert a.expires(approval, date(2026, 3, 3))
    assert not a.expires(replace(approval, procurement_started_on=date(2025, 6, 1)), date(2026, 3, 3))
    assert a.validity(evaluate(packs.get("wuxing-2023"), {"amount": 1}), date(2025, 3, 3)) == (None, [])


def test_approved_amount_within_the_plan() -> None:
    a.check_amount(Decimal(800_000), Decimal(800_000))
    with pytest.raises(AppError) as err:
        a.check_amount(Decimal("800000.01"), Decimal(800_000))
    assert err.value.code == "APPROVED_AMOUNT_EXCEEDS_PLAN"


def test_approver_per_amount_in_qiaokou(packs: PolicyRegistry) -> None:
    q = packs.get("qiaokou-2022")
    assert a.approver_of(evaluate(q, {"amount": 499_999}))[0] == "tech_center"
    assert a.approver_of(evaluate(q, {"amount": 500_000})) == (
        "bureau",
        ["qiaokou-2022 §15", "qiaokou-2022 §17(2)"],
    )
