"""The background sweep: approval expiry, plan-entry lapse and SLA reminders, tenant by tenant.

Every step is idempotent: a row is re-read under its lock and acted on only if it still qualifies;
a reminder is unique per (task, kind, due date); an e-mail is marked sent only after the mailer
accepted it, so a failed send is retried by the next sweep and a sent one never repeats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date

from govkit.auth import Principal
from govkit.errors import forbidden
from govkit.policy import evaluate, obligations
from govkit.workdays import add_workdays
from review.adapters import repository
from review.domain import approval as a
from review.domain import case as rules
from review.domain import plan as p
from review.domain import tasks as t
from review.domain.approval import ApplicationStatus, ApprovalStatus
from review.domain.case import Action, CaseStatus, ReviewCase, Stage
from review.domain.plan import EntryStatus
from review.service import events as ev
from review.service import tasks as task_service
from review.service._common import (
    SYSTEM_ACTOR,
    ReviewDeps,
    audit_case,
    case_facts,
    new_id,
    require_tenant,
    save_case,
    sorted_cite,
)

log = logging.getLogger(__name__)
SWEEPERS = frozenset({"tenant_admin", "platform_admin", "bureau_head"})


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    approvals_expired: int = 0
    entries_lapsed: int = 0
    reminders_created: int = 0
    reminders_emailed: int = 0

    def __add__(self, other: SweepReport) -> SweepReport:
        return SweepReport(
            self.approvals_expired + other.approvals_expired,
            self.entries_lapsed + other.entries_lapsed,
            self.reminders_created + other.reminders_created,
            self.reminders_emailed + other.reminders_emailed,
        )


async def expire_approvals(deps: ReviewDeps, tenant: str, today: date) -> int:
    """Approvals whose validity passed before procurement started expire (approval.expired)."""
    async with deps.uow(tenant_id=tenant) as tx:
        due = [x.id for x in await repository.approvals_to_expire(tx.session, tenant=tenant, today=today)]
    expired = 0
    for approval_id in due:
        async with deps.uow(tenant_id=tenant) as tx:
            approval = await repository.get_approval(tx.session, approval_id)
            if approval is None:
                continue
            case = await repository.get(tx.session, approval.case_id, lock=True)
            approval = await repository.get_approval(tx.session, approval_id, lock=True)
            if case is None or approval is None or not a.expires(approval, today):
                continue
            pack = deps.case_pack(case)
            lapse_rule = [c for ob in obligations(pack, "approval_lapses_without_start") for c in ob["cite"]]
            cite = sorted_cite(_validity_cite(deps, case), lapse_rule)
            stored_approval = await repository.save_approval(
                tx.session, replace(approval, status=ApprovalStatus.EXPIRED)
            )
            if case.status is CaseStatus.APPROVED:
                closed = rules.transition(case, Action.EXPIRE, at=deps.now())
            else:  # a change under review dies with the approval it would change
                closed = replace(case, status=CaseStatus.EXPIRED, stage=Stage.APPROVAL, updated_at=deps.now())
            stored_case = await save_case(tx.session, closed, read=case)
            await task_service.cancel_all(tx.session, case.id, today)
            tx.emit(ev.approval_expired(stored_approval, expired_on=today, cite=cite))
            await audit_case(
                tx.session,
                actor=SYSTEM_ACTOR,
                session_tenant=tenant,
                case=stored_case,
                action="approval.expired",
                entity_type="approval",
                entity_id=approval.id,
                from_state=approval.status.value,
                to_state=stored_approval.status.value,
                citations=cite,
                details={"valid_until": str(approval.valid_until), "expired_on": today.isoformat()},
            )
            await tx.commit()
            expired += 1
    return expired


def _validity_cite(deps: ReviewDeps, case: ReviewCase) -> list[str]:
    return list(
        evaluate(deps.case_pack(case), case_facts(deps, case, planned=True))["approval_validity_months"].cite
    )


async def lapse_entries(deps: ReviewDeps, tenant: str, today: date) -> int:
    """Planned entries not approved by the end of their (extended) validity lapse with their case."""
    async with deps.uow(tenant_id=tenant) as tx:
        due = [e.id for e in await repository.entries_to_lapse(tx.session, tenant=tenant, today=today)]
    lapsed = 0
    for entry_id in due:
        async with deps.uow(tenant_id=tenant) as tx:
            found = await repository.get_entry(tx.session, entry_id)
            if found is None:
                continue
            case = await repository.get(tx.session, found.case_id, lock=True)
            entry = await repository.get_entry(tx.session, entry_id, lock=True)
            if case is None or entry is None or not p.lapses(entry, today):
                continue
            pack = deps.case_pack(case)
            rules_cite = [
                c
                for part in (pack.call_calendar.plan_validity, pack.call_calendar.plan_extension_max)
                if part is not None
                for c in pack.cite(list(part.cite))
            ]
            cite = sorted_cite(rules_cite)
            await repository.save_entry(
                tx.session, replace(entry, status=EntryStatus.LAPSED), expected_version=entry.version
            )
            stored_case = case
            if rules.can(case, Action.LAPSE):
                stored_case = await save_case(
                    tx.session, rules.transition(case, Action.LAPSE, at=deps.now()), read=case
                )
                await task_service.cancel_all(tx.session, case.id, today)
                app = await repository.current_application(tx.session, case.id)
                if app is not None and app.status in (
                    ApplicationStatus.UNDER_REVIEW,
                    ApplicationStatus.RETURNED,
                    ApplicationStatus.PASSED,
                ):
                    await repository.save_application(
                        tx.session, replace(app, status=ApplicationStatus.CLOSED)
                    )
            await audit_case(
                tx.session,
                actor=SYSTEM_ACTOR,
                session_tenant=tenant,
                case=stored_case,
                action="plan_entry.lapsed",
                entity_type="plan_entry",
                entity_id=entry.id,
                from_state=entry.status.value,
                to_state=EntryStatus.LAPSED.value,
                citations=cite,
                details={"valid_until": str(entry.valid_until), "extended_months": entry.extended_months},
            )
            await tx.commit()
            lapsed += 1
    return lapsed


async def create_reminders(deps: ReviewDeps, tenant: str, today: date) -> int:
    """In-app reminders for the tasks held in ``tenant`` that are due soon or overdue."""
    lead = deps.reminder_lead_workdays
    horizon = add_workdays(today, lead, deps.calendar).date
    created = 0
    async with deps.uow(tenant_id=tenant) as tx:
        for task in await repository.open_tasks_with_deadline(
            tx.session, holder_tenant=tenant, due_by=horizon
        ):
            kinds = t.reminders_due(task, today, lead)
            if not kinds:
                continue
            case = await repository.get(tx.session, task.case_id)
            name = case.name if case is not None else task.case_id
            due = task.due_on()
            assert due is not None
            for kind in kinds:
                subject, body = t.reminder_text(task, kind, case_name=name)
                created += await repository.add_notification(
                    tx.session,
                    {
                        "id": new_id(),
                        "tenant_id": tenant,
                        "task_id": task.id,
                        "case_id": task.case_id,
                        "kind": kind.value,
                        "due_on": due,
                        "recipient_role": task.holder_role,
                        "recipient_user": task.holder_user,
                        "recipient_org": task.holder_org,
                        "subject": subject,
                        "body": body,
                        "created_at": deps.now(),
                    },
                )
        await tx.commit()
    return created


def _address(deps: ReviewDeps, tenant: str, role: str, user: str | None) -> str:
    # Logins look like "bureau_reviewer.county-b"; a role's mailbox is "<role>.<tenant>".
    local = user if user else f"{role}.{tenant}"
    return f"{local}@{deps.mail_domain}"


async def mail_reminders(deps: ReviewDeps, tenant: str) -> int:
    """E-mail the reminders not yet mailed (through the SMTP port; a folder in dev)."""
    if deps.mailer is None:
        return 0
    sent = 0
    async with deps.uow(tenant_id=tenant) as tx:
        for row in await repository.notifications_to_mail(tx.session):
            to = _address(deps, tenant, row.recipient_role, row.recipient_user)
            try:
                await deps.mailer.send([to], row.subject, row.body)
            except Exception as exc:  # noqa: BLE001 - the next sweep retries; one bad address must not stop the rest
                log.warning("reminder %s to %s not sent: %s", row.id, to, exc)
                continue
            await repository.mark_emailed(tx.session, str(row.id), at=deps.now(), to=to)
            sent += 1
        await tx.commit()
    return sent


async def sweep_tenant(deps: ReviewDeps, tenant: str, *, today: date | None = None) -> SweepReport:
    """One tenant's sweep: expiry, lapse, reminders, mail."""
    day = today or deps.today()
    return SweepReport(
        approvals_expired=await expire_approvals(deps, tenant, day),
        entries_lapsed=await lapse_entries(deps, tenant, day),
        reminders_created=await create_reminders(deps, tenant, day),
        reminders_emailed=await mail_reminders(deps, tenant),
    )


def configured_tenants(deps: ReviewDeps) -> list[str]:
    """The tenants of tenants.yaml (RLS: each is swept in its own transactions)."""
    if deps.policies.tenants is None:
        return []
    return sorted(deps.policies.tenants.tenants)


async def sweep(
    deps: ReviewDeps, tenants: Iterable[str] | None = None, *, today: date | None = None
) -> SweepReport:
    """Sweep every tenant; one tenant's failure is logged and does not stop the others."""
    report = SweepReport()
    for tenant in tenants if tenants is not None else configured_tenants(deps):
        try:
            report = report + await sweep_tenant(deps, tenant, today=today)
        except Exception:
            log.exception("sweep of tenant %s failed", tenant)
    return report


async def run_sweep_now(*, deps: ReviewDeps, principal: Principal) -> SweepReport:
    """Run the caller's tenant's sweep now (operators; the worker runs it on its own schedule)."""
    tenant = require_tenant(principal)
    if not principal.has_role(*SWEEPERS):
        raise forbidden("sweep.run")
    return await sweep_tenant(deps, tenant)


@dataclass
class SweepWorker:
    """The worker loop in the service process: a sweep every ``interval_seconds``."""

    deps: ReviewDeps
    interval_seconds: float = 300.0
    tenants: Callable[[], list[str]] | None = None

    async def run(self) -> None:
        """Sweep until cancelled."""
        while True:
            try:
                report = await sweep(self.deps, self.tenants() if self.tenants else None)
                if report != SweepReport():
                    log.info("review sweep: %s", report)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("review sweep failed")
            await asyncio.sleep(self.interval_seconds)
