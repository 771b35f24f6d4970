"""Approval review over real PostgreSQL: application, rounds (lhasa §11), steps, the approval PDF,
expiry, changes with kept baselines, reminders and reassignment."""

from __future__ import annotations

import email
import email.policy
import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from review.domain.approval import ApplicationStatus, ApprovalStatus
from review.domain.case import CaseStatus, Stage
from review.domain.changes import ChangeKind, ChangeOutcome, ChangeStatus
from review.domain.declaration import Material
from review.domain.opinions import Verdict
from review.domain.plan import PlanLevel, PlanOutcome
from review.domain.tasks import TaskKind, Urgency
from review.service import ReviewDeps
from review.service import approval as approval_service
from review.service import cases as case_service
from review.service import changes as change_service
from review.service import opinions as opinion_service
from review.service import plan as plan_service
from review.service import sweep as sweep_service
from review.service import tasks as task_service

pytestmark = pytest.mark.integration


def doc(doc_type: str, version: int = 1) -> Material:
    return Material(
        doc_type,
        f"{doc_type}-v{version}.pdf",
        hashlib.sha256(f"{doc_type}{version}".encode()).hexdigest(),
        2048,
        "application/pdf",
    )


async def planned_case(
    deps: ReviewDeps, h: Any, tenant: str, reviewer_tenant: str | None = None, **fields: Any
) -> str:
    """A declaration through formal review, opinions and the plan decision (into the plan)."""
    case_id = await h.open_case(deps, tenant, **fields)
    reviewer = h.who(reviewer_tenant or tenant, "bureau_reviewer")
    case = await case_service.get_case(deps=deps, principal=reviewer, case_id=case_id)
    await case_service.formal_review(
        deps=deps, principal=reviewer, case_id=case_id, expected_version=case.version
    )
    head = h.who(tenant, "bureau_head")
    for view in await opinion_service.list_opinions(deps=deps, principal=head, case_id=case_id):
        await opinion_service.give_opinion(
            deps=deps,
            principal=h.who(tenant, view.opinion.department, org=view.opinion.department),
            opinion_id=view.opinion.id,
            expected_version=view.opinion.version,
            verdict=Verdict.AGREE,
            text="",
        )
    case = await case_service.get_case(deps=deps, principal=head, case_id=case_id)
    await plan_service.decide_plan(
        deps=deps,
        principal=head,
        case_id=case_id,
        expected_version=case.version,
        outcome=PlanOutcome.IN_PLAN,
        level=PlanLevel.GENERAL,
        budget=case.amount,
    )
    return case_id


async def version_of(deps: ReviewDeps, principal: Any, case_id: str) -> int:
    return (await case_service.get_case(deps=deps, principal=principal, case_id=case_id)).version


async def test_application_review_and_approval_with_the_pdf_stored_and_granted(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, clock, h, tmp_path: Path
) -> None:
    tenant = tenants.qiaokou  # 80万: the bureau approves (qiaokou §15, §17(2)); no 发改 step below 200万
    case_id = await planned_case(deps, h, tenant, tenants.city)
    applicant = h.who(tenant, "applicant", org="unit-1")
    other_unit = h.who(tenant, "applicant", org="unit-2")
    version = await version_of(deps, applicant, case_id)
    with pytest.raises(AppError) as err:
        await approval_service.submit_application(
            deps=deps,
            principal=other_unit,
            case_id=case_id,
            expected_version=version,
            materials=[doc("technical_scheme")],
        )
    assert err.value.kind is ErrorKind.NOT_FOUND  # another unit does not even see the case
    with pytest.raises(AppError) as err:
        await approval_service.submit_application(
            deps=deps, principal=applicant, case_id=case_id, expected_version=version, materials=[]
        )
    assert err.value.code == "APPLICATION_INCOMPLETE" and "缺少技术方案" in err.value.message
    assert err.value.cite == ["qiaokou-2022 §10", "qiaokou-2022 §16"]
    result = await approval_service.submit_application(
        deps=deps,
        principal=applicant,
        case_id=case_id,
        expected_version=version,
        materials=[doc("technical_scheme")],
    )
    assert (
        result.case.status is CaseStatus.APPROVAL_REVIEW
        and result.application.application.approver == "bureau"
    )
    assert result.application.steps == []

    city_reviewer = h.who(tenants.city, "bureau_reviewer")  # delegated technical review
    result = await approval_service.conclude_review(
        deps=deps,
        principal=city_reviewer,
        case_id=case_id,
        expected_version=result.case.version,
        passed=True,
        comments="技术方案可行。",
    )
    assert result.application.application.status is ApplicationStatus.PASSED
    head = h.who(tenant, "bureau_head")
    version = result.case.version
    with pytest.raises(AppError) as err:
        await approval_service.grant_approval(
            deps=deps,
            principal=head,
            case_id=case_id,
            expected_version=version,
            approved_amount=Decimal("800000.01"),
        )
    assert err.value.code == "APPROVED_AMOUNT_EXCEEDS_PLAN"
    clock.day = date(2025, 4, 1)
    approval = await approval_service.grant_approval(
        deps=deps,
        principal=head,
        case_id=case_id,
        expected_version=version,
        approved_amount=Decimal("780000.00"),
        conditions=["同步开展等保测评。"],
        content="建设城管业务系统。",
    )
    assert approval.document_number == "乙数审〔2025〕1号"
    assert approval.approved_on == date(2025, 4, 1) and approval.valid_until == date(
        2026, 3, 31
    )  # qiaokou §22
    assert "qiaokou-2022 §22" in approval.cite and "shuangyashan-2024 §40" in approval.cite
    pdf = await deps.store.get(approval.document_key)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == approval.document_sha256
    download = await approval_service.approval_document(
        deps=deps, principal=applicant, approval_id=approval.id
    )
    assert download.content == pdf and download.filename == "乙数审〔2025〕1号.pdf"
    (event,) = await h.outbox(deps.uow, tenant, "govproj.review.v1.approval.granted")
    payload = event["payload"]
    assert (
        payload["document_number"] == approval.document_number
        and payload["document_sha256"] == approval.document_sha256
    )
    assert payload["approved_amount"] == {"amount": "780000.00"} and payload["valid_until"] == "2026-03-31"
    assert payload["baseline_version"] == 1 and payload["conditions"] == ["同步开展等保测评。"]
    baselines = await approval_service.baselines(deps=deps, principal=applicant, approval_id=approval.id)
    assert [(b.version, b.amount) for b in baselines] == [(1, Decimal("780000.00"))]

    # A second approval of the tenant in the same year takes the next number.
    second = await planned_case(deps, h, tenant, tenants.city, name="第二个项目")
    v = await version_of(deps, applicant, second)
    r = await approval_service.submit_application(
        deps=deps,
        principal=applicant,
        case_id=second,
        expected_version=v,
        materials=[doc("technical_scheme")],
    )
    r = await approval_service.conclude_review(
        deps=deps, principal=city_reviewer, case_id=second, expected_version=r.case.version, passed=True
    )
    again = await approval_service.grant_approval(
        deps=deps, principal=head, case_id=second, expected_version=r.case.version, approved_amount=Decimal(1)
    )
    assert again.document_number == "乙数审〔2025〕2号"

    # Expiry: the first approval's validity passes before any procurement started.
    report = await sweep_service.sweep(deps, [tenant], today=date(2026, 3, 31))
    assert report.approvals_expired == 0
    report = await sweep_service.sweep(deps, [tenant], today=date(2026, 4, 1))
    assert report.approvals_expired == 2
    assert (
        await approval_service.get_approval(deps=deps, principal=head, approval_id=approval.id)
    ).status is ApprovalStatus.EXPIRED
    assert (
        await case_service.get_case(deps=deps, principal=head, case_id=case_id)
    ).status is CaseStatus.EXPIRED
    expired = await h.outbox(deps.uow, tenant, "govproj.review.v1.approval.expired")
    assert {e["payload"]["approval_id"] for e in expired} == {approval.id, again.id}
    assert {c["ref"] for c in expired[0]["payload"]["citations"]} == {"qiaokou-2022 §22"}
    assert (await sweep_service.sweep(deps, [tenant], today=date(2026, 4, 2))).approvals_expired == 0


async def test_lhasa_two_failed_rounds_mean_the_materials_are_prepared_anew(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, clock, h
) -> None:
    tenant = tenants.lhasa
    case_id = await planned_case(deps, h, tenant)
    applicant = h.who(tenant, "applicant", org="unit-1")
    reviewer = h.who(tenant, "bureau_reviewer")
    full = [doc("crypto_plan"), doc("feasibility_study"), doc("preliminary_design")]
    clock.day = date(2025, 3, 10)
    r = await approval_service.submit_application(
        deps=deps,
        principal=applicant,
        case_id=case_id,
        expected_version=await version_of(deps, applicant, case_id),
        materials=full,
    )
    review_task = next(
        v
        for v in await task_service.case_tasks(deps=deps, principal=reviewer, case_id=case_id)
        if v.task.kind is TaskKind.APPROVAL_REVIEW
    )
    assert review_task.due_on == date(2025, 3, 17) and review_task.task.cite  # lhasa §11: 5 working days
    r = await approval_service.conclude_review(
        deps=deps,
        principal=reviewer,
        case_id=case_id,
        expected_version=r.case.version,
        passed=False,
        comments="安全投入比例不足。",
        items=["补充网络安全投入测算"],
    )
    assert (r.case.status, r.case.stage) == (CaseStatus.RETURNED, Stage.APPROVAL)
    returned = await h.outbox(deps.uow, tenant, "govproj.review.v1.review.returned")
    assert returned[-1]["payload"]["stage"] == "approval" and returned[-1]["payload"]["items"] == [
        "补充网络安全投入测算"
    ]
    revision = next(v for v in await task_service.my_tasks(deps=deps, principal=applicant))
    assert revision.task.kind is TaskKind.APPLICANT_REVISION and revision.due_on == date(2025, 3, 13)  # 3 wd
    r = await approval_service.resubmit_application(
        deps=deps,
        principal=applicant,
        case_id=case_id,
        expected_version=r.case.version,
        materials=[doc("crypto_plan", 2)],
    )
    assert r.application.application.round == 2
    second_task = [
        v
        for v in await task_service.case_tasks(deps=deps, principal=reviewer, case_id=case_id)
        if v.task.kind is TaskKind.APPROVAL_REVIEW and v.task.status.value == "open"
    ]
    assert second_task[0].due_on == date(2025, 3, 13)  # second review: 3 working days
    r = await approval_service.conclude_review(
        deps=deps,
        principal=reviewer,
        case_id=case_id,
        expected_version=r.case.version,
        passed=False,
        comments="仍不满足要求。",
    )
    assert r.application.application.status is ApplicationStatus.VOID
    assert (r.case.status, r.case.stage) == (CaseStatus.IN_PLAN, Stage.APPROVAL)
    last = (await h.outbox(deps.uow, tenant, "govproj.review.v1.review.returned"))[-1]["payload"]
    assert "重新编制" in last["reason"] and "lhasa §11" in [c["ref"] for c in last["citations"]]
    # A fresh application (attempt 2) starts again at round 1.
    r = await approval_service.submit_application(
        deps=deps, principal=applicant, case_id=case_id, expected_version=r.case.version, materials=full
    )
    assert (r.application.application.attempt, r.application.application.round) == (2, 1)


async def test_steps_block_the_approval_until_recorded(deps: ReviewDeps, tenants, h) -> None:  # type: ignore[no-untyped-def]
    tenant = tenants.wuxing  # 600万 cross-department: 发改 FS approval, and the city review (wuxing §10, §13)
    case_id = await planned_case(
        deps,
        h,
        tenant,
        category="cross_department",
        amount=common_pb2.Money(amount="6000000.00"),
        materials=[h.material("application_form"), h.material("feasibility_study")],
    )
    applicant = h.who(tenant, "applicant", org="unit-1")
    r = await approval_service.submit_application(
        deps=deps,
        principal=applicant,
        case_id=case_id,
        expected_version=await version_of(deps, applicant, case_id),
        materials=[],
    )
    kinds = {s.kind: s for s in r.application.steps}
    assert set(kinds) == {"ndrc_feasibility_study", "city_review"}
    assert kinds["city_review"].blocking and kinds["city_review"].cite == ("wuxing-2023 §10",)
    reviewer = h.who(tenant, "bureau_reviewer")
    r = await approval_service.conclude_review(
        deps=deps, principal=reviewer, case_id=case_id, expected_version=r.case.version, passed=True
    )
    head = h.who(tenant, "bureau_head")
    with pytest.raises(AppError) as err:
        await approval_service.grant_approval(
            deps=deps,
            principal=head,
            case_id=case_id,
            expected_version=r.case.version,
            approved_amount=Decimal(6_000_000),
        )
    assert err.value.code == "APPROVAL_STEPS_PENDING" and err.value.cite == ["wuxing-2023 §10"]
    step = kinds["city_review"]
    with pytest.raises(AppError) as err:
        await approval_service.record_step(
            deps=deps, principal=applicant, step_id=step.id, expected_version=step.version, reference="x"
        )
    assert err.value.kind is ErrorKind.FORBIDDEN
    done = await approval_service.record_step(
        deps=deps,
        principal=reviewer,
        step_id=step.id,
        expected_version=step.version,
        reference="市数审〔2025〕8号",
    )
    assert done.status.value == "done" and done.recorded_by == reviewer.username
    approval = await approval_service.grant_approval(
        deps=deps,
        principal=head,
        case_id=case_id,
        expected_version=r.case.version,
        approved_amount=Decimal(6_000_000),
    )
    assert approval.valid_until is None  # wuxing sets no validity: the approval does not expire by itself
    assert approval.document_number.startswith("甲数审〔")


async def test_changes_file_only_or_re_review_and_every_baseline_is_kept(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h, pg
) -> None:
    tenant = tenants.qiaokou
    case_id = await planned_case(deps, h, tenant, tenants.city, amount=common_pb2.Money(amount="1000000.00"))
    applicant = h.who(tenant, "applicant", org="unit-1")
    head = h.who(tenant, "bureau_head")
    r = await approval_service.submit_application(
        deps=deps,
        principal=applicant,
        case_id=case_id,
        expected_version=await version_of(deps, applicant, case_id),
        materials=[doc("technical_scheme")],
    )
    r = await approval_service.conclude_review(
        deps=deps,
        principal=h.who(tenants.city, "bureau_reviewer"),
        case_id=case_id,
        expected_version=r.case.version,
        passed=True,
    )
    approval = await approval_service.grant_approval(
        deps=deps,
        principal=head,
        case_id=case_id,
        expected_version=r.case.version,
        approved_amount=Decimal(1_000_000),
    )
    # qiaokou §19: a budget change of exactly 10% is filed; the unit adjusts, a new baseline is kept.
    filed = await change_service.request_change(
        deps=deps,
        principal=applicant,
        approval_id=approval.id,
        case_version=await version_of(deps, applicant, case_id),
        kind=ChangeKind.AMOUNT,
        description="增加数据接口",
        new_amount=Decimal(1_100_000),
    )
    assert (filed.routed, filed.status, filed.baseline_version) == (
        ChangeOutcome.FILE_ONLY,
        ChangeStatus.FILED,
        2,
    )
    assert filed.cite == ("qiaokou-2022 §19",)
    # More than 10% of the current baseline → re-review; the case reopens.
    big = await change_service.request_change(
        deps=deps,
        principal=applicant,
        approval_id=approval.id,
        case_version=await version_of(deps, applicant, case_id),
        kind=ChangeKind.CONTENT_AND_AMOUNT,
        description="扩大建设范围",
        new_amount=Decimal(1_300_000),
        new_content="新增移动端",
    )
    assert big.routed is ChangeOutcome.RE_REVIEW and big.status is ChangeStatus.UNDER_REVIEW
    case = await case_service.get_case(deps=deps, principal=head, case_id=case_id)
    assert (case.status, case.stage) == (CaseStatus.APPROVAL_REVIEW, Stage.CHANGE)
    decided = await change_service.decide_change(
        deps=deps,
        principal=head,
        change_id=big.id,
        case_version=case.version,
        approve=True,
        reason="同意扩大",
    )
    assert decided.status is ChangeStatus.APPROVED and decided.baseline_version == 3
    assert (
        await case_service.get_case(deps=deps, principal=head, case_id=case_id)
    ).status is CaseStatus.APPROVED
    baselines = await approval_service.baselines(deps=deps, principal=head, approval_id=approval.id)
    assert [(b.version, b.amount) for b in baselines] == [
        (1, Decimal(1_000_000)),
        (2, Decimal(1_100_000)),
        (3, Decimal(1_300_000)),
    ]
    assert baselines[2].content == "新增移动端"
    outcomes = [
        e["payload"]["outcome"] for e in await h.outbox(deps.uow, tenant, "govproj.review.v1.change.decided")
    ]
    assert outcomes == ["file_only", "re_review", "approved"]
    # Baselines are append-only in the database itself, even for the schema owner.
    from govkit.testing.services import service_db
    from review.bootstrap import spec

    db = await service_db(pg, spec())
    import asyncpg

    conn = await asyncpg.connect(db.owner_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("select set_config('app.tenant_id', $1, false)", tenant)
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await conn.execute("update review.approval_baselines set amount = 1")
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await conn.execute("delete from review.approval_baselines")
    finally:
        await conn.close()


async def test_reminders_before_and_after_the_deadline_once_each_and_reassignment(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, clock, h, tmp_path: Path
) -> None:
    tenant = tenants.lhasa
    case_id = await h.open_case(deps, tenant)  # formal review due Mon 10 March (lhasa §11, 5 wd)
    reviewer = h.who(tenant, "bureau_reviewer")
    due = await task_service.my_tasks(
        deps=deps, principal=reviewer, urgency=[Urgency.DUE_SOON, Urgency.OVERDUE]
    )
    assert due == []
    clock.day = date(2025, 3, 7)  # Friday: one working day before
    report = await sweep_service.sweep(deps, [tenant])
    # The formal review and the four departments' opinions (lhasa §4, §11: 5 wd each) are all due Monday.
    assert report.reminders_created == 5 and report.reminders_emailed == 5
    assert (await sweep_service.sweep(deps, [tenant])).reminders_created == 0
    soon = await task_service.my_tasks(deps=deps, principal=reviewer, urgency=[Urgency.DUE_SOON])
    assert [v.task.kind for v in soon] == [TaskKind.FORMAL_REVIEW]
    clock.day = date(2025, 3, 11)
    report = await sweep_service.sweep(deps, [tenant])
    assert report.reminders_created == 5
    overdue = await task_service.my_tasks(deps=deps, principal=reviewer, urgency=[Urgency.OVERDUE])
    assert [v.due_on for v in overdue] == [date(2025, 3, 10)]
    notes = await task_service.my_notifications(deps=deps, principal=reviewer, limit=10)
    assert [n.kind for n in notes] == ["overdue", "due_soon"] and "已逾期" in notes[0].subject
    await task_service.mark_notification_read(deps=deps, principal=reviewer, notification_id=str(notes[0].id))
    mails = [
        email.message_from_bytes(m.read_bytes(), policy=email.policy.default)
        for m in sorted((tmp_path / "mail").glob("*.eml"))
    ]
    assert len(mails) == 10
    to_reviewer = [m for m in mails if m["To"] == f"bureau_reviewer.{tenant}@govproj.localhost"]
    assert len(to_reviewer) == 2
    assert "即将到期" in str(to_reviewer[0]["Subject"]) and "lhasa §11" in to_reviewer[0].get_content()
    assert {m["To"] for m in mails} >= {
        f"finance.{tenant}@govproj.localhost",
        f"crypto.{tenant}@govproj.localhost",
    }

    task = overdue[0].task
    with pytest.raises(AppError) as err:
        await task_service.reassign(
            deps=deps,
            principal=reviewer,
            task_id=task.id,
            to_user="bureau_reviewer2",
            expected_version=task.version,
        )
    assert err.value.kind is ErrorKind.FORBIDDEN
    moved = await task_service.reassign(
        deps=deps,
        principal=h.who(tenant, "bureau_head"),
        task_id=task.id,
        to_user=f"deputy.{tenant}",
        expected_version=task.version,
    )
    assert moved.task.holder_user == f"deputy.{tenant}" and moved.due_on == date(2025, 3, 10)
    assert await task_service.my_tasks(deps=deps, principal=reviewer) == []
    deputy = h.who(tenant, "bureau_reviewer", name=f"deputy.{tenant}")
    assert [v.task.id for v in await task_service.my_tasks(deps=deps, principal=deputy)] == [task.id]
    assert case_id


async def test_expiry_does_not_touch_an_approval_without_validity_and_sql_guards_rls(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h, pg
) -> None:
    from govkit.testing.services import service_db
    from review.bootstrap import spec

    db = await service_db(pg, spec())
    import asyncpg

    await h.open_case(deps, tenants.qiaokou)
    conn = await asyncpg.connect(db.app_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert not await conn.fetchval(
            "select rolsuper or rolbypassrls from pg_roles where rolname = current_user"
        )
        for table in ("review_cases", "tasks", "opinions", "experts", "annual_plans", "notifications"):
            assert await conn.fetchval(f"select count(*) from review.{table}") == 0, table
        await conn.execute("select set_config('app.tenant_id', $1, false)", tenants.city)
        # The city sees the county's delegated case and its tasks, not the county's plans.
        assert await conn.fetchval("select count(*) from review.review_cases") == 1
        assert await conn.fetchval("select count(*) from review.tasks") >= 1
        await conn.execute("select set_config('app.tenant_id', $1, false)", tenants.wuxing)
        assert await conn.fetchval("select count(*) from review.review_cases") == 0
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await conn.execute(
                "insert into review.annual_plans (id, tenant_id, year, status, compiled_at, version) "
                "values (gen_random_uuid(), $1, 2026, 'draft', now(), 1)",
                tenants.qiaokou,
            )
    finally:
        await conn.close()
    assert text  # sqlalchemy text kept for ad-hoc checks


async def test_a_supplementary_project_skips_the_plan_review_and_needs_its_higher_sign_off(  # type: ignore[no-untyped-def]
    deps: ReviewDeps, tenants, h
) -> None:
    tenant = tenants.wuxing  # wuxing §7: 增补 through the bureau, with funds already secured
    case_id = await h.open_case(
        deps,
        tenant,
        supplementary=True,
        materials=[h.material("application_form"), h.material("feasibility_study")],
    )
    applicant = h.who(tenant, "applicant", org="unit-1")
    case = await case_service.get_case(deps=deps, principal=applicant, case_id=case_id)
    assert (case.status, case.stage) == (CaseStatus.AWAITING_APPLICATION, Stage.APPROVAL)
    assert await task_service.case_tasks(deps=deps, principal=applicant, case_id=case_id) == []
    assert await opinion_service.list_opinions(deps=deps, principal=applicant, case_id=case_id) == []
    with pytest.raises(AppError) as err:
        await approval_service.submit_application(
            deps=deps,
            principal=applicant,
            case_id=case_id,
            expected_version=case.version,
            materials=[],
            sign_off={"approved_by": "bureau", "reference": "吴数增〔2025〕1号"},
        )
    assert err.value.code == "SUPPLEMENTARY_SIGN_OFF_REQUIRED" and err.value.cite == ["wuxing-2023 §7"]
    assert "资金已经落实" in err.value.message
    result = await approval_service.submit_application(
        deps=deps,
        principal=applicant,
        case_id=case_id,
        expected_version=case.version,
        materials=[],
        sign_off={"approved_by": "bureau", "reference": "吴数增〔2025〕1号", "funds_secured": True},
    )
    sign_off = next(s for s in result.application.steps if s.kind == "supplementary_sign_off")
    assert sign_off.status.value == "done" and sign_off.reference == "吴数增〔2025〕1号"
    assert result.case.status is CaseStatus.APPROVAL_REVIEW
    assert "wuxing-2023 §7" in result.application.application.cite
