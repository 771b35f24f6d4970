"""Self-checks and 关停并转 requests (wuxing §29)."""

from __future__ import annotations

from evaluation.adapters import repository
from evaluation.domain import closure as rules
from evaluation.domain.closure import Action, ClosureRequest, ClosureStatus, SelfCheck
from evaluation.service import events
from evaluation.service._common import (
    BUREAU,
    UNIT,
    EvaluationDeps,
    audit_event,
    new_id,
    require,
    require_tenant,
    unit_scope,
    valid_uuid,
)
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, not_found, stale_version

LABEL = "关停并转申请"
OBLIGATION = "self_check_closure"


def _cite(deps: EvaluationDeps, tenant: str) -> tuple[str, ...]:
    found = deps.obligation(deps.pack_for(tenant, deps.today()), OBLIGATION)
    return tuple(found["cite"]) if found else ()


async def _own_project(session: object, principal: Principal, declaration_id: str) -> tuple[str, str]:
    project = await repository.get_project(session, declaration_id)  # type: ignore[arg-type]
    if project is None or not project.name or project.org_id != principal.org:
        raise not_found("project", declaration_id, label_zh="项目")
    return project.org_id, project.project_code


async def record_self_check(
    *,
    deps: EvaluationDeps,
    principal: Principal,
    declaration_id: str,
    compliant: bool,
    findings: tuple[str, ...],
) -> SelfCheck:
    """The unit records a self-check of one of its systems."""
    tenant = require_tenant(principal)
    require(principal, *UNIT, action="self_check.record")
    async with deps.uow(tenant_id=tenant) as tx:
        org, _ = await _own_project(tx.session, principal, declaration_id)
        check = SelfCheck(
            id=new_id(),
            tenant_id=tenant,
            declaration_id=declaration_id,
            org_id=org,
            checked_on=deps.today(),
            compliant=compliant,
            findings=findings,
            cite=_cite(deps, tenant),
            checked_by=principal.username,
        )
        rules.check_self_check(check)
        await repository.add_self_check(tx.session, check)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="self_check.recorded",
            entity_type="self_check",
            entity_id=check.id,
            from_state=None,
            to_state="compliant" if compliant else "non_compliant",
            citations=check.cite,
            details={"declaration_id": declaration_id, "findings": list(findings)},
        )
        await tx.commit()
    return check


async def request_closure(
    *,
    deps: EvaluationDeps,
    principal: Principal,
    declaration_id: str,
    action: Action,
    reason: str,
    self_check_id: str | None,
) -> ClosureRequest:
    """The unit asks to shut down, suspend, merge or transfer a system."""
    tenant = require_tenant(principal)
    require(principal, *UNIT, action="closure.request")
    if not reason:
        raise AppError(code="REASON_REQUIRED", message="请填写关停并转的理由。", kind=ErrorKind.INVALID)
    async with deps.uow(tenant_id=tenant) as tx:
        org, code = await _own_project(tx.session, principal, declaration_id)
        if self_check_id is not None:
            valid_uuid(self_check_id, "self_check", "自查记录")
            check = await repository.get_self_check(tx.session, self_check_id)
            if check is None or check.declaration_id != declaration_id:
                raise not_found("self_check", self_check_id, label_zh="自查记录")
        request = ClosureRequest(
            id=new_id(),
            tenant_id=tenant,
            declaration_id=declaration_id,
            project_code=code,
            org_id=org,
            action=action,
            reason=reason,
            status=ClosureStatus.REQUESTED,
            cite=_cite(deps, tenant),
            requested_by=principal.username,
            requested_at=deps.now(),
            self_check_id=self_check_id,
        )
        await repository.add_closure(tx.session, request)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="closure.requested",
            entity_type="closure_request",
            entity_id=request.id,
            from_state=None,
            to_state=request.status.value,
            citations=request.cite,
            details={"declaration_id": declaration_id, "action": action.value},
        )
        await tx.commit()
    return request


async def decide_closure(
    *,
    deps: EvaluationDeps,
    principal: Principal,
    request_id: str,
    expected_version: int,
    approve: bool,
    reason: str,
) -> ClosureRequest:
    """The bureau approves or rejects a request; ``closure.decided``."""
    tenant = require_tenant(principal)
    require(principal, *BUREAU, action="closure.decide")
    valid_uuid(request_id, "closure_request", LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        request = await repository.get_closure(tx.session, request_id, lock=True)
        if request is None:
            raise not_found("closure_request", request_id, label_zh=LABEL)
        if request.version != expected_version:
            raise stale_version("closure_request", expected=expected_version, label_zh=LABEL)
        changed = rules.decide(
            request, approve=approve, by=principal.username, on=deps.today(), reason=reason
        )
        stored = await repository.save_closure(tx.session, changed, expected_version=request.version)
        if stored is None:
            raise stale_version("closure_request", expected=expected_version, label_zh=LABEL)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="closure.decided",
            entity_type="closure_request",
            entity_id=request.id,
            from_state=request.status.value,
            to_state=stored.status.value,
            citations=stored.cite,
            details={"reason": reason},
        )
        tx.emit(events.closure_decided(stored))
        await tx.commit()
    return stored


async def list_closures(*, deps: EvaluationDeps, principal: Principal) -> list[ClosureRequest]:
    """Requests of the tenant (units: their own)."""
    tenant = require_tenant(principal)
    org = unit_scope(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_closures(tx.session, org_id=org)
