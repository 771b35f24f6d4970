"""procurement's AuditTrail as its gRPC server serves it: a project's records, for those who may read it."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from govkit.audit_trail import SERVICE_NAME, AuditTrailServicer
from govkit.auth import Principal
from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import audit_pb2
from procurement.bootstrap import _spec, _Wiring
from procurement.service import ProcurementDeps
from procurement.settings import ProcurementSettings

from .test_filing import begin

pytestmark = pytest.mark.integration


async def _as(who: Principal, call: Any) -> Any:
    token = _principal.set(who)
    try:
        return await call()
    finally:
        _principal.reset(token)


async def test_project_trail_with_its_procurement_for_bureau_and_unit_only(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    other_unit_project = await h.grant(deps, tenant, org_id="unit-2")
    started = await begin(deps, h, tenant, declaration_id)

    built = _spec(_Wiring(ProcurementSettings(), deps=deps))
    assert SERVICE_NAME in built.grpc_service_names
    [trail] = [
        s
        for _, s in built.grpc_servicers(SimpleNamespace(uow=deps.uow))
        if isinstance(s, AuditTrailServicer)  # type: ignore[arg-type]
    ]
    request = audit_pb2.ListProjectAuditRequest(declaration_id=declaration_id)
    for who in (h.who(tenant, "applicant"), h.who(tenant, "bureau_head", org="bureau")):
        answer = await _as(who, lambda: trail.ListProjectAudit(request, None))
        assert [(r.entity_type, r.entity_id) for r in answer.records] == [
            ("project", declaration_id),
            ("procurement", started.id),
        ]
        assert [r.action for r in answer.records] == ["project.approved", "procurement.started"]
        assert "qiaokou-2022 §22" in {c.ref for c in answer.records[0].citations}
        assert all(r.service == "procurement" for r in answer.records)

    # Another unit's project of the tenant, and another tenant's bureau: NOT_FOUND.
    for who, declaration in (
        (h.who(tenant, "applicant"), other_unit_project),
        (h.who(tenants.wuxing, "bureau_head", org="bureau"), declaration_id),
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
