"""The expert library, panel draws with conflict avoidance, replacements, and the scoring sheets."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import record_audit
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden, not_found, stale_version
from govkit.events import Envelope
from review.adapters import repository
from review.adapters.orm import audit
from review.domain import case as rules
from review.domain import experts as x
from review.domain import scoring
from review.domain.case import CaseStatus, ReviewCase
from review.domain.experts import ConflictContext, Draw, Expert, MemberStatus, PanelMember
from review.domain.scoring import Criterion, PanelSummary, ScoreSheet
from review.domain.tasks import TaskKind
from review.service import tasks as task_service
from review.service._common import (
    ReviewDeps,
    audit_case,
    load_for_action,
    load_visible,
    new_id,
    require_tenant,
    valid_uuid,
)
from review.service.cases import ensure_stage

LABEL = "评审专家"
LIBRARY_KEEPERS = frozenset({"bureau_reviewer", "bureau_head", "tech_center", "tenant_admin"})
DRAWABLE = (CaseStatus.OPEN, CaseStatus.APPROVAL_REVIEW)


@dataclass(frozen=True)
class ExpertFields:
    """What the bureau keeps about an expert."""

    name: str
    org: str
    specialties: tuple[str, ...] = ()
    contact: str = ""
    available: bool = True
    discredited: bool = False
    discredited_reason: str = ""
    username: str | None = None
    affiliations: tuple[str, ...] = ()
    discredited_until: date | None = None  # the listing's last day; None: until removed


def _ensure_keeper(principal: Principal) -> str:
    tenant = require_tenant(principal)
    rules.ensure_not_read_only(principal)
    if not principal.has_role(*LIBRARY_KEEPERS):
        raise forbidden("experts.write")
    return tenant


def _check_fields(fields: ExpertFields, *, today: date) -> ExpertFields:
    """The fields as stored: refused when incomplete; a period only with a listing."""
    if not fields.name.strip() or not fields.org.strip():
        raise AppError(
            code="EXPERT_FIELDS_REQUIRED", message="请填写专家姓名和所在单位。", kind=ErrorKind.INVALID
        )
    if fields.discredited and not fields.discredited_reason.strip():
        raise AppError(
            code="DISCREDIT_REASON_REQUIRED", message="列入失信名单须写明原因。", kind=ErrorKind.INVALID
        )
    if fields.discredited and fields.discredited_until is not None and fields.discredited_until < today:
        raise AppError(
            code="DISCREDIT_PERIOD_ENDED",
            message="失信期限的截止日期已过，无需再列入；请填写今天或以后的日期，或不填（直至移出）。",
            kind=ErrorKind.INVALID,
            details={"discredited_until": fields.discredited_until.isoformat(), "today": today.isoformat()},
        )
    if not fields.discredited:
        return replace(fields, discredited_reason="", discredited_until=None)
    return fields


async def _library(session: AsyncSession, deps: ReviewDeps, tenant: str) -> list[Expert]:
    """The tenant's library as it stands today (listings whose period ended have lapsed)."""
    today = deps.today()
    return [expert.as_of(today) for expert in await repository.list_experts(session, tenant=tenant)]


async def create_expert(*, deps: ReviewDeps, principal: Principal, fields: ExpertFields) -> Expert:
    """Add an expert to the tenant's library."""
    tenant = _ensure_keeper(principal)
    fields = _check_fields(fields, today=deps.today())
    expert = Expert(id=new_id(), tenant_id=tenant, **fields.__dict__)
    async with deps.uow(tenant_id=tenant) as tx:
        await repository.add_expert(tx.session, expert, created_at=deps.now())
        await record_audit(
            tx.session,
            audit,
            tenant_id=tenant,
            actor=principal.username,
            action="expert.created",
            entity_type="expert",
            entity_id=expert.id,
            from_state=None,
            to_state="discredited"
            if expert.discredited
            else "available"
            if expert.available
            else "unavailable",
            details={"name": expert.name, "org": expert.org},
        )
        await tx.commit()
    return expert


async def update_expert(
    *, deps: ReviewDeps, principal: Principal, expert_id: str, expected_version: int, fields: ExpertFields
) -> Expert:
    """Replace an expert's record (availability, the discredited flag ...), versioned."""
    tenant = _ensure_keeper(principal)
    fields = _check_fields(fields, today=deps.today())
    valid_uuid(expert_id, "expert", LABEL)
    async with deps.uow(tenant_id=tenant) as tx:
        found = await repository.get_expert(tx.session, expert_id)
        if found is None or found.tenant_id != tenant:
            raise not_found("expert", expert_id, label_zh=LABEL)
        found = found.as_of(deps.today())
        changed = replace(found, **fields.__dict__)
        stored = await repository.save_expert(tx.session, changed, expected_version=expected_version)
        if stored is None:
            raise stale_version("expert", expected=expected_version, label_zh=LABEL)
        until = stored.discredited_until
        await record_audit(
            tx.session,
            audit,
            tenant_id=tenant,
            actor=principal.username,
            action="expert.updated",
            entity_type="expert",
            entity_id=expert_id,
            from_state="discredited" if found.discredited else "ok",
            to_state="discredited" if stored.discredited else "ok",
            details={
                "available": stored.available,
                "discredited_reason": stored.discredited_reason,
                "discredited_until": until.isoformat() if until else None,
            },
        )
        await tx.commit()
    return stored


async def apply_discredited(session: AsyncSession, envelope: Envelope, *, deps: ReviewDeps) -> None:
    """evaluation's ``discredited.changed`` for an expert of this tenant's library (lhasa §22): the
    expert is flagged (so draws refuse them) or cleared, in the consumer's transaction; the
    version moves so an edit made from a stale read gets 409. Other subjects are not review's."""
    payload = envelope.payload
    expert_id = str(payload.get("expert_id") or "")
    if payload.get("subject_kind") != "expert" or payload.get("scope", "tenant") != "tenant" or not expert_id:
        return
    try:
        valid_uuid(expert_id, "expert", LABEL)
    except AppError:
        return  # an id that is not one of review's names no expert here
    found = await repository.get_expert(session, expert_id)
    if found is None or found.tenant_id != envelope.tenant:
        return
    until = _listing_end(str(payload.get("period_until") or ""))
    # A listing whose period already ended when it arrives flags nobody (replays, late delivery).
    lapsed = until is not None and until < deps.today()
    listed = payload.get("change") == "added" and not lapsed
    grounds = str(payload.get("grounds") or "")
    changed = replace(
        found,
        discredited=listed,
        discredited_reason=grounds if listed else "",
        discredited_until=until if listed else None,
    )
    if changed == found:
        return
    stored = await repository.save_expert(session, changed, expected_version=found.version)
    if stored is None:
        raise stale_version("expert", expected=found.version, label_zh=LABEL)  # retried by the consumer
    await record_audit(
        session,
        audit,
        tenant_id=envelope.tenant,
        actor="system:review",
        action="expert.discredited" if listed else "expert.discredit_removed",
        entity_type="expert",
        entity_id=expert_id,
        from_state="discredited" if found.discredited else "ok",
        to_state="discredited" if listed else "ok",
        citations=[str(c.get("ref", "")) for c in payload.get("citations") or [] if isinstance(c, Mapping)],
        details={"event_id": envelope.id, "entry_id": payload.get("entry_id"), "grounds": grounds},
    )


def _listing_end(value: str) -> date | None:
    """The listing's last day from the event (an ISO date; anything else: no end)."""
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


async def list_experts(*, deps: ReviewDeps, principal: Principal) -> list[Expert]:
    """The tenant's library (bureaus and auditors)."""
    tenant = require_tenant(principal)
    if not principal.has_role(*LIBRARY_KEEPERS, "auditor"):
        raise forbidden("experts.read")
    async with deps.uow(tenant_id=tenant) as tx:
        return await _library(tx.session, deps, tenant)


# --------------------------------------------------------------------------------------------
# Draws for other services (acceptance panels)
# --------------------------------------------------------------------------------------------

DRAW_PURPOSES = frozenset({"acceptance"})


@dataclass(frozen=True)
class ExternalDraw:
    """A draw made for another service's record: it keeps the result; review audits the draw."""

    draw_id: str
    seed: str
    candidates: tuple[str, ...]
    excluded: dict[str, str]
    drawn: tuple[Expert, ...]


async def draw_experts(
    *,
    deps: ReviewDeps,
    principal: Principal,
    tenant_id: str,
    purpose: str,
    reference_id: str,
    size: int,
    seed: str | None = None,
    specialty: str | None = None,
    declaring_orgs: Sequence[str] = (),
    bidders: Sequence[str] = (),
    requested_by: str = "",
) -> ExternalDraw:
    """Draw ``size`` experts of a tenant's library for another service (an acceptance panel), with
    the same conflict avoidance and reproducible seed as a case's draw. A service account names
    the tenant; a library keeper draws from their own. The draw is audited in review (purpose,
    reference, seed, candidates, exclusions) so that it can be replayed."""
    if principal.is_service:
        tenant = tenant_id.strip()
        if not tenant:
            raise AppError(code="TENANT_REQUIRED", message="请指明专家库所属地区。", kind=ErrorKind.INVALID)
    else:
        tenant = _ensure_keeper(principal)
        if tenant_id and tenant_id != tenant:
            raise forbidden("experts.draw")
    if purpose not in DRAW_PURPOSES or not reference_id.strip():
        raise AppError(
            code="DRAW_PURPOSE_INVALID",
            message="请说明抽取专家的用途和所属记录。",
            kind=ErrorKind.INVALID,
            details={"purpose": purpose, "allowed": sorted(DRAW_PURPOSES)},
        )
    async with deps.uow(tenant_id=tenant) as tx:
        library = await _library(tx.session, deps, tenant)
        screening = x.screen(
            library,
            ConflictContext(
                declaring_org_ids=tuple(o for o in declaring_orgs if o.strip()),
                bidders=tuple(b for b in bidders if b.strip()),
            ),
            specialty=specialty,
        )
        chosen_seed = seed.strip() if seed and seed.strip() else secrets.token_hex(16)
        drawn = x.draw(screening.candidates, size, chosen_seed)
        draw_id = new_id()
        await record_audit(
            tx.session,
            audit,
            tenant_id=tenant,
            actor=requested_by.strip() or principal.username,
            action="panel.drawn_for",
            entity_type="draw",
            entity_id=draw_id,
            from_state=None,
            to_state="drawn",
            details={
                "purpose": purpose,
                "reference_id": reference_id,
                "caller": principal.username,
                "seed": chosen_seed,
                "size": size,
                "candidates": list(screening.candidates),
                "excluded": screening.excluded,
                "drawn": list(drawn),
            },
        )
        await tx.commit()
    by_id = {e.id: e for e in library}
    return ExternalDraw(
        draw_id=draw_id,
        seed=chosen_seed,
        candidates=screening.candidates,
        excluded=screening.excluded,
        drawn=tuple(by_id[i] for i in drawn),
    )


# --------------------------------------------------------------------------------------------
# Panel
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """A case's panel: members and the recorded draws."""

    members: list[PanelMember]
    draws: list[Draw]


def _context(case: ReviewCase, bidders: Sequence[str]) -> ConflictContext:
    snapshot = case.declaration
    own = [case.declaring_org_id, case.org_name]
    if snapshot is not None:
        own += [snapshot.org_name, snapshot.construction_unit]
    designers = [snapshot.designer_org] if snapshot is not None and snapshot.designer_org else []
    return ConflictContext(
        declaring_org_ids=tuple(o for o in own if o),
        designer_orgs=tuple(designers),
        bidders=tuple(b for b in bidders if b.strip()),
    )


def _stage(case: ReviewCase) -> str:
    return case.stage.value


async def _draw(
    session: AsyncSession,
    deps: ReviewDeps,
    *,
    principal: Principal,
    case: ReviewCase,
    size: int,
    seed: str | None,
    specialty: str | None,
    bidders: Sequence[str],
    replaces: PanelMember | None,
) -> Draw:
    stage = _stage(case)
    library = await _library(session, deps, case.acting_tenant)
    on_panel = [m.expert_id for m in await repository.panel_of(session, case.id, stage)]
    before = {
        expert_id: reason
        for earlier in await repository.draws_of(session, case.id)
        if earlier.stage == stage
        for expert_id, reason in earlier.excluded.items()
    }
    screening = x.screen(
        library, _context(case, bidders), specialty=specialty, on_panel=on_panel, conflicts_before=before
    )
    chosen_seed = seed.strip() if seed and seed.strip() else secrets.token_hex(16)
    drawn = x.draw(screening.candidates, size, chosen_seed)
    record = Draw(
        id=new_id(),
        tenant_id=case.tenant_id,
        reviewing_tenant_id=case.reviewing_tenant_id,
        case_id=case.id,
        stage=stage,
        seed=chosen_seed,
        size=size,
        specialty=specialty,
        candidates=screening.candidates,
        excluded=screening.excluded,
        drawn=drawn,
        replaces_member_id=replaces.id if replaces else None,
        drawn_by=principal.username,
        drawn_at=deps.now(),
    )
    await repository.add_draw(session, record)
    by_id = {e.id: e for e in library}
    for expert_id in drawn:
        expert = by_id[expert_id]
        member = PanelMember(
            id=new_id(),
            tenant_id=case.tenant_id,
            reviewing_tenant_id=case.reviewing_tenant_id,
            case_id=case.id,
            stage=stage,
            draw_id=record.id,
            expert_id=expert_id,
            expert_username=expert.username,
            expert_name=expert.name,
            status=MemberStatus.INVITED,
        )
        await repository.add_member(session, member)
        await task_service.open_for_case(
            session,
            deps,
            case,
            kind=TaskKind.EXPERT_REVIEW,
            holder_tenant_id=case.acting_tenant,
            holder_role="expert",
            holder_user=expert.username,
            subject=expert_id,
            workdays=None,
        )
    await audit_case(
        session,
        actor=principal.username,
        session_tenant=principal.tenant or case.tenant_id,
        case=case,
        action="panel.replacement_drawn" if replaces else "panel.drawn",
        entity_type="draw",
        entity_id=record.id,
        from_state=None,
        to_state="drawn",
        details={
            "seed": chosen_seed,
            "size": size,
            "candidates": list(screening.candidates),
            "excluded": screening.excluded,
            "drawn": list(drawn),
            "replaces_member_id": replaces.id if replaces else None,
        },
    )
    return record


async def draw_panel(
    *,
    deps: ReviewDeps,
    principal: Principal,
    case_id: str,
    size: int,
    seed: str | None = None,
    specialty: str | None = None,
    bidders: Sequence[str] = (),
) -> Panel:
    """Draw ``size`` experts for the case's current stage from the reviewing tenant's library,
    avoiding every conflict; the seed, candidates and exclusions are recorded for replay."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        case = await load_for_action(tx.session, principal, case_id, None)
        rules.ensure_technical_reviewer(principal, case)
        ensure_stage(case, *DRAWABLE)
        active = [
            m
            for m in await repository.panel_of(tx.session, case.id, _stage(case))
            if m.status is not MemberStatus.DECLINED
        ]
        if active:
            raise AppError(
                code="PANEL_ALREADY_DRAWN",
                message="本案件本阶段已抽取专家；如有专家谢绝，请办理补抽。",
                kind=ErrorKind.PRECONDITION,
                details={"members": len(active)},
            )
        await _draw(
            tx.session, deps, principal=principal, case=case, size=size, seed=seed, specialty=specialty,
            bidders=bidders, replaces=None,
        )  # fmt: skip
        panel = Panel(
            await repository.panel_of(tx.session, case.id), await repository.draws_of(tx.session, case.id)
        )
        await tx.commit()
    return panel


async def get_panel(*, deps: ReviewDeps, principal: Principal, case_id: str) -> Panel:
    """A case's panel and draws."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
        return Panel(
            await repository.panel_of(tx.session, case.id), await repository.draws_of(tx.session, case.id)
        )


async def _member_for_action(
    deps: ReviewDeps, session: AsyncSession, principal: Principal, member_id: str, expected_version: int
) -> tuple[ReviewCase, PanelMember]:
    valid_uuid(member_id, "panel_member", LABEL)
    member = await repository.get_member(session, member_id, lock=True)
    if member is None:
        raise not_found("panel_member", member_id, label_zh=LABEL)
    case = await load_visible(session, principal, member.case_id, lock=True)
    is_self = principal.has_role("expert") and member.expert_username == principal.username
    reviewer = principal.tenant == case.acting_tenant and principal.has_role(*rules.TECHNICAL_REVIEWERS)
    rules.ensure_not_read_only(principal)
    if not (is_self or reviewer):
        raise forbidden("panel.member")
    if member.version != expected_version:
        raise stale_version("panel_member", expected=expected_version, label_zh=LABEL)
    return case, member


async def decline_member(
    *,
    deps: ReviewDeps,
    principal: Principal,
    member_id: str,
    expected_version: int,
    reason: str,
    seed: str | None = None,
    bidders: Sequence[str] = (),
) -> Panel:
    """An expert declines (by themselves or through the reviewer); a replacement is drawn at once."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case, member = await _member_for_action(deps, tx.session, principal, member_id, expected_version)
        ensure_stage(case, *DRAWABLE)
        declined = x.decline(member, reason)
        await task_service.close_kind(
            tx.session, case.id, TaskKind.EXPERT_REVIEW, deps.today(), subject=member.expert_id
        )
        record = await _draw(
            tx.session, deps, principal=principal, case=case, size=1, seed=seed, specialty=None,
            bidders=bidders, replaces=member,
        )  # fmt: skip
        stored = await repository.save_member(
            tx.session, replace(declined, replaced_by_draw_id=record.id), expected_version=expected_version
        )
        if stored is None:
            raise stale_version("panel_member", expected=expected_version, label_zh=LABEL)
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=principal.tenant or case.tenant_id,
            case=case,
            action="panel.member_declined",
            entity_type="panel_member",
            entity_id=member.id,
            from_state=member.status.value,
            to_state=stored.status.value,
            details={"expert_id": member.expert_id, "reason": reason, "replacement_draw_id": record.id},
        )
        panel = Panel(
            await repository.panel_of(tx.session, case.id), await repository.draws_of(tx.session, case.id)
        )
        await tx.commit()
    return panel


async def accept_member(
    *, deps: ReviewDeps, principal: Principal, member_id: str, expected_version: int
) -> Panel:
    """The expert confirms they will review."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case, member = await _member_for_action(deps, tx.session, principal, member_id, expected_version)
        stored = await repository.save_member(tx.session, x.accept(member), expected_version=expected_version)
        if stored is None:
            raise stale_version("panel_member", expected=expected_version, label_zh=LABEL)
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=principal.tenant or case.tenant_id,
            case=case,
            action="panel.member_accepted",
            entity_type="panel_member",
            entity_id=member.id,
            from_state=member.status.value,
            to_state=stored.status.value,
        )
        panel = Panel(
            await repository.panel_of(tx.session, case.id), await repository.draws_of(tx.session, case.id)
        )
        await tx.commit()
    return panel


@dataclass(frozen=True)
class Replay:
    """A recorded draw replayed from its seed."""

    draw: Draw
    replayed: tuple[str, ...]
    matches: bool


async def replay_draw(*, deps: ReviewDeps, principal: Principal, draw_id: str) -> Replay:
    """Replay a recorded draw from its seed and candidates (auditors and bureaus)."""
    valid_uuid(draw_id, "draw", "抽取记录")
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        found = await repository.get_draw(tx.session, draw_id)
        if found is None:
            raise not_found("draw", draw_id, label_zh="抽取记录")
        await load_visible(tx.session, principal, found.case_id)
    replayed = x.draw(found.candidates, found.size, found.seed)
    return Replay(found, replayed, replayed == found.drawn)


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def sheet_criteria(deps: ReviewDeps, case: ReviewCase) -> list[Criterion]:
    """The sheet's lines for the case's current stage."""
    return scoring.criteria_for(deps.case_pack(case), _stage(case), default_pack=deps.default_pack())


async def scoring_sheet(
    *, deps: ReviewDeps, principal: Principal, case_id: str
) -> tuple[str, list[Criterion]]:
    """The empty sheet an expert fills in."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
    return _stage(case), sheet_criteria(deps, case)


async def submit_scores(
    *,
    deps: ReviewDeps,
    principal: Principal,
    case_id: str,
    scores: Mapping[str, object],
    comments: Mapping[str, str],
    overall_comment: str,
) -> ScoreSheet:
    """A drawn expert submits their sheet for the case's current stage (once)."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        case = await load_for_action(tx.session, principal, case_id, None)
        ensure_stage(case, *DRAWABLE)
        stage = _stage(case)
        member = next(
            (
                m
                for m in await repository.panel_of(tx.session, case.id, stage)
                if m.expert_username == principal.username and m.status is not MemberStatus.DECLINED
            ),
            None,
        )
        if member is None or not principal.has_role("expert"):
            raise forbidden("scores.submit")
        criteria = sheet_criteria(deps, case)
        clean, notes, total = scoring.validate(criteria, scores, comments)
        sheet = ScoreSheet(
            id=new_id(),
            tenant_id=case.tenant_id,
            reviewing_tenant_id=case.reviewing_tenant_id,
            case_id=case.id,
            stage=stage,
            expert_id=member.expert_id,
            scores=clean,
            comments=notes,
            overall_comment=overall_comment.strip(),
            total=total,
            submitted_by=principal.username,
            submitted_at=deps.now(),
        )
        criteria_json = [{"code": c.code, "label_zh": c.label_zh, "cite": list(c.cite)} for c in criteria]
        if not await repository.add_sheet(tx.session, sheet, criteria=criteria_json):
            raise AppError(
                code="SCORES_ALREADY_SUBMITTED", message="您已提交本阶段的评分表。", kind=ErrorKind.CONFLICT
            )
        if member.status is MemberStatus.INVITED:
            await repository.save_member(tx.session, x.accept(member), expected_version=member.version)
        await task_service.close_kind(
            tx.session, case.id, TaskKind.EXPERT_REVIEW, deps.today(), subject=member.expert_id
        )
        await audit_case(
            tx.session,
            actor=principal.username,
            session_tenant=tenant,
            case=case,
            action="scores.submitted",
            entity_type="score_sheet",
            entity_id=sheet.id,
            from_state=None,
            to_state="submitted",
            citations=sorted({c for crit in criteria for c in crit.cite}),
            details={"expert_id": member.expert_id, "total": str(total)},
        )
        await tx.commit()
    return sheet


async def panel_summary(
    *, deps: ReviewDeps, principal: Principal, case_id: str
) -> tuple[str, PanelSummary, list[ScoreSheet]]:
    """The panel's summary for the case's current stage, with the sheets."""
    async with deps.uow(tenant_id=require_tenant(principal)) as tx:
        case = await load_visible(tx.session, principal, case_id)
        stage = _stage(case)
        sheets = await repository.sheets_of(tx.session, case.id, stage)
        members = [
            m
            for m in await repository.panel_of(tx.session, case.id, stage)
            if m.status is not MemberStatus.DECLINED
        ]
    return stage, scoring.summarize(sheet_criteria(deps, case), sheets, expected=len(members)), sheets
