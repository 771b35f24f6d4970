"""evaluation's AuditTrail as its gRPC server serves it: a project's records, for those who may read it."""

from __future__ import annotations

from datetime import date
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from evaluation.bootstrap import _spec, _Wiring
from evaluation.service import EvaluationDeps
from evaluation.service import rectification as rect
from evaluation.settings import EvaluationSettings
from govkit.audit_trail import SERVICE_NAME, AuditTrailServicer
from govkit.auth import Principal
from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import audit_pb2

pytestmark = pytest.mark.integration


async def _as(who: Principal, call: Any) -> Any:
    token = _principal.set(who)
    try:
        return await call()
    finally:
        _principal.reset(token)


async def test_project_trail_with_its_rectification_order_for_bureau_and_unit_only(
    deps: EvaluationDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    d, other = h.submitted(tenant), h.submitted(tenant, org_id="unit-2")
    await h.feed(deps, d, other, tenant=tenant)
    order = await rect.issue_order(
        deps=deps,
        principal=h.who(tenant, "bureau_head"),
        fields=rect.OrderCreate(
            declaration_id=d.declaration_id,
            stage="construction",
            owner="李四",
            items=("补齐监理日志",),
            grounds="监督检查发现",
            due_on=date(2025, 3, 14),
        ),
    )

    built = _spec(_Wiring(EvaluationSettings(), deps=deps))
    assert SERVICE_NAME in built.grpc_service_names
    [trail] = [
        s
        for _, s in built.grpc_servicers(SimpleNamespace(uow=deps.uow))  # type: ignore[arg-type]
        if isinstance(s, AuditTrailServicer)
    ]
    request = audit_pb2.ListProjectAuditRequest(declaration_id=d.declaration_id)
    for who in (h.who(tenant, "applicant", org="unit-1"), h.who(tenant, "bureau_reviewer")):
        answer = await _as(who, partial(trail.ListProjectAudit, request, None))
        issued = [r for r in answer.records if r.action == "rectification.issued"]
        assert len(issued) == 1 and issued[0].entity_id == order.id
        assert issued[0].entity_type == "rectification_order" and issued[0].service == "evaluation"
        assert [c.ref for c in issued[0].citations] == list(order.cite)
        assert [r.occurred_at for r in answer.records] == sorted(r.occurred_at for r in answer.records)

    for who, declaration in (
        (h.who(tenant, "applicant", org="unit-1"), other.declaration_id),
        (h.who(tenants.wuxing, "bureau_head"), d.declaration_id),
    ):
        with pytest.raises(AppError) as refused:
            await _as(
                who,
                partial(
                    trail.ListProjectAudit,
                    audit_pb2.ListProjectAuditRequest(declaration_id=declaration),
                    None,
                ),
            )
        assert refused.value.kind is ErrorKind.NOT_FOUND
