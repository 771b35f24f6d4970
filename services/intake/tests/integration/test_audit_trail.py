"""intake's AuditTrail as wired in its gRPC server: a declaration's records, for those who may read it."""

from __future__ import annotations

import pytest

from govkit.audit import AuditSealer
from govkit.audit_trail import SERVICE_NAME, AuditTrailServicer
from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import audit_pb2
from intake.adapters.orm import audit
from intake.bootstrap import spec

pytestmark = pytest.mark.integration


async def test_declaration_trail_with_materials_and_signoff_refused_to_another_unit(make_world) -> None:  # type: ignore[no-untyped-def]
    world = await make_world("wuxing-2023")
    other = await make_world("wuxing-2023")
    await world.open_call()
    submitted = await world.submit(await world.draft())
    await other.open_call()
    await other.submit(await other.draft())
    await AuditSealer(engine=world.deps.uow.engine, table=audit).seal_pending()
    built = spec({"deps": world.deps})
    assert SERVICE_NAME in built.grpc_service_names
    [trail] = [s for _, s in built.grpc_servicers(None) if isinstance(s, AuditTrailServicer)]  # type: ignore[arg-type]
    request = audit_pb2.ListProjectAuditRequest(declaration_id=submitted.id)

    for who in (world.applicant, world.bureau, world.auditor):
        token = _principal.set(who)
        try:
            answer = await trail.ListProjectAudit(request, None)  # type: ignore[arg-type]
        finally:
            _principal.reset(token)
        actions = [r.action for r in answer.records]
        assert actions == [
            "declaration.created",
            "material.uploaded",
            "material.uploaded",
            "declaration.submitted_for_signoff",
            "declaration.submitted",
        ]
        assert {r.entity_id for r in answer.records} == {submitted.id}
        assert [r.occurred_at for r in answer.records] == sorted(r.occurred_at for r in answer.records)
        assert all(r.service == "intake" and r.sealed for r in answer.records)
        signoff = [r for r in answer.records if r.to_state == "submitted"]
        assert signoff and signoff[-1].actor.endswith(world.head.username)
        assert {c.ref for r in answer.records for c in r.citations} >= {"wuxing-2023 §7"}

    # Another unit of the tenant, and the other tenant's bureau: NOT_FOUND, as on the declaration.
    for who in (world.who("applicant", "unit-2"), other.bureau):
        token = _principal.set(who)
        try:
            with pytest.raises(AppError) as refused:
                await trail.ListProjectAudit(request, None)  # type: ignore[arg-type]
        finally:
            _principal.reset(token)
        assert refused.value.kind is ErrorKind.NOT_FOUND
