"""intake's gRPC API: DeclarationService, OrgService, CallService, ExistingSystemService.

Thin adapters: proto → validated values (Chinese field messages) → use cases → proto.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc

from govkit.auth import current_grpc_principal
from govkit.errors import invalid_field
from govkit.grpckit.fields import optional_date
from govproj.common.v1 import common_pb2
from govproj.intake.v1 import intake_pb2, intake_pb2_grpc
from intake import service
from intake.adapters.repository import DeclarationFilter
from intake.domain.calls import AnnualCall, CallStatus
from intake.domain.declaration import (
    BREAKDOWN_PARTS,
    AmountBreakdown,
    Category,
    ConstructionItem,
    ConstructionType,
    Declaration,
    DeclarationStatus,
)
from intake.domain.materials import Material
from intake.domain.orgs import ExistingSystem, Org, OrgType, SystemStatus, TenantLevel, TenantRecord

SERVICE_NAME = "govproj.intake.v1.DeclarationService"
SERVICE_NAMES = [
    SERVICE_NAME,
    "govproj.intake.v1.OrgService",
    "govproj.intake.v1.CallService",
    "govproj.intake.v1.ExistingSystemService",
]
_STATUS = {
    DeclarationStatus.DRAFT: intake_pb2.DECLARATION_STATUS_DRAFT,
    DeclarationStatus.PENDING_SIGNOFF: intake_pb2.DECLARATION_STATUS_PENDING_SIGNOFF,
    DeclarationStatus.SUBMITTED: intake_pb2.DECLARATION_STATUS_SUBMITTED,
    DeclarationStatus.WITHDRAWN: intake_pb2.DECLARATION_STATUS_WITHDRAWN,
    DeclarationStatus.RETURNED: intake_pb2.DECLARATION_STATUS_RETURNED,
    DeclarationStatus.REJECTED: intake_pb2.DECLARATION_STATUS_REJECTED,
    DeclarationStatus.IN_PLAN: intake_pb2.DECLARATION_STATUS_IN_PLAN,
}
_MAX_AMOUNT_EXPONENT = -2  # two decimal places (fen)
_MAX_AMOUNT_DIGITS = 16
# Input hygiene, as in the REST schemas.
_NAME_MAX = 200
_TEXT_MAX = 20_000
_LIST_MAX = 200
_UUID = re.compile(r"^[0-9a-fA-F-]{36}$")
_TEXT_FIELDS = {
    "name": _NAME_MAX,
    "necessity": _TEXT_MAX,
    "goals": _TEXT_MAX,
    "contact": _NAME_MAX,
    "construction_unit": _NAME_MAX,
    "funding_source": _NAME_MAX,
    "content": _TEXT_MAX,
    "performance_goals": _TEXT_MAX,
    "crypto_plan": _TEXT_MAX,
    "designer_org": _NAME_MAX,
    "supplementary_reason": _TEXT_MAX,
}
_BOOL_FIELDS = {
    "cloud_deployment",
    "public_facing",
    "public_video",
    "goods_and_services_only",
    "simple",
    "emergency",
    "supplementary",
    "funds_secured",
    "classified",
}
_CREATE_FIELDS = (*service.EDITABLE_FIELD_NAMES, "classified")


def _ts(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _money(value: Decimal) -> common_pb2.Money:
    return common_pb2.Money(amount=str(value))


def _amount(money: common_pb2.Money, field: str, *, positive: bool = True) -> Decimal:
    try:
        value = Decimal(money.amount or "0")
    except InvalidOperation:
        raise invalid_field(field, "请填写有效的金额") from None
    if not value.is_finite():
        raise invalid_field(field, "请填写有效的金额")
    exponent = value.as_tuple().exponent
    too_small = value <= 0 if positive else value < 0
    if too_small or (isinstance(exponent, int) and exponent < _MAX_AMOUNT_EXPONENT):
        raise invalid_field(
            field, "金额必须大于零，最多两位小数" if positive else "金额不能为负数，最多两位小数"
        )
    if len(value.as_tuple().digits) > _MAX_AMOUNT_DIGITS:
        raise invalid_field(field, "金额过大")
    return value


def _breakdown_to_proto(breakdown: AmountBreakdown | None) -> intake_pb2.AmountBreakdown | None:
    if breakdown is None:
        return None
    return intake_pb2.AmountBreakdown(**{p: _money(v) for p, v in breakdown.as_dict().items()})


def to_proto(d: Declaration) -> intake_pb2.Declaration:
    """The domain declaration as its proto message."""
    message = intake_pb2.Declaration(
        id=d.id,
        tenant_id=d.tenant_id,
        org_id=d.org_id,
        name=d.name,
        category=d.category.value,
        construction_type=d.construction_type.value,
        amount=_money(d.amount),
        necessity=d.necessity,
        goals=d.goals,
        contact=d.contact,
        status=_STATUS[d.status],
        project_code=d.project_code or "",
        version=d.version,
        created_by=d.created_by,
        created_at=d.created_at.isoformat(),
        updated_at=d.updated_at.isoformat(),
        submitted_at=_ts(d.submitted_at),
        construction_unit=d.construction_unit,
        funding_source=d.funding_source,
        content=d.content,
        performance_goals=d.performance_goals,
        cloud_deployment=d.cloud_deployment,
        data_sharing_entries=list(d.data_sharing_entries),
        mlps_level=d.mlps_level,
        crypto_plan=d.crypto_plan,
        related_systems=list(d.related_systems),
        public_facing=d.public_facing,
        public_video=d.public_video,
        goods_and_services_only=d.goods_and_services_only,
        simple=d.simple,
        emergency=d.emergency,
        designer_org=d.designer_org,
        construction_items=[i.value for i in d.construction_items],
        call_id=d.call_id or "",
        target_year=d.target_year or 0,
        plan_year=d.plan_year or 0,
        supplementary=d.supplementary,
        funds_secured=d.funds_secured,
        supplementary_reason=d.supplementary_reason,
        supplementary_approved_by=d.supplementary_approved_by,
        late_route=d.late_route,
        round=d.round,
        provincial_code=d.provincial_code or "",
        findings=[
            intake_pb2.ScreeningFinding(
                kind=f.kind,
                score=f.score,
                related_ids=list(f.related_ids),
                message=f.message,
                citations=[common_pb2.Citation(ref=c) for c in f.citations],
            )
            for f in d.findings
        ],
        citations=[common_pb2.Citation(ref=c) for c in d.citations],
        signoff_by=d.signoff_by or "",
        signoff_at=_ts(d.signoff_at),
        send_back_reason=d.send_back_reason,
        return_reason=d.return_reason,
        return_items=list(d.return_items),
        return_stage=d.return_stage,
        review_started=d.review_started,
        withdrawn_reason=d.withdrawn_reason,
    )
    breakdown = _breakdown_to_proto(d.breakdown)
    if breakdown is not None:
        message.breakdown.CopyFrom(breakdown)
    return message


def _entries(values: Any, field: str) -> tuple[str, ...]:
    items = tuple(str(v).strip() for v in values)
    if len(items) > _LIST_MAX or any(not v or len(v) > _NAME_MAX for v in items):
        raise invalid_field(field, "条目不能为空，每条不超过200字，最多200条")
    return items


def _field_values(fields: intake_pb2.DeclarationFields, names: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in names:
        if name == "amount":
            values[name] = _amount(fields.amount, "amount")
        elif name == "breakdown":
            values[name] = (
                AmountBreakdown(
                    **{
                        p: _amount(getattr(fields.breakdown, p), f"breakdown.{p}", positive=False)
                        for p in BREAKDOWN_PARTS
                    }
                )
                if fields.HasField("breakdown")
                else None
            )
        elif name == "category":
            try:
                values[name] = Category(fields.category)
            except ValueError:
                raise invalid_field("category", "取值不在允许范围内") from None
        elif name == "construction_type":
            try:
                values[name] = ConstructionType(fields.construction_type)
            except ValueError:
                raise invalid_field("construction_type", "取值不在允许范围内") from None
        elif name == "construction_items":
            try:
                values[name] = tuple(ConstructionItem(i) for i in fields.construction_items)
            except ValueError:
                raise invalid_field("construction_items", "取值不在允许范围内") from None
        elif name in ("data_sharing_entries", "related_systems"):
            values[name] = _entries(getattr(fields, name), name)
        elif name == "mlps_level":
            if not 0 <= fields.mlps_level <= 5:  # noqa: PLR2004 - GB/T 22239 levels 1..5, 0 = not yet known
                raise invalid_field("mlps_level", "等保级别应为1至5级（未定级填0）")
            values[name] = fields.mlps_level
        elif name == "call_id":
            call_id = fields.call_id.strip()
            if call_id and not _UUID.match(call_id):
                raise invalid_field("call_id", "编号格式不正确")
            values[name] = call_id or None
        elif name in _BOOL_FIELDS:
            values[name] = bool(getattr(fields, name))
        elif name in _TEXT_FIELDS:
            text = str(getattr(fields, name)).strip()
            if name == "name" and not text:
                raise invalid_field("name", "必填项未填写")
            if len(text) > _TEXT_FIELDS[name]:
                raise invalid_field(name, "内容过长")
            values[name] = text
        else:
            raise invalid_field(name, "不允许的字段")
    return values


def _version(value: int) -> int:
    if value < 1:
        raise invalid_field("version", "请提供读取时的版本号")
    return value


def _material(m: Material) -> intake_pb2.Material:
    return intake_pb2.Material(
        id=m.id,
        declaration_id=m.declaration_id,
        doc_type=m.doc_type,
        filename=m.filename,
        content_type=m.content_type,
        size=m.size,
        sha256=m.sha256,
        uploaded_by=m.uploaded_by,
        uploaded_at=m.uploaded_at.isoformat(),
    )


class DeclarationServicer(intake_pb2_grpc.DeclarationServiceServicer):
    """Thin adapter from gRPC to the declaration use cases."""

    def __init__(self, deps: service.IntakeDeps) -> None:
        self._deps = deps

    async def CreateDeclaration(
        self, request: intake_pb2.CreateDeclarationRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.CreateDeclarationResponse:
        names = list(request.field_mask) or list(_CREATE_FIELDS)
        values = _field_values(request.fields, names)
        for required in ("name", "category", "construction_type", "amount"):
            if required not in values:
                values.update(_field_values(request.fields, [required]))
        created = await service.create_declaration(
            deps=self._deps,
            principal=current_grpc_principal(),
            fields=service.DeclarationFields(**values),  # type: ignore[arg-type]
        )
        return intake_pb2.CreateDeclarationResponse(declaration=to_proto(created))

    async def UpdateDeclaration(
        self, request: intake_pb2.UpdateDeclarationRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.UpdateDeclarationResponse:
        changes = _field_values(request.fields, list(request.update_mask))
        updated = await service.update_declaration(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=_version(request.version),
            changes=changes,
        )
        return intake_pb2.UpdateDeclarationResponse(declaration=to_proto(updated))

    async def SubmitDeclaration(
        self, request: intake_pb2.SubmitDeclarationRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.SubmitDeclarationResponse:
        submitted = await service.submit_for_signoff(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=request.version or None,
        )
        return intake_pb2.SubmitDeclarationResponse(declaration=to_proto(submitted))

    async def SubmitForSignoff(
        self, request: intake_pb2.TransitionRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.TransitionResponse:
        submitted = await service.submit_for_signoff(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=request.version or None,
        )
        return intake_pb2.TransitionResponse(declaration=to_proto(submitted))

    async def SignOff(
        self, request: intake_pb2.TransitionRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.TransitionResponse:
        signed = await service.sign_off(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=_version(request.version),
        )
        return intake_pb2.TransitionResponse(declaration=to_proto(signed))

    async def SendBack(
        self, request: intake_pb2.TransitionRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.TransitionResponse:
        back = await service.send_back(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=_version(request.version),
            reason=request.reason,
        )
        return intake_pb2.TransitionResponse(declaration=to_proto(back))

    async def Withdraw(
        self, request: intake_pb2.TransitionRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.TransitionResponse:
        withdrawn = await service.withdraw(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=_version(request.version),
            reason=request.reason,
        )
        return intake_pb2.TransitionResponse(declaration=to_proto(withdrawn))

    async def Resubmit(
        self, request: intake_pb2.TransitionRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.TransitionResponse:
        again = await service.resubmit(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=_version(request.version),
        )
        return intake_pb2.TransitionResponse(declaration=to_proto(again))

    async def GetDeclaration(
        self, request: intake_pb2.GetDeclarationRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.GetDeclarationResponse:
        found = await service.get_declaration(
            deps=self._deps, principal=current_grpc_principal(), declaration_id=request.id
        )
        return intake_pb2.GetDeclarationResponse(declaration=to_proto(found))

    async def ListDeclarations(
        self, request: intake_pb2.ListDeclarationsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListDeclarationsResponse:
        try:
            statuses = tuple(DeclarationStatus(s) for s in request.status)
        except ValueError:
            raise invalid_field("status", "取值不在允许范围内") from None
        supplementary = {"": None, "yes": True, "no": False}.get(request.supplementary, "bad")
        if supplementary == "bad":
            raise invalid_field("supplementary", "取值应为 yes、no 或留空")
        if request.call_id and not _UUID.match(request.call_id):
            raise invalid_field("call_id", "编号格式不正确")
        if request.category:
            try:
                Category(request.category)
            except ValueError:
                raise invalid_field("category", "取值不在允许范围内") from None
        low = (
            _amount(request.amount_min, "amount_min", positive=False)
            if request.HasField("amount_min")
            else None
        )
        high = (
            _amount(request.amount_max, "amount_max", positive=False)
            if request.HasField("amount_max")
            else None
        )
        if low is not None and high is not None and high < low:
            raise invalid_field("amount_max", "金额上限不能小于下限")
        page = await service.list_declarations(
            deps=self._deps,
            principal=current_grpc_principal(),
            where=DeclarationFilter(
                statuses=statuses,
                org_id=request.org_id or None,
                target_year=request.target_year or None,
                call_id=request.call_id or None,
                project_code=request.project_code or None,
                supplementary=supplementary,  # type: ignore[arg-type]
                name_contains=request.name_contains.strip() or None,
                category=request.category or None,
                amount_min=low,
                amount_max=high,
            ),
            page_size=request.page_size or service.DEFAULT_PAGE_SIZE,
            page_token=request.page_token,
        )
        return intake_pb2.ListDeclarationsResponse(
            declarations=[to_proto(d) for d in page.items],
            next_page_token=page.next_page_token,
            total=page.total,
        )

    async def UploadMaterial(
        self, request: intake_pb2.UploadMaterialRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.UploadMaterialResponse:
        material = await service.upload_material(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.declaration_id,
            doc_type=request.doc_type,
            filename=request.filename,
            content_type=request.content_type,
            data=request.data,
        )
        return intake_pb2.UploadMaterialResponse(material=_material(material))

    async def ListMaterials(
        self, request: intake_pb2.ListMaterialsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListMaterialsResponse:
        found = await service.list_materials(
            deps=self._deps, principal=current_grpc_principal(), declaration_id=request.declaration_id
        )
        return intake_pb2.ListMaterialsResponse(
            materials=[_material(m) for m in found.materials],
            required_doc_types=list(found.required),
            missing_doc_types=[*found.missing, *("|".join(g) for g in found.missing_one_of)],
            citations=[common_pb2.Citation(ref=c) for c in found.citations],
        )

    async def DeleteMaterial(
        self, request: intake_pb2.DeleteMaterialRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.DeleteMaterialResponse:
        await service.delete_material(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.declaration_id,
            material_id=request.material_id,
        )
        return intake_pb2.DeleteMaterialResponse()

    async def RecordProvincialCode(
        self, request: intake_pb2.RecordProvincialCodeRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.TransitionResponse:
        recorded = await service.record_provincial_code(
            deps=self._deps,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=_version(request.version),
            provincial_code=request.provincial_code,
        )
        return intake_pb2.TransitionResponse(declaration=to_proto(recorded))


# --- registries ----------------------------------------------------------------------------------


def _tenant(t: TenantRecord) -> intake_pb2.Tenant:
    return intake_pb2.Tenant(
        id=t.id,
        name=t.name,
        region_code=t.region_code,
        level=t.level.value,
        parent_id=t.parent_id or "",
        version=t.version,
    )


def _org(o: Org) -> intake_pb2.Org:
    return intake_pb2.Org(
        tenant_id=o.tenant_id,
        id=o.id,
        name=o.name,
        org_type=o.org_type.value,
        budget_units=o.budget_units,
        dept_code=o.dept_code,
        active=o.active,
        version=o.version,
    )


def _enum(kind: type[Any], value: str, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise invalid_field(field, "取值不在允许范围内") from None


class OrgServicer(intake_pb2_grpc.OrgServiceServicer):
    """Tenants and orgs."""

    def __init__(self, deps: service.IntakeDeps) -> None:
        self._deps = deps

    async def ListTenants(
        self, request: intake_pb2.ListTenantsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListTenantsResponse:
        found = await service.list_tenants(deps=self._deps, principal=current_grpc_principal())
        return intake_pb2.ListTenantsResponse(tenants=[_tenant(t) for t in found])

    async def UpsertTenant(
        self, request: intake_pb2.UpsertTenantRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.UpsertTenantResponse:
        t = request.tenant
        stored = await service.upsert_tenant(
            deps=self._deps,
            principal=current_grpc_principal(),
            record=TenantRecord(
                id=t.id,
                name=t.name.strip(),
                region_code=t.region_code.strip(),
                level=_enum(TenantLevel, t.level, "level"),
                parent_id=t.parent_id or None,
                version=request.version,
            ),
            expected_version=max(request.version, 0),
        )
        return intake_pb2.UpsertTenantResponse(tenant=_tenant(stored))

    async def ListOrgs(
        self, request: intake_pb2.ListOrgsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListOrgsResponse:
        org_type = _enum(OrgType, request.org_type, "org_type") if request.org_type else None
        found = await service.list_orgs(
            deps=self._deps, principal=current_grpc_principal(), org_type=org_type
        )
        return intake_pb2.ListOrgsResponse(orgs=[_org(o) for o in found])

    async def UpsertOrg(
        self, request: intake_pb2.UpsertOrgRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.UpsertOrgResponse:
        principal = current_grpc_principal()
        o = request.org
        stored = await service.upsert_org(
            deps=self._deps,
            principal=principal,
            org=Org(
                tenant_id=principal.tenant or "",
                id=o.id,
                name=o.name.strip(),
                org_type=_enum(OrgType, o.org_type, "org_type"),
                budget_units=o.budget_units,
                dept_code=o.dept_code.strip(),
                active=o.active,
                version=request.version,
            ),
            expected_version=max(request.version, 0),
        )
        return intake_pb2.UpsertOrgResponse(org=_org(stored))


def _call(c: AnnualCall) -> intake_pb2.AnnualCall:
    return intake_pb2.AnnualCall(
        id=c.id,
        tenant_id=c.tenant_id,
        target_year=c.target_year,
        status=c.status.value,
        opens_on=c.opens_on.isoformat(),
        deadline=c.deadline.isoformat() if c.deadline else "",
        deadline_source=c.deadline_source,
        late_route=c.late_route.value,
        title=c.title,
        notes=c.notes,
        opened_by=c.opened_by,
        opened_at=c.opened_at.isoformat(),
        citations=[common_pb2.Citation(ref=x) for x in c.citations],
        version=c.version,
    )


class CallServicer(intake_pb2_grpc.CallServiceServicer):
    """Annual calls."""

    def __init__(self, deps: service.IntakeDeps) -> None:
        self._deps = deps

    async def OpenCall(
        self, request: intake_pb2.OpenCallRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.OpenCallResponse:
        opened = await service.open_call(
            deps=self._deps,
            principal=current_grpc_principal(),
            target_year=request.target_year,
            deadline=optional_date(request.deadline, "deadline"),
            title=request.title[:_NAME_MAX],
            notes=request.notes[:_TEXT_MAX],
        )
        return intake_pb2.OpenCallResponse(call=_call(opened))

    async def GetCall(
        self, request: intake_pb2.GetCallRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.GetCallResponse:
        found = await service.get_call(
            deps=self._deps, principal=current_grpc_principal(), call_id=request.id
        )
        return intake_pb2.GetCallResponse(call=_call(found))

    async def ListCalls(
        self, request: intake_pb2.ListCallsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListCallsResponse:
        status = _enum(CallStatus, request.status, "status") if request.status else None
        found = await service.list_calls(
            deps=self._deps,
            principal=current_grpc_principal(),
            target_year=request.target_year or None,
            status=status,
        )
        return intake_pb2.ListCallsResponse(calls=[_call(c) for c in found])

    async def CloseCall(
        self, request: intake_pb2.CloseCallRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.CloseCallResponse:
        closed = await service.close_call(
            deps=self._deps,
            principal=current_grpc_principal(),
            call_id=request.id,
            expected_version=_version(request.version),
        )
        return intake_pb2.CloseCallResponse(call=_call(closed))


def _system(s: ExistingSystem) -> intake_pb2.ExistingSystem:
    return intake_pb2.ExistingSystem(
        id=s.id,
        tenant_id=s.tenant_id,
        org_id=s.org_id,
        name=s.name,
        description=s.description,
        built_year=s.built_year or 0,
        status=s.status.value,
        version=s.version,
        updated_at=s.updated_at.isoformat(),
    )


class ExistingSystemServicer(intake_pb2_grpc.ExistingSystemServiceServicer):
    """Registered existing systems."""

    def __init__(self, deps: service.IntakeDeps) -> None:
        self._deps = deps

    async def UpsertSystem(
        self, request: intake_pb2.UpsertSystemRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.UpsertSystemResponse:
        principal = current_grpc_principal()
        s = request.system
        if len(s.name) > _NAME_MAX or len(s.description) > _TEXT_MAX:
            raise invalid_field("name", "内容过长")
        stored = await service.upsert_system(
            deps=self._deps,
            principal=principal,
            system=ExistingSystem(
                id=s.id,
                tenant_id=principal.tenant or "",
                org_id=s.org_id.strip(),
                name=s.name.strip(),
                description=s.description.strip(),
                built_year=s.built_year or None,
                status=_enum(SystemStatus, s.status or SystemStatus.ACTIVE.value, "status"),
                version=request.version,
                updated_at=datetime.now(UTC),
            ),
            expected_version=max(request.version, 0),
        )
        return intake_pb2.UpsertSystemResponse(system=_system(stored))

    async def ListSystems(
        self, request: intake_pb2.ListSystemsRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.ListSystemsResponse:
        found = await service.list_systems(
            deps=self._deps,
            principal=current_grpc_principal(),
            org_id=request.org_id or None,
            include_retired=request.include_retired,
        )
        return intake_pb2.ListSystemsResponse(systems=[_system(s) for s in found])
