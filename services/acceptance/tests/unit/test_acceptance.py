"""Checklist, result, rectification dates and the self-accepted filing deadline (pure rules)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from acceptance.domain import acceptance as a
from acceptance.domain.project import add_months
from govkit.auth import Principal
from govkit.errors import AppError
from govkit.policy import PolicyRegistry, acceptance_checklist, evaluate
from govkit.workdays import add_workdays, get_calendar


def _acceptance(
    packs: PolicyRegistry, pack_id: str, facts: dict[str, object], organizer: str
) -> a.Acceptance:
    items = a.checklist_from_pack(acceptance_checklist(packs.get(pack_id), facts))
    return a.Acceptance(
        id="a1",
        tenant_id="t",
        project_id="p1",
        stage=a.Stage.FINAL,
        round=1,
        status=a.AcceptanceStatus.APPLIED,
        organizer=organizer,
        organizer_cite=("wuxing-2023 §20",),
        applied_on=date(2025, 6, 3),
        applied_by="unit_head",
        checklist=items,
    )


PANEL = a.Panel(
    "seed", ("e1", "e2", "e3"), {}, (a.PanelExpert("e1", "张三", "某大学"),), "b", datetime.now(UTC)
)


def test_wuxing_checklist_is_the_pack_s_section_21_items(packs: PolicyRegistry) -> None:
    acc = _acceptance(packs, "wuxing-2023", {"amount": 2_000_000}, "bureau")
    codes = [i.code for i in acc.checklist]
    assert "contract_performance" in codes and "data_sharing" in codes
    assert all(i.cite for i in acc.checklist)
    assert dict((i.code, i.cite) for i in acc.checklist)["archives"] == ("wuxing-2023 §21",)


def test_shuangyashan_user_testing_only_for_public_facing(packs: PolicyRegistry) -> None:
    facts = {"amount": 2_000_000, "contract_amount": 500_000}
    internal = _acceptance(packs, "shuangyashan-2024", {**facts, "public_facing": False}, "unit")
    public = _acceptance(packs, "shuangyashan-2024", {**facts, "public_facing": True}, "unit")
    assert "user_testing" not in [i.code for i in internal.checklist]
    assert "user_testing" in [i.code for i in public.checklist]
    assert "third_party_acceptance_test" not in [i.code for i in public.checklist]  # below 100万


def _all(acc: a.Acceptance, passed: bool = True) -> dict[str, tuple[bool, str]]:
    return {i.code: (passed, "") for i in acc.checklist}


def test_final_acceptance_not_self_accepted_needs_a_panel(packs: PolicyRegistry) -> None:
    acc = _acceptance(packs, "wuxing-2023", {"amount": 2_000_000}, "bureau")
    with pytest.raises(AppError) as refused:
        a.decide(
            acc,
            findings=_all(acc),
            opinion="",
            decided_on=date(2025, 6, 10),
            decided_by="b",
            rectifications=[],
            rectify_by=None,
            rectify_cite=[],
        )
    assert refused.value.code == "PANEL_REQUIRED"


def test_every_item_answered_and_pass_only_when_all_pass(packs: PolicyRegistry) -> None:
    acc = replace(_acceptance(packs, "wuxing-2023", {"amount": 2_000_000}, "bureau"), panel=PANEL)
    partial = dict(list(_all(acc).items())[1:])
    with pytest.raises(AppError) as incomplete:
        a.decide(
            acc,
            findings=partial,
            opinion="",
            decided_on=date(2025, 6, 10),
            decided_by="b",
            rectifications=[],
            rectify_by=None,
            rectify_cite=[],
        )
    assert incomplete.value.code == "CHECKLIST_INCOMPLETE"
    passed = a.decide(
        acc,
        findings=_all(acc),
        opinion="通过",
        decided_on=date(2025, 6, 10),
        decided_by="b",
        rectifications=[],
        rectify_by=None,
        rectify_cite=[],
    )
    assert passed.passed and passed.acceptance.status is a.AcceptanceStatus.PASSED


def test_wuxing_failure_rectified_within_three_months(packs: PolicyRegistry) -> None:
    acc = replace(_acceptance(packs, "wuxing-2023", {"amount": 2_000_000}, "bureau"), panel=PANEL)
    rule = evaluate(packs.get("wuxing-2023"), {"amount": 2_000_000})["rectification_months"]
    assert (rule.value, rule.cite) == (3, ["wuxing-2023 §20"])
    decided_on = date(2025, 6, 10)
    by = add_months(decided_on, rule.value)
    findings = {**_all(acc), "archives": (False, "档案不全")}
    with pytest.raises(AppError) as none:
        a.decide(
            acc,
            findings=findings,
            opinion="",
            decided_on=decided_on,
            decided_by="b",
            rectifications=[],
            rectify_by=by,
            rectify_cite=rule.cite,
        )
    assert none.value.code == "RECTIFICATION_REQUIRED"
    with pytest.raises(AppError) as late:
        a.decide(
            acc,
            findings=findings,
            opinion="",
            decided_on=decided_on,
            decided_by="b",
            rectifications=[a.RectificationDraft("补齐档案", "承建单位", date(2025, 9, 11))],
            rectify_by=by,
            rectify_cite=rule.cite,
        )
    assert late.value.code == "RECTIFICATION_TOO_LATE" and late.value.cite == ["wuxing-2023 §20"]
    failed = a.decide(
        acc,
        findings=findings,
        opinion="档案不全",
        decided_on=decided_on,
        decided_by="b",
        rectifications=[a.RectificationDraft("补齐档案", "承建单位")],
        rectify_by=by,
        rectify_cite=rule.cite,
    )
    assert not failed.passed
    assert failed.rectifications[0].due_on == date(2025, 9, 10)


def test_without_a_pack_limit_the_panel_dates_each_item(packs: PolicyRegistry) -> None:
    acc = replace(
        _acceptance(packs, "qiaokou-2022", {"amount": 2_000_000}, "unit_with_bureau_spot_check"), panel=PANEL
    )
    findings = {**_all(acc), "trial_run": (False, "")}
    with pytest.raises(AppError):
        a.decide(
            acc,
            findings=findings,
            opinion="",
            decided_on=date(2025, 6, 10),
            decided_by="b",
            rectifications=[a.RectificationDraft("x", "y")],
            rectify_by=None,
            rectify_cite=[],
        )
    done = a.decide(
        acc,
        findings=findings,
        opinion="",
        decided_on=date(2025, 6, 10),
        decided_by="b",
        rectifications=[a.RectificationDraft("x", "y", date(2025, 7, 1))],
        rectify_by=None,
        rectify_cite=[],
    )
    assert done.rectifications[0].due_on == date(2025, 7, 1)


def test_qiaokou_self_accepted_filing_within_three_working_days_over_the_holiday(
    packs: PolicyRegistry,
) -> None:
    rule = evaluate(packs.get("qiaokou-2022"), {"amount": 300_000})
    assert rule["acceptance_organizer"].value == "unit"
    days = rule["acceptance_filing_workdays"].value
    assert days == 3
    # Decided on Monday 29 September 2025: 1-8 October is the National Day holiday.
    due = add_workdays(date(2025, 9, 29), days, get_calendar("official")).date
    assert due == date(2025, 10, 10)
    acc = replace(
        _acceptance(packs, "qiaokou-2022", {"amount": 300_000}, "unit"),
        status=a.AcceptanceStatus.PASSED,
        filing_due_on=due,
    )
    assert not acc.needs_panel
    assert not a.file_result(acc, on=date(2025, 10, 10)).filed_late
    assert a.file_result(acc, on=date(2025, 10, 11)).filed_late
    with pytest.raises(AppError):
        a.file_result(a.file_result(acc, on=date(2025, 10, 10)), on=date(2025, 10, 10))


def test_who_decides() -> None:
    head = Principal("u", "unit_head.x", "t", "unit-1", frozenset({"unit_head"}))
    other = Principal("v", "unit_head.y", "t", "unit-2", frozenset({"unit_head"}))
    bureau = Principal("b", "bureau", "t", "bureau", frozenset({"bureau_head"}))
    acc = a.Acceptance(
        "a", "t", "p", a.Stage.FINAL, 1, a.AcceptanceStatus.APPLIED, "bureau", (), date(2025, 1, 1), "u", ()
    )
    a.ensure_may_decide(bureau, acc, org_id="unit-1")
    with pytest.raises(AppError):
        a.ensure_may_decide(head, acc, org_id="unit-1")
    unit_run = replace(acc, organizer="unit_with_bureau_spot_check")
    a.ensure_may_decide(head, unit_run, org_id="unit-1")
    with pytest.raises(AppError):
        a.ensure_may_decide(other, unit_run, org_id="unit-1")


def test_rectification_completed_once_with_a_note() -> None:
    item = a.Rectification("r", "t", "p", "a", "补齐档案", "承建单位", date(2025, 9, 10))
    with pytest.raises(AppError):
        a.complete_rectification(item, on=date(2025, 7, 1), by="u", note=" ")
    done = a.complete_rectification(item, on=date(2025, 7, 1), by="u", note="已补齐")
    with pytest.raises(AppError):
        a.complete_rectification(done, on=date(2025, 7, 2), by="u", note="again")
