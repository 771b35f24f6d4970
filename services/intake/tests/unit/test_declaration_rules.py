"""The declaration state machine, visibility and form rules, without a database."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind
from intake.domain import declaration as rules
from intake.domain.declaration import (
    AmountBreakdown,
    Category,
    ConstructionType,
    Declaration,
    DeclarationStatus,
    Submission,
)

NOW = datetime(2026, 3, 2, tzinfo=UTC)
BREAKDOWN = AmountBreakdown(
    hardware=Decimal("200000.00"),
    software=Decimal("450000.00"),
    services=Decimal("50000.00"),
    security=Decimal("60000.00"),
    supervision=Decimal("24000.00"),
    third_party_testing=Decimal("16000.00"),
)
DECIDED = Submission(
    project_code="2026-230521-01-01-000001",
    target_year=2027,
    plan_year=2027,
    call_id=None,
    late_route="",
    supplementary_approved_by="",
    findings=(),
    citations=("wuxing-2023 §7",),
)


def make(
    status: DeclarationStatus = DeclarationStatus.DRAFT, org: str = "unit-1", **changes: object
) -> Declaration:
    base = Declaration(
        id="d1",
        tenant_id="county-a",
        org_id=org,
        name="智慧教育平台",
        category=Category.BUSINESS_APP,
        construction_type=ConstructionType.NEW,
        amount=Decimal("800000.00"),
        necessity="各学校系统分散建设",
        goals="统一平台",
        contact="张三 13800000000",
        status=status,
        version=1,
        created_by="applicant.county-a",
        created_at=NOW,
        updated_at=NOW,
        construction_unit="县教育局",
        breakdown=BREAKDOWN,
        funding_source="县级财政资金",
        content="建设统一教育业务平台",
        performance_goals="覆盖全县中小学",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def who(roles: set[str], tenant: str = "county-a", org: str | None = "unit-1") -> Principal:
    return Principal(sub="s", username="u", tenant=tenant, org=org, roles=frozenset(roles))


APPLICANT = who({"applicant"})
HEAD = who({"unit_head"})


def test_unit_sees_only_its_own_declarations() -> None:
    assert rules.can_read(APPLICANT, make())
    assert not rules.can_read(who({"applicant"}, org="unit-2"), make())


def test_bureau_and_auditor_see_the_whole_tenant_but_not_other_tenants() -> None:
    assert rules.can_read(who({"bureau_reviewer"}, org="bureau"), make(org="unit-2"))
    assert rules.can_read(who({"auditor"}, org="audit"), make(org="unit-2"))
    assert not rules.can_read(who({"bureau_reviewer"}, tenant="county-b", org="bureau"), make())


def test_breakdown_parts_must_add_up_to_the_amount_exactly() -> None:
    assert BREAKDOWN.total() == Decimal("800000.00")
    rules.check_breakdown(Decimal("800000.00"), BREAKDOWN)
    with pytest.raises(AppError) as err:
        rules.check_breakdown(Decimal("800000.01"), BREAKDOWN)
    assert err.value.code == "BREAKDOWN_MISMATCH" and err.value.details["difference"] == "0.01"
    with pytest.raises(AppError) as err:
        rules.check_breakdown(Decimal("0"), AmountBreakdown(hardware=Decimal("-1"), software=Decimal("1")))
    assert err.value.details["fields"][0]["field"] == "breakdown.hardware"


def test_changing_the_amount_alone_is_refused_when_the_breakdown_no_longer_adds_up() -> None:
    with pytest.raises(AppError) as err:
        rules.apply_changes(make(), {"amount": Decimal("900000.00")}, at=NOW)
    assert err.value.code == "BREAKDOWN_MISMATCH"
    both = rules.apply_changes(
        make(),
        {"amount": Decimal("900000.00"), "breakdown": replace(BREAKDOWN, other=Decimal("100000.00"))},
        at=NOW,
    )
    assert both.amount == Decimal("900000.00")


def test_applicant_submits_a_complete_draft_to_the_unit_head() -> None:
    pending = rules.submit_for_signoff(APPLICANT, make(), at=NOW)
    assert pending.status is DeclarationStatus.PENDING_SIGNOFF


def test_an_incomplete_draft_cannot_go_to_the_unit_head() -> None:
    with pytest.raises(AppError) as err:
        rules.submit_for_signoff(APPLICANT, make(breakdown=None, funding_source=" "), at=NOW)
    assert err.value.code == "DECLARATION_INCOMPLETE"
    fields = {f["field"]: f["message"] for f in err.value.details["fields"]}
    assert fields == {"breakdown": "请填写投资估算构成", "funding_source": "请填写资金来源"}


def test_only_the_unit_head_of_the_same_unit_signs_off() -> None:
    pending = make(DeclarationStatus.PENDING_SIGNOFF)
    for other in (APPLICANT, who({"unit_head"}, org="unit-2"), who({"bureau_head"}, org="bureau")):
        with pytest.raises(AppError) as err:
            rules.sign_off(other, pending, DECIDED, at=NOW)
        assert err.value.kind is ErrorKind.FORBIDDEN
    signed = rules.sign_off(HEAD, pending, DECIDED, at=NOW)
    assert signed.status is DeclarationStatus.SUBMITTED
    assert signed.round == 1 and signed.submitted_at == NOW and signed.project_code == DECIDED.project_code
    assert signed.signoff_by == "u" and signed.citations == ("wuxing-2023 §7",)


def test_sign_off_needs_a_declaration_waiting_for_it() -> None:
    with pytest.raises(AppError) as err:
        rules.sign_off(HEAD, make(DeclarationStatus.DRAFT), DECIDED, at=NOW)
    assert err.value.code == "DECLARATION_NOT_PENDING_SIGNOFF"


def test_send_back_needs_a_reason_and_returns_the_draft_to_the_applicant() -> None:
    pending = make(DeclarationStatus.PENDING_SIGNOFF)
    with pytest.raises(AppError) as err:
        rules.send_back(HEAD, pending, reason="  ", at=NOW)
    assert err.value.kind is ErrorKind.INVALID
    back = rules.send_back(HEAD, pending, reason="预算偏高", at=NOW)
    assert back.status is DeclarationStatus.DRAFT and back.send_back_reason == "预算偏高"
    # A resubmission sent back by the head goes back to "returned", still editable.
    again = rules.send_back(HEAD, replace(pending, round=1), reason="补充材料", at=NOW)
    assert again.status is DeclarationStatus.RETURNED
    rules.ensure_can_edit(APPLICANT, again)


def test_submitted_or_pending_declarations_cannot_be_edited() -> None:
    for status in (DeclarationStatus.PENDING_SIGNOFF, DeclarationStatus.SUBMITTED, DeclarationStatus.IN_PLAN):
        with pytest.raises(AppError) as err:
            rules.ensure_can_edit(APPLICANT, make(status))
        assert err.value.kind is ErrorKind.PRECONDITION


def test_only_applicants_of_the_unit_edit_and_auditors_change_nothing() -> None:
    for other in (who({"bureau_reviewer"}, org="bureau"), who({"auditor"}, org="audit"), HEAD):
        with pytest.raises(AppError) as err:
            rules.ensure_can_edit(other, make())
        assert err.value.kind is ErrorKind.FORBIDDEN
    with pytest.raises(AppError):
        rules.ensure_can_edit(who({"applicant"}, org="unit-2"), make())
    with pytest.raises(AppError):
        rules.withdraw(who({"auditor"}, org="unit-1"), make(DeclarationStatus.SUBMITTED), reason="", at=NOW)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(AppError) as err:
        rules.apply_changes(make(), {"status": "submitted"}, at=NOW)
    assert err.value.code == "UNKNOWN_FIELDS"


def test_withdraw_only_before_review_starts() -> None:
    submitted = make(DeclarationStatus.SUBMITTED, round=1)
    withdrawn = rules.withdraw(APPLICANT, submitted, reason="需求调整", at=NOW)
    assert withdrawn.status is DeclarationStatus.WITHDRAWN and withdrawn.withdrawn_reason == "需求调整"
    started = rules.mark_review_started(submitted, at=NOW)
    assert started is not None and started.review_started
    with pytest.raises(AppError) as err:
        rules.withdraw(APPLICANT, started, reason="", at=NOW)
    assert err.value.code == "REVIEW_ALREADY_STARTED"
    with pytest.raises(AppError) as err:
        rules.withdraw(APPLICANT, make(DeclarationStatus.DRAFT), reason="", at=NOW)
    assert err.value.code == "DECLARATION_NOT_WITHDRAWABLE"


def test_returned_declaration_is_edited_then_resubmitted_in_the_next_round() -> None:
    submitted = rules.sign_off(HEAD, make(DeclarationStatus.PENDING_SIGNOFF), DECIDED, at=NOW)
    returned = rules.mark_returned(submitted, stage="plan", items=("可研报告",), reason="补正", at=NOW)
    assert returned is not None and returned.status is DeclarationStatus.RETURNED
    assert returned.return_items == ("可研报告",) and returned.review_started
    edited = rules.apply_changes(returned, {"content": "补充后的建设内容"}, at=NOW)
    with pytest.raises(AppError):
        rules.resubmit(APPLICANT, edited, DECIDED, at=NOW)  # the unit head resubmits
    again = rules.resubmit(HEAD, edited, DECIDED, at=NOW)
    assert again.status is DeclarationStatus.SUBMITTED and again.round == 2
    assert again.submitted_at == submitted.submitted_at and not again.review_started
    assert rules.is_resubmission(edited)


def test_review_outcomes_apply_only_where_they_fit() -> None:
    submitted = make(DeclarationStatus.SUBMITTED, round=1)
    in_plan = rules.mark_in_plan(submitted, at=NOW)
    assert in_plan is not None and in_plan.status is DeclarationStatus.IN_PLAN
    assert rules.mark_in_plan(make(DeclarationStatus.WITHDRAWN), at=NOW) is None
    assert (
        rules.mark_returned(make(DeclarationStatus.WITHDRAWN), stage="plan", items=(), reason="", at=NOW)
        is None
    )
    rejected = rules.mark_rejected(submitted, reason="不符合规划", at=NOW)
    assert rejected is not None and rejected.status is DeclarationStatus.REJECTED
    assert rules.mark_rejected(make(DeclarationStatus.DRAFT), reason="", at=NOW) is None


def test_provincial_code_only_after_our_code_and_by_the_unit_or_bureau() -> None:
    with pytest.raises(AppError) as err:
        rules.ensure_can_record_provincial_code(APPLICANT, make())
    assert err.value.code == "DECLARATION_NOT_SUBMITTED"
    coded = make(DeclarationStatus.SUBMITTED, project_code=DECIDED.project_code)
    rules.ensure_can_record_provincial_code(APPLICANT, coded)
    rules.ensure_can_record_provincial_code(who({"bureau_reviewer"}, org="bureau"), coded)
    with pytest.raises(AppError):
        rules.ensure_can_record_provincial_code(who({"auditor"}, org="audit"), coded)
