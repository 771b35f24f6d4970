"""The plan decision, the annual plan (compile, publish, export) and plan-entry extensions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import record_audit
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden, not_found, stale_version
from govkit.policy import Pack, get_tenant, plan_slot
from review.adapters import repository
from review.adapters.orm import audit
from review.domain import case as rules
from review.domain import plan as p
from review.domain.case import Action, CaseStatus, ReviewCase
from review.domain.experts import MemberStatus
from review.domain.opinions import OpinionStatus, Verdict
from review.domain.plan import AnnualPlan, EntryStatus, PlanEntry, PlanLevel, PlanOutcome, PlanStatus
from review.domain.tasks import TaskKind
from review.service import events as ev
from review.service import tasks as task_service
from review.service._common import (
    CHINA,
    ReviewDeps,
    audit_case,
    load_for_action,
    new_id,
    require_tenant,
    save_case,
    sorted_cite,
    valid_uuid,
)
from review.service.cases import ensure_stage, return_to_applicant

PLAN_LABEL = "年度计划"
ENTRY_LABEL = "计划项目"
PLANNERS = frozenset({"bureau_head", "bureau_reviewer"})
CATEGORY_ZH = {
    "infrastructure": "基础设施",
    "cross_department": "多跨协同",
    "business_app": "业务应用",
    "om_service": "运维服务",
    "other": "其他",
}
NATURE_ZH = {"new": "新建", "upgrade": "升级改造", "expansion": "扩建", "om": "运维"}


@dataclass(frozen=True)
class DecisionResult:
    """The case after the plan decision, and the stored decision."""

    case: ReviewCase
    decision: dict[str, Any]


async def _review_gaps(session: AsyncSession, case: ReviewCase) -> tuple[list[str], list[str]]:
    """What the joint review still lacks before a case can go into the plan, and the articles seen."""
    gaps: list[str] = []
    cite: list[str] = []
    reviews = await repository.formal_reviews_of(session, case.id)
    latest = reviews[-1] if reviews else None
    if latest is None or latest.outcome != "passed" or latest.round != case.round:
        gaps.append("形式审查尚未通过")
    else:
        cite += list(latest.cite or [])
    for opinion in await repository.opinions_of(session, case.id):
        cite += list(opinion.cite)
        if opinion.status is OpinionStatus.PENDING:
            gaps.append(f"尚待{opinion.department}部门意见")
    stage = case.stage.value
    members = [
        m for m in await repository.panel_of(session, case.id, stage) if m.status is not MemberStatus.DECLINED
    ]
    if members:
        scored = {s.expert_id for s in await repository.sheets_of(session, case.id, stage)}
        missing = [m.expert_name or m.expert_id for m in members if m.expert_id not in scored]
        if missing:
            gaps.append("尚有专家未提交评分：" + "、".join(missing))
    return gaps, cite


def _plan_cite(pack: Pack) -> list[str]:
    cal = pack.call_calendar
    parts = [x for x in (cal.review_done_by, cal.plan_validity) if x is not None]
    return sorted({c for part in parts for c in pack.cite(list(part.cite))})


async def decide_plan(
    *,
    deps: ReviewDeps,
    principal: Principal,
    case_id: str,
    expected_version: int,
    outcome: PlanOutcome,
    level: PlanLevel | None = None,
    budget: Decimal | None = None,
    reason: str = "",
    items: list[str] | None = None,
) -> DecisionResult:
    """The bureau's plan decision: into the plan (key/general, budget ≤ declared), back for
    correction, or rejected. Into the plan needs the joint review done (formal review passed,
    every opinion in, every drawn expert's sheet in)."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        case = await load_for_action(tx.session, principal, case_id, expected_version)
        rules.ensure_decider(principal, case)
        ensure_stage(case, CaseStatus.OPEN)
        decision = p.decide(outcome=outcome, level=level, budget=budget, declared=case.amount, reason=reason)
        pack = deps.case_pack(case)
        gaps, seen_cite = await _review_gaps(tx.session, case)
        disagreeing = [
            o for o in await repository.opinions_of(tx.session, case.id) if o.verdict is Verdict.DISAGREE
        ]
        cite = sorted_cite(seen_cite, _plan_cite(pack) if outcome is PlanOutcome.IN_PLAN else [])
        if outcome is PlanOutcome.IN_PLAN and gaps:
            raise AppError(
                code="JOINT_REVIEW_INCOMPLETE",
                message="联审尚未完成，不能列入年度计划：" + "；".join(gaps) + "。",
                kind=ErrorKind.PRECONDITION,
                details={"missing": gaps},
                cite=cite,
            )
        now, today = deps.now(), deps.today()
        record = {
            "id": new_id(),
            "tenant_id": case.tenant_id,
            "reviewing_tenant_id": case.reviewing_tenant_id,
            "case_id": case.id,
            "outcome": outcome.value,
            "level": decision.level.value if decision.level else None,
            "budget": decision.budget,
            "reason": decision.reason,
            "decided_by": principal.username,
            "decided_at": now,
            "cite": cite,
        }
        await repository.add_plan_decision(tx.session, record)
        if outcome is PlanOutcome.IN_PLAN:
            assert decision.level is not None and decision.budget is not None
            target_year = (
                case.target_year or plan_slot(pack, case.opened_at.astimezone(CHINA).date()).plan_year
            )
            changed = rules.transition(case, Action.DECIDE_IN_PLAN, at=now)
            changed = replace(
                changed,
                plan_level=decision.level.value,
                plan_budget=decision.budget,
                target_year=target_year or today.year + 1,
            )
            stored = await save_case(tx.session, changed, read=case)
            await repository.upsert_entry(
                tx.session,
                PlanEntry(
                    id=new_id(),
                    tenant_id=case.tenant_id,
                    reviewing_tenant_id=case.reviewing_tenant_id,
                    case_id=case.id,
                    declaration_id=case.declaration_id,
                    name=case.name,
                    org_id=case.declaring_org_id,
                    org_name=case.org_name,
                    project_code=case.project_code,
                    level=decision.level,
                    budget=decision.budget,
                    target_year=stored.target_year or today.year + 1,
                    status=EntryStatus.PLANNED,
                    decided_at=now,
                    cite=tuple(cite),
                ),
            )
            await task_service.close_kind(tx.session, case.id, TaskKind.PLAN_DECISION, today)
            await task_service.cancel_all(tx.session, case.id, today)
            tx.emit(
                ev.plan_decided(
                    stored, outcome=outcome.value, level=decision.level.value, budget=decision.budget,
                    reason=decision.reason, cite=cite,
                )
            )  # fmt: skip
        elif outcome is PlanOutcome.RETURNED:
            listed = [i.strip() for i in items or [] if i.strip()] or [decision.reason]
            stored = await return_to_applicant(
                tx.session,
                deps,
                principal=principal,
                case=case,
                items=listed,
                reason=decision.reason,
                cite=cite,
            )
            tx.emit(
                ev.returned(stored, stage="plan", items=listed, reason=decision.reason, at=now, cite=cite)
            )
            tx.emit(
                ev.plan_decided(
                    stored, outcome=outcome.value, level=None, budget=None, reason=decision.reason, cite=cite
                )
            )
        else:
            stored = await save_case(tx.session, rules.transition(case, Action.REJECT, at=now), read=case)
            await task_service.cancel_all(tx.session, case.id, today)
            tx.emit(
                ev.plan_decided(
                    stored, outcome=outcome.value, level=None, budget=None, reason=decision.reason, cite=cite
                )
            )
            tx.emit(ev.rejected(stored, stage="plan", reason=decision.reason, cite=cite))
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=stored,
            action="plan.decided",
            entity_type="plan_decision",
            entity_id=str(record["id"]),
            from_state=case.status.value,
            to_state=stored.status.value,
            citations=cite,
            details={
                "outcome": outcome.value,
                "level": record["level"],
                "budget": str(decision.budget) if decision.budget is not None else None,
                "reason": decision.reason,
                "opinions_disagreeing": [o.department for o in disagreeing],
            },
        )
        await tx.commit()
    return DecisionResult(stored, record)


async def plan_decisions(*, deps: ReviewDeps, principal: Principal, case_id: str) -> list[Any]:
    """A case's plan decisions with their citations."""
    from review.service._common import load_visible

    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
        return await repository.plan_decisions_of(tx.session, case.id)


# --------------------------------------------------------------------------------------------
# The annual plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanView:
    """A plan with its entries and total."""

    plan: AnnualPlan
    entries: list[PlanEntry]

    @property
    def total(self) -> Decimal:
        """Sum of the entries' budgets (lapsed and withdrawn ones excluded)."""
        live = (EntryStatus.PLANNED, EntryStatus.APPROVED)
        return sum((e.budget for e in self.entries if e.status in live), Decimal(0))


def _ensure_planner(principal: Principal) -> str:
    tenant = require_tenant(principal)
    rules.ensure_not_read_only(principal)
    if not principal.has_role(*PLANNERS):
        raise forbidden("plan.write")
    return tenant


def _ensure_plan_reader(principal: Principal) -> str:
    tenant = require_tenant(principal)
    if not principal.has_role(*rules.TENANT_WIDE_READERS):
        raise forbidden("plan.read")
    return tenant


async def compile_plan(*, deps: ReviewDeps, principal: Principal, year: int) -> PlanView:
    """Compile (or re-compile) the tenant's draft plan of ``year`` from the cases decided into it."""
    tenant = _ensure_planner(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        plan = await repository.add_plan(
            tx.session,
            AnnualPlan(
                id=new_id(), tenant_id=tenant, year=year, status=PlanStatus.DRAFT, compiled_at=deps.now()
            ),
        )
        if plan.status is PlanStatus.PUBLISHED:
            raise AppError(
                code="PLAN_ALREADY_PUBLISHED",
                message=f"{year}年度计划已发布，不能再汇编。",
                kind=ErrorKind.PRECONDITION,
                details={"plan_id": plan.id},
            )
        added = await repository.assign_entries(tx.session, plan_id=plan.id, tenant=tenant, year=year)
        stored = await repository.save_plan(
            tx.session, replace(plan, compiled_at=deps.now()), expected_version=plan.version
        )
        assert stored is not None
        await record_audit(
            tx.session,
            audit,
            tenant_id=tenant,
            actor=principal.username,
            action="plan.compiled",
            entity_type="annual_plan",
            entity_id=plan.id,
            from_state=plan.status.value,
            to_state=stored.status.value,
            details={"year": year, "entries_added": added},
        )
        found = await repository.entries(tx.session, tenant=tenant, plan_id=plan.id)
        await tx.commit()
    return PlanView(stored, found)


async def get_plan(
    *, deps: ReviewDeps, principal: Principal, plan_id: str | None = None, year: int | None = None
) -> PlanView:
    """A plan with its entries (by id or by year)."""
    tenant = _ensure_plan_reader(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        if plan_id:
            valid_uuid(plan_id, "plan", PLAN_LABEL)
            plan = await repository.get_plan(tx.session, plan_id)
        else:
            plan = await repository.plan_for_year(tx.session, tenant=tenant, year=year or 0)
        if plan is None or plan.tenant_id != tenant:
            raise not_found("plan", plan_id or year, label_zh=PLAN_LABEL)
        found = await repository.entries(tx.session, tenant=tenant, plan_id=plan.id)
    return PlanView(plan, found)


async def list_plans(*, deps: ReviewDeps, principal: Principal) -> list[PlanView]:
    """The tenant's plans with their entries."""
    tenant = _ensure_plan_reader(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        plans = await repository.list_plans(tx.session, tenant=tenant)
        return [
            PlanView(plan, await repository.entries(tx.session, tenant=tenant, plan_id=plan.id))
            for plan in plans
        ]


async def publish_plan(
    *, deps: ReviewDeps, principal: Principal, plan_id: str, expected_version: int
) -> PlanView:
    """Publish a compiled plan: entries get their validity (the pack's plan_validity), plan.published."""
    tenant = require_tenant(principal)
    rules.ensure_not_read_only(principal)
    if not principal.has_role(*rules.DECIDERS):
        raise forbidden("plan.publish")
    valid_uuid(plan_id, "plan", PLAN_LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        plan = await repository.get_plan(tx.session, plan_id, lock=True)
        if plan is None or plan.tenant_id != tenant:
            raise not_found("plan", plan_id, label_zh=PLAN_LABEL)
        if plan.version != expected_version:
            raise stale_version("plan", expected=expected_version, label_zh=PLAN_LABEL)
        if plan.status is PlanStatus.PUBLISHED:
            raise AppError(
                code="PLAN_ALREADY_PUBLISHED", message="该年度计划已发布。", kind=ErrorKind.PRECONDITION
            )
        found = await repository.entries(tx.session, tenant=tenant, plan_id=plan.id)
        if not found:
            raise AppError(
                code="PLAN_EMPTY", message="年度计划中没有项目，不能发布。", kind=ErrorKind.PRECONDITION
            )
        today = deps.today()
        pack = deps.pack_for(tenant, today)
        valid_until, cite = p.validity_end(pack, target_year=plan.year, published_on=today)
        published = replace(
            plan, status=PlanStatus.PUBLISHED, published_at=deps.now(), published_by=principal.username
        )
        stored = await repository.save_plan(tx.session, published, expected_version=expected_version)
        if stored is None:
            raise stale_version("plan", expected=expected_version, label_zh=PLAN_LABEL)
        updated = []
        for entry in found:
            if entry.status is EntryStatus.PLANNED:
                saved = await repository.save_entry(
                    tx.session,
                    replace(entry, valid_until=valid_until, cite=tuple(sorted_cite(entry.cite, cite))),
                    expected_version=entry.version,
                )
                updated.append(saved or entry)
            else:
                updated.append(entry)
        live = [e for e in updated if e.status in (EntryStatus.PLANNED, EntryStatus.APPROVED)]
        tx.emit(ev.plan_published(stored, live, cite=cite))
        await record_audit(
            tx.session,
            audit,
            tenant_id=tenant,
            actor=principal.username,
            action="plan.published",
            entity_type="annual_plan",
            entity_id=plan.id,
            from_state=plan.status.value,
            to_state=stored.status.value,
            citations=cite,
            details={"year": plan.year, "entries": len(live), "valid_until": str(valid_until or "")},
        )
        await tx.commit()
    return PlanView(stored, updated)


@dataclass(frozen=True)
class ExportedFile:
    """A generated file."""

    filename: str
    content_type: str
    content: bytes


async def export_plan(*, deps: ReviewDeps, principal: Principal, plan_id: str) -> ExportedFile:
    """The plan as an Excel workbook (Chinese headers, 小计 per department, 合计)."""
    from govkit.objectstore import XLSX
    from review.adapters.plan_excel import PlanExport, PlanExportEntry, render_plan_xlsx

    view = await get_plan(deps=deps, principal=principal, plan_id=plan_id)
    tenant = view.plan.tenant_id
    async with deps.uow(tenant_id=tenant) as tx:
        cases = {e.case_id: await repository.get(tx.session, e.case_id) for e in view.entries}
        decisions = {
            e.case_id: await repository.plan_decisions_of(tx.session, e.case_id) for e in view.entries
        }
    rows = []
    for entry in view.entries:
        if entry.status not in (EntryStatus.PLANNED, EntryStatus.APPROVED):
            continue
        case = cases.get(entry.case_id)
        snapshot = case.declaration if case is not None else None
        last = decisions[entry.case_id][-1] if decisions.get(entry.case_id) else None
        org = entry.org_name or entry.org_id
        rows.append(
            PlanExportEntry(
                project_code=entry.project_code or "",
                project_name=entry.name,
                construction_org=(
                    snapshot.construction_unit if snapshot and snapshot.construction_unit else org
                ),
                department=org,
                category=CATEGORY_ZH.get(snapshot.category, snapshot.category) if snapshot else "",
                nature=NATURE_ZH.get(snapshot.construction_type, snapshot.construction_type)
                if snapshot
                else "",
                plan_type=entry.level.value,
                declared_amount=case.amount if case is not None else entry.budget,
                planned_budget=entry.budget,
                opinion=(last.reason if last is not None else "") or "",
                citations=list(entry.cite),
            )
        )
    try:
        tenant_name = get_tenant(tenant, registry=deps.policies).name
    except Exception:  # noqa: BLE001 - a tenant missing from tenants.yaml still gets its file
        tenant_name = tenant
    content = render_plan_xlsx(
        PlanExport(tenant_name=tenant_name, year=view.plan.year, entries=rows, generated_on=deps.today())
    )
    return ExportedFile(f"{tenant_name}{view.plan.year}年度项目计划.xlsx", XLSX, content)


async def extend_entry(
    *, deps: ReviewDeps, principal: Principal, entry_id: str, expected_version: int, months: int, reason: str
) -> PlanEntry:
    """Extend a plan entry on the unit's request (qiaokou §13: once, at most a year)."""
    tenant = _ensure_planner(principal)
    valid_uuid(entry_id, "plan_entry", ENTRY_LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        entry = await repository.get_entry(tx.session, entry_id, lock=True)
        if entry is None or entry.tenant_id != tenant:
            raise not_found("plan_entry", entry_id, label_zh=ENTRY_LABEL)
        if entry.version != expected_version:
            raise stale_version("plan_entry", expected=expected_version, label_zh=ENTRY_LABEL)
        case = await repository.get(tx.session, entry.case_id)
        assert case is not None
        extended, cite = p.extend(entry, pack=deps.case_pack(case), months=months, today=deps.today())
        stored = await repository.save_entry(
            tx.session,
            replace(extended, cite=tuple(sorted_cite(entry.cite, cite))),
            expected_version=expected_version,
        )
        if stored is None:
            raise stale_version("plan_entry", expected=expected_version, label_zh=ENTRY_LABEL)
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=case,
            action="plan_entry.extended",
            entity_type="plan_entry",
            entity_id=entry.id,
            from_state=str(entry.valid_until),
            to_state=str(stored.valid_until),
            citations=cite,
            details={"months": months, "reason": reason},
        )
        await tx.commit()
    return stored
