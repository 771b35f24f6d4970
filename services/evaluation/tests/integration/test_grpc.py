"""The gRPC entry points call the same use cases as REST: the discredited check, an O&M request
refused inside lhasa's three years with its article, an evaluation, the portfolio; bad input is
INVALID, other tenants see nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from evaluation.entrypoints import grpc as grpc_api
from evaluation.service import EvaluationDeps
from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from govproj.evaluation.v1 import evaluation_pb2 as pb

pytestmark = pytest.mark.integration


async def test_grpc_services_over_the_use_cases(
    deps: EvaluationDeps, tenants: Any, clock: Any, h: Any
) -> None:
    tenant = tenants.lhasa
    servicers = {type(s).__name__: s for _, s in grpc_api.servicers(deps)}
    d = h.submitted(tenant)
    await h.feed(deps, d, h.planned(d), h.accepted(d, date(2025, 3, 3)), tenant=tenant)
    reset = _principal.set(h.who(tenant, "bureau_head"))
    try:
        discredited = servicers["DiscreditedServicer"]
        added = await discredited.AddEntry(
            pb.AddEntryRequest(
                subject_kind="supplier",
                credit_code=h.credit_code(4242),
                name="某公司",
                grounds="虚假材料",
                period_from="2025-03-01",
            ),
            None,
        )
        assert added.entry.citations[0].ref == "lhasa §22"
        with pytest.raises(AppError) as bad:
            await discredited.AddEntry(
                pb.AddEntryRequest(subject_kind="alien", name="x", grounds="y", period_from="2025-03-01"),
                None,
            )
        assert bad.value.kind is ErrorKind.INVALID
        found = await discredited.CheckSubject(pb.CheckSubjectRequest(credit_code=h.credit_code(4242)), None)
        assert [e.id for e in found.entries] == [added.entry.id]

        portfolio = servicers["PortfolioServicer"]
        project = await portfolio.GetProject(pb.GetProjectRequest(declaration_id=d.declaration_id), None)
        assert (
            project.project.stage == "operation" and project.project.self_evaluation_opens_on == "2026-03-03"
        )
        board = await portfolio.Dashboard(pb.DashboardRequest(by="stage"), None)
        assert [(r.key, r.projects) for r in board.rows] == [("operation", 1)]
        package = json.loads((await portfolio.ExportOcds(pb.ExportRequest(), None)).package_json)
        assert package["version"] == "1.1" and len(package["releases"]) == 1

        _principal.set(h.who(tenant, "applicant", org="unit-1"))
        om = servicers["OmFundingServicer"]
        refused = await om.FileRequest(
            pb.FileOmRequestRequest(
                declaration_id=d.declaration_id,
                budget_year=2027,
                amount=common_pb2.Money(amount="1000.00"),
                free_maintenance_ends_on="2027-12-31",
                data_shared=True,
                in_resource_catalog=True,
                security_compliant=True,
                crypto_compliant=True,
            ),
            None,
        )
        assert refused.request.outcome == "refused"
        assert [(r.code, [c.ref for c in r.citations]) for r in refused.request.refusals] == [
            ("OM_WITHIN_FREE_YEARS", ["lhasa §20"]),
            ("OM_EVALUATION_REPORT_MISSING", ["lhasa §27"]),
        ]
        with pytest.raises(AppError) as money:
            await om.FileRequest(
                pb.FileOmRequestRequest(
                    declaration_id=d.declaration_id,
                    amount=common_pb2.Money(amount="1.001"),
                    free_maintenance_ends_on="2027-12-31",
                ),
                None,
            )
        assert money.value.kind is ErrorKind.INVALID

        clock.day = date(2026, 3, 10)
        evaluations = servicers["EvaluationServicer"]
        started = await evaluations.StartEvaluation(
            pb.StartEvaluationRequest(declaration_id=d.declaration_id, kind="self"), None
        )
        done = await evaluations.CompleteEvaluation(
            pb.CompleteEvaluationRequest(
                id=started.evaluation.id,
                version=started.evaluation.version,
                indicators=[pb.Indicator(code="use", label_zh="使用率", actual="95%", score="92")],
            ),
            None,
        )
        assert done.evaluation.total_score == "92.00" and done.evaluation.grade == "优"
        windows = await evaluations.ListSelfEvaluations(pb.ListSelfEvaluationsRequest(), None)
        assert [w.state for w in windows.items] == ["done"]

        _principal.set(h.who(tenants.wuxing, "bureau_head"))
        with pytest.raises(AppError) as hidden:
            await portfolio.GetProject(pb.GetProjectRequest(declaration_id=d.declaration_id), None)
        assert hidden.value.kind is ErrorKind.NOT_FOUND
        with pytest.raises(AppError) as other:
            await evaluations.GetEvaluation(pb.GetEvaluationRequest(id=started.evaluation.id), None)
        assert other.value.kind is ErrorKind.NOT_FOUND
    finally:
        _principal.reset(reset)


async def test_get_evaluation_gives_the_packs_indicators_to_score_until_completed(
    deps: EvaluationDeps, tenants: Any, clock: Any, h: Any
) -> None:
    tenant = tenants.wuxing  # wuxing-2023 §28 lists five indicators, equally weighted
    evaluations = {type(s).__name__: s for _, s in grpc_api.servicers(deps)}["EvaluationServicer"]
    d = h.submitted(tenant)
    await h.feed(deps, d, h.planned(d), h.accepted(d, date(2025, 3, 3)), tenant=tenant)
    clock.day = date(2026, 3, 10)
    reset = _principal.set(h.who(tenant, "applicant", org="unit-1"))
    try:
        started = await evaluations.StartEvaluation(
            pb.StartEvaluationRequest(declaration_id=d.declaration_id, kind="self"), None
        )
        assert list(started.evaluation.sheet) == []  # only GetEvaluation reads the sheet
        got = (
            await evaluations.GetEvaluation(pb.GetEvaluationRequest(id=started.evaluation.id), None)
        ).evaluation
        assert [(i.code, i.label_zh, i.weight) for i in got.sheet] == [
            ("cost_effectiveness", "成本效益", "0.2000"),
            ("application_effect", "应用效果", "0.2000"),
            ("sharing", "协同共享", "0.2000"),
            ("security", "安全保密", "0.2000"),
            ("innovation", "创新服务", "0.2000"),
        ]
        assert {i.target for i in got.sheet} == {d.performance_goals}
        assert {(i.actual, i.score) for i in got.sheet} == {("", "")}
        done = await evaluations.CompleteEvaluation(
            pb.CompleteEvaluationRequest(
                id=got.id,
                version=got.version,
                indicators=[
                    pb.Indicator(code=i.code, actual="达到目标", score=str(80 + n))
                    for n, i in enumerate(got.sheet)
                ],
            ),
            None,
        )
        assert done.evaluation.total_score == "82.00" and done.evaluation.grade == "良"
        after = (await evaluations.GetEvaluation(pb.GetEvaluationRequest(id=got.id), None)).evaluation
        assert list(after.sheet) == [] and len(after.indicators) == 5
    finally:
        _principal.reset(reset)
