"""The packs' other acceptance rules over the real database: wuxing-2023 (security assessment
before the trial run, 3 months of rectification), qiaokou-2022 self-accepted filing within 3
working days, heze-2021 §23 deadline and extension; contract.filed over a real nats-server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from acceptance.adapters.orm import events, projects
from acceptance.domain.acceptance import RectificationDraft, Stage
from acceptance.entrypoints import grpc as grpc_api
from acceptance.entrypoints.consumers import consumers_for
from acceptance.service import AcceptanceDeps
from acceptance.service import acceptances as acc
from acceptance.service import projects as proj
from acceptance.service.contracts import CONTRACT_FILED
from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError
from govkit.events import new_event
from govkit.events.nats import NatsConnection, ensure_stream
from govproj.acceptance.v1 import acceptance_pb2

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _project(deps: AcceptanceDeps, h: Any, tenant: str, filed: Any) -> Any:
    await h.learn(deps, filed)
    return await proj.find_by_declaration(
        deps=deps, principal=h.who(tenant, "bureau_reviewer"), declaration_id=filed.declaration_id
    )


async def _evidence(deps: AcceptanceDeps, h: Any, tenant: str, project_id: str, kind: str, on: date) -> None:
    await proj.record_evidence(
        deps=deps,
        principal=h.who(tenant, "applicant", org="unit-1"),
        project_id=project_id,
        kind=kind,
        conclusion="pass",
        level=None,
        issued_by="某测评中心",
        issued_on=on,
        filename=f"{kind}.pdf",
        content_type="application/pdf",
        data=PDF,
    )


def _all(item: Any, failed: tuple[str, ...] = ()) -> list[acc.Finding]:
    return [acc.Finding(i.code, i.code not in failed) for i in item.checklist]


async def _fresh(deps: AcceptanceDeps, h: Any, tenant: str, project_id: str) -> Any:
    return (
        await proj.get_project(deps=deps, principal=h.who(tenant, "bureau_reviewer"), project_id=project_id)
    ).project


async def test_wuxing_assessment_before_trial_and_three_months_to_rectify(
    deps: AcceptanceDeps, tenants, h, clock
) -> None:  # type: ignore[no-untyped-def]
    t = tenants.wuxing
    unit, head, bureau = (
        h.who(t, "applicant", org="unit-1"),
        h.who(t, "unit_head", org="unit-1"),
        h.who(t, "bureau_head"),
    )
    project = await _project(deps, h, t, h.contract_filed(t, amount="2000000.00", signed_on="2025-01-06"))
    with pytest.raises(AppError) as before_trial:
        await proj.start_trial(
            deps=deps,
            principal=unit,
            project_id=project.id,
            expected_version=project.version,
            started_on=date(2025, 3, 3),
            completed_on=None,
        )
    assert before_trial.value.code == "EVIDENCE_MISSING" and before_trial.value.cite == ["wuxing-2023 §20"]
    await _evidence(deps, h, t, project.id, "security_risk", date(2025, 2, 20))
    project = await proj.start_trial(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=project.version,
        started_on=date(2025, 3, 3),
        completed_on=None,
    )
    assert project.trial_ends_on == date(2025, 4, 3)
    clock.day = date(2025, 4, 3)
    initial = await acc.apply(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=project.version,
        stage=Stage.INITIAL,
    )
    await acc.decide(
        deps=deps,
        principal=head,
        acceptance_id=initial.id,
        expected_version=initial.version,
        findings=_all(initial),
        opinion="",
        rectifications=[],
    )
    project = await _fresh(deps, h, t, project.id)
    with pytest.raises(AppError) as catalog:
        await acc.apply(
            deps=deps,
            principal=unit,
            project_id=project.id,
            expected_version=project.version,
            stage=Stage.FINAL,
        )
    assert catalog.value.details["missing"] == ["resource_catalog"] and catalog.value.cite == [
        "wuxing-2023 §18"
    ]
    await _evidence(deps, h, t, project.id, "resource_catalog", date(2025, 4, 1))
    final = await acc.apply(
        deps=deps, principal=unit, project_id=project.id, expected_version=project.version, stage=Stage.FINAL
    )
    assert (final.organizer, final.organizer_cite) == ("bureau", ("wuxing-2023 §20",))
    final = await acc.draw_panel(
        deps=deps,
        principal=bureau,
        acceptance_id=final.id,
        expected_version=final.version,
        size=3,
        seed=None,
        specialty=None,
        avoid_orgs=["某关联公司"],
    )
    with pytest.raises(AppError) as too_late:
        await acc.decide(
            deps=deps,
            principal=bureau,
            acceptance_id=final.id,
            expected_version=final.version,
            findings=_all(final, ("archives",)),
            opinion="档案不全",
            rectifications=[RectificationDraft("补齐档案", "建设单位", date(2025, 7, 4))],
        )
    assert too_late.value.code == "RECTIFICATION_TOO_LATE" and too_late.value.cite == ["wuxing-2023 §20"]
    failed, items = await acc.decide(
        deps=deps,
        principal=bureau,
        acceptance_id=final.id,
        expected_version=final.version,
        findings=_all(final, ("archives",)),
        opinion="档案不全",
        rectifications=[RectificationDraft("补齐档案", "建设单位")],
    )
    assert items[0].due_on == date(2025, 7, 3) and "wuxing-2023 §20" in failed.cite


async def test_qiaokou_self_accepted_result_filed_within_three_working_days(
    deps: AcceptanceDeps, tenants, h, clock
) -> None:  # type: ignore[no-untyped-def]
    t = tenants.qiaokou
    unit, head = h.who(t, "applicant", org="unit-1"), h.who(t, "unit_head", org="unit-1")
    clock.day = date(2025, 8, 1)
    project = await _project(deps, h, t, h.contract_filed(t, amount="300000.00", signed_on="2025-05-06"))
    project = await proj.start_trial(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=project.version,
        started_on=date(2025, 8, 1),
        completed_on=None,
    )
    clock.day = date(2025, 9, 1)
    initial = await acc.apply(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=project.version,
        stage=Stage.INITIAL,
    )
    await acc.decide(
        deps=deps,
        principal=head,
        acceptance_id=initial.id,
        expected_version=initial.version,
        findings=_all(initial),
        opinion="",
        rectifications=[],
    )
    for kind in ("security_risk", "crypto"):
        await _evidence(deps, h, t, project.id, kind, date(2025, 8, 25))
    project = await _fresh(deps, h, t, project.id)
    clock.day = date(2025, 9, 29)  # a Monday; 1-8 October is the National Day holiday
    final = await acc.apply(
        deps=deps, principal=unit, project_id=project.id, expected_version=project.version, stage=Stage.FINAL
    )
    assert final.organizer == "unit" and not final.needs_panel
    passed, _ = await acc.decide(
        deps=deps,
        principal=head,
        acceptance_id=final.id,
        expected_version=final.version,
        findings=_all(final),
        opinion="自行验收合格",
        rectifications=[],
    )
    assert (passed.filing_due_on, passed.filing_cite) == (date(2025, 10, 10), ("qiaokou-2022 §28(3)",))
    # Over gRPC (the portal's 验收结果备案): the due date with its article.
    ((_, servicer),) = grpc_api.servicers(deps)
    reset = _principal.set(unit)
    try:
        read = await servicer.GetAcceptance(acceptance_pb2.GetAcceptanceRequest(id=passed.id), None)
    finally:
        _principal.reset(reset)
    assert read.acceptance.filing_due_on == "2025-10-10"
    assert [c.ref for c in read.acceptance.filing_citations] == ["qiaokou-2022 §28(3)"]
    clock.day = date(2025, 10, 13)
    filed = await acc.file_result(
        deps=deps, principal=unit, acceptance_id=passed.id, expected_version=passed.version
    )
    assert filed.filed_late and filed.filed_on == date(2025, 10, 13)
    with pytest.raises(AppError):
        await acc.file_result(
            deps=deps, principal=unit, acceptance_id=passed.id, expected_version=filed.version
        )


async def test_heze_final_application_due_half_a_year_after_completion_and_extended(
    deps: AcceptanceDeps, tenants, h, clock
) -> None:  # type: ignore[no-untyped-def]
    t = tenants.heze
    unit, bureau = h.who(t, "applicant", org="unit-1"), h.who(t, "bureau_head")
    clock.day = date(2021, 4, 1)
    project = await _project(deps, h, t, h.contract_filed(t, amount="800000.00", signed_on="2021-01-18"))
    project = await proj.start_trial(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=project.version,
        started_on=date(2021, 4, 1),
        completed_on=date(2021, 3, 31),
    )
    assert (project.final_due_on, project.final_due_cite) == (date(2021, 9, 30), ("heze-2021 §23",))
    await _evidence(deps, h, t, project.id, "crypto", date(2021, 4, 1))
    clock.day = date(2021, 10, 8)
    project = await _fresh(deps, h, t, project.id)
    with pytest.raises(AppError) as late:
        await acc.apply(
            deps=deps,
            principal=unit,
            project_id=project.id,
            expected_version=project.version,
            stage=Stage.FINAL,
        )
    assert late.value.code == "FINAL_ACCEPTANCE_OVERDUE" and late.value.cite == ["heze-2021 §23"]
    asked = await proj.request_extension(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=project.version,
        reason="与省平台对接延后",
        requested_until=date(2021, 12, 31),
    )
    with pytest.raises(AppError):
        await proj.decide_extension(
            deps=deps,
            principal=unit,
            project_id=project.id,
            expected_version=asked.version,
            approve=True,
            note="",
        )
    agreed = await proj.decide_extension(
        deps=deps,
        principal=bureau,
        project_id=project.id,
        expected_version=asked.version,
        approve=True,
        note="同意",
    )
    final = await acc.apply(
        deps=deps, principal=unit, project_id=project.id, expected_version=agreed.version, stage=Stage.FINAL
    )
    assert final.organizer == "unit" and "heze-2021 §23" in final.cite


async def test_contract_filed_over_nats_twice_opens_one_project(
    deps: AcceptanceDeps, tenants, h, nats_server
) -> None:  # type: ignore[no-untyped-def]
    nats = NatsConnection(url=nats_server.url, name="acceptance-test")
    t = tenants.qiaokou
    try:
        js = await nats.jetstream(timeout=10)
        await ensure_stream(js, "procurement")
        filed = h.contract_filed(t)
        body = new_event(event_type=CONTRACT_FILED, tenant=t, payload=filed).to_json()
        # Two message ids: JetStream's de-duplication does not hide the copy, only the inbox can.
        await js.publish(CONTRACT_FILED, body, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        await js.publish(CONTRACT_FILED, body, headers={"Nats-Msg-Id": str(uuid.uuid4())})

        class Infra:
            pass

        infra = Infra()
        infra.uow, infra.tables, infra.nats = deps.uow, events, nats  # type: ignore[attr-defined]
        (consumer,) = consumers_for(infra, deps)  # type: ignore[arg-type]
        consumer.name = f"acceptance-test-{uuid.uuid4().hex[:6]}"
        task = asyncio.create_task(consumer.run())
        try:
            for _ in range(100):
                if consumer.processed >= 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
        assert consumer.processed >= 2
        async with deps.uow(tenant_id=t) as tx:
            count = (await tx.session.execute(select(func.count()).select_from(projects))).scalar_one()
        assert count == 1
        async with deps.uow(tenant_id=None) as tx:  # no tenant: RLS shows nothing
            assert (await tx.session.execute(select(func.count()).select_from(projects))).scalar_one() == 0
    finally:
        await nats.close()
