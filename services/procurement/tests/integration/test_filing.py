"""Procurement and contract filing over the real PostgreSQL (RLS on the app role): the read model
from approval.granted, procurement.started, the filing checks with their articles, late filings and
the overdue sweep."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError, ErrorKind
from govkit.events import new_event
from govproj.evaluation.events.v1 import events_pb2 as evaluation_events
from govproj.procurement.v1 import procurement_pb2
from procurement.domain.procurement import ContractTerms, DocKind, Method, Role
from procurement.domain.project import ProjectStatus
from procurement.entrypoints import grpc as grpc_api
from procurement.service import ProcurementDeps
from procurement.service import procurements as procurement_service
from procurement.service import projects as project_service
from procurement.service import sweep as sweep_service

from .conftest import CONTRACTOR, OTHER_SUPPLIER, PDF, SUPERVISOR, credit_code

pytestmark = pytest.mark.integration


async def begin(deps: ProcurementDeps, h: Any, tenant: str, declaration_id: str, **kw: Any) -> Any:
    unit = h.who(tenant, "applicant")
    view = await project_service.get_project(deps=deps, principal=unit, declaration_id=declaration_id)
    return await procurement_service.start_procurement(
        deps=deps,
        principal=unit,
        declaration_id=declaration_id,
        role=kw.get("role", Role.CONSTRUCTION),
        method=kw.get("method", Method.OPEN_TENDER),
        started_on=None,
        title="智慧城管平台建设项目",
        expected_version=view.project.version,
    )


async def upload_all(deps: ProcurementDeps, h: Any, tenant: str, procurement_id: str) -> None:
    unit = h.who(tenant, "applicant")
    for kind in (DocKind.TENDER_DOCUMENTS, DocKind.AWARD_NOTICE, DocKind.CONTRACT):
        await procurement_service.upload_document(
            deps=deps,
            principal=unit,
            procurement_id=procurement_id,
            kind=kind,
            filename=f"{kind.value}.pdf",
            content_type="application/pdf",
            data=PDF + kind.value.encode(),
        )


async def file(deps: ProcurementDeps, h: Any, tenant: str, procurement_id: str, **overrides: Any) -> Any:
    unit = h.who(tenant, "applicant")
    view = await procurement_service.get_procurement(deps=deps, principal=unit, procurement_id=procurement_id)
    return await procurement_service.file_contract(
        deps=deps,
        principal=unit,
        procurement_id=procurement_id,
        terms=ContractTerms(**h.terms(**overrides)),
        expected_version=view.procurement.version,
    )


async def procure_and_file(
    deps: ProcurementDeps, h: Any, tenant: str, declaration_id: str, **overrides: Any
) -> Any:
    role = overrides.pop("role", Role.CONSTRUCTION)
    p = await begin(deps, h, tenant, declaration_id, role=role)
    await upload_all(deps, h, tenant, p.id)
    return await file(deps, h, tenant, p.id, **overrides)


async def test_approval_builds_the_project_and_the_first_procurement_emits_procurement_started(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    unit = h.who(tenant, "applicant")
    view = await project_service.get_project(deps=deps, principal=unit, declaration_id=declaration_id)
    assert view.project.status is ProjectStatus.APPROVED
    assert view.project.approved_amount == Decimal("800000.00")
    assert view.project.pack_id == "qiaokou-2022"
    assert view.final_payment_blocked and view.final_payment_cite == ["qiaokou-2022 §29"]

    p = await begin(deps, h, tenant, declaration_id)
    started = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.procurement.started")
    assert len(started) == 1
    payload = started[0]["payload"]
    assert payload["declaration_id"] == declaration_id and payload["procurement_id"] == p.id
    assert payload["method"] == "open_tender"
    assert {"ref": "qiaokou-2022 §22"} in payload["citations"]
    view = await project_service.get_project(deps=deps, principal=unit, declaration_id=declaration_id)
    assert view.project.status is ProjectStatus.PROCURING

    with pytest.raises(AppError) as again:
        await begin(deps, h, tenant, declaration_id)
    assert again.value.code == "PROCUREMENT_EXISTS"
    # The supervision procurement is a second procurement; procurement.started is not repeated.
    await begin(deps, h, tenant, declaration_id, role=Role.SUPERVISION)
    assert len(await h.outbox(deps.uow, tenant, "govproj.procurement.v1.procurement.started")) == 1


async def test_a_filing_on_time_emits_contract_filed_with_what_acceptance_needs(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    filing = await procure_and_file(deps, h, tenant, declaration_id)
    assert not filing.overdue and filing.due_on == date(2025, 3, 10)  # 5 working days after 3 March
    checks = {c.code: c for c in filing.checks}
    assert checks["FILED_WITHIN_DEADLINE"].passed and checks["FILED_WITHIN_DEADLINE"].cite == (
        "qiaokou-2022 §25",
    )
    assert checks["AMOUNT_WITHIN_APPROVAL"].passed
    assert checks["SUPPLIER_NOT_DISCREDITED"].passed
    filed = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.contract.filed")
    assert len(filed) == 1
    payload = filed[0]["payload"]
    assert payload["contract_amount"] == {"amount": "750000.00"}
    assert payload["role"] == "construction" and payload["period_end"] == "2025-09-10"
    assert payload["facts"]["amount"] == {"amount": "800000.00"}
    assert payload["facts"]["public_facing"] is True and payload["facts"]["category"] == "business_app"
    view = await project_service.get_project(
        deps=deps, principal=h.who(tenant, "applicant"), declaration_id=declaration_id
    )
    assert view.project.status is ProjectStatus.CONSTRUCTION
    assert all(len(d.sha256) == 64 for d in view.procurements[0].documents)


async def test_late_filing_is_accepted_marked_overdue_and_the_sweep_reports_unfiled_contracts_once(
    deps: ProcurementDeps, tenants: Any, h: Any, clock: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    unit = h.who(tenant, "applicant")
    p = await begin(deps, h, tenant, declaration_id)
    signed = await procurement_service.record_signing(
        deps=deps, principal=unit, procurement_id=p.id, signed_on=date(2025, 3, 3), expected_version=p.version
    )
    assert signed.filing_due_on == date(2025, 3, 10)
    [(_, servicer)] = grpc_api.servicers(deps)

    async def shown_overdue() -> bool:
        """What the project page reads (gRPC GetProject): the signed contract marked overdue."""
        reset = _principal.set(unit)
        try:
            view = await servicer.GetProject(
                procurement_pb2.GetProjectRequest(declaration_id=declaration_id), None
            )
        finally:
            _principal.reset(reset)
        (shown,) = [x for x in view.procurements if x.id == p.id]
        return shown.filing_overdue

    clock.day = date(2025, 3, 10)
    assert (await sweep_service.sweep(deps, [tenant])).filings_overdue == 0  # still due today
    assert not await shown_overdue()
    clock.day = date(2025, 3, 11)
    assert await shown_overdue()  # the page says so before any sweep has run
    assert (await sweep_service.sweep(deps, [tenant])).filings_overdue == 1
    assert (await sweep_service.sweep(deps, [tenant])).filings_overdue == 0  # reported once
    overdue = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.filing.overdue")
    assert len(overdue) == 1
    assert overdue[0]["payload"]["due_on"] == "2025-03-10" and overdue[0]["payload"]["workdays"] == 5
    assert overdue[0]["payload"]["citations"] == [{"ref": "qiaokou-2022 §25"}]

    clock.day = date(2025, 3, 14)
    await upload_all(deps, h, tenant, p.id)
    filing = await file(deps, h, tenant, p.id)
    assert filing.overdue
    assert not await shown_overdue()  # filed (late): the filing carries the mark from now on
    late = next(c for c in filing.checks if c.code == "FILED_WITHIN_DEADLINE")
    assert not late.passed and not late.blocking and "逾期" in late.message
    assert len(await h.outbox(deps.uow, tenant, "govproj.procurement.v1.filing.overdue")) == 1
    filed = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.contract.filed")
    assert filed[0]["payload"]["overdue"] is True


async def test_late_filing_without_signing_recorded_first_emits_filing_overdue_itself(
    deps: ProcurementDeps, tenants: Any, h: Any, clock: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    clock.day = date(2025, 3, 20)
    filing = await procure_and_file(deps, h, tenant, declaration_id, signed_on=date(2025, 3, 3))
    assert filing.overdue
    assert len(await h.outbox(deps.uow, tenant, "govproj.procurement.v1.filing.overdue")) == 1


async def refused(
    deps: ProcurementDeps, h: Any, tenant: str, declaration_id: str, **overrides: Any
) -> AppError:
    with pytest.raises(AppError) as caught:
        await procure_and_file(deps, h, tenant, declaration_id, **overrides)
    return caught.value


async def test_amount_above_the_approval_is_refused_with_its_articles_and_nothing_is_written(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.wuxing
    declaration_id = await h.grant(deps, tenant, amount="900000.00")
    error = await refused(deps, h, tenant, declaration_id, amount=Decimal("900000.01"))
    assert error.kind is ErrorKind.PRECONDITION and error.code == "FILING_REFUSED"
    failed = [c for c in error.details["checks"] if not c["passed"] and c["blocking"]]
    assert [c["code"] for c in failed] == ["AMOUNT_WITHIN_APPROVAL"]
    assert "wuxing-2023 §19(1)" in failed[0]["cite"]
    assert await h.outbox(deps.uow, tenant, "govproj.procurement.v1.contract.filed") == []
    view = await project_service.get_project(
        deps=deps, principal=h.who(tenant, "applicant"), declaration_id=declaration_id
    )
    assert view.filings == [] and view.project.status is ProjectStatus.PROCURING


async def test_warranty_below_the_pack_minimum_and_signing_before_the_approval_are_refused(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.city  # shuangyashan-2024 §25(2): 2 years
    declaration_id = await h.grant(deps, tenant, approved_on=date(2025, 3, 3))
    error = await refused(deps, h, tenant, declaration_id, warranty_months=12, signed_on=date(2025, 2, 28))
    failed = {c["code"]: c for c in error.details["checks"] if not c["passed"]}
    assert failed["WARRANTY_MINIMUM"]["cite"] == ["shuangyashan-2024 §25(2)"]
    assert "APPROVAL_VALID_AT_SIGNING" in failed
    assert "shuangyashan-2024 §25(2)" in error.cite


async def test_bad_credit_code_is_a_400_naming_the_check_digit(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    good = h.terms()["supplier_credit_code"]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    error = await refused(deps, h, tenant, declaration_id, supplier_credit_code=wrong)
    assert error.kind is ErrorKind.INVALID and error.code == "CREDIT_CODE_CHECK_DIGIT"


async def test_wuxing_supervision_first_independent_and_designer_not_contractor(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.wuxing  # §17: supervision from 100万, independent, designer/supervisor/tester excluded
    declaration_id = await h.grant(
        deps, tenant, amount="2000000.00", designer_org="甲县数字规划设计院有限公司"
    )
    construction = await begin(deps, h, tenant, declaration_id)
    await upload_all(deps, h, tenant, construction.id)
    with pytest.raises(AppError) as no_supervisor:
        await file(deps, h, tenant, construction.id, amount=Decimal("1500000.00"))
    failed = [c for c in no_supervisor.value.details["checks"] if not c["passed"]]
    assert [c["code"] for c in failed] == ["SUPERVISION_CONTRACT_PRESENT"]
    assert failed[0]["cite"] == ["wuxing-2023 §17"]

    await procure_and_file(
        deps,
        h,
        tenant,
        declaration_id,
        role=Role.SUPERVISION,
        supplier_name="某某监理咨询有限公司",
        supplier_credit_code=SUPERVISOR,
        amount=Decimal("40000.00"),
        contract_no="JL-2025-001",
    )
    with pytest.raises(AppError) as supervisor_builds:
        await file(
            deps, h, tenant, construction.id, amount=Decimal("1500000.00"), supplier_credit_code=SUPERVISOR
        )
    codes = {c["code"] for c in supervisor_builds.value.details["checks"] if not c["passed"]}
    assert codes == {"SUPERVISOR_INDEPENDENT", "DESIGNER_SUPERVISOR_TESTER_EXCLUDED"}
    with pytest.raises(AppError) as designer_builds:
        await file(
            deps,
            h,
            tenant,
            construction.id,
            amount=Decimal("1500000.00"),
            supplier_name="甲县数字规划设计院有限公司",
            supplier_credit_code=OTHER_SUPPLIER,
        )
    codes = {c["code"] for c in designer_builds.value.details["checks"] if not c["passed"]}
    assert codes == {"DESIGNER_SUPERVISOR_TESTER_EXCLUDED"}
    filing = await file(deps, h, tenant, construction.id, amount=Decimal("1500000.00"))
    assert {c.code for c in filing.checks if c.passed} >= {
        "SUPERVISION_CONTRACT_PRESENT",
        "SUPERVISOR_INDEPENDENT",
        "DESIGNER_SUPERVISOR_TESTER_EXCLUDED",
        "IP_OWNERSHIP_STATED",
    }


TESTER = credit_code("91330502MA2B3C4D5")
DESIGNER = "甲县数字规划设计院有限公司"


def _exclusion(error: AppError) -> dict[str, Any]:
    failed = [c for c in error.details["checks"] if not c["passed"]]
    assert [c["code"] for c in failed] == ["DESIGNER_SUPERVISOR_TESTER_EXCLUDED"], failed
    assert failed[0]["cite"] == ["wuxing-2023 §17"] and error.cite == ["wuxing-2023 §17"]
    return failed[0]


async def test_wuxing_the_tester_is_not_the_contractor_supervisor_or_designer(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    """wuxing-2023 §17: a supplier that designs, supervises or tests the project takes no other part
    in its procurement — the testing (检测/测评) contract is refused for the contractor, the
    supervisor and the designer, and a contract is refused for the filed tester."""
    tenant = tenants.wuxing
    declaration_id = await h.grant(deps, tenant, amount="2000000.00", designer_org=DESIGNER)
    unit = h.who(tenant, "applicant")
    await procure_and_file(
        deps,
        h,
        tenant,
        declaration_id,
        role=Role.SUPERVISION,
        supplier_name="某某监理咨询有限公司",
        supplier_credit_code=SUPERVISOR,
        amount=Decimal("40000.00"),
    )
    await procure_and_file(deps, h, tenant, declaration_id, amount=Decimal("1500000.00"))
    testing = await begin(deps, h, tenant, declaration_id, role=Role.TESTING, method=Method.INQUIRY)
    assert testing.role is Role.TESTING
    await upload_all(deps, h, tenant, testing.id)
    for party, zh, overrides in (
        ("contractor", "承建单位", {"supplier_credit_code": CONTRACTOR}),
        ("supervisor", "监理单位", {"supplier_credit_code": SUPERVISOR}),
        ("designer", "设计单位", {"supplier_name": DESIGNER, "supplier_credit_code": OTHER_SUPPLIER}),
    ):
        with pytest.raises(AppError) as refused:
            await file(deps, h, tenant, testing.id, amount=Decimal("30000.00"), **overrides)
        assert refused.value.code == "FILING_REFUSED", party
        assert zh in _exclusion(refused.value)["message"], party
    # Nothing of the refused filings was written.
    view = await procurement_service.get_procurement(deps=deps, principal=unit, procurement_id=testing.id)
    assert view.filing is None and view.procurement.status.value == "started"

    filed = await file(
        deps,
        h,
        tenant,
        testing.id,
        contract_no="JC-2025-001",
        supplier_name="某某软件测评中心有限公司",
        supplier_credit_code=TESTER,
        amount=Decimal("30000.00"),
    )
    exclusion = next(c for c in filed.checks if c.code == "DESIGNER_SUPERVISOR_TESTER_EXCLUDED")
    assert exclusion.passed and exclusion.cite == ("wuxing-2023 §17",) and filed.role is Role.TESTING
    assert "AMOUNT_WITHIN_APPROVAL" not in {c.code for c in filed.checks}  # not a construction lot
    events = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.contract.filed")
    assert [e["payload"]["role"] for e in events] == ["supervision", "construction", "testing"]
    assert len(await h.outbox(deps.uow, tenant, "govproj.procurement.v1.procurement.started")) == 1
    project = await project_service.get_project(deps=deps, principal=unit, declaration_id=declaration_id)
    assert project.project.status is ProjectStatus.CONSTRUCTION

    # The other way round: a project whose tester is filed first may not be built by the tester.
    second = await h.grant(deps, tenant, amount="2000000.00", designer_org=DESIGNER)
    await procure_and_file(
        deps,
        h,
        tenant,
        second,
        role=Role.SUPERVISION,
        supplier_credit_code=SUPERVISOR,
        amount=Decimal("40000.00"),
    )
    await procure_and_file(
        deps, h, tenant, second, role=Role.TESTING, supplier_credit_code=TESTER, amount=Decimal("30000.00")
    )
    construction = await begin(deps, h, tenant, second)
    await upload_all(deps, h, tenant, construction.id)
    with pytest.raises(AppError) as tester_builds:
        await file(
            deps, h, tenant, construction.id, amount=Decimal("1500000.00"), supplier_credit_code=TESTER
        )
    assert "检测（测评）单位" in _exclusion(tester_builds.value)["message"]


async def test_a_pack_without_the_rule_files_a_testing_contract_of_the_contractor(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    """qiaokou-2022 has no designer/supervisor/tester exclusion: no such check (no rule, no check)."""
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    await procure_and_file(deps, h, tenant, declaration_id)
    filed = await procure_and_file(
        deps, h, tenant, declaration_id, role=Role.TESTING, amount=Decimal("20000.00")
    )
    assert filed.role is Role.TESTING
    assert "DESIGNER_SUPERVISOR_TESTER_EXCLUDED" not in {c.code for c in filed.checks}


async def test_a_discredited_supplier_is_refused_while_listed(
    deps: ProcurementDeps, tenants: Any, h: Any, clock: Any
) -> None:
    tenant = tenants.lhasa
    declaration_id = await h.grant(deps, tenant)
    listed = evaluation_events.DiscreditedChanged(
        entry_id="entry-1-" + tenants.suffix,
        scope="tenant",
        tenant_id=tenant,
        subject_kind="supplier",
        credit_code=OTHER_SUPPLIER,
        name="某失信科技有限公司",
        change="added",
        grounds="虚假材料",
        period_from="2025-01-01",
        period_until="2025-12-31",
        changed_at="2025-01-01T00:00:00+08:00",
    )
    envelope = new_event(
        event_type="govproj.evaluation.v1.discredited.changed", tenant=tenant, payload=listed
    )
    await h.feed(deps, project_service.discredited_changed, envelope)
    supervision = await begin(deps, h, tenant, declaration_id, role=Role.SUPERVISION)
    await upload_all(deps, h, tenant, supervision.id)
    with pytest.raises(AppError) as caught:
        await file(
            deps, h, tenant, supervision.id, supplier_credit_code=OTHER_SUPPLIER, amount=Decimal("30000.00")
        )
    failed = [c for c in caught.value.details["checks"] if not c["passed"]]
    assert [c["code"] for c in failed] == ["SUPPLIER_NOT_DISCREDITED"]
    assert failed[0]["cite"] == ["lhasa §22"]
    # Another tenant does not see this tenant's list.
    other = await h.grant(deps, tenants.qiaokou)
    filing = await procure_and_file(deps, h, tenants.qiaokou, other, supplier_credit_code=OTHER_SUPPLIER)
    assert next(c for c in filing.checks if c.code == "SUPPLIER_NOT_DISCREDITED").passed
    # Removed from the list: filed.
    removed = evaluation_events.DiscreditedChanged(**{**_fields(listed), "change": "removed"})
    await h.feed(
        deps,
        project_service.discredited_changed,
        new_event(
            event_type="govproj.evaluation.v1.discredited.changed",
            tenant=tenant,
            payload=removed,
        ),
    )
    await file(
        deps, h, tenant, supervision.id, supplier_credit_code=OTHER_SUPPLIER, amount=Decimal("30000.00")
    )


def _fields(msg: Any) -> dict[str, Any]:
    return {f.name: getattr(msg, f.name) for f in msg.DESCRIPTOR.fields}


async def test_expired_approval_refuses_a_procurement(deps: ProcurementDeps, tenants: Any, h: Any) -> None:
    from govproj.review.events.v1 import events_pb2 as review_events

    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    expired = review_events.ApprovalExpired(
        declaration_id=declaration_id, tenant_id=tenant, expired_on="2026-03-04"
    )
    await h.feed(
        deps,
        project_service.approval_expired,
        new_event(
            event_type="govproj.review.v1.approval.expired",
            tenant=tenant,
            payload=expired,
        ),
    )
    with pytest.raises(AppError) as caught:
        await begin(deps, h, tenant, declaration_id)
    assert caught.value.code == "PROJECT_NOT_OPEN"


async def test_missing_documents_are_refused_with_the_filing_article(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    p = await begin(deps, h, tenant, declaration_id)
    with pytest.raises(AppError) as caught:
        await file(deps, h, tenant, p.id)
    assert caught.value.code == "FILING_DOCUMENTS_MISSING"
    assert caught.value.details["missing"] == ["tender_documents", "award_notice", "contract"]
    assert caught.value.cite == ["qiaokou-2022 §25"]


async def test_other_units_and_tenants_do_not_see_the_project(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    for outsider in (h.who(tenant, "applicant", org="unit-2"), h.who(tenants.city, "bureau_head")):
        with pytest.raises(AppError) as caught:
            await project_service.get_project(deps=deps, principal=outsider, declaration_id=declaration_id)
        assert caught.value.kind is ErrorKind.NOT_FOUND
    bureau = h.who(tenant, "bureau_reviewer", org="bureau")
    assert (
        await project_service.get_project(deps=deps, principal=bureau, declaration_id=declaration_id)
    ).project
    with pytest.raises(AppError) as caught:
        await procurement_service.start_procurement(
            deps=deps,
            principal=bureau,
            declaration_id=declaration_id,
            role=Role.CONSTRUCTION,
            method=Method.OPEN_TENDER,
            started_on=None,
            title="",
            expected_version=1,
        )
    assert caught.value.kind is ErrorKind.FORBIDDEN
