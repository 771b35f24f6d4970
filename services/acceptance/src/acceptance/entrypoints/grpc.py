"""acceptance's gRPC API (package govproj.acceptance.v1): the same use cases as REST.

Thin adapters from the generated messages to the use cases; errors are AppErrors that govkit's
server interceptor turns into statuses with the platform's error body.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import grpc

from acceptance.domain.acceptance import (
    Acceptance,
    Rectification,
    RectificationDraft,
    Stage,
)
from acceptance.domain.evidence import Evidence, EvidenceRequirement
from acceptance.domain.project import STATUS_ZH, AcceptanceProject
from acceptance.service import AcceptanceDeps
from acceptance.service import acceptances as acceptance_service
from acceptance.service import projects as project_service
from govkit.auth import Principal, current_grpc_principal
from govkit.errors import invalid_field
from govkit.grpckit.fields import optional_date, required_date
from govproj.acceptance.v1 import acceptance_pb2, acceptance_pb2_grpc
from govproj.common.v1 import common_pb2

SERVICE_NAMES = ["govproj.acceptance.v1.AcceptanceService"]
PAGE_MAX = 200
PAGE_DEFAULT = 50
Ctx = grpc.aio.ServicerContext


def _version(value: int) -> int:
    if value < 1:
        raise invalid_field("version", "请提供读取时的版本号")
    return value


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _cite(refs: Sequence[str]) -> list[common_pb2.Citation]:
    return [common_pb2.Citation(ref=r) for r in refs]


def _money(value: Decimal) -> common_pb2.Money:
    return common_pb2.Money(amount=str(value))


def _project(p: AcceptanceProject) -> acceptance_pb2.Project:
    ext = p.extension
    return acceptance_pb2.Project(
        id=p.id,
        tenant_id=p.tenant_id,
        declaration_id=p.declaration_id,
        project_code=p.project_code,
        project_name=p.project_name,
        org_id=p.org_id,
        pack_id=p.pack_id,
        approved_amount=_money(p.approved_amount),
        contract_amount=_money(p.contract_amount),
        contract_ids=list(p.contract_ids),
        status=p.status.value,
        status_zh=STATUS_ZH[p.status],
        version=p.version,
        trial_started_on=_day(p.trial_started_on),
        trial_min_months=p.trial_min_months or 0,
        trial_ends_on=_day(p.trial_ends_on),
        trial_citations=_cite(p.trial_cite),
        initial_passed_on=_day(p.initial_passed_on),
        final_due_on=_day(p.final_due_on),
        final_due_citations=_cite(p.final_due_cite),
        extension_status=ext.status.value if ext else "",
        extension_until=_day(ext.requested_until) if ext else "",
        extension_reason=ext.reason if ext else "",
        extension_note=ext.note if ext else "",
        accepted_on=_day(p.accepted_on),
        completed_on=_day(p.completed_on),
    )


def _evidence(e: Evidence) -> acceptance_pb2.Evidence:
    return acceptance_pb2.Evidence(
        id=e.id,
        project_id=e.project_id,
        kind=e.kind.value,
        conclusion=e.conclusion.value,
        level=e.level or 0,
        issued_by=e.issued_by,
        issued_on=_day(e.issued_on),
        filename=e.filename,
        sha256=e.sha256,
        size=e.size,
        content_type=e.content_type,
    )


def _requirement(r: EvidenceRequirement) -> acceptance_pb2.Requirement:
    return acceptance_pb2.Requirement(
        kind=r.kind.value, label_zh=r.label_zh, before=r.before.value, citations=_cite(r.cite)
    )


def _rectification(r: Rectification) -> acceptance_pb2.Rectification:
    return acceptance_pb2.Rectification(
        id=r.id,
        acceptance_id=r.acceptance_id,
        description=r.description,
        owner=r.owner,
        due_on=_day(r.due_on),
        done_on=_day(r.done_on),
        note=r.note,
        version=r.version,
    )


def _acceptance(a: Acceptance, items: Sequence[Rectification] = ()) -> acceptance_pb2.Acceptance:
    return acceptance_pb2.Acceptance(
        id=a.id,
        project_id=a.project_id,
        stage=a.stage.value,
        round=a.round,
        status=a.status.value,
        organizer=a.organizer,
        organizer_citations=_cite(a.organizer_cite),
        applied_on=_day(a.applied_on),
        checklist=[
            acceptance_pb2.ChecklistItem(
                code=i.code,
                label_zh=i.label_zh,
                citations=_cite(i.cite),
                decided=i.passed is not None,
                passed=bool(i.passed),
                note=i.note,
            )
            for i in a.checklist
        ],
        panel_seed=a.panel.seed if a.panel else "",
        needs_panel=a.needs_panel,
        panel=[
            acceptance_pb2.PanelExpert(expert_id=e.expert_id, name=e.name, org=e.org)
            for e in (a.panel.experts if a.panel else ())
        ],
        decided_on=_day(a.decided_on),
        opinion=a.opinion,
        report_sha256=a.report_sha256 or "",
        filing_due_on=_day(a.filing_due_on),
        filed_on=_day(a.filed_on),
        filed_late=a.filed_late,
        filing_citations=_cite(a.filing_cite),
        citations=_cite(a.cite),
        version=a.version,
        rectifications=[_rectification(r) for r in items],
    )


def _who() -> Principal:
    return current_grpc_principal()


class AcceptanceServicer(acceptance_pb2_grpc.AcceptanceServiceServicer):
    """Projects, evidence, extensions, acceptances, rectification items, reports."""

    def __init__(self, deps: AcceptanceDeps) -> None:
        self._deps = deps

    async def _project_response(self, project_id: str) -> acceptance_pb2.ProjectResponse:
        view = await project_service.get_project(deps=self._deps, principal=_who(), project_id=project_id)
        items: dict[str, list[Rectification]] = {}
        for r in view.rectifications:
            items.setdefault(r.acceptance_id, []).append(r)
        return acceptance_pb2.ProjectResponse(
            project=_project(view.project),
            evidence=[_evidence(e) for e in view.evidence],
            acceptances=[_acceptance(a, items.get(a.id, [])) for a in view.acceptances],
            required_evidence=[_requirement(r) for r in view.required_evidence],
            missing_evidence=[_requirement(r) for r in view.missing_evidence],
        )

    async def GetProject(
        self, request: acceptance_pb2.GetProjectRequest, context: Ctx
    ) -> acceptance_pb2.ProjectResponse:
        return await self._project_response(request.id)

    async def GetProjectByDeclaration(
        self, request: acceptance_pb2.GetProjectByDeclarationRequest, context: Ctx
    ) -> acceptance_pb2.ProjectResponse:
        found = await project_service.find_by_declaration(
            deps=self._deps, principal=_who(), declaration_id=request.declaration_id
        )
        return await self._project_response(found.id)

    async def ListProjects(
        self, request: acceptance_pb2.ListProjectsRequest, context: Ctx
    ) -> acceptance_pb2.ListProjectsResponse:
        if request.limit < 0 or request.limit > PAGE_MAX or request.offset < 0:
            raise invalid_field("limit", f"每页1至{PAGE_MAX}条")
        found = await project_service.list_projects(
            deps=self._deps,
            principal=_who(),
            status=request.status or None,
            limit=request.limit or PAGE_DEFAULT,
            offset=request.offset,
        )
        return acceptance_pb2.ListProjectsResponse(projects=[_project(p) for p in found])

    async def StartTrial(
        self, request: acceptance_pb2.StartTrialRequest, context: Ctx
    ) -> acceptance_pb2.ProjectResponse:
        await project_service.start_trial(
            deps=self._deps,
            principal=_who(),
            project_id=request.project_id,
            expected_version=_version(request.version),
            started_on=required_date(request.started_on, "started_on"),
            completed_on=optional_date(request.completed_on, "completed_on"),
        )
        return await self._project_response(request.project_id)

    async def RecordEvidence(
        self, request: acceptance_pb2.RecordEvidenceRequest, context: Ctx
    ) -> acceptance_pb2.EvidenceResponse:
        item = await project_service.record_evidence(
            deps=self._deps,
            principal=_who(),
            project_id=request.project_id,
            kind=request.kind,
            conclusion=request.conclusion,
            level=request.level or None,
            issued_by=request.issued_by,
            issued_on=required_date(request.issued_on, "issued_on"),
            filename=request.filename,
            content_type=request.content_type,
            data=request.content,
        )
        return acceptance_pb2.EvidenceResponse(evidence=_evidence(item))

    async def RequestExtension(
        self, request: acceptance_pb2.RequestExtensionRequest, context: Ctx
    ) -> acceptance_pb2.ProjectResponse:
        await project_service.request_extension(
            deps=self._deps,
            principal=_who(),
            project_id=request.project_id,
            expected_version=_version(request.version),
            reason=request.reason,
            requested_until=required_date(request.requested_until, "requested_until"),
        )
        return await self._project_response(request.project_id)

    async def DecideExtension(
        self, request: acceptance_pb2.DecideExtensionRequest, context: Ctx
    ) -> acceptance_pb2.ProjectResponse:
        await project_service.decide_extension(
            deps=self._deps,
            principal=_who(),
            project_id=request.project_id,
            expected_version=_version(request.version),
            approve=request.approve,
            note=request.note,
        )
        return await self._project_response(request.project_id)

    async def ApplyAcceptance(
        self, request: acceptance_pb2.ApplyAcceptanceRequest, context: Ctx
    ) -> acceptance_pb2.AcceptanceResponse:
        try:
            stage = Stage(request.stage)
        except ValueError:
            raise invalid_field("stage", "验收类别应为 initial 或 final") from None
        item = await acceptance_service.apply(
            deps=self._deps,
            principal=_who(),
            project_id=request.project_id,
            expected_version=_version(request.version),
            stage=stage,
        )
        return acceptance_pb2.AcceptanceResponse(acceptance=_acceptance(item))

    async def GetAcceptance(
        self, request: acceptance_pb2.GetAcceptanceRequest, context: Ctx
    ) -> acceptance_pb2.AcceptanceResponse:
        item, items = await acceptance_service.get_acceptance(
            deps=self._deps, principal=_who(), acceptance_id=request.id
        )
        return acceptance_pb2.AcceptanceResponse(acceptance=_acceptance(item, items))

    async def DrawPanel(
        self, request: acceptance_pb2.DrawPanelRequest, context: Ctx
    ) -> acceptance_pb2.AcceptanceResponse:
        if not 1 <= request.size <= PAGE_MAX:
            raise invalid_field("size", "抽取人数不正确")
        item = await acceptance_service.draw_panel(
            deps=self._deps,
            principal=_who(),
            acceptance_id=request.acceptance_id,
            expected_version=_version(request.version),
            size=request.size,
            seed=request.seed or None,
            specialty=request.specialty or None,
            avoid_orgs=list(request.avoid_orgs),
        )
        return acceptance_pb2.AcceptanceResponse(acceptance=_acceptance(item))

    async def DecideAcceptance(
        self, request: acceptance_pb2.DecideAcceptanceRequest, context: Ctx
    ) -> acceptance_pb2.AcceptanceResponse:
        item, items = await acceptance_service.decide(
            deps=self._deps,
            principal=_who(),
            acceptance_id=request.acceptance_id,
            expected_version=_version(request.version),
            findings=[acceptance_service.Finding(f.code, f.passed, f.note) for f in request.findings],
            opinion=request.opinion,
            rectifications=[
                RectificationDraft(r.description, r.owner, optional_date(r.due_on, "due_on"))
                for r in request.rectifications
            ],
        )
        return acceptance_pb2.AcceptanceResponse(acceptance=_acceptance(item, items))

    async def FileResult(
        self, request: acceptance_pb2.FileResultRequest, context: Ctx
    ) -> acceptance_pb2.AcceptanceResponse:
        item = await acceptance_service.file_result(
            deps=self._deps,
            principal=_who(),
            acceptance_id=request.acceptance_id,
            expected_version=_version(request.version),
        )
        return acceptance_pb2.AcceptanceResponse(acceptance=_acceptance(item))

    async def CompleteRectification(
        self, request: acceptance_pb2.CompleteRectificationRequest, context: Ctx
    ) -> acceptance_pb2.RectificationResponse:
        item = await acceptance_service.complete_rectification(
            deps=self._deps,
            principal=_who(),
            item_id=request.id,
            expected_version=_version(request.version),
            note=request.note,
        )
        return acceptance_pb2.RectificationResponse(rectification=_rectification(item))

    async def GetReport(
        self, request: acceptance_pb2.GetReportRequest, context: Ctx
    ) -> acceptance_pb2.GetReportResponse:
        item, data = await acceptance_service.report(
            deps=self._deps, principal=_who(), acceptance_id=request.acceptance_id
        )
        return acceptance_pb2.GetReportResponse(content=data, sha256=item.report_sha256 or "")


def servicers(deps: AcceptanceDeps) -> list[tuple[Any, Any]]:
    """(registrar, servicer) pairs for the gRPC server."""
    return [(acceptance_pb2_grpc.add_AcceptanceServiceServicer_to_server, AcceptanceServicer(deps))]
