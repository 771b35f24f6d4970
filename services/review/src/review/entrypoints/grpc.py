"""review's gRPC API: govproj.review.v1.ReviewCaseService."""

from __future__ import annotations

import grpc

from govkit.auth import current_grpc_principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from govproj.review.v1 import review_pb2, review_pb2_grpc
from review import service
from review.domain.case import CaseStatus, ReviewCase

SERVICE_NAME = "govproj.review.v1.ReviewCaseService"
PAGE_MAX = 200
PAGE_DEFAULT = 50
_STATUS = {
    CaseStatus.OPEN: review_pb2.CASE_STATUS_OPEN,
    CaseStatus.RETURNED: review_pb2.CASE_STATUS_RETURNED,
}


def to_proto(case: ReviewCase) -> review_pb2.ReviewCase:
    """The domain case as its proto message."""
    return review_pb2.ReviewCase(
        id=case.id,
        tenant_id=case.tenant_id,
        declaration_id=case.declaration_id,
        declaring_org_id=case.declaring_org_id,
        name=case.name,
        amount=common_pb2.Money(amount=str(case.amount)),
        project_code=case.project_code or "",
        status=_STATUS.get(case.status, review_pb2.CASE_STATUS_UNSPECIFIED),
        opened_at=case.opened_at.isoformat(),
        version=case.version,
    )


class ReviewCaseServicer(review_pb2_grpc.ReviewCaseServiceServicer):
    """Thin adapter from gRPC to the use cases."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def GetCase(
        self, request: review_pb2.GetCaseRequest, context: grpc.aio.ServicerContext
    ) -> review_pb2.GetCaseResponse:
        if not request.id and not request.declaration_id:
            raise AppError(
                code="CASE_ID_REQUIRED", message="请提供案件编号或申报编号。", kind=ErrorKind.INVALID
            )
        case = await service.get_case(
            uow=self._uow,
            principal=current_grpc_principal(),
            case_id=request.id or None,
            declaration_id=request.declaration_id or None,
        )
        return review_pb2.GetCaseResponse(review_case=to_proto(case))

    async def ListCases(
        self, request: review_pb2.ListCasesRequest, context: grpc.aio.ServicerContext
    ) -> review_pb2.ListCasesResponse:
        size = request.page_size or PAGE_DEFAULT
        if not 1 <= size <= PAGE_MAX:
            raise AppError(code="BAD_PAGE_SIZE", message="每页条数超出范围。", kind=ErrorKind.INVALID)
        try:
            offset = int(request.page_token or 0)
        except ValueError:
            raise AppError(code="BAD_PAGE_TOKEN", message="分页标记无效。", kind=ErrorKind.INVALID) from None
        cases = await service.list_cases(
            uow=self._uow,
            principal=current_grpc_principal(),
            declaration_id=request.declaration_id or None,
            limit=size,
            offset=offset,
        )
        next_token = str(offset + size) if len(cases) == size else ""
        return review_pb2.ListCasesResponse(cases=[to_proto(c) for c in cases], next_page_token=next_token)
