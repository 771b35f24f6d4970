"""intake's REST API (FastAPI): /v1/declarations, /v1/tenants, /v1/orgs, /v1/calls, /v1/existing-systems.

Thin: input is validated by the schemas below (Chinese field messages via govkit.web), everything
else is the use cases'. Updates carry the version read (body ``version`` or ``If-Match``); a stale
one is a 409.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from govkit.auth import CurrentPrincipal
from govkit.errors import AppError, ErrorKind
from intake import service
from intake.adapters.repository import DeclarationFilter
from intake.domain.calls import AnnualCall, CallStatus
from intake.domain.declaration import (
    AmountBreakdown,
    Category,
    ConstructionItem,
    ConstructionType,
    Declaration,
    DeclarationStatus,
    StoredFinding,
)
from intake.domain.materials import Material
from intake.domain.orgs import ExistingSystem, Org, OrgType, SystemStatus, TenantLevel, TenantRecord

# Field limits are input hygiene (what a form accepts), not policy rules.
NAME_MAX = 200
TEXT_MAX = 20_000
LIST_MAX = 200
AMOUNT_MAX_DIGITS = 16

Amount = Annotated[Decimal, Field(gt=0, max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)]
Part = Annotated[Decimal, Field(ge=0, max_digits=AMOUNT_MAX_DIGITS, decimal_places=2)]
ShortText = Annotated[str, Field(max_length=NAME_MAX)]
LongText = Annotated[str, Field(max_length=TEXT_MAX)]
Entries = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=NAME_MAX)]], Field(max_length=LIST_MAX)
]
Mlps = Annotated[int, Field(ge=0, le=5)]
UuidText = Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{36}$")]


async def _deps(request: Request) -> service.IntakeDeps:
    deps: service.IntakeDeps = request.app.state.intake
    return deps


IntakeDep = Annotated[service.IntakeDeps, Depends(_deps)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- declarations ---------------------------------------------------------------------------------


class Breakdown(_In):
    """投资估算构成 in CNY; the parts must add up to the amount."""

    hardware: Part = Decimal("0")
    software: Part = Decimal("0")
    services: Part = Decimal("0")
    security: Part = Decimal("0")
    supervision: Part = Decimal("0")
    third_party_testing: Part = Decimal("0")
    other: Part = Decimal("0")

    def to_domain(self) -> AmountBreakdown:
        """The domain value."""
        return AmountBreakdown(**self.model_dump())


class DeclarationCreate(_In):
    """A new draft declaration."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    category: Category
    construction_type: ConstructionType
    amount: Amount
    necessity: LongText = ""
    goals: LongText = ""
    contact: ShortText = ""
    construction_unit: ShortText = ""
    breakdown: Breakdown | None = None
    funding_source: ShortText = ""
    content: LongText = ""
    performance_goals: LongText = ""
    cloud_deployment: bool = False
    data_sharing_entries: Entries = Field(default_factory=list)
    mlps_level: Mlps = 0
    crypto_plan: LongText = ""
    related_systems: Entries = Field(default_factory=list)
    public_facing: bool = False
    public_video: bool = False
    goods_and_services_only: bool = False
    simple: bool = False
    emergency: bool = False
    designer_org: ShortText = ""
    construction_items: list[ConstructionItem] = Field(default_factory=list, max_length=10)
    call_id: UuidText | None = None
    supplementary: bool = False
    funds_secured: bool = False
    supplementary_reason: LongText = ""
    classified: bool = Field(default=False, description="涉密项目：为真时拒绝受理（按保密规定在平台外办理）")


class DeclarationUpdate(_In):
    """Changes to a draft; `version` is the version the client read. Absent fields stay as they are."""

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    category: Category | None = None
    construction_type: ConstructionType | None = None
    amount: Amount | None = None
    necessity: LongText | None = None
    goals: LongText | None = None
    contact: ShortText | None = None
    construction_unit: ShortText | None = None
    breakdown: Breakdown | None = None
    funding_source: ShortText | None = None
    content: LongText | None = None
    performance_goals: LongText | None = None
    cloud_deployment: bool | None = None
    data_sharing_entries: Entries | None = None
    mlps_level: Mlps | None = None
    crypto_plan: LongText | None = None
    related_systems: Entries | None = None
    public_facing: bool | None = None
    public_video: bool | None = None
    goods_and_services_only: bool | None = None
    simple: bool | None = None
    emergency: bool | None = None
    designer_org: ShortText | None = None
    construction_items: list[ConstructionItem] | None = Field(default=None, max_length=10)
    call_id: UuidText | None = None
    supplementary: bool | None = None
    funds_secured: bool | None = None
    supplementary_reason: LongText | None = None
    classified: bool | None = None


class DeclarationSubmit(_In):
    """Submit to the unit head; `version` optional (the If-Match header may carry it instead)."""

    version: int | None = Field(default=None, ge=1)


class Transition(_In):
    """A state change of a declaration: the version read, and a reason where one is asked for."""

    version: int | None = Field(default=None, ge=1)
    reason: LongText = ""


class ProvincialCode(_In):
    """The code issued by the provincial online approval platform."""

    version: int | None = Field(default=None, ge=1)
    provincial_code: str = Field(min_length=1, max_length=64)


class BreakdownRead(BaseModel):
    """投资估算构成."""

    hardware: Decimal
    software: Decimal
    services: Decimal
    security: Decimal
    supervision: Decimal
    third_party_testing: Decimal
    other: Decimal
    total: Decimal


class FindingRead(BaseModel):
    """A screening flag for reviewers."""

    kind: str
    score: float
    related_ids: list[str]
    message: str
    citations: list[str]
    details: dict[str, Any]

    @classmethod
    def of(cls, finding: StoredFinding) -> FindingRead:
        """From the domain object."""
        return cls(**finding.to_json())


class DeclarationRead(BaseModel):
    """A declaration as the API returns it."""

    id: str
    tenant_id: str
    org_id: str
    name: str
    category: Category
    construction_type: ConstructionType
    amount: Decimal
    necessity: str
    goals: str
    contact: str
    status: DeclarationStatus
    version: int
    project_code: str | None
    provincial_code: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    construction_unit: str
    breakdown: BreakdownRead | None
    funding_source: str
    content: str
    performance_goals: str
    cloud_deployment: bool
    data_sharing_entries: list[str]
    mlps_level: int
    crypto_plan: str
    related_systems: list[str]
    public_facing: bool
    public_video: bool
    goods_and_services_only: bool
    simple: bool
    emergency: bool
    designer_org: str
    construction_items: list[ConstructionItem]
    call_id: str | None
    target_year: int | None
    plan_year: int | None
    supplementary: bool
    funds_secured: bool
    supplementary_reason: str
    supplementary_approved_by: str
    late_route: str
    round: int
    findings: list[FindingRead]
    citations: list[str]
    signoff_by: str | None
    signoff_at: datetime | None
    send_back_reason: str
    return_reason: str
    return_items: list[str]
    return_stage: str
    review_started: bool
    withdrawn_reason: str

    @classmethod
    def of(cls, d: Declaration) -> DeclarationRead:
        """From the domain object."""
        values: dict[str, Any] = dict(d.__dict__)
        values["breakdown"] = (
            BreakdownRead(**d.breakdown.as_dict(), total=d.breakdown.total())
            if d.breakdown is not None
            else None
        )
        values["findings"] = [FindingRead.of(f) for f in d.findings]
        for name in (
            "data_sharing_entries",
            "related_systems",
            "construction_items",
            "citations",
            "return_items",
        ):
            values[name] = list(values[name])
        return cls(**values)


class DeclarationPage(BaseModel):
    """A page of declarations."""

    items: list[DeclarationRead]
    total: int
    next_page_token: str


class MaterialRead(BaseModel):
    """An uploaded file of a declaration."""

    id: str
    declaration_id: str
    doc_type: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime

    @classmethod
    def of(cls, m: Material) -> MaterialRead:
        """From the domain object."""
        return cls(
            id=m.id,
            declaration_id=m.declaration_id,
            doc_type=m.doc_type,
            filename=m.filename,
            content_type=m.content_type,
            size=m.size,
            sha256=m.sha256,
            uploaded_by=m.uploaded_by,
            uploaded_at=m.uploaded_at,
        )


class MaterialListRead(BaseModel):
    """Materials and what the pack requires for this declaration."""

    items: list[MaterialRead]
    required_doc_types: list[str]
    alternative_doc_types: list[list[str]]
    missing_doc_types: list[str]
    missing_one_of: list[list[str]]
    citations: list[str]


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip().strip('"').removeprefix("W/").strip('"'))
    except ValueError:
        raise AppError(
            code="BAD_IF_MATCH", message="If-Match 头格式不正确，应为版本号。", kind=ErrorKind.INVALID
        ) from None


def _version(body_version: int | None, if_match: str | None) -> int:
    version = body_version or _if_match(if_match)
    if version is None:
        raise AppError(
            code="VALIDATION_FAILED",
            message="提交的内容有误，请按提示修改后重试。",
            kind=ErrorKind.INVALID,
            details={"fields": [{"field": "version", "message": "请提供读取时的版本号"}]},
        )
    return version


declarations = APIRouter(prefix="/v1/declarations", tags=["declarations"])
IfMatch = Annotated[str | None, Header()]


def _fields_from(body: DeclarationCreate) -> service.DeclarationFields:
    values = body.model_dump()
    values["breakdown"] = body.breakdown.to_domain() if body.breakdown is not None else None
    for name in ("data_sharing_entries", "related_systems", "construction_items"):
        values[name] = tuple(values[name])
    values["construction_items"] = tuple(ConstructionItem(i) for i in values["construction_items"])
    return service.DeclarationFields(**values)


@declarations.post("", status_code=201, response_model=DeclarationRead)
async def create_declaration(
    body: DeclarationCreate, principal: CurrentPrincipal, deps: IntakeDep
) -> DeclarationRead:
    """Start a draft declaration (classified projects are refused)."""
    created = await service.create_declaration(deps=deps, principal=principal, fields=_fields_from(body))
    return DeclarationRead.of(created)


@declarations.get("", response_model=DeclarationPage)
async def list_declarations(
    principal: CurrentPrincipal,
    deps: IntakeDep,
    status: Annotated[list[DeclarationStatus] | None, Query()] = None,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
    target_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    call_id: Annotated[str | None, Query(pattern=r"^[0-9a-fA-F-]{36}$")] = None,
    project_code: Annotated[str | None, Query(max_length=64)] = None,
    supplementary: bool | None = None,
    q: Annotated[str | None, Query(max_length=NAME_MAX)] = None,
    page_size: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = service.DEFAULT_PAGE_SIZE,
    page_token: Annotated[str, Query(max_length=20)] = "",
) -> DeclarationPage:
    """Declarations the caller may see, newest first (a unit: its own only)."""
    page = await service.list_declarations(
        deps=deps,
        principal=principal,
        where=DeclarationFilter(
            statuses=tuple(status or ()),
            org_id=org_id,
            target_year=target_year,
            call_id=call_id,
            project_code=project_code,
            supplementary=supplementary,
            name_contains=q or None,
        ),
        page_size=page_size,
        page_token=page_token,
    )
    return DeclarationPage(
        items=[DeclarationRead.of(d) for d in page.items],
        total=page.total,
        next_page_token=page.next_page_token,
    )


@declarations.get("/{declaration_id}", response_model=DeclarationRead)
async def get_declaration(
    declaration_id: str, principal: CurrentPrincipal, deps: IntakeDep
) -> DeclarationRead:
    """One declaration."""
    return DeclarationRead.of(
        await service.get_declaration(deps=deps, principal=principal, declaration_id=declaration_id)
    )


@declarations.patch("/{declaration_id}", response_model=DeclarationRead)
async def update_declaration(
    declaration_id: str, body: DeclarationUpdate, principal: CurrentPrincipal, deps: IntakeDep
) -> DeclarationRead:
    """Edit a draft with the version read (409 when stale)."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    nullable = {"call_id"}
    if any(value is None for key, value in changes.items() if key not in nullable):
        raise AppError(code="NULL_FIELD", message="字段不能为空值。", kind=ErrorKind.INVALID)
    if "breakdown" in changes and body.breakdown is not None:
        changes["breakdown"] = body.breakdown.to_domain()
    for name in ("data_sharing_entries", "related_systems"):
        if name in changes:
            changes[name] = tuple(changes[name])
    if "construction_items" in changes:
        changes["construction_items"] = tuple(ConstructionItem(i) for i in changes["construction_items"])
    updated = await service.update_declaration(
        deps=deps,
        principal=principal,
        declaration_id=declaration_id,
        expected_version=body.version,
        changes=changes,
    )
    return DeclarationRead.of(updated)


@declarations.post("/{declaration_id}/submit", response_model=DeclarationRead)
async def submit_declaration(
    declaration_id: str,
    principal: CurrentPrincipal,
    deps: IntakeDep,
    body: DeclarationSubmit | None = None,
    if_match: IfMatch = None,
) -> DeclarationRead:
    """The applicant submits the declaration to the unit head for sign-off (→ pending_signoff)."""
    version = (body.version if body is not None else None) or _if_match(if_match)
    submitted = await service.submit_for_signoff(
        deps=deps, principal=principal, declaration_id=declaration_id, expected_version=version
    )
    return DeclarationRead.of(submitted)


@declarations.post("/{declaration_id}/sign-off", response_model=DeclarationRead)
async def sign_off(
    declaration_id: str,
    principal: CurrentPrincipal,
    deps: IntakeDep,
    body: Transition,
    if_match: IfMatch = None,
) -> DeclarationRead:
    """The unit head signs off: the declaration is submitted to the bureau (screening, quota, code)."""
    return DeclarationRead.of(
        await service.sign_off(
            deps=deps,
            principal=principal,
            declaration_id=declaration_id,
            expected_version=_version(body.version, if_match),
        )
    )


@declarations.post("/{declaration_id}/send-back", response_model=DeclarationRead)
async def send_back(
    declaration_id: str,
    principal: CurrentPrincipal,
    deps: IntakeDep,
    body: Transition,
    if_match: IfMatch = None,
) -> DeclarationRead:
    """The unit head sends the declaration back to the applicant with a reason."""
    return DeclarationRead.of(
        await service.send_back(
            deps=deps,
            principal=principal,
            declaration_id=declaration_id,
            expected_version=_version(body.version, if_match),
            reason=body.reason,
        )
    )


@declarations.post("/{declaration_id}/withdraw", response_model=DeclarationRead)
async def withdraw(
    declaration_id: str,
    principal: CurrentPrincipal,
    deps: IntakeDep,
    body: Transition,
    if_match: IfMatch = None,
) -> DeclarationRead:
    """Withdraw a submitted declaration before review starts."""
    return DeclarationRead.of(
        await service.withdraw(
            deps=deps,
            principal=principal,
            declaration_id=declaration_id,
            expected_version=_version(body.version, if_match),
            reason=body.reason,
        )
    )


@declarations.post("/{declaration_id}/resubmit", response_model=DeclarationRead)
async def resubmit(
    declaration_id: str,
    principal: CurrentPrincipal,
    deps: IntakeDep,
    body: Transition,
    if_match: IfMatch = None,
) -> DeclarationRead:
    """The unit head resubmits a returned declaration after corrections."""
    return DeclarationRead.of(
        await service.resubmit(
            deps=deps,
            principal=principal,
            declaration_id=declaration_id,
            expected_version=_version(body.version, if_match),
        )
    )


@declarations.put("/{declaration_id}/provincial-code", response_model=DeclarationRead)
async def record_provincial_code(
    declaration_id: str,
    principal: CurrentPrincipal,
    deps: IntakeDep,
    body: ProvincialCode,
    if_match: IfMatch = None,
) -> DeclarationRead:
    """Record the provincial online approval platform's code beside ours."""
    return DeclarationRead.of(
        await service.record_provincial_code(
            deps=deps,
            principal=principal,
            declaration_id=declaration_id,
            expected_version=_version(body.version, if_match),
            provincial_code=body.provincial_code,
        )
    )


@declarations.post("/{declaration_id}/materials", status_code=201, response_model=MaterialRead)
async def upload_material(
    declaration_id: str,
    principal: CurrentPrincipal,
    deps: IntakeDep,
    doc_type: Annotated[str, Form(min_length=1, max_length=64)],
    file: Annotated[UploadFile, File()],
) -> MaterialRead:
    """Upload a file (multipart: ``doc_type`` and ``file``); size and type limits apply."""
    # Read one byte past the limit: enough to refuse a too-large file without holding all of it.
    data = await file.read(deps.max_upload_bytes + 1)
    material = await service.upload_material(
        deps=deps,
        principal=principal,
        declaration_id=declaration_id,
        doc_type=doc_type,
        filename=file.filename or "",
        content_type=file.content_type or "",
        data=data,
    )
    return MaterialRead.of(material)


@declarations.get("/{declaration_id}/materials", response_model=MaterialListRead)
async def list_materials(
    declaration_id: str, principal: CurrentPrincipal, deps: IntakeDep
) -> MaterialListRead:
    """The declaration's materials and the documents its pack requires."""
    found = await service.list_materials(deps=deps, principal=principal, declaration_id=declaration_id)
    return MaterialListRead(
        items=[MaterialRead.of(m) for m in found.materials],
        required_doc_types=list(found.required),
        alternative_doc_types=[list(g) for g in found.alternatives],
        missing_doc_types=found.missing,
        missing_one_of=found.missing_one_of,
        citations=list(found.citations),
    )


@declarations.get("/{declaration_id}/materials/{material_id}/content")
async def download_material(
    declaration_id: str, material_id: str, principal: CurrentPrincipal, deps: IntakeDep
) -> Response:
    """The file's bytes (with its SHA-256 in ``X-Content-SHA256``)."""
    material, data = await service.download_material(
        deps=deps, principal=principal, declaration_id=declaration_id, material_id=material_id
    )
    return Response(
        content=data,
        media_type=material.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(material.filename)}",
            "X-Content-SHA256": material.sha256,
        },
    )


@declarations.delete("/{declaration_id}/materials/{material_id}", status_code=204)
async def delete_material(
    declaration_id: str, material_id: str, principal: CurrentPrincipal, deps: IntakeDep
) -> None:
    """Remove a file from an editable declaration."""
    await service.delete_material(
        deps=deps, principal=principal, declaration_id=declaration_id, material_id=material_id
    )


# --- tenants and orgs -------------------------------------------------------------------------------


class TenantRead(BaseModel):
    """A tenant as intake knows it."""

    id: str
    name: str
    region_code: str
    level: TenantLevel
    parent_id: str | None
    version: int


class TenantWrite(_In):
    """Register (version 0) or change the caller's tenant."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    region_code: str = Field(pattern=r"^[0-9]{6}$")
    level: TenantLevel
    parent_id: str | None = Field(default=None, max_length=64)
    version: int = Field(ge=0)


class OrgRead(BaseModel):
    """A bureau or unit."""

    tenant_id: str
    id: str
    name: str
    org_type: OrgType
    budget_units: int
    dept_code: str
    active: bool
    version: int


class OrgWrite(_In):
    """Register (version 0) or change an org."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    org_type: OrgType
    budget_units: int = Field(ge=0, le=10_000)
    dept_code: str = Field(pattern=r"^[0-9]{2}$")
    active: bool = True
    version: int = Field(ge=0)


T = TypeVar("T")


class Items(BaseModel, Generic[T]):
    """A list response."""

    items: list[T]


registry = APIRouter(prefix="/v1", tags=["tenants and orgs"])


@registry.get("/tenants", response_model=Items[TenantRead])
async def list_tenants(principal: CurrentPrincipal, deps: IntakeDep) -> Items[TenantRead]:
    """The caller's tenant record."""
    found = await service.list_tenants(deps=deps, principal=principal)
    return Items[TenantRead](items=[TenantRead(**{**t.__dict__}) for t in found])


@registry.put("/tenants/{tenant_id}", response_model=TenantRead)
async def upsert_tenant(
    tenant_id: str, body: TenantWrite, principal: CurrentPrincipal, deps: IntakeDep
) -> TenantRead:
    """The tenant administrator registers or changes the tenant (region code for project codes)."""
    stored = await service.upsert_tenant(
        deps=deps,
        principal=principal,
        record=TenantRecord(
            id=tenant_id,
            name=body.name,
            region_code=body.region_code,
            level=body.level,
            parent_id=body.parent_id,
            version=body.version,
        ),
        expected_version=body.version,
    )
    return TenantRead(**stored.__dict__)


@registry.get("/orgs", response_model=Items[OrgRead])
async def list_orgs(
    principal: CurrentPrincipal, deps: IntakeDep, org_type: OrgType | None = None
) -> Items[OrgRead]:
    """The orgs of the caller's tenant."""
    found = await service.list_orgs(deps=deps, principal=principal, org_type=org_type)
    return Items[OrgRead](items=[OrgRead(**o.__dict__) for o in found])


@registry.put("/orgs/{org_id}", response_model=OrgRead)
async def upsert_org(org_id: str, body: OrgWrite, principal: CurrentPrincipal, deps: IntakeDep) -> OrgRead:
    """The tenant administrator registers or changes an org."""
    stored = await service.upsert_org(
        deps=deps,
        principal=principal,
        org=Org(
            tenant_id=principal.tenant or "",
            id=org_id,
            name=body.name,
            org_type=body.org_type,
            budget_units=body.budget_units,
            dept_code=body.dept_code,
            active=body.active,
            version=body.version,
        ),
        expected_version=body.version,
    )
    return OrgRead(**stored.__dict__)


# --- annual calls -----------------------------------------------------------------------------------


class CallCreate(_In):
    """Open the annual call for a plan year."""

    target_year: int = Field(ge=2000, le=2100)
    deadline: date | None = None
    title: ShortText = ""
    notes: LongText = ""


class CallClose(_In):
    """Close a call at the version read."""

    version: int = Field(ge=1)


class CallRead(BaseModel):
    """An annual call."""

    id: str
    tenant_id: str
    target_year: int
    status: CallStatus
    opens_on: date
    deadline: date | None
    deadline_source: str
    late_route: str
    title: str
    notes: str
    opened_by: str
    opened_at: datetime
    citations: list[str]
    version: int

    @classmethod
    def of(cls, call: AnnualCall) -> CallRead:
        """From the domain object."""
        return cls(
            **{**call.__dict__, "late_route": call.late_route.value, "citations": list(call.citations)}
        )


calls = APIRouter(prefix="/v1/calls", tags=["annual calls"])


@calls.post("", status_code=201, response_model=CallRead)
async def open_call(body: CallCreate, principal: CurrentPrincipal, deps: IntakeDep) -> CallRead:
    """The bureau opens the call; deadline and late route come from the pack."""
    return CallRead.of(
        await service.open_call(
            deps=deps,
            principal=principal,
            target_year=body.target_year,
            deadline=body.deadline,
            title=body.title,
            notes=body.notes,
        )
    )


@calls.get("", response_model=Items[CallRead])
async def list_calls(
    principal: CurrentPrincipal,
    deps: IntakeDep,
    target_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: CallStatus | None = None,
) -> Items[CallRead]:
    """The tenant's calls."""
    found = await service.list_calls(deps=deps, principal=principal, target_year=target_year, status=status)
    return Items[CallRead](items=[CallRead.of(c) for c in found])


@calls.get("/{call_id}", response_model=CallRead)
async def get_call(call_id: str, principal: CurrentPrincipal, deps: IntakeDep) -> CallRead:
    """One call."""
    return CallRead.of(await service.get_call(deps=deps, principal=principal, call_id=call_id))


@calls.post("/{call_id}/close", response_model=CallRead)
async def close_call(call_id: str, body: CallClose, principal: CurrentPrincipal, deps: IntakeDep) -> CallRead:
    """The bureau closes a call."""
    return CallRead.of(
        await service.close_call(
            deps=deps, principal=principal, call_id=call_id, expected_version=body.version
        )
    )


# --- registered existing systems ------------------------------------------------------------------


class SystemWrite(_In):
    """Register (POST) or change (PUT, with version) an existing system."""

    org_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: LongText = ""
    built_year: int | None = Field(default=None, ge=1980, le=2100)
    status: SystemStatus = SystemStatus.ACTIVE
    version: int = Field(default=0, ge=0)


class SystemRead(BaseModel):
    """A registered existing system."""

    id: str
    tenant_id: str
    org_id: str
    name: str
    description: str
    built_year: int | None
    status: SystemStatus
    version: int
    updated_at: datetime


systems = APIRouter(prefix="/v1/existing-systems", tags=["existing systems"])


def _system(system_id: str, body: SystemWrite, principal: Any) -> ExistingSystem:
    return ExistingSystem(
        id=system_id,
        tenant_id=principal.tenant or "",
        org_id=body.org_id,
        name=body.name,
        description=body.description,
        built_year=body.built_year,
        status=body.status,
        version=body.version,
        updated_at=datetime.now(UTC),
    )


@systems.post("", status_code=201, response_model=SystemRead)
async def register_system(body: SystemWrite, principal: CurrentPrincipal, deps: IntakeDep) -> SystemRead:
    """Register an existing system (duplicate screening compares declarations with it)."""
    stored = await service.upsert_system(
        deps=deps, principal=principal, system=_system("", body, principal), expected_version=0
    )
    return SystemRead(**stored.__dict__)


@systems.put("/{system_id}", response_model=SystemRead)
async def update_system(
    system_id: str, body: SystemWrite, principal: CurrentPrincipal, deps: IntakeDep
) -> SystemRead:
    """Change or retire (status "retired") a registered system at the version read."""
    if body.version < 1:
        raise AppError(
            code="VALIDATION_FAILED",
            message="提交的内容有误，请按提示修改后重试。",
            kind=ErrorKind.INVALID,
            details={"fields": [{"field": "version", "message": "请提供读取时的版本号"}]},
        )
    stored = await service.upsert_system(
        deps=deps,
        principal=principal,
        system=_system(system_id, body, principal),
        expected_version=body.version,
    )
    return SystemRead(**stored.__dict__)


@systems.get("", response_model=Items[SystemRead])
async def list_systems(
    principal: CurrentPrincipal,
    deps: IntakeDep,
    org_id: Annotated[str | None, Query(max_length=64)] = None,
    include_retired: bool = False,
) -> Items[SystemRead]:
    """Registered systems (a unit sees its own)."""
    found = await service.list_systems(
        deps=deps, principal=principal, org_id=org_id, include_retired=include_retired
    )
    return Items[SystemRead](items=[SystemRead(**s.__dict__) for s in found])


routers = [declarations, registry, calls, systems]
router = declarations  # kept for callers of the first slice
