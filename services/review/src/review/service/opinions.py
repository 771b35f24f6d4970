"""Department opinions: the departments answer; everyone who sees the case reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from govkit.auth import Principal
from govkit.errors import forbidden, not_found, stale_version
from review.adapters import repository
from review.domain import case as rules
from review.domain import opinions as o
from review.domain.case import CaseStatus
from review.domain.opinions import Opinion, Verdict
from review.domain.tasks import TaskKind
from review.service import tasks as task_service
from review.service._common import ReviewDeps, audit_case, load_visible, require_tenant, valid_uuid
from review.service.cases import ensure_stage

LABEL = "部门意见"


@dataclass(frozen=True)
class OpinionView:
    """An opinion with its task's deadline."""

    opinion: Opinion
    due_on: date | None


async def list_opinions(*, deps: ReviewDeps, principal: Principal, case_id: str) -> list[OpinionView]:
    """A case's opinions (asked, given, cancelled) with their deadlines."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
        found = await repository.opinions_of(tx.session, case.id)
        tasks = {t.id: t for t in await repository.case_tasks(tx.session, case.id, kind=TaskKind.OPINION)}
    return [OpinionView(op, tasks[op.task_id].due_on() if op.task_id in tasks else None) for op in found]


async def give_opinion(
    *,
    deps: ReviewDeps,
    principal: Principal,
    opinion_id: str,
    expected_version: int,
    verdict: Verdict,
    text: str,
) -> OpinionView:
    """A department gives its opinion (agree / agree with conditions / disagree, with text)."""
    tenant = require_tenant(principal)
    valid_uuid(opinion_id, "opinion", LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        found = await repository.get_opinion(tx.session, opinion_id, lock=True)
        if found is None:
            raise not_found("opinion", opinion_id, label_zh=LABEL)
        case = await load_visible(tx.session, principal, found.case_id, lock=True)
        rules.ensure_not_read_only(principal)
        if tenant != case.tenant_id or not principal.has_role(found.department):
            raise forbidden(f"opinion.{found.department}")
        ensure_stage(case, CaseStatus.OPEN, CaseStatus.RETURNED)
        if found.version != expected_version:
            raise stale_version("opinion", expected=expected_version, label_zh=LABEL)
        given = o.give(found, verdict=verdict, text=text, by=principal.username, at=deps.now())
        stored = await repository.save_opinion(tx.session, given, expected_version=expected_version)
        if stored is None:
            raise stale_version("opinion", expected=expected_version, label_zh=LABEL)
        closed = await task_service.close_kind(
            tx.session, case.id, TaskKind.OPINION, deps.today(), subject=found.department
        )
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=case,
            action="opinion.given",
            entity_type="opinion",
            entity_id=stored.id,
            from_state=found.status.value,
            to_state=stored.status.value,
            citations=stored.cite,
            details={"department": stored.department, "verdict": verdict.value},
        )
        await tx.commit()
    return OpinionView(stored, closed[0].due_on() if closed else None)
