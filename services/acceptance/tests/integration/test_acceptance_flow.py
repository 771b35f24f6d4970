"""From contract.filed to accepted under qiaokou-2022 (above 10,000,000): the trial run too short,
the initial acceptance, evidence, the panel, a failed final acceptance with rectification, a second
one that passes; events in the outbox, the report PDF, the audit with its citations."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from acceptance.adapters.orm import audit
from acceptance.domain.acceptance import AcceptanceStatus, RectificationDraft, Stage
from acceptance.domain.project import ProjectStatus
from acceptance.service import AcceptanceDeps
from acceptance.service import acceptances as acc
from acceptance.service import projects as proj
from acceptance.service.events import ACCEPTANCE_FAILED, ACCEPTANCE_PASSED, TRIAL_STARTED
from govkit.errors import AppError
from govkit.pdf import page_texts

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def project_of(deps: AcceptanceDeps, h: Any, tenant: str, declaration_id: str) -> Any:
    return await proj.find_by_declaration(
        deps=deps, principal=h.who(tenant, "bureau_reviewer"), declaration_id=declaration_id
    )


async def evidence(deps: AcceptanceDeps, h: Any, tenant: str, project_id: str, kind: str, **kw: Any) -> Any:
    return await proj.record_evidence(
        deps=deps,
        principal=h.who(tenant, "applicant", org="unit-1"),
        project_id=project_id,
        kind=kind,
        conclusion=kw.get("conclusion", "pass"),
        level=kw.get("level"),
        issued_by="某测评中心",
        issued_on=date(2025, 5, 20),
        filename=f"{kind}.pdf",
        content_type="application/pdf",
        data=PDF,
    )


def findings(item: Any, failed: tuple[str, ...] = ()) -> list[acc.Finding]:
    return [
        acc.Finding(i.code, i.code not in failed, "档案缺失" if i.code in failed else "")
        for i in item.checklist
    ]


async def test_qiaokou_from_contract_to_accepted_with_a_failed_round(
    deps: AcceptanceDeps, tenants, h, clock, library
) -> None:  # type: ignore[no-untyped-def]
    t = tenants.qiaokou
    unit, head = h.who(t, "applicant", org="unit-1"), h.who(t, "unit_head", org="unit-1")
    bureau = h.who(t, "bureau_reviewer")
    filed = h.contract_filed(t)
    await h.learn(deps, filed)
    await h.learn(deps, filed)  # redelivered: nothing changes
    project = await project_of(deps, h, t, filed.declaration_id)
    assert (project.status, project.pack_id, project.contract_ids) == (
        ProjectStatus.CONTRACTED,
        "qiaokou-2022",
        (filed.contract_id,),
    )
    assert project.contract_amount == h.money("12000000.00")

    started = await proj.start_trial(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=project.version,
        started_on=date(2025, 3, 3),
        completed_on=date(2025, 2, 28),
    )
    assert (started.trial_min_months, started.trial_ends_on) == (3, date(2025, 6, 3))
    (trial,) = await h.outbox(deps.uow, t, TRIAL_STARTED)
    assert trial["payload"]["min_months"] == 3 and trial["payload"]["citations"] == [
        {"ref": "qiaokou-2022 §28(1)"}
    ]

    clock.day = date(2025, 6, 2)
    with pytest.raises(AppError) as short:
        await acc.apply(
            deps=deps,
            principal=unit,
            project_id=project.id,
            expected_version=started.version,
            stage=Stage.INITIAL,
        )
    assert short.value.code == "TRIAL_RUN_TOO_SHORT" and short.value.cite == ["qiaokou-2022 §28(1)"]

    clock.day = date(2025, 6, 3)
    with pytest.raises(AppError) as order:
        await acc.apply(
            deps=deps,
            principal=unit,
            project_id=project.id,
            expected_version=started.version,
            stage=Stage.FINAL,
        )
    assert order.value.code == "INITIAL_ACCEPTANCE_REQUIRED" and order.value.cite == ["qiaokou-2022 §28(2)"]
    initial = await acc.apply(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=started.version,
        stage=Stage.INITIAL,
    )
    assert initial.organizer == "unit" and not initial.needs_panel
    initial, _ = await acc.decide(
        deps=deps,
        principal=head,
        acceptance_id=initial.id,
        expected_version=initial.version,
        findings=findings(initial),
        opinion="初检合格",
        rectifications=[],
    )
    assert initial.status is AcceptanceStatus.PASSED
    assert await h.outbox(deps.uow, t, ACCEPTANCE_PASSED) == []  # only the final acceptance is announced

    project = await project_of(deps, h, t, filed.declaration_id)
    assert project.status is ProjectStatus.INITIAL_PASSED
    with pytest.raises(AppError) as lacking:
        await acc.apply(
            deps=deps,
            principal=unit,
            project_id=project.id,
            expected_version=project.version,
            stage=Stage.FINAL,
        )
    assert lacking.value.code == "EVIDENCE_MISSING"
    assert lacking.value.details["missing"] == ["security_risk", "crypto"] and lacking.value.cite == [
        "qiaokou-2022 §28"
    ]
    await evidence(deps, h, t, project.id, "security_risk")
    await evidence(deps, h, t, project.id, "crypto")

    final = await acc.apply(
        deps=deps, principal=unit, project_id=project.id, expected_version=project.version, stage=Stage.FINAL
    )
    assert (final.organizer, final.organizer_cite, final.round) == (
        "department_with_bureau",
        ("qiaokou-2022 §28(3)",),
        1,
    )
    assert [i.code for i in final.checklist][:2] == ["security_risk_assessment", "crypto_assessment"]
    with pytest.raises(AppError) as no_panel:
        await acc.decide(
            deps=deps,
            principal=bureau,
            acceptance_id=final.id,
            expected_version=final.version,
            findings=findings(final),
            opinion="",
            rectifications=[],
        )
    assert no_panel.value.code == "PANEL_REQUIRED"
    final = await acc.draw_panel(
        deps=deps,
        principal=bureau,
        acceptance_id=final.id,
        expected_version=final.version,
        size=3,
        seed="seed-1",
        specialty=None,
        avoid_orgs=[],
    )
    assert library.calls[-1]["declaring_orgs"] == ["unit-1"] and library.calls[-1]["bidders"] == ["承建公司"]
    assert final.panel is not None and [e.name for e in final.panel.experts] == ["专家0", "专家1", "专家2"]
    assert set(final.panel.excluded) == {"e3", "e4"}

    with pytest.raises(AppError) as undated:  # qiaokou sets no rectification period: the panel dates items
        await acc.decide(
            deps=deps,
            principal=bureau,
            acceptance_id=final.id,
            expected_version=final.version,
            findings=findings(final, ("trial_run",)),
            opinion="试运行记录不全",
            rectifications=[RectificationDraft("补齐试运行记录", "承建公司")],
        )
    assert undated.value.code == "VALIDATION_FAILED"
    failed, items = await acc.decide(
        deps=deps,
        principal=bureau,
        acceptance_id=final.id,
        expected_version=final.version,
        findings=findings(final, ("trial_run",)),
        opinion="试运行记录不全",
        rectifications=[RectificationDraft("补齐试运行记录", "承建公司", date(2025, 7, 31))],
    )
    assert failed.status is AcceptanceStatus.FAILED and len(items) == 1
    (event,) = await h.outbox(deps.uow, t, ACCEPTANCE_FAILED)
    assert event["payload"]["rectifications"][0]["due_on"] == "2025-07-31"
    assert event["payload"]["report_sha256"] == failed.report_sha256
    _, pdf = await acc.report(deps=deps, principal=unit, acceptance_id=failed.id)
    text = "".join(page_texts(pdf))
    assert (
        filed.project_code in text and "验收不通过" in text and "补齐试运行记录" in text and "专家0" in text
    )

    project = await project_of(deps, h, t, filed.declaration_id)
    assert project.status is ProjectStatus.RECTIFYING
    with pytest.raises(AppError) as open_items:
        await acc.apply(
            deps=deps,
            principal=unit,
            project_id=project.id,
            expected_version=project.version,
            stage=Stage.FINAL,
        )
    assert open_items.value.code == "RECTIFICATION_OPEN"
    done = await acc.complete_rectification(
        deps=deps, principal=unit, item_id=items[0].id, expected_version=items[0].version, note="已补齐"
    )
    assert done.done_on == date(2025, 6, 3)
    project = await project_of(deps, h, t, filed.declaration_id)
    assert project.status is ProjectStatus.INITIAL_PASSED

    clock.day = date(2025, 7, 15)
    second = await acc.apply(
        deps=deps, principal=unit, project_id=project.id, expected_version=project.version, stage=Stage.FINAL
    )
    assert second.round == 2
    second = await acc.draw_panel(
        deps=deps,
        principal=bureau,
        acceptance_id=second.id,
        expected_version=second.version,
        size=3,
        seed="seed-2",
        specialty=None,
        avoid_orgs=[],
    )
    passed, none = await acc.decide(
        deps=deps,
        principal=bureau,
        acceptance_id=second.id,
        expected_version=second.version,
        findings=findings(second),
        opinion="同意通过",
        rectifications=[],
    )
    assert passed.status is AcceptanceStatus.PASSED and none == []
    (event,) = await h.outbox(deps.uow, t, ACCEPTANCE_PASSED)
    payload = event["payload"]
    assert (
        payload["declaration_id"],
        payload["project_code"],
        payload["contract_ids"],
        payload["accepted_on"],
    ) == (filed.declaration_id, filed.project_code, [filed.contract_id], "2025-07-15")
    assert (
        payload["result"] == "passed"
        and payload["round"] == 2
        and payload["report_sha256"] == passed.report_sha256
    )
    assert {"ref": "qiaokou-2022 §28(3)"} in payload["citations"]
    _, pdf = await acc.report(deps=deps, principal=bureau, acceptance_id=passed.id)
    text = "".join(page_texts(pdf))
    assert filed.project_code in text and "验收通过" in text and "验收不通过" not in text
    project = await project_of(deps, h, t, filed.declaration_id)
    assert (project.status, project.accepted_on) == (ProjectStatus.ACCEPTED, date(2025, 7, 15))

    async with deps.uow(tenant_id=t) as tx:
        rows = (await tx.session.execute(select(audit).order_by(audit.c.id))).all()
    actions = [r.action for r in rows]
    for action in (
        "project.opened",
        "trial.started",
        "evidence.recorded",
        "acceptance.applied",
        "acceptance.panel_drawn",
        "acceptance.failed",
        "rectification.completed",
        "acceptance.passed",
    ):
        assert action in actions
    passed_row = next(r for r in rows if r.action == "acceptance.passed" and r.entity_id == passed.id)
    assert "qiaokou-2022 §28(3)" in passed_row.citations


async def test_stale_versions_are_refused(deps: AcceptanceDeps, tenants, h) -> None:  # type: ignore[no-untyped-def]
    t = tenants.qiaokou
    filed = h.contract_filed(t)
    await h.learn(deps, filed)
    project = await project_of(deps, h, t, filed.declaration_id)
    unit = h.who(t, "applicant", org="unit-1")
    await proj.start_trial(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=project.version,
        started_on=date(2025, 3, 3),
        completed_on=None,
    )
    with pytest.raises(AppError) as stale:
        await proj.start_trial(
            deps=deps,
            principal=unit,
            project_id=project.id,
            expected_version=project.version,
            started_on=date(2025, 3, 3),
            completed_on=None,
        )
    assert stale.value.code == "VERSION_CONFLICT"


async def test_second_contract_adds_and_supervision_does_not(deps: AcceptanceDeps, tenants, h) -> None:  # type: ignore[no-untyped-def]
    t = tenants.city
    first = h.contract_filed(t, amount="3000000.00", contract_amount="900000.00")
    await h.learn(deps, first)
    await h.learn(
        deps,
        h.contract_filed(
            t,
            declaration_id=first.declaration_id,
            amount="3000000.00",
            contract_amount="200000.00",
            code=first.project_code,
        ),
    )
    await h.learn(
        deps,
        h.contract_filed(
            t,
            declaration_id=first.declaration_id,
            amount="3000000.00",
            contract_amount="50000.00",
            role="supervision",
            supplier="监理公司",
            code=first.project_code,
        ),
    )
    project = await project_of(deps, h, t, first.declaration_id)
    assert project.contract_amount == h.money("1100000.00") and len(project.contract_ids) == 3
    view = await proj.get_project(deps=deps, principal=h.who(t, "bureau_reviewer"), project_id=project.id)
    kinds = {r.kind.value for r in view.required_evidence}
    assert "third_party_test" in kinds  # 1,100,000 ≥ 100万 (shuangyashan-2024 §29(3))
    assert "user_participation" not in kinds  # not public-facing
