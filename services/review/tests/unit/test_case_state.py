"""The case state machine and who may see or act on a case (incl. delegation to the city)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind
from review.domain import case as c
from review.domain.case import Action, CaseStatus, ReviewCase, Stage

NOW = datetime(2025, 3, 3, tzinfo=UTC)


def a_case(**kw: object) -> ReviewCase:
    base: dict[str, object] = {
        "id": "case-1",
        "tenant_id": "county-b",
        "declaration_id": "decl-1",
        "declaring_org_id": "unit-1",
        "name": "智慧城管",
        "amount": Decimal("800000.00"),
        "project_code": None,
        "status": CaseStatus.OPEN,
        "opened_at": NOW,
        "version": 1,
        "reviewing_tenant_id": "city",
    }
    base.update(kw)
    return ReviewCase(**base)  # type: ignore[arg-type]


def who(tenant: str, *roles: str, org: str | None = "bureau", name: str = "u") -> Principal:
    return Principal(sub=name, username=name, tenant=tenant, org=org, roles=frozenset(roles))


def test_plan_review_return_resubmit_decide_apply_grant() -> None:
    case = a_case()
    case = c.transition(case, Action.RETURN, at=NOW)
    assert (case.status, case.stage) == (CaseStatus.RETURNED, Stage.PLAN)
    case = c.transition(case, Action.RESUBMIT, at=NOW)
    assert case.status is CaseStatus.OPEN
    case = c.transition(case, Action.DECIDE_IN_PLAN, at=NOW)
    case = c.transition(case, Action.APPLY, at=NOW)
    assert (case.status, case.stage) == (CaseStatus.APPROVAL_REVIEW, Stage.APPROVAL)
    case = c.transition(case, Action.RETURN, at=NOW)
    assert (case.status, case.stage) == (CaseStatus.RETURNED, Stage.APPROVAL)
    case = c.transition(case, Action.RESUBMIT, at=NOW)
    assert case.status is CaseStatus.APPROVAL_REVIEW
    case = c.transition(case, Action.GRANT, at=NOW)
    assert case.status is CaseStatus.APPROVED
    changed = c.transition(case, Action.REOPEN_FOR_CHANGE, at=NOW)
    assert (changed.status, changed.stage) == (CaseStatus.APPROVAL_REVIEW, Stage.CHANGE)
    assert c.transition(changed, Action.CLOSE_CHANGE, at=NOW).status is CaseStatus.APPROVED
    assert c.transition(case, Action.EXPIRE, at=NOW).status is CaseStatus.EXPIRED


def test_supplementary_case_applies_directly() -> None:
    case = a_case(status=CaseStatus.AWAITING_APPLICATION, stage=Stage.APPROVAL, supplementary=True)
    assert c.transition(case, Action.APPLY, at=NOW).status is CaseStatus.APPROVAL_REVIEW
    with pytest.raises(AppError):
        c.transition(case, Action.DECIDE_IN_PLAN, at=NOW)


def test_closed_cases_refuse_everything_with_a_422() -> None:
    for status in (CaseStatus.REJECTED, CaseStatus.WITHDRAWN, CaseStatus.LAPSED, CaseStatus.EXPIRED):
        case = a_case(status=status)
        for action in Action:
            assert not c.can(case, action), (status, action)
    with pytest.raises(AppError) as err:
        c.transition(a_case(status=CaseStatus.REJECTED), Action.GRANT, at=NOW)
    assert err.value.kind is ErrorKind.PRECONDITION and err.value.code == "CASE_STATE_INVALID"


def test_prepare_anew_is_not_a_state_change_but_lapse_covers_a_pending_application() -> None:
    under_review = a_case(status=CaseStatus.APPROVAL_REVIEW, stage=Stage.APPROVAL)
    assert c.transition(under_review, Action.LAPSE, at=NOW).status is CaseStatus.LAPSED
    assert c.transition(under_review, Action.WITHDRAW, at=NOW).status is CaseStatus.WITHDRAWN


def test_delegation_lets_the_city_review_and_the_county_decide() -> None:
    case = a_case()
    city_reviewer = who("city", "bureau_reviewer")
    county_reviewer = who("county-b", "bureau_reviewer")
    county_head = who("county-b", "bureau_head")
    assert c.can_read(city_reviewer, case) and c.can_read(county_head, case)
    c.ensure_technical_reviewer(city_reviewer, case)
    with pytest.raises(AppError):
        c.ensure_technical_reviewer(county_reviewer, case)
    c.ensure_decider(county_head, case)
    with pytest.raises(AppError):
        c.ensure_decider(who("city", "bureau_head"), case)
    assert not c.can_read(who("county-a", "bureau_head"), case)


def test_units_see_their_own_cases_and_auditors_only_read() -> None:
    case = a_case(reviewing_tenant_id=None)
    assert c.can_read(who("county-b", "applicant", org="unit-1"), case)
    assert not c.can_read(who("county-b", "applicant", org="unit-2"), case)
    assert not c.can_read(who("county-b", "finance", org="finance"), case)
    assert c.can_read(who("county-b", "finance", org="finance"), case, involved=True)
    auditor = who("county-b", "auditor", org="audit")
    assert c.can_read(auditor, case)
    with pytest.raises(AppError) as err:
        c.ensure_decider(auditor, case)
    assert err.value.kind is ErrorKind.FORBIDDEN
    c.ensure_applicant(who("county-b", "applicant", org="unit-1"), case)
    with pytest.raises(AppError):
        c.ensure_applicant(who("county-b", "applicant", org="unit-2"), case)
