"""procurement's gRPC API (package govproj.procurement.v1): thin adapters from the generated
messages to the use cases; errors are AppErrors that govkit's interceptor turns into statuses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc

from govkit.auth import Principal, current_grpc_principal
from govkit.errors import invalid_field
from govkit.grpckit.fields import optional_date, required_date
from govproj.common.v1 import common_pb2
from govproj.procurement.v1 import procurement_pb2, procurement_pb2_grpc
from procurement.domain.construction import Payment, PaymentKind, ProgressReport
from procurement.domain.procurement import DocKind, Document, Filing, Method, Milestone, Procurement, Role
from procurement.domain.project import STATUS_ZH, Project
from procurement.service import ProcurementDeps
from procurement.service import construction as construction_service
from procurement.service import procurements as procurement_service
from procurement.service import projects as project_service
from procurement.service import trading as trading_service

SERVICE_NAME = "govproj.procurement.v1.ProcurementService"
SERVICE_NAMES = [SERVICE_NAME]
PAGE_MAX = 200
PAGE_DEFAULT = 50
INTERVENTIONS = ("suspension", "termination", "resumption")
Ctx = grpc.aio.ServicerContext


def _who() -> Principal:
    return current_grpc_principal()


def _cite(refs: Sequence[str]) -> list[common_pb2.Citation]:
    return [common_pb2.Citation(ref=r) for r in refs]


def _intervention(i: dict[str, Any], grounds: dict[str, dict[str, Any]]) -> procurement_pb2.Intervention:
    return procurement_pb2.Intervention(
        id=str(i["id"]),
        kind=i["kind"],
        ground=i["ground"] or "",
        ground_zh=str(grounds.get(i["ground"] or "", {}).get("label_zh", "")),
        reason=i["reason"] or "",
        on_date=i["on_date"].isoformat() if i["on_date"] else "",
        actor=i["actor"] or "",
        source=i["source"] or "",
        citations=_cite(list(i["cite"] or [])),
    )


def _day_text(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _enum(kind: Any, value: str, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise invalid_field(field, "取值不在允许范围内：" + "、".join(k.value for k in kind)) from None


def _version(value: int) -> int:
    if value < 1:
        raise invalid_field("version", "请提供读取时的版本号")
    return value


def _page(limit: int, offset: int) -> tuple[int, int]:
    if limit < 0 or limit > PAGE_MAX or offset < 0:
        raise invalid_field("limit", f"limit 应在1到{PAGE_MAX}之间，offset 不能为负")
    return (limit or PAGE_DEFAULT), offset


def _decimal(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise invalid_field(field, "请填写有效的数值") from None
    if not value.is_finite():
        raise invalid_field(field, "请填写有效的数值")
    return value


def _project(p: Project, *, blocked: bool | None = None, cite: Sequence[str] = ()) -> procurement_pb2.Project:
    return procurement_pb2.Project(
        declaration_id=p.declaration_id,
        tenant_id=p.tenant_id,
        approval_id=p.approval_id,
        project_code=p.project_code,
        name=p.name,
        org_id=p.org_id,
        approved_amount=common_pb2.Money(amount=str(p.approved_amount)),
        approved_on=p.approved_on.isoformat(),
        valid_until=_day_text(p.valid_until),
        status=p.status.value,
        status_zh=STATUS_ZH[p.status],
        pack_id=p.pack_id,
        procurement_started_on=_day_text(p.procurement_started_on),
        accepted_on=_day_text(p.accepted_on),
        serious_delay_since=_day_text(p.serious_delay_since),
        version=p.version,
        final_payment_blocked=blocked if blocked is not None else p.accepted_on is None,
        final_payment_citations=_cite(cite),
    )


def _document(d: Document) -> procurement_pb2.Document:
    return procurement_pb2.Document(
        kind=d.kind.value,
        filename=d.filename,
        sha256=d.sha256,
        size=d.size,
        content_type=d.content_type,
        uploaded_at=d.uploaded_at.isoformat(),
    )


def _filing(f: Filing) -> procurement_pb2.Filing:
    t = f.terms
    return procurement_pb2.Filing(
        id=f.id,
        procurement_id=f.procurement_id,
        declaration_id=f.declaration_id,
        role=f.role.value,
        method=f.method.value,
        terms=procurement_pb2.ContractTerms(
            contract_no=t.contract_no,
            supplier_name=t.supplier_name,
            supplier_credit_code=t.supplier_credit_code,
            amount=common_pb2.Money(amount=str(t.amount)),
            signed_on=t.signed_on.isoformat(),
            period_start=t.period_start.isoformat(),
            period_end=t.period_end.isoformat(),
            warranty_months=t.warranty_months,
            ip_clause=t.ip_clause,
            termination_clause=t.termination_clause,
            schedule=[
                procurement_pb2.Milestone(name=m.name, due_on=m.due_on.isoformat()) for m in t.schedule
            ],
        ),
        filed_on=f.filed_on.isoformat(),
        due_on=f.due_on.isoformat(),
        overdue=f.overdue,
        checks=[
            procurement_pb2.Check(
                code=c.code, passed=c.passed, blocking=c.blocking, message=c.message, citations=_cite(c.cite)
            )
            for c in f.checks
        ],
        citations=_cite(f.cite),
        source=f.source,
    )


def _procurement(
    p: Procurement, *, today: date, filing: Filing | None = None, missing: Sequence[DocKind] = ()
) -> procurement_pb2.Procurement:
    msg = procurement_pb2.Procurement(
        id=p.id,
        declaration_id=p.declaration_id,
        role=p.role.value,
        method=p.method.value,
        title=p.title,
        started_on=p.started_on.isoformat(),
        status=p.status.value,
        signed_on=_day_text(p.signed_on),
        filing_due_on=_day_text(p.filing_due_on),
        ocid=p.ocid,
        prefill_json=json.dumps(p.prefill, ensure_ascii=False),
        documents=[_document(d) for d in p.documents],
        missing_documents=[k.value for k in missing],
        version=p.version,
        filing_overdue=procurement_service.rules.filing_late(p, today),
    )
    if filing is not None:
        msg.filing.CopyFrom(_filing(filing))
    return msg


def _progress(r: ProgressReport) -> procurement_pb2.ProgressReport:
    return procurement_pb2.ProgressReport(
        id=r.id,
        filing_id=r.filing_id,
        reported_on=r.reported_on.isoformat(),
        percent=str(r.percent),
        milestones_done=list(r.milestones_done),
        note=r.note,
        reported_by=r.reported_by,
        delay_json=json.dumps(r.delay, ensure_ascii=False, default=str),
    )


def _payment(p: Payment) -> procurement_pb2.Payment:
    return procurement_pb2.Payment(
        id=p.id,
        filing_id=p.filing_id,
        kind=p.kind.value,
        amount=common_pb2.Money(amount=str(p.amount)),
        paid_on=p.paid_on.isoformat(),
        note=p.note,
        recorded_by=p.recorded_by,
        citations=_cite(p.cite),
    )


class ProcurementServicer(procurement_pb2_grpc.ProcurementServiceServicer):
    """Projects, procurements, filings, construction, the trading center."""

    def __init__(self, deps: ProcurementDeps) -> None:
        self._deps = deps

    async def GetProject(
        self, request: procurement_pb2.GetProjectRequest, context: Ctx
    ) -> procurement_pb2.ProjectResponse:
        view = await project_service.get_project(
            deps=self._deps, principal=_who(), declaration_id=request.declaration_id
        )
        filings = {f.procurement_id: f for f in view.filings}
        grounds = construction_service.grounds_of(self._deps, view.project)
        return procurement_pb2.ProjectResponse(
            interventions=[_intervention(i, grounds) for i in view.interventions],
            suspension_grounds=[
                procurement_pb2.SuspensionGround(
                    code=code, label_zh=g["label_zh"], citations=_cite(g["cite"])
                )
                for code, g in grounds.items()
            ],
            project=_project(view.project, blocked=view.final_payment_blocked, cite=view.final_payment_cite),
            procurements=[
                _procurement(
                    p,
                    today=self._deps.today(),
                    filing=filings.get(p.id),
                    missing=procurement_service.rules.missing_documents(p),
                )
                for p in view.procurements
            ],
            progress=[_progress(r) for r in view.progress],
            payments=[_payment(p) for p in view.payments],
        )

    async def ListProjects(
        self, request: procurement_pb2.ListProjectsRequest, context: Ctx
    ) -> procurement_pb2.ListProjectsResponse:
        limit, offset = _page(request.limit, request.offset)
        found = await project_service.list_projects(
            deps=self._deps, principal=_who(), status=request.status or None, limit=limit, offset=offset
        )
        return procurement_pb2.ListProjectsResponse(items=[_project(p) for p in found])

    async def StartProcurement(
        self, request: procurement_pb2.StartProcurementRequest, context: Ctx
    ) -> procurement_pb2.ProcurementResponse:
        found = await procurement_service.start_procurement(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id,
            role=_enum(Role, request.role or Role.CONSTRUCTION.value, "role"),
            method=_enum(Method, request.method, "method"),
            started_on=optional_date(request.started_on, "started_on"),
            title=request.title.strip(),
            expected_version=_version(request.version),
        )
        missing = procurement_service.rules.missing_documents(found)
        return procurement_pb2.ProcurementResponse(
            procurement=_procurement(found, today=self._deps.today(), missing=missing)
        )

    async def GetProcurement(
        self, request: procurement_pb2.GetProcurementRequest, context: Ctx
    ) -> procurement_pb2.ProcurementResponse:
        view = await procurement_service.get_procurement(
            deps=self._deps, principal=_who(), procurement_id=request.procurement_id
        )
        return procurement_pb2.ProcurementResponse(
            procurement=_procurement(
                view.procurement, today=self._deps.today(), filing=view.filing, missing=view.missing
            )
        )

    async def RecordSigning(
        self, request: procurement_pb2.RecordSigningRequest, context: Ctx
    ) -> procurement_pb2.ProcurementResponse:
        signed_on = required_date(request.signed_on, "signed_on")
        found = await procurement_service.record_signing(
            deps=self._deps,
            principal=_who(),
            procurement_id=request.procurement_id,
            signed_on=signed_on,
            expected_version=_version(request.version),
        )
        missing = procurement_service.rules.missing_documents(found)
        return procurement_pb2.ProcurementResponse(
            procurement=_procurement(found, today=self._deps.today(), missing=missing)
        )

    async def UploadDocument(
        self, request: procurement_pb2.UploadDocumentRequest, context: Ctx
    ) -> procurement_pb2.DocumentResponse:
        found = await procurement_service.upload_document(
            deps=self._deps,
            principal=_who(),
            procurement_id=request.procurement_id,
            kind=_enum(DocKind, request.kind, "kind"),
            filename=request.filename,
            content_type=request.content_type,
            data=request.data,
        )
        return procurement_pb2.DocumentResponse(document=_document(found))

    async def FileContract(
        self, request: procurement_pb2.FileContractRequest, context: Ctx
    ) -> procurement_pb2.FilingResponse:
        t = request.terms
        schedule = []
        for m in t.schedule:
            due = required_date(m.due_on, "schedule")
            schedule.append(Milestone(m.name.strip(), due))
        given: dict[str, Any] = {
            "contract_no": t.contract_no,
            "supplier_name": t.supplier_name,
            "supplier_credit_code": t.supplier_credit_code,
            "amount": t.amount.amount if t.HasField("amount") else "",
            "signed_on": t.signed_on,
            "period_start": t.period_start,
            "period_end": t.period_end,
        }
        if not t.ip_clause.strip():
            raise invalid_field("ip_clause", "请填写合同中的知识产权归属条款")
        if not t.termination_clause.strip():
            raise invalid_field("termination_clause", "请填写合同中的解除（终止）条款")
        found = await procurement_service.file_with_prefill(
            deps=self._deps,
            principal=_who(),
            procurement_id=request.procurement_id,
            given=given,
            warranty_months=t.warranty_months,
            ip_clause=t.ip_clause,
            termination_clause=t.termination_clause,
            schedule=tuple(schedule),
            expected_version=_version(request.version),
        )
        return procurement_pb2.FilingResponse(filing=_filing(found))

    async def ReportProgress(
        self, request: procurement_pb2.ReportProgressRequest, context: Ctx
    ) -> procurement_pb2.ProgressResponse:
        report, project = await construction_service.report_progress(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id,
            filing_id=request.filing_id,
            percent=_decimal(request.percent, "percent"),
            milestones_done=[m.strip() for m in request.milestones_done],
            note=request.note.strip(),
            expected_version=_version(request.version),
        )
        return procurement_pb2.ProgressResponse(
            report_id=report.id,
            delay_json=json.dumps(report.delay, ensure_ascii=False),
            project=_project(project),
        )

    async def RecordPayment(
        self, request: procurement_pb2.RecordPaymentRequest, context: Ctx
    ) -> procurement_pb2.PaymentResponse:
        amount = _decimal(request.amount.amount, "amount")
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise invalid_field("amount", "金额必须大于零，最多两位小数")
        paid_on = required_date(request.paid_on, "paid_on")
        found = await construction_service.record_payment(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id,
            filing_id=request.filing_id,
            kind=_enum(PaymentKind, request.kind, "kind"),
            amount=amount,
            paid_on=paid_on,
            note=request.note.strip(),
            expected_version=_version(request.version),
        )
        return procurement_pb2.PaymentResponse(
            payment_id=found.id,
            kind=found.kind.value,
            amount=common_pb2.Money(amount=str(found.amount)),
            citations=_cite(found.cite),
        )

    async def Intervene(
        self, request: procurement_pb2.InterveneRequest, context: Ctx
    ) -> procurement_pb2.ProjectResponse:
        if request.kind not in INTERVENTIONS:
            raise invalid_field("kind", "取值应为 suspension、termination 或 resumption")
        found = await construction_service.intervene(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id,
            kind=request.kind,
            ground=request.ground.strip(),
            reason=request.reason,
            expected_version=_version(request.version),
        )
        return procurement_pb2.ProjectResponse(project=_project(found))

    async def ImportPackage(
        self, request: procurement_pb2.ImportPackageRequest, context: Ctx
    ) -> procurement_pb2.ImportResponse:
        report = await trading_service.import_package(
            deps=self._deps, principal=_who(), body=request.package_json
        )
        return procurement_pb2.ImportResponse(
            received=report.received,
            matched=report.matched,
            unmatched=report.unmatched,
            duplicates=report.duplicates,
            invalid=report.invalid,
            refused=report.refused,
            mismatches=report.mismatches,
            procurements_started=report.procurements_started,
            errors_json=json.dumps(report.errors, ensure_ascii=False),
        )

    async def ListMismatches(
        self, request: procurement_pb2.ListMismatchesRequest, context: Ctx
    ) -> procurement_pb2.ListMismatchesResponse:
        limit, offset = _page(request.limit, request.offset)
        if request.declaration_id:
            procurement_service.valid_uuid(request.declaration_id, "project")
        found = await trading_service.list_mismatches(
            deps=self._deps,
            principal=_who(),
            declaration_id=request.declaration_id or None,
            limit=limit,
            offset=offset,
        )
        return procurement_pb2.ListMismatchesResponse(
            items=[
                procurement_pb2.Mismatch(
                    id=m["id"],
                    declaration_id=m["declaration_id"],
                    ocid=m["ocid"],
                    release_id=m["release_id"],
                    kind=m["kind"],
                    field=m["field"],
                    release_value=m["release_value"],
                    platform_value=m["platform_value"],
                    message=m["message"],
                    citations=_cite(m["cite"]),
                )
                for m in found
            ]
        )


def servicers(deps: ProcurementDeps) -> list[tuple[Any, Any]]:
    """(registrar, servicer) pairs for the gRPC server."""
    return [(procurement_pb2_grpc.add_ProcurementServiceServicer_to_server, ProcurementServicer(deps))]
