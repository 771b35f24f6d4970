"""O&M funding requests: decided when filed against the pack's grounds, each refusal with its
article; ``om_funding.decided`` either way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from evaluation.adapters import repository
from evaluation.domain import om_funding as rules
from evaluation.domain.evaluation import Status
from evaluation.domain.om_funding import Declared, Grounds, OmRequest, Outcome
from evaluation.service import events
from evaluation.service._common import (
    UNIT,
    EvaluationDeps,
    audit_event,
    new_id,
    require,
    require_tenant,
    sorted_cite,
    unit_scope,
    valid_uuid,
)
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, not_found
from govkit.policy import Pack

LABEL = "运维经费申请"
UNACCEPTED = ("unaccepted_no_payment_no_om", "unaccepted_no_funds")
COMPLIANCE = "om_funding_blocked"
SHARING = "no_sharing_no_funds"
UNREGISTERED = "om_funds_require_system_registration"
APPLICATION = "om_funding_application"


@dataclass(frozen=True)
class OmRequestCreate:
    """What the unit files."""

    declaration_id: str
    budget_year: int
    amount: Decimal
    free_maintenance_ends_on: date
    declared: Declared
    evaluation_id: str | None


def _cite_of(deps: EvaluationDeps, pack: Pack, *codes: str) -> tuple[str, ...]:
    out: list[str] = []
    for code in codes:
        found = deps.obligation(pack, code)
        if found:
            out.extend(found["cite"])
    return tuple(sorted(set(out)))


def grounds_for(
    deps: EvaluationDeps, pack: Pack, *, known: bool, accepted_on: date | None, evaluation_completed: bool
) -> Grounds:
    """What the pack says blocks an O&M request, with the articles."""
    blocked = deps.rule(pack, "om_funding_blocked_years")
    application = deps.obligation(pack, APPLICATION)
    compliance = _cite_of(deps, pack, COMPLIANCE)
    sharing = _cite_of(deps, pack, SHARING)
    month_day = None
    if application and "month" in application["params"] and "day" in application["params"]:
        month_day = (int(application["params"]["month"]), int(application["params"]["day"]))
    application_cite = tuple(application["cite"]) if application else ()
    return Grounds(
        known=known,
        accepted_on=accepted_on,
        blocked_years=int(blocked.value) if blocked.value is not None else None,
        blocked_cite=tuple(blocked.cite),
        # Without an article of its own the O&M application's (which needs the evaluation
        # report, so an accepted project) is the ground.
        unaccepted_cite=_cite_of(deps, pack, *UNACCEPTED) or application_cite,
        compliance_cite=compliance or sharing,
        sharing_only=not compliance and bool(sharing),
        unregistered_cite=_cite_of(deps, pack, UNREGISTERED),
        deadline_month_day=month_day,
        deadline_cite=application_cite,
        report_required=application is not None,
        evaluation_completed=evaluation_completed,
    )


async def file_request(*, deps: EvaluationDeps, principal: Principal, fields: OmRequestCreate) -> OmRequest:
    """The unit files an O&M funding request; it is granted or refused at once with the articles."""
    tenant = require_tenant(principal)
    require(principal, *UNIT, action="om_funding.request")
    today = deps.today()
    async with deps.uow(tenant_id=tenant) as tx:
        project = await repository.get_project(tx.session, fields.declaration_id)
        known = project is not None and bool(project.name)
        if project is not None and project.org_id and project.org_id != principal.org:
            raise not_found("project", fields.declaration_id, label_zh="项目")
        evaluation_completed = False
        if fields.evaluation_id:
            valid_uuid(fields.evaluation_id, "evaluation", "绩效评价")
            evaluation = await repository.get_evaluation(tx.session, fields.evaluation_id)
            if evaluation is None or evaluation.declaration_id != fields.declaration_id:
                raise AppError(
                    code="EVALUATION_NOT_OF_PROJECT",
                    message="所附绩效评价报告不属于该项目。",
                    kind=ErrorKind.INVALID,
                    details={"evaluation_id": fields.evaluation_id},
                )
            evaluation_completed = evaluation.status is Status.COMPLETED
        pack = deps.pack_for(tenant, today)
        grounds = grounds_for(
            deps,
            pack,
            known=known,
            accepted_on=project.accepted_on if project else None,
            evaluation_completed=evaluation_completed,
        )
        refusals = rules.decide(
            grounds, fields.declared, free_maintenance_ends_on=fields.free_maintenance_ends_on, today=today
        )
        deadline = rules.deadline(fields.free_maintenance_ends_on, grounds.deadline_month_day)
        cite = sorted_cite(grounds.deadline_cite, *(r.cite for r in refusals))
        request = OmRequest(
            id=new_id(),
            tenant_id=tenant,
            declaration_id=fields.declaration_id,
            project_code=project.project_code if project else "",
            org_id=principal.org or "",
            budget_year=fields.budget_year,
            amount=fields.amount,
            free_maintenance_ends_on=fields.free_maintenance_ends_on,
            declared=fields.declared,
            evaluation_id=fields.evaluation_id,
            outcome=Outcome.REFUSED if refusals else Outcome.GRANTED,
            refusals=tuple(refusals),
            cite=tuple(cite),
            deadline=deadline,
            filed_by=principal.username,
            filed_at=deps.now(),
            decided_on=today,
        )
        await repository.add_om_request(tx.session, request)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="om_funding.decided",
            entity_type="om_request",
            entity_id=request.id,
            from_state=None,
            to_state=request.outcome.value,
            citations=request.cite,
            details={
                "declaration_id": request.declaration_id,
                "amount": str(request.amount),
                "refusals": [r.code for r in refusals],
            },
        )
        tx.emit(events.om_funding_decided(request))
        await tx.commit()
    return request


async def get_request(*, deps: EvaluationDeps, principal: Principal, request_id: str) -> OmRequest:
    """One request (units: their own)."""
    tenant = require_tenant(principal)
    org = unit_scope(principal)
    valid_uuid(request_id, "om_request", LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        found = await repository.get_om_request(tx.session, request_id)
    if found is None or (org is not None and found.org_id != org):
        raise not_found("om_request", request_id, label_zh=LABEL)
    return found


async def list_requests(*, deps: EvaluationDeps, principal: Principal) -> list[OmRequest]:
    """Requests of the tenant (units: their own)."""
    tenant = require_tenant(principal)
    org = unit_scope(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_om_requests(tx.session, org_id=org)
