"""acceptance's AuditTrail as its gRPC server serves it: a project's records, for those who may read it."""

from __future__ import annotations

from datetime import date
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from acceptance.bootstrap import _spec, _Wiring
from acceptance.service import AcceptanceDeps
from acceptance.service import projects as proj
from acceptance.settings import AcceptanceSettings
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


async def test_project_trail_with_its_trial_run_for_bureau_and_unit_only(
    deps: AcceptanceDeps, tenants: Any, h: Any
) -> None:
    t = tenants.qiaokou
    unit = h.who(t, "applicant", org="unit-1")
    filed = h.contract_filed(t)
    await h.learn(deps, filed)
    project = await proj.find_by_declaration(
        deps=deps, principal=h.who(t, "bureau_reviewer"), declaration_id=filed.declaration_id
    )
    await proj.start_trial(
        deps=deps,
        principal=unit,
        project_id=project.id,
        expected_version=project.version,
        started_on=date(2025, 3, 3),
        completed_on=date(2025, 2, 28),
    )

    built = _spec(_Wiring(AcceptanceSettings(), deps=deps))
    assert SERVICE_NAME in built.grpc_service_names
    [trail] = [
        s
        for _, s in built.grpc_servicers(SimpleNamespace(uow=deps.uow))  # type: ignore[arg-type]
        if isinstance(s, AuditTrailServicer)
    ]
    request = audit_pb2.ListProjectAuditRequest(declaration_id=filed.declaration_id)
    for who in (unit, h.who(t, "bureau_reviewer"), h.who(t, "auditor", org="audit")):
        answer = await _as(who, partial(trail.ListProjectAudit, request, None))
        trial = [r for r in answer.records if r.action == "trial.started"]
        assert len(trial) == 1 and trial[0].entity_id == project.id and trial[0].service == "acceptance"
        assert "qiaokou-2022 §28(1)" in {c.ref for c in trial[0].citations}
        assert [r.occurred_at for r in answer.records] == sorted(r.occurred_at for r in answer.records)

    for who in (h.who(t, "applicant", org="unit-2"), h.who(tenants.wuxing, "bureau_reviewer")):
        with pytest.raises(AppError) as refused:
            await _as(who, partial(trail.ListProjectAudit, request, None))
        assert refused.value.kind is ErrorKind.NOT_FOUND
