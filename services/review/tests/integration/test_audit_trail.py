"""review's AuditTrail as its gRPC server serves it: a case's records, for those who may read it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from govkit.audit_trail import SERVICE_NAME, AuditTrailServicer
from govkit.auth import Principal
from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import audit_pb2
from govproj.review.v1 import review_pb2
from review.adapters.orm import review_cases
from review.bootstrap import _spec, _Wiring
from review.entrypoints import grpc as grpc_api
from review.service import ReviewDeps
from review.settings import ReviewSettings

pytestmark = pytest.mark.integration


async def _as(who: Principal, call: Any) -> Any:
    token = _principal.set(who)
    try:
        return await call()
    finally:
        _principal.reset(token)


async def test_case_trail_with_its_formal_review_for_bureau_and_unit_only(
    deps: ReviewDeps, tenants, h
) -> None:  # type: ignore[no-untyped-def]
    tenant = tenants.wuxing
    case_id = await h.open_case(
        deps, tenant, materials=[h.material("application_form"), h.material("feasibility_study")]
    )
    await h.open_case(deps, tenants.qiaokou)  # another tenant's case, with its own records
    async with deps.uow(tenant_id=tenant) as tx:
        declaration_id = str(
            await tx.session.scalar(
                review_cases.select()
                .with_only_columns(review_cases.c.declaration_id)
                .where(review_cases.c.id == case_id)
            )
        )
    cases = {type(s).__name__: s for _, s in grpc_api.servicers(deps)}["ReviewCaseServicer"]
    reviewer = h.who(tenant, "bureau_reviewer")
    got = await _as(reviewer, lambda: cases.GetCase(review_pb2.GetCaseRequest(id=case_id), None))
    await _as(
        reviewer,
        lambda: cases.FormalReview(
            review_pb2.FormalReviewRequest(case_id=case_id, version=got.review_case.version), None
        ),
    )

    built = _spec(_Wiring(ReviewSettings(), deps=deps))
    assert SERVICE_NAME in built.grpc_service_names
    [trail] = [
        s
        for _, s in built.grpc_servicers(SimpleNamespace(uow=deps.uow))
        if isinstance(s, AuditTrailServicer)  # type: ignore[arg-type]
    ]
    request = audit_pb2.ListProjectAuditRequest(declaration_id=declaration_id)

    unit = h.who(tenant, "applicant", org="unit-1")
    for who in (reviewer, h.who(tenant, "auditor", org="audit"), unit):
        answer = await _as(who, lambda: trail.ListProjectAudit(request, None))
        actions = [r.action for r in answer.records]
        assert actions[0] == "case.opened" and "case.formal_review_passed" in actions, actions
        assert {r.entity_type for r in answer.records} >= {"review_case", "formal_review", "opinion"}
        assert [r.occurred_at for r in answer.records] == sorted(r.occurred_at for r in answer.records)
        assert all(r.service == "review" for r in answer.records)
        assert {c.ref for r in answer.records for c in r.citations} >= {"wuxing-2023 §9"}

    for who in (h.who(tenant, "applicant", org="unit-2"), h.who(tenants.qiaokou, "bureau_head")):
        with pytest.raises(AppError) as refused:
            await _as(who, lambda: trail.ListProjectAudit(request, None))
        assert refused.value.kind is ErrorKind.NOT_FOUND
