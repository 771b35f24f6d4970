"""intake's gRPC API: govproj.intake.v1.DeclarationService."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import grpc

from govkit.auth import current_grpc_principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from govproj.intake.v1 import intake_pb2, intake_pb2_grpc
from intake import service
from intake.domain.declaration import Category, ConstructionType, Declaration, DeclarationStatus

SERVICE_NAME = "govproj.intake.v1.DeclarationService"
_STATUS = {
    DeclarationStatus.DRAFT: intake_pb2.DECLARATION_STATUS_DRAFT,
    DeclarationStatus.SUBMITTED: intake_pb2.DECLARATION_STATUS_SUBMITTED,
    DeclarationStatus.WITHDRAWN: intake_pb2.DECLARATION_STATUS_WITHDRAWN,
    DeclarationStatus.RETURNED: intake_pb2.DECLARATION_STATUS_RETURNED,
}
_MAX_AMOUNT_EXPONENT = -2  # two decimal places (fen)


def to_proto(declaration: Declaration) -> intake_pb2.Declaration:
    """The domain declaration as its proto message."""
    return intake_pb2.Declaration(
        id=declaration.id,
        tenant_id=declaration.tenant_id,
        org_id=declaration.org_id,
        name=declaration.name,
        category=declaration.category.value,
        construction_type=declaration.construction_type.value,
        amount=common_pb2.Money(amount=str(declaration.amount)),
        necessity=declaration.necessity,
        goals=declaration.goals,
        contact=declaration.contact,
        status=_STATUS[declaration.status],
        project_code=declaration.project_code or "",
        version=declaration.version,
        created_by=declaration.created_by,
        created_at=declaration.created_at.isoformat(),
        updated_at=declaration.updated_at.isoformat(),
        submitted_at=declaration.submitted_at.isoformat() if declaration.submitted_at else "",
    )


def _invalid(field: str, message: str) -> AppError:
    return AppError(
        code="VALIDATION_FAILED",
        message="提交的内容有误，请按提示修改后重试。",
        kind=ErrorKind.INVALID,
        details={"fields": [{"field": field, "message": message}]},
    )


def _amount(money: common_pb2.Money) -> Decimal:
    try:
        value = Decimal(money.amount)
    except InvalidOperation:
        raise _invalid("amount", "请填写有效的金额") from None
    exponent = value.as_tuple().exponent
    if not value.is_finite() or value <= 0 or (isinstance(exponent, int) and exponent < _MAX_AMOUNT_EXPONENT):
        raise _invalid("amount", "金额必须大于零，最多两位小数")
    return value


def _field_values(fields: intake_pb2.DeclarationFields, names: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in names:
        if name == "amount":
            values[name] = _amount(fields.amount)
        elif name == "category":
            try:
                values[name] = Category(fields.category)
            except ValueError:
                raise _invalid("category", "取值不在允许范围内") from None
        elif name == "construction_type":
            try:
                values[name] = ConstructionType(fields.construction_type)
            except ValueError:
                raise _invalid("construction_type", "取值不在允许范围内") from None
        elif name in service.EDITABLE_FIELD_NAMES:
            text = str(getattr(fields, name)).strip()
            if name == "name" and not text:
                raise _invalid("name", "必填项未填写")
            values[name] = text
        else:
            raise _invalid(name, "不允许的字段")
    return values


class DeclarationServicer(intake_pb2_grpc.DeclarationServiceServicer):
    """Thin adapter from gRPC to the use cases."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def CreateDeclaration(
        self, request: intake_pb2.CreateDeclarationRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.CreateDeclarationResponse:
        values = _field_values(request.fields, list(service.EDITABLE_FIELD_NAMES))
        created = await service.create_declaration(
            uow=self._uow,
            principal=current_grpc_principal(),
            fields=service.DeclarationFields(**values),  # type: ignore[arg-type]
        )
        return intake_pb2.CreateDeclarationResponse(declaration=to_proto(created))

    async def UpdateDeclaration(
        self, request: intake_pb2.UpdateDeclarationRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.UpdateDeclarationResponse:
        if request.version < 1:
            raise _invalid("version", "请提供读取时的版本号")
        changes = _field_values(request.fields, list(request.update_mask))
        updated = await service.update_declaration(
            uow=self._uow,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=request.version,
            changes=changes,
        )
        return intake_pb2.UpdateDeclarationResponse(declaration=to_proto(updated))

    async def SubmitDeclaration(
        self, request: intake_pb2.SubmitDeclarationRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.SubmitDeclarationResponse:
        submitted = await service.submit_declaration(
            uow=self._uow,
            principal=current_grpc_principal(),
            declaration_id=request.id,
            expected_version=request.version or None,
        )
        return intake_pb2.SubmitDeclarationResponse(declaration=to_proto(submitted))

    async def GetDeclaration(
        self, request: intake_pb2.GetDeclarationRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.GetDeclarationResponse:
        found = await service.get_declaration(
            uow=self._uow, principal=current_grpc_principal(), declaration_id=request.id
        )
        return intake_pb2.GetDeclarationResponse(declaration=to_proto(found))
