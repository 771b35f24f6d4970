"""procurement's REST API under /v1: approved projects, procurements and their files, contract
filings, progress, payments, suspension/termination, the discredited list, and the trading
center (signed webhook, package import, releases, mismatches)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from govkit import signing
from govkit.auth import CurrentPrincipal
from govkit.errors import AppError, ErrorKind
from procurement.domain.construction import PAYMENT_ZH, Payment, PaymentKind, ProgressReport
from procurement.domain.procurement import (
    DOC_ZH,
    METHOD_ZH,
    ROLE_ZH,
    DocKind,
    Document,
    Filing,
    Method,
    Milestone,
    Procurement,
    Role,
)
from procurement.domain.project import STATUS_ZH, Project, ProjectStatus
from procurement.service import ProcurementDeps
from procurement.service import construction as construction_service
from procurement.service import procurements as procurement_service
from procurement.service import projects as project_service
from procurement.service import trading as trading_service

# Input hygiene (what a form accepts), not policy rules.
TEXT_MAX = 20_000
SHORT_MAX = 500
LIST_MAX = 100
AMOUNT_DIGITS = 16
PAGE_MAX = 200
PAGE_DEFAULT = 50
MONTHS_MAX = 1200

Amount = Annotated[Decimal, Field(gt=0, max_digits=AMOUNT_DIGITS, decimal_places=2)]
Version = Annotated[int, Field(ge=1)]
ShortText = Annotated[str, Field(max_length=SHORT_MAX)]
LongText = Annotated[str, Field(max_length=TEXT_MAX)]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX)]
Offset = Annotated[int, Query(ge=0)]


async def procurement_deps(request: Request) -> ProcurementDeps:
    """The service's use-case dependencies (set on app.state by the composition root)."""
    deps: ProcurementDeps = request.app.state.procurement_deps
    return deps


ProcurementDepsDep = Annotated[ProcurementDeps, Depends(procurement_deps)]


class Strict(BaseModel):
    """Request bodies: unknown fields are errors, text is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------------------------
# Read models
# --------------------------------------------------------------------------------------------


class ProjectRead(BaseModel):
    """An approved project as procurement knows it."""

    declaration_id: str
    tenant_id: str
    approval_id: str
    project_code: str
    name: str
    org_id: str
    org_name: str
    approved_amount: Decimal
    approved_on: date
    valid_until: date | None
    baseline_version: int
    status: ProjectStatus
    status_zh: str
    pack_id: str
    procurement_started_on: date | None
    accepted_on: date | None
    serious_delay_since: date | None
    facts: dict[str, Any]
    version: int

    @classmethod
    def of(cls, p: Project) -> ProjectRead:
        """From the domain object."""
        return cls(
            declaration_id=p.declaration_id,
            tenant_id=p.tenant_id,
            approval_id=p.approval_id,
            project_code=p.project_code,
            name=p.name,
            org_id=p.org_id,
            org_name=p.org_name,
            approved_amount=p.approved_amount,
            approved_on=p.approved_on,
            valid_until=p.valid_until,
            baseline_version=p.baseline_version,
            status=p.status,
            status_zh=STATUS_ZH[p.status],
            pack_id=p.pack_id,
            procurement_started_on=p.procurement_started_on,
            accepted_on=p.accepted_on,
            serious_delay_since=p.serious_delay_since,
            facts=p.facts,
            version=p.version,
        )


class DocumentRead(BaseModel):
    """A stored file of a filing."""

    kind: DocKind
    kind_zh: str
    filename: str
    sha256: str
    size: int
    content_type: str
    uploaded_at: datetime

    @classmethod
    def of(cls, d: Document) -> DocumentRead:
        """From the domain object."""
        return cls(
            kind=d.kind,
            kind_zh=DOC_ZH[d.kind],
            filename=d.filename,
            sha256=d.sha256,
            size=d.size,
            content_type=d.content_type,
            uploaded_at=d.uploaded_at,
        )


class CheckRead(BaseModel):
    """One rule applied to a filing, with its articles."""

    code: str
    passed: bool
    blocking: bool
    message: str
    cite: list[str]


class MilestoneIn(Strict):
    """A line of the contract's schedule."""

    name: Annotated[str, Field(min_length=1, max_length=SHORT_MAX)]
    due_on: date


class ContractFilingRead(BaseModel):
    """A filed contract with the checks applied to it."""

    id: str
    procurement_id: str
    declaration_id: str
    role: Role
    method: Method
    method_zh: str
    contract_no: str
    supplier_name: str
    supplier_credit_code: str
    amount: Decimal
    signed_on: date
    period_start: date
    period_end: date
    period_days: int
    warranty_months: int
    ip_clause: str
    termination_clause: str
    schedule: list[MilestoneIn]
    filed_on: date
    filed_at: datetime
    filed_by: str
    due_on: date
    overdue: bool
    checks: list[CheckRead]
    cite: list[str]
    source: str

    @classmethod
    def of(cls, f: Filing) -> ContractFilingRead:
        """From the domain object."""
        t = f.terms
        return cls(
            id=f.id,
            procurement_id=f.procurement_id,
            declaration_id=f.declaration_id,
            role=f.role,
            method=f.method,
            method_zh=METHOD_ZH[f.method],
            contract_no=t.contract_no,
            supplier_name=t.supplier_name,
            supplier_credit_code=t.supplier_credit_code,
            amount=t.amount,
            signed_on=t.signed_on,
            period_start=t.period_start,
            period_end=t.period_end,
            period_days=t.period_days,
            warranty_months=t.warranty_months,
            ip_clause=t.ip_clause,
            termination_clause=t.termination_clause,
            schedule=[MilestoneIn(name=m.name, due_on=m.due_on) for m in t.schedule],
            filed_on=f.filed_on,
            filed_at=f.filed_at,
            filed_by=f.filed_by,
            due_on=f.due_on,
            overdue=f.overdue,
            checks=[CheckRead(**c.to_dict()) for c in f.checks],
            cite=list(f.cite),
            source=f.source,
        )


class ProcurementRead(BaseModel):
    """A procurement with its files, its prefill from the trading center and its filing."""

    id: str
    declaration_id: str
    role: Role
    role_zh: str
    method: Method
    method_zh: str
    title: str
    started_on: date
    status: str
    signed_on: date | None
    filing_due_on: date | None
    overdue_notified_on: date | None
    ocid: str
    prefill: dict[str, Any]
    documents: list[DocumentRead]
    missing_documents: list[DocKind]
    filing: ContractFilingRead | None
    cite: list[str]
    version: int
    filing_overdue: bool  # signed, not filed, its filing deadline passed (today)

    @classmethod
    def of(
        cls,
        p: Procurement,
        *,
        today: date,
        filing: Filing | None = None,
        missing: list[DocKind] | None = None,
    ) -> ProcurementRead:
        """From the domain object, as it stands on ``today``."""
        return cls(
            id=p.id,
            declaration_id=p.declaration_id,
            role=p.role,
            role_zh=ROLE_ZH[p.role],
            method=p.method,
            method_zh=METHOD_ZH[p.method],
            title=p.title,
            started_on=p.started_on,
            status=p.status.value,
            signed_on=p.signed_on,
            filing_due_on=p.filing_due_on,
            overdue_notified_on=p.overdue_notified_on,
            ocid=p.ocid,
            prefill=p.prefill,
            documents=[DocumentRead.of(d) for d in p.documents],
            missing_documents=missing or [],
            filing=ContractFilingRead.of(filing) if filing else None,
            cite=list(p.cite),
            version=p.version,
            filing_overdue=procurement_service.rules.filing_late(p, today),
        )


class ProgressRead(BaseModel):
    """A progress report with the delay it showed."""

    id: str
    filing_id: str
    reported_on: date
    percent: Decimal
    milestones_done: list[str]
    note: str
    reported_by: str
    delay: dict[str, Any]

    @classmethod
    def of(cls, r: ProgressReport) -> ProgressRead:
        """From the domain object."""
        return cls(
            id=r.id,
            filing_id=r.filing_id,
            reported_on=r.reported_on,
            percent=r.percent,
            milestones_done=list(r.milestones_done),
            note=r.note,
            reported_by=r.reported_by,
            delay=r.delay,
        )


class PaymentRead(BaseModel):
    """A recorded payment."""

    id: str
    filing_id: str
    kind: PaymentKind
    kind_zh: str
    amount: Decimal
    paid_on: date
    note: str
    recorded_by: str
    cite: list[str]

    @classmethod
    def of(cls, p: Payment) -> PaymentRead:
        """From the domain object."""
        return cls(
            id=p.id,
            filing_id=p.filing_id,
            kind=p.kind,
            kind_zh=PAYMENT_ZH[p.kind],
            amount=p.amount,
            paid_on=p.paid_on,
            note=p.note,
            recorded_by=p.recorded_by,
            cite=list(p.cite),
        )


class InterventionRead(BaseModel):
    """A suspension, resumption or termination."""

    id: str
    kind: str
    ground: str
    reason: str
    on_date: date
    actor: str
    source: str
    cite: list[str]


class ProjectDetailRead(BaseModel):
    """A project with everything procurement holds of it."""

    project: ProjectRead
    procurements: list[ProcurementRead]
    filings: list[ContractFilingRead]
    progress: list[ProgressRead]
    payments: list[PaymentRead]
    interventions: list[InterventionRead]
    final_payment_blocked: bool
    final_payment_cite: list[str]
    suspension_grounds: dict[str, dict[str, Any]]


class ProjectList(BaseModel):
    """A page of projects."""

    items: list[ProjectRead]


# --------------------------------------------------------------------------------------------
# Projects
# --------------------------------------------------------------------------------------------

projects = APIRouter(prefix="/v1/projects", tags=["projects"])


@projects.get("", response_model=ProjectList)
async def list_projects(
    principal: CurrentPrincipal,
    deps: ProcurementDepsDep,
    status: ProjectStatus | None = None,
    limit: Limit = PAGE_DEFAULT,
    offset: Offset = 0,
) -> ProjectList:
    """Approved projects of the caller's tenant (a unit sees its own)."""
    found = await project_service.list_projects(
        deps=deps, principal=principal, status=status.value if status else None, limit=limit, offset=offset
    )
    return ProjectList(items=[ProjectRead.of(p) for p in found])


@projects.get("/{declaration_id}", response_model=ProjectDetailRead)
async def get_project(
    declaration_id: str, principal: CurrentPrincipal, deps: ProcurementDepsDep
) -> ProjectDetailRead:
    """A project with its procurements, filings, progress, payments and interventions."""
    view = await project_service.get_project(deps=deps, principal=principal, declaration_id=declaration_id)
    filings = {f.procurement_id: f for f in view.filings}
    return ProjectDetailRead(
        project=ProjectRead.of(view.project),
        procurements=[
            ProcurementRead.of(p, today=deps.today(), filing=filings.get(p.id)) for p in view.procurements
        ],
        filings=[ContractFilingRead.of(f) for f in view.filings],
        progress=[ProgressRead.of(r) for r in view.progress],
        payments=[PaymentRead.of(p) for p in view.payments],
        interventions=[
            InterventionRead(
                id=i["id"],
                kind=i["kind"],
                ground=i["ground"],
                reason=i["reason"],
                on_date=i["on_date"],
                actor=i["actor"],
                source=i["source"],
                cite=list(i["cite"]),
            )
            for i in view.interventions
        ],
        final_payment_blocked=view.final_payment_blocked,
        final_payment_cite=view.final_payment_cite,
        suspension_grounds=construction_service.grounds_of(deps, view.project),
    )


class ProcurementCreate(Strict):
    """Begin a procurement: its role, method and the project's version as read."""

    version: Version
    role: Role = Role.CONSTRUCTION
    method: Method
    started_on: date | None = None
    title: ShortText = ""


@projects.post("/{declaration_id}/procurements", response_model=ProcurementRead, status_code=201)
async def start_procurement(
    declaration_id: str, body: ProcurementCreate, principal: CurrentPrincipal, deps: ProcurementDepsDep
) -> ProcurementRead:
    """Begin a procurement; the project's first one emits procurement.started."""
    found = await procurement_service.start_procurement(
        deps=deps,
        principal=principal,
        declaration_id=declaration_id,
        role=body.role,
        method=body.method,
        started_on=body.started_on,
        title=body.title,
        expected_version=body.version,
    )
    return ProcurementRead.of(
        found, today=deps.today(), missing=procurement_service.rules.missing_documents(found)
    )


class ProgressCreate(Strict):
    """A progress report on a construction contract."""

    version: Version
    filing_id: str
    percent: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
    milestones_done: Annotated[list[ShortText], Field(default_factory=list, max_length=LIST_MAX)]
    note: LongText = ""


@projects.post("/{declaration_id}/progress", status_code=201)
async def report_progress(
    declaration_id: str, body: ProgressCreate, principal: CurrentPrincipal, deps: ProcurementDepsDep
) -> dict[str, Any]:
    """Report progress (percent, milestones); the delay under the pack is returned with it."""
    report, project = await construction_service.report_progress(
        deps=deps,
        principal=principal,
        declaration_id=declaration_id,
        filing_id=body.filing_id,
        percent=body.percent,
        milestones_done=body.milestones_done,
        note=body.note,
        expected_version=body.version,
    )
    return {
        "report": ProgressRead.of(report).model_dump(mode="json"),
        "project": ProjectRead.of(project).model_dump(mode="json"),
    }


class PaymentCreate(Strict):
    """A payment on a filed contract."""

    version: Version
    filing_id: str
    kind: PaymentKind
    amount: Amount
    paid_on: date
    note: ShortText = ""


@projects.post("/{declaration_id}/payments", response_model=PaymentRead, status_code=201)
async def record_payment(
    declaration_id: str, body: PaymentCreate, principal: CurrentPrincipal, deps: ProcurementDepsDep
) -> PaymentRead:
    """Record a payment (payment.recorded); a final payment waits for the acceptance."""
    found = await construction_service.record_payment(
        deps=deps,
        principal=principal,
        declaration_id=declaration_id,
        filing_id=body.filing_id,
        kind=body.kind,
        amount=body.amount,
        paid_on=body.paid_on,
        note=body.note,
        expected_version=body.version,
    )
    return PaymentRead.of(found)


class InterventionCreate(Strict):
    """A suspension or termination names a ground of the pack; a resumption only a reason."""

    version: Version
    ground: Annotated[str, Field(max_length=64)] = ""
    reason: Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]


def _intervention_route(kind: str, path: str, doc: str) -> None:
    async def endpoint(
        declaration_id: str, body: InterventionCreate, principal: CurrentPrincipal, deps: ProcurementDepsDep
    ) -> ProjectRead:
        found = await construction_service.intervene(
            deps=deps,
            principal=principal,
            declaration_id=declaration_id,
            kind=kind,
            ground=body.ground,
            reason=body.reason,
            expected_version=body.version,
        )
        return ProjectRead.of(found)

    endpoint.__doc__ = doc
    projects.add_api_route(
        f"/{{declaration_id}}/{path}",
        endpoint,
        methods=["POST"],
        response_model=ProjectRead,
        name=f"{kind}_project",
    )


_intervention_route(
    "suspension", "suspension", "Suspend the project on a ground of the pack (qiaokou-2022 §27)."
)
_intervention_route("termination", "termination", "Terminate the project on a ground of the pack.")
_intervention_route("resumption", "resumption", "Resume a suspended project.")


# --------------------------------------------------------------------------------------------
# Procurements, documents, filings
# --------------------------------------------------------------------------------------------

procurements = APIRouter(prefix="/v1/procurements", tags=["procurements"])


@procurements.get("/{procurement_id}", response_model=ProcurementRead)
async def get_procurement(
    procurement_id: str, principal: CurrentPrincipal, deps: ProcurementDepsDep
) -> ProcurementRead:
    """A procurement, its files, the trading center's prefill and its filing."""
    view = await procurement_service.get_procurement(
        deps=deps, principal=principal, procurement_id=procurement_id
    )
    return ProcurementRead.of(view.procurement, today=deps.today(), filing=view.filing, missing=view.missing)


class SigningCreate(Strict):
    """The contract's signing date (the filing deadline runs from it)."""

    version: Version
    signed_on: date


@procurements.post("/{procurement_id}/signing", response_model=ProcurementRead)
async def record_signing(
    procurement_id: str, body: SigningCreate, principal: CurrentPrincipal, deps: ProcurementDepsDep
) -> ProcurementRead:
    """Record the signing; the filing is due within the pack's working days."""
    found = await procurement_service.record_signing(
        deps=deps,
        principal=principal,
        procurement_id=procurement_id,
        signed_on=body.signed_on,
        expected_version=body.version,
    )
    return ProcurementRead.of(
        found, today=deps.today(), missing=procurement_service.rules.missing_documents(found)
    )


@procurements.post("/{procurement_id}/documents", response_model=DocumentRead, status_code=201)
async def upload_document(
    procurement_id: str,
    principal: CurrentPrincipal,
    deps: ProcurementDepsDep,
    kind: Annotated[DocKind, Form()],
    file: Annotated[UploadFile, File()],
) -> DocumentRead:
    """Upload a file of the filing (multipart: ``kind`` and ``file``); kept with its SHA-256."""
    data = await file.read(deps.upload_max_bytes + 1)
    found = await procurement_service.upload_document(
        deps=deps,
        principal=principal,
        procurement_id=procurement_id,
        kind=kind,
        filename=file.filename or "",
        content_type=file.content_type or "",
        data=data,
    )
    return DocumentRead.of(found)


@procurements.get("/{procurement_id}/documents/{sha256}")
async def download_document(
    procurement_id: str, sha256: str, principal: CurrentPrincipal, deps: ProcurementDepsDep
) -> Response:
    """A stored file, by its SHA-256."""
    document, data = await procurement_service.get_document(
        deps=deps, principal=principal, procurement_id=procurement_id, sha256=sha256
    )
    return Response(
        content=data,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-SHA256": document.sha256,
        },
    )


class ContractFilingCreate(Strict):
    """The signed contract. Fields the trading center already sent (the procurement's prefill) may
    be left out; the IP ownership and termination clauses and the warranty always come from the unit."""

    version: Version
    contract_no: Annotated[str, Field(min_length=1, max_length=SHORT_MAX)] | None = None
    supplier_name: Annotated[str, Field(min_length=1, max_length=SHORT_MAX)] | None = None
    supplier_credit_code: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    amount: Amount | None = None
    signed_on: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    warranty_months: Annotated[int, Field(ge=0, le=MONTHS_MAX)]
    ip_clause: Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
    termination_clause: Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
    schedule: Annotated[list[MilestoneIn], Field(default_factory=list, max_length=LIST_MAX)]


@procurements.post("/{procurement_id}/filing", response_model=ContractFilingRead, status_code=201)
async def file_contract(
    procurement_id: str, body: ContractFilingCreate, principal: CurrentPrincipal, deps: ProcurementDepsDep
) -> ContractFilingRead:
    """File the signed contract (合同备案): every check with its articles; 422 lists them all."""
    found = await procurement_service.file_with_prefill(
        deps=deps,
        principal=principal,
        procurement_id=procurement_id,
        given={k: getattr(body, k) for k in procurement_service.PREFILLED},
        warranty_months=body.warranty_months,
        ip_clause=body.ip_clause,
        termination_clause=body.termination_clause,
        schedule=tuple(Milestone(m.name, m.due_on) for m in body.schedule),
        expected_version=body.version,
    )
    return ContractFilingRead.of(found)


# --------------------------------------------------------------------------------------------
# Discredited list, trading center
# --------------------------------------------------------------------------------------------

trading = APIRouter(prefix="/v1", tags=["trading"])


def _rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = []
    for row in rows:
        out.append(
            {
                k: (
                    v.isoformat()
                    if isinstance(v, date | datetime)
                    else str(v)
                    if isinstance(v, Decimal)
                    else v
                )
                for k, v in row.items()
            }
        )
    return {"items": out}


@trading.get("/discredited")
async def list_discredited(
    principal: CurrentPrincipal, deps: ProcurementDepsDep, limit: Limit = PAGE_DEFAULT, offset: Offset = 0
) -> dict[str, Any]:
    """The discredited list as procurement applies it (from evaluation's discredited.changed)."""
    return _rows(
        await project_service.list_discredited(deps=deps, principal=principal, limit=limit, offset=offset)
    )


class ImportResult(BaseModel):
    """What an import or push did."""

    received: int
    matched: int
    unmatched: int
    duplicates: int
    invalid: int
    refused: int
    mismatches: int
    procurements_started: int
    errors: list[dict[str, Any]]


def _result(report: trading_service.ImportReport) -> ImportResult:
    return ImportResult(**{k: getattr(report, k) for k in ImportResult.model_fields})


async def _body(request: Request, limit: int) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > limit:
            raise AppError(
                code="PAYLOAD_TOO_LARGE",
                message="推送内容过大，请分批推送。",
                kind=ErrorKind.INVALID,
                details={"max_bytes": limit},
            )
    return bytes(data)


@trading.post("/trading/webhook/{tenant}", response_model=ImportResult)
async def trading_webhook(
    tenant: str,
    request: Request,
    deps: ProcurementDepsDep,
    signature: Annotated[str, Header(alias=signing.SIGNATURE_HEADER)] = "",
    timestamp: Annotated[str, Header(alias=signing.TIMESTAMP_HEADER)] = "",
    nonce: Annotated[str, Header(alias=signing.NONCE_HEADER)] = "",
) -> ImportResult:
    """The trading center pushes an OCDS release package; authenticated by HMAC-SHA256 over
    timestamp, nonce and body (no user token), a replayed nonce or stale timestamp refused."""
    body = await _body(request, request.app.state.webhook_max_bytes)
    report = await trading_service.receive_webhook(
        deps=deps, tenant=tenant, body=body, timestamp=timestamp, nonce=nonce, given=signature
    )
    return _result(report)


@trading.post("/trading/imports", response_model=ImportResult)
async def import_package(
    request: Request, principal: CurrentPrincipal, deps: ProcurementDepsDep
) -> ImportResult:
    """The bureau imports a release package (JSON body)."""
    body = await _body(request, request.app.state.webhook_max_bytes)
    return _result(await trading_service.import_package(deps=deps, principal=principal, body=body))


@trading.get("/trading/releases")
async def list_releases(
    principal: CurrentPrincipal,
    deps: ProcurementDepsDep,
    ocid: str | None = None,
    limit: Limit = PAGE_DEFAULT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Releases received from the trading center and what became of each."""
    return _rows(
        await trading_service.list_releases(
            deps=deps, principal=principal, ocid=ocid, limit=limit, offset=offset
        )
    )


@trading.get("/trading/mismatches")
async def list_mismatches(
    principal: CurrentPrincipal,
    deps: ProcurementDepsDep,
    declaration_id: str | None = None,
    limit: Limit = PAGE_DEFAULT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Differences between the trading center's data and the platform's (amount, supplier, dates)."""
    if declaration_id is not None:
        procurement_service.valid_uuid(declaration_id, "project")
    found = await trading_service.list_mismatches(
        deps=deps, principal=principal, declaration_id=declaration_id, limit=limit, offset=offset
    )
    return _rows(found)


routers = [projects, procurements, trading]
