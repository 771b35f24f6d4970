"""intake's use cases. Each runs in one unit of work, which is the only place that commits.

Every state change writes an audit record with the articles it applied; the events of a change are
written to the outbox in the same transaction (``tx.emit``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import AuditEntry, audit_row, record_audit
from govkit.auth import Principal
from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind, not_found, stale_version
from govkit.events import Envelope, new_event
from govkit.objectstore import ObjectStore, validate_upload
from govkit.policy import Pack, PolicyError, PolicyRegistry, resolve_pack
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2
from intake.adapters import repository
from intake.adapters.orm import audit
from intake.adapters.repository import DeclarationFilter, ScreeningRow
from intake.adapters.screening_index import ScreeningIndexes, screening_text
from intake.domain import calls as call_rules
from intake.domain import declaration as rules
from intake.domain import orgs as org_rules
from intake.domain import policy_checks as checks
from intake.domain.calls import AnnualCall, CallStatus, LateRoute
from intake.domain.declaration import (
    AmountBreakdown,
    Category,
    ConstructionItem,
    ConstructionType,
    Declaration,
    DeclarationStatus,
    StoredFinding,
    Submission,
)
from intake.domain.materials import Material, check_doc_type, storage_key
from intake.domain.orgs import ExistingSystem, Org, OrgType, SystemStatus, TenantLevel, TenantRecord
from intake.domain.project_code import make_project_code, parse_project_code
from intake.domain.screening import (
    DUPLICATE_MIN_SCORE,
    DUPLICATE_TOP,
    SPLITTING_MIN_SCORE,
    SPLITTING_NAME_FACTOR,
    duplicate_findings,
    splitting_findings,
)

DECLARATION_SUBMITTED = "govproj.intake.v1.declaration.submitted"
DECLARATION_RESUBMITTED = "govproj.intake.v1.declaration.resubmitted"
DECLARATION_WITHDRAWN = "govproj.intake.v1.declaration.withdrawn"
LABEL = "申报"
SYSTEM_ACTOR = "system:intake"
EDITABLE_FIELD_NAMES = rules.EDITABLE_FIELDS
MAX_PAGE_SIZE = 100
# How many of the tenant's most similar declarations are considered as parts of a split project
# (a project cut into more parts than this within a year would be flagged by the first ones).
SPLITTING_NEIGHBOURS = 20
DEFAULT_PAGE_SIZE = 20


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class IntakeDeps:
    """What the use cases need besides the caller: database, policy packs, screening, object store."""

    uow: UnitOfWorkFactory
    policies: PolicyRegistry
    screening: ScreeningIndexes = field(default_factory=ScreeningIndexes)
    store: ObjectStore | None = None
    max_upload_bytes: int = 50 * 1024 * 1024
    allowed_upload_types: tuple[str, ...] = ()
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    clock: Callable[[], datetime] = _now

    def now(self) -> datetime:
        """The current instant (UTC)."""
        return self.clock()

    def today(self) -> date:
        """Today's local date (deadlines and code years are local)."""
        return self.now().astimezone(self.timezone).date()

    def pack_for(self, tenant_id: str, on: date | None = None) -> Pack:
        """The pack governing the tenant today; a clear error when none is configured."""
        try:
            return resolve_pack(tenant_id, on or self.today(), registry=self.policies)
        except PolicyError as exc:
            raise AppError(
                code="POLICY_NOT_CONFIGURED",
                message="本地区尚未配置适用的管理办法，暂不能办理申报，请联系系统管理员。",
                kind=ErrorKind.PRECONDITION,
                details={"tenant_id": tenant_id, "reason": str(exc)[:300]},
            ) from None


@dataclass(frozen=True)
class DeclarationFields:
    """What an applicant fills in (validated at the edge; re-checked by the domain)."""

    name: str
    category: Category
    construction_type: ConstructionType
    amount: Decimal
    necessity: str = ""
    goals: str = ""
    contact: str = ""
    construction_unit: str = ""
    breakdown: AmountBreakdown | None = None
    funding_source: str = ""
    content: str = ""
    performance_goals: str = ""
    cloud_deployment: bool = False
    data_sharing_entries: tuple[str, ...] = ()
    mlps_level: int = 0
    crypto_plan: str = ""
    related_systems: tuple[str, ...] = ()
    public_facing: bool = False
    public_video: bool = False
    goods_and_services_only: bool = False
    simple: bool = False
    emergency: bool = False
    designer_org: str = ""
    construction_items: tuple[ConstructionItem, ...] = ()
    call_id: str | None = None
    supplementary: bool = False
    funds_secured: bool = False
    supplementary_reason: str = ""
    classified: bool = False


# --- helpers ------------------------------------------------------------------------------------


def _require_tenant(principal: Principal) -> str:
    if principal.tenant is None:
        raise AppError(
            code="NO_TENANT", message="账号未关联任何地区，无法办理申报。", kind=ErrorKind.FORBIDDEN
        )
    return principal.tenant


def _valid_uuid(value: str, what: str, label_zh: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise not_found(what, value, label_zh=label_zh) from None


async def _load_visible(
    session: AsyncSession, principal: Principal, declaration_id: str, *, for_update: bool = False
) -> Declaration:
    _valid_uuid(declaration_id, "declaration", LABEL)
    found = await repository.get(session, declaration_id, for_update=for_update)
    if found is None or not rules.can_read(principal, found):
        raise not_found("declaration", declaration_id, label_zh=LABEL)
    return found


async def _audit(
    session: AsyncSession,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    from_state: str | None,
    to_state: str | None,
    citations: Sequence[str] = (),
    details: Mapping[str, Any] | None = None,
) -> None:
    await record_audit(
        session,
        audit,
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        from_state=from_state,
        to_state=to_state,
        citations=sorted(set(citations)),
        details=dict(details or {}),
    )


async def _audit_declaration(
    session: AsyncSession,
    actor: str,
    action: str,
    declaration: Declaration,
    *,
    from_state: DeclarationStatus | None,
    citations: Sequence[str] = (),
    details: Mapping[str, Any] | None = None,
) -> None:
    await _audit(
        session,
        tenant_id=declaration.tenant_id,
        actor=actor,
        action=action,
        entity_type="declaration",
        entity_id=declaration.id,
        from_state=from_state.value if from_state else None,
        to_state=declaration.status.value,
        citations=citations,
        details=details,
    )


async def _save_at_version(
    session: AsyncSession,
    changed: Declaration,
    *,
    read: Declaration,
    expected: int,
    rescreen: bool = False,
    audit_record: dict[str, Any] | None = None,
) -> Declaration:
    """Store a change made to what the caller read at `expected`; 409 when it moved meanwhile.

    With ``audit_record`` (govkit.audit.audit_row) the change's audit record is written with it.
    """
    stored = None
    if read.version == expected and audit_record is not None:
        stored = await repository.save_audited(
            session, changed, expected_version=expected, audit_record=audit_record, rescreen=rescreen
        )
    elif read.version == expected:
        stored = await repository.save(session, changed, expected_version=expected, rescreen=rescreen)
    if stored is None:
        raise stale_version("declaration", expected=expected, label_zh=LABEL)
    return stored


async def _org_of(session: AsyncSession, org_id: str) -> Org:
    org = await repository.get_org(session, org_id)
    if org is None or not org.active:
        raise org_rules.org_not_registered(org_id)
    return org


async def _call_of(session: AsyncSession, call_id: str) -> AnnualCall:
    _valid_uuid(call_id, "call", "年度计划征集")
    call = await repository.get_call(session, call_id)
    if call is None:
        raise not_found("call", call_id, label_zh="年度计划征集")
    return call


async def _facts(session: AsyncSession, declaration: Declaration) -> dict[str, Any]:
    org = await repository.get_org(session, declaration.org_id)
    tenant = await repository.get_tenant(session, declaration.tenant_id)
    return checks.facts_for(
        declaration,
        org_budget_units=org.budget_units if org is not None else None,
        tenant_level=tenant.level.value if tenant is not None else None,
    )


async def _check_materials(
    session: AsyncSession, pack: Pack, declaration: Declaration
) -> tuple[tuple[str, ...], list[Material]]:
    """Refuse when a required document is missing; the requirement's articles and the materials."""
    docs = checks.required_documents(pack, await _facts(session, declaration))
    found = await repository.list_materials(session, declaration.id)
    checks.ensure_materials(docs, {m.doc_type for m in found})
    return docs.citations, found


def _refuse_classified(pack: Pack, classified: bool) -> None:
    if classified:
        raise checks.classified_refusal(pack)


# --- declarations: drafting ---------------------------------------------------------------------


async def create_declaration(
    *, deps: IntakeDeps, principal: Principal, fields: DeclarationFields
) -> Declaration:
    """An applicant starts a draft declaration for their unit (classified projects are refused)."""
    tenant, org_id = rules.ensure_author(principal)
    now = deps.now()
    values = {k: v for k, v in fields.__dict__.items() if k != "classified"}
    async with deps.uow(tenant_id=tenant) as tx:
        pack = deps.pack_for(tenant)
        _refuse_classified(pack, fields.classified)
        org = await _org_of(tx.session, org_id)
        if fields.call_id is not None:
            call_rules.ensure_open(await _call_of(tx.session, fields.call_id))
        if not str(values["construction_unit"]).strip():
            values["construction_unit"] = org.name
        if fields.breakdown is not None:
            rules.check_breakdown(fields.amount, fields.breakdown)
        declaration = Declaration(
            id=str(uuid.uuid4()),
            tenant_id=tenant,
            org_id=org_id,
            status=DeclarationStatus.DRAFT,
            version=1,
            created_by=principal.username,
            created_at=now,
            updated_at=now,
            **values,
        )
        await repository.add(tx.session, declaration)
        await _audit_declaration(
            tx.session,
            principal.username,
            "declaration.created",
            declaration,
            from_state=None,
            details={"name": declaration.name, "amount": str(declaration.amount)},
        )
        await tx.commit()
    return declaration


async def update_declaration(
    *,
    deps: IntakeDeps,
    principal: Principal,
    declaration_id: str,
    expected_version: int,
    changes: Mapping[str, object],
) -> Declaration:
    """Change a draft (or a returned declaration); 409 when someone changed it since `expected_version`."""
    tenant = _require_tenant(principal)
    changes = dict(changes)
    classified = bool(changes.pop("classified", False))
    async with deps.uow(tenant_id=tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id, for_update=True)
        rules.ensure_can_edit(principal, current)
        _refuse_classified(deps.pack_for(tenant), classified)
        if changes.get("call_id") is not None:
            call_rules.ensure_open(await _call_of(tx.session, str(changes["call_id"])))
        changed = rules.apply_changes(current, changes, at=deps.now())
        stored = await _save_at_version(tx.session, changed, read=current, expected=expected_version)
        await _audit_declaration(
            tx.session,
            principal.username,
            "declaration.updated",
            stored,
            from_state=current.status,
            details={"fields": sorted(changes), "version": stored.version},
        )
        await tx.commit()
    return stored


async def submit_for_signoff(
    *, deps: IntakeDeps, principal: Principal, declaration_id: str, expected_version: int | None
) -> Declaration:
    """The applicant hands a complete declaration to the unit head (draft/returned → pending_signoff).

    The pack's prohibitions, its required documents and its supplementary route are checked here
    already, so the unit head signs off only what the bureau can take.
    """
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id, for_update=True)
        pending = rules.submit_for_signoff(principal, current, at=deps.now())
        pack = deps.pack_for(tenant)
        checks.ensure_not_prohibited(pack, current)
        cites = list((await _check_materials(tx.session, pack, current))[0])
        if current.supplementary:
            cites += checks.supplementary_terms(pack, funds_secured=current.funds_secured).citations
        version = current.version if expected_version is None else expected_version
        stored = await _save_at_version(tx.session, pending, read=current, expected=version)
        await _audit_declaration(
            tx.session,
            principal.username,
            "declaration.submitted_for_signoff",
            stored,
            from_state=current.status,
            citations=cites,
            details={"version": stored.version},
        )
        await tx.commit()
    return stored


async def send_back(
    *, deps: IntakeDeps, principal: Principal, declaration_id: str, expected_version: int, reason: str
) -> Declaration:
    """The unit head sends a declaration back to the applicant with a reason."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id, for_update=True)
        back = rules.send_back(principal, current, reason=reason, at=deps.now())
        stored = await _save_at_version(tx.session, back, read=current, expected=expected_version)
        await _audit_declaration(
            tx.session,
            principal.username,
            "declaration.sent_back",
            stored,
            from_state=current.status,
            details={"reason": stored.send_back_reason, "version": stored.version},
        )
        await tx.commit()
    return stored


# --- declarations: submission to the bureau -----------------------------------------------------


def _finding(
    kind: str, score: float, related: Sequence[str], message: str, cites: Sequence[str], details: Any
) -> StoredFinding:
    return StoredFinding(
        kind=kind,
        score=float(score),
        related_ids=tuple(related),
        message=message,
        citations=tuple(cites),
        details=dict(details or {}),
    )


def _months_before(at: datetime, months: int) -> datetime:
    # Generous by a few days: splitting_findings applies the exact calendar-month window itself.
    return at - timedelta(days=31 * months)


async def _screen(
    session: AsyncSession, deps: IntakeDeps, pack: Pack, declaration: Declaration, *, at: datetime
) -> tuple[tuple[StoredFinding, ...], tuple[str, ...]]:
    """Duplicate and splitting findings for the declaration (flags for reviewers), and their articles."""
    index = await deps.screening.refreshed(session, declaration.tenant_id)
    row = ScreeningRow(
        id=declaration.id,
        org_id=declaration.org_id,
        name=declaration.name,
        content="\n".join(p for p in (declaration.necessity, declaration.content) if p),
        goals="\n".join(p for p in (declaration.goals, declaration.performance_goals) if p),
        amount=declaration.amount,
        submitted_at=at,
        indexed=True,
        seq=0,
    )
    candidate = screening_text(row, "declaration")
    thresholds = checks.splitting_thresholds(pack)
    # One query serves both screenings: the duplicates are its best matches above their cut-off;
    # only declarations that resemble the candidate at all can be parts of a split project, and
    # the index finds them in milliseconds where comparing with every declaration the org made in
    # the window grows with the org (ADR 0010). A chain of parts linked only through a dissimilar
    # middle is not followed.
    matches = index.query(
        candidate,
        top=max(DUPLICATE_TOP, SPLITTING_NEIGHBOURS),
        min_score=min(DUPLICATE_MIN_SCORE, SPLITTING_MIN_SCORE * SPLITTING_NAME_FACTOR),
    )
    found: list[StoredFinding] = []
    dup_cites = checks.duplicate_citations(pack)
    for f in duplicate_findings(candidate, index, citations=dup_cites, matches=matches):
        found.append(
            _finding("duplicate_construction", f.score, f.related_ids, f.message_zh, f.citations, f.details)
        )
    if thresholds:
        # The index keeps each declaration's org, amount and date with its terms, and it has just
        # been brought up to date, so the parts come from it without reading their texts again.
        near = [doc for m in matches if (doc := index.document(m.id)) is not None]
        for threshold in sorted(thresholds, key=lambda t: t.amount):
            for f in splitting_findings(
                candidate,
                near,
                threshold.amount,
                citations=threshold.citations,
                index=index,
                window_months=threshold.window_months,
                candidate_scores={m.id: m.score for m in matches},
            ):
                found.append(
                    _finding(
                        "project_splitting", f.score, f.related_ids, f.message_zh, f.citations, f.details
                    )
                )
    cites = tuple(sorted({c for f in found for c in f.citations}))
    return tuple(found), cites


async def _route(
    session: AsyncSession, deps: IntakeDeps, pack: Pack, declaration: Declaration, *, today: date
) -> tuple[AnnualCall | None, int, LateRoute, str, tuple[str, ...]]:
    """(call, plan year, late route, supplementary approver, articles) for a first submission."""
    cites: list[str] = []
    if declaration.supplementary:
        terms = checks.supplementary_terms(pack, funds_secured=declaration.funds_secured)
        cites += terms.citations
        call = await _call_of(session, declaration.call_id) if declaration.call_id else None
        late = LateRoute.ON_TIME
        if call is not None and call.deadline is not None and today > call.deadline:
            late = LateRoute.SUPPLEMENTARY
            routing = call_rules.route_declaration(
                pack, call, submitted_on=today, supplementary=True, funds_secured=declaration.funds_secured
            )
            cites += routing.citations
        # 纳入当年计划: a supplementary project joins the plan being carried out (wuxing-2023 §7).
        year = call.target_year if call is not None else today.year
        return call, year, late, terms.approved_by, tuple(cites)
    if declaration.call_id is not None:
        call = await _call_of(session, declaration.call_id)
    else:
        open_calls = await repository.list_calls(session, status=CallStatus.OPEN)
        if not open_calls:
            raise AppError(
                code="NO_OPEN_CALL",
                message="当前没有开放的年度计划征集，请等待数据局发布征集通知，或按计划外（增补）项目申报。",
                kind=ErrorKind.PRECONDITION,
                details={},
            )
        call = open_calls[0]
    call_rules.ensure_open(call)
    routing = call_rules.route_declaration(
        pack, call, submitted_on=today, supplementary=False, funds_secured=declaration.funds_secured
    )
    cites += routing.citations
    return call, routing.plan_year, routing.late_route, "", tuple(cites)


async def _submit_to_bureau(
    tx: Any,
    deps: IntakeDeps,
    principal: Principal,
    current: Declaration,
    *,
    expected_version: int,
    transition: Callable[[Principal, Declaration, Submission], Declaration],
) -> Declaration:
    """Sign-off and resubmission: checks, screening, quota, project code, event, audit."""
    session = tx.session
    now, today = deps.now(), deps.today()
    pack = deps.pack_for(current.tenant_id, today)
    # The org, the tenant and the materials in one round trip (every statement of a sign-off
    # costs the service's event loop more than the database's work).
    context = await repository.submission_context(
        session, tenant_id=current.tenant_id, org_id=current.org_id, declaration_id=current.id
    )
    if context.org is None or not context.org.active:
        raise org_rules.org_not_registered(current.org_id)
    if context.tenant is None:
        raise org_rules.tenant_not_registered(current.tenant_id)
    org, tenant, materials = context.org, context.tenant, context.materials
    rules.ensure_complete(current)
    checks.ensure_not_prohibited(pack, current)
    facts = checks.facts_for(current, org_budget_units=org.budget_units, tenant_level=tenant.level.value)
    docs = checks.required_documents(pack, facts)
    checks.ensure_materials(docs, {m.doc_type for m in materials})
    cites: list[str] = list(docs.citations)
    resubmission = rules.is_resubmission(current)
    if resubmission:
        # Same declaration, same cycle: its call, plan year and route stay as first decided.
        call_id, target_year, plan_year = current.call_id, current.target_year, current.plan_year
        late_route, approved_by = current.late_route, current.supplementary_approved_by
        cites += current.citations
    else:
        call, plan_year, late, approved_by, route_cites = await _route(
            session, deps, pack, current, today=today
        )
        cites += route_cites
        call_id = call.id if call is not None else None
        target_year = call.target_year if call is not None else plan_year
        late_route = late.value
    # Screening reads only committed declarations, so it needs no lock (ADR 0010): a replica that
    # has read screening number n has seen every change numbered up to n.
    findings, screen_cites = await _screen(session, deps, pack, current, at=now)
    # From here to the commit, one submission of the tenant at a time: the quota count, the
    # project-code serial and the screening number follow commit order. Kept to the few
    # statements that need it (each one under the lock delays every waiting sign-off), so the
    # first serial comes with the lock in one round trip and a quota refusal rolls it back.
    code = current.project_code
    if code is None:
        serial = await repository.lock_submissions_and_take_serial(
            session, tenant_id=current.tenant_id, year=today.year
        )
        code = str(
            make_project_code(
                year=today.year,
                region_code=tenant.region_code,
                department=org.dept_code,
                construction_type=current.construction_type,
                serial=serial,
            )
        )
    else:
        await repository.lock_submissions(session, current.tenant_id)
    counted = not resubmission and not current.supplementary and plan_year is not None
    if counted and plan_year is not None and checks.has_quota(pack, facts):
        already = await repository.count_for_quota(
            session, org_id=current.org_id, plan_year=plan_year, exclude_id=current.id
        )
        cites += checks.ensure_quota(pack, facts, already=already, plan_year=plan_year)
    decided = Submission(
        project_code=code,
        target_year=target_year,
        plan_year=plan_year,
        call_id=call_id,
        late_route=late_route,
        supplementary_approved_by=approved_by,
        findings=findings,
        citations=tuple(sorted(set(cites))),
    )
    submitted = transition(principal, current, decided)
    resubmitted = submitted.round > 1
    # The audit record is written with the declaration, in one round trip under the lock.
    record = audit_row(
        submitted.tenant_id,
        AuditEntry(
            actor=principal.username,
            action="declaration.resubmitted" if resubmitted else "declaration.submitted",
            entity_type="declaration",
            entity_id=submitted.id,
            from_state=current.status.value,
            to_state=submitted.status.value,
            citations=sorted({*submitted.citations, *screen_cites}),
            details={
                "version": expected_version + 1,
                "round": submitted.round,
                "project_code": submitted.project_code,
                "plan_year": submitted.plan_year,
                "late_route": submitted.late_route,
                "findings": [f.to_json() for f in submitted.findings],
            },
        ),
    )
    stored = await _save_at_version(
        session, submitted, read=current, expected=expected_version, rescreen=True, audit_record=record
    )
    payload = submitted_payload(stored, org=org, tenant=tenant, materials=materials, by=principal.username)
    tx.emit(
        new_event(
            event_type=DECLARATION_RESUBMITTED if resubmitted else DECLARATION_SUBMITTED,
            tenant=stored.tenant_id,
            payload=events_pb2.DeclarationResubmitted(declaration=payload) if resubmitted else payload,
        )
    )
    return stored


async def sign_off(
    *, deps: IntakeDeps, principal: Principal, declaration_id: str, expected_version: int
) -> Declaration:
    """The unit head signs off: the declaration is submitted to the bureau.

    In one transaction: the pack's checks (prohibited types, required documents, late routing,
    quota), screening for duplicates and splitting (flags with citations), the project code on the
    first submission, ``declaration.submitted`` (or ``.resubmitted``) in the outbox, the audit record.
    """
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id, for_update=True)
        rules.ensure_can_sign_off(principal, current)
        at = deps.now()
        stored = await _submit_to_bureau(
            tx,
            deps,
            principal,
            current,
            expected_version=expected_version,
            transition=lambda who, d, decided: rules.sign_off(who, d, decided, at=at),
        )
        await tx.commit()
    return stored


async def resubmit(
    *, deps: IntakeDeps, principal: Principal, declaration_id: str, expected_version: int
) -> Declaration:
    """The unit head resubmits a returned declaration after the applicant's corrections."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id, for_update=True)
        rules.ensure_can_resubmit(principal, current)
        at = deps.now()
        stored = await _submit_to_bureau(
            tx,
            deps,
            principal,
            current,
            expected_version=expected_version,
            transition=lambda who, d, decided: rules.resubmit(who, d, decided, at=at),
        )
        await tx.commit()
    return stored


def _money(value: Decimal) -> common_pb2.Money:
    return common_pb2.Money(amount=str(value))


def submitted_payload(
    declaration: Declaration, *, org: Org, tenant: TenantRecord, materials: Sequence[Material], by: str
) -> events_pb2.DeclarationSubmitted:
    """The ``DeclarationSubmitted`` message for a declaration at the bureau."""
    d = declaration
    assert d.submitted_at is not None
    breakdown = d.breakdown or AmountBreakdown()
    return events_pb2.DeclarationSubmitted(
        declaration_id=d.id,
        tenant_id=d.tenant_id,
        org_id=d.org_id,
        name=d.name,
        amount=_money(d.amount),
        category=d.category.value,
        construction_type=d.construction_type.value,
        project_code=d.project_code or "",
        submitted_by=by,
        submitted_at=(d.signoff_at or d.submitted_at).isoformat(),
        supplementary=d.supplementary,
        target_year=d.target_year or 0,
        call_id=d.call_id or "",
        org_name=org.name,
        org_type=org.org_type.value,
        breakdown=events_pb2.AmountBreakdown(**{k: _money(v) for k, v in breakdown.as_dict().items()}),
        funding_source=d.funding_source,
        cloud_deployment=d.cloud_deployment,
        mlps_level=d.mlps_level,
        cross_department=d.cross_department,
        public_facing=d.public_facing,
        public_video=d.public_video,
        goods_and_services_only=d.goods_and_services_only,
        crypto_plan=d.crypto_plan,
        designer_org=d.designer_org,
        materials=[
            events_pb2.Material(
                doc_type=m.doc_type,
                filename=m.filename,
                sha256=m.sha256,
                size=m.size,
                content_type=m.content_type,
            )
            for m in materials
        ],
        findings=[
            events_pb2.ScreeningFinding(
                kind=f.kind,
                score=f.score,
                related_ids=list(f.related_ids),
                message=f.message,
                citations=[common_pb2.Citation(ref=c) for c in f.citations],
            )
            for f in d.findings
        ],
        round=d.round,
        provincial_code=d.provincial_code or "",
        performance_goals=d.performance_goals,
        content=d.content,
        goals=d.goals,
        necessity=d.necessity,
        late_route=d.late_route,
        plan_year=d.plan_year or 0,
        supplementary_approved_by=d.supplementary_approved_by,
        funds_secured=d.funds_secured,
        simple=d.simple,
        emergency=d.emergency,
        org_budget_units=org.budget_units,
        construction_unit=d.construction_unit,
        data_sharing_entries=list(d.data_sharing_entries),
        related_systems=list(d.related_systems),
        citations=[common_pb2.Citation(ref=c) for c in d.citations],
        tenant_level=tenant.level.value,
        contact=d.contact,
    )


async def withdraw(
    *, deps: IntakeDeps, principal: Principal, declaration_id: str, expected_version: int, reason: str
) -> Declaration:
    """The unit withdraws a submitted declaration before review starts (``declaration.withdrawn``)."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id, for_update=True)
        now = deps.now()
        withdrawn = rules.withdraw(principal, current, reason=reason, at=now)
        await repository.lock_submissions(tx.session, tenant)
        stored = await _save_at_version(
            tx.session, withdrawn, read=current, expected=expected_version, rescreen=True
        )
        tx.emit(
            new_event(
                event_type=DECLARATION_WITHDRAWN,
                tenant=stored.tenant_id,
                payload=events_pb2.DeclarationWithdrawn(
                    declaration_id=stored.id,
                    tenant_id=stored.tenant_id,
                    withdrawn_by=principal.username,
                    withdrawn_at=now.isoformat(),
                    reason=stored.withdrawn_reason,
                    org_id=stored.org_id,
                    project_code=stored.project_code or "",
                ),
            )
        )
        await _audit_declaration(
            tx.session,
            principal.username,
            "declaration.withdrawn",
            stored,
            from_state=current.status,
            details={"reason": stored.withdrawn_reason, "version": stored.version},
        )
        await tx.commit()
    return stored


async def record_provincial_code(
    *,
    deps: IntakeDeps,
    principal: Principal,
    declaration_id: str,
    expected_version: int,
    provincial_code: str,
) -> Declaration:
    """Record the code the provincial online approval platform issued (shuangyashan-2024 §18)."""
    tenant = _require_tenant(principal)
    code = str(parse_project_code(provincial_code, field="provincial_code"))
    async with deps.uow(tenant_id=tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id, for_update=True)
        rules.ensure_can_record_provincial_code(principal, current)
        if code == current.project_code or await repository.project_code_taken(
            tx.session, code, exclude_id=current.id
        ):
            raise AppError(
                code="PROJECT_CODE_TAKEN",
                message="该项目代码已被本平台其他项目使用，请核对省平台项目代码。",
                kind=ErrorKind.CONFLICT,
                details={"provincial_code": code},
            )
        changed = replace(current, provincial_code=code, updated_at=deps.now())
        stored = await _save_at_version(tx.session, changed, read=current, expected=expected_version)
        await _audit_declaration(
            tx.session,
            principal.username,
            "declaration.provincial_code_recorded",
            stored,
            from_state=current.status,
            citations=checks.provincial_code_citations(deps.pack_for(tenant)),
            details={"provincial_code": code, "previous": current.provincial_code, "version": stored.version},
        )
        await tx.commit()
    return stored


# --- declarations: reading ----------------------------------------------------------------------


async def get_declaration(*, deps: IntakeDeps, principal: Principal, declaration_id: str) -> Declaration:
    """One declaration the caller may see (404 otherwise, also across tenants and units)."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await _load_visible(tx.session, principal, declaration_id)


@dataclass(frozen=True)
class Page:
    """A page of declarations."""

    items: list[Declaration]
    total: int
    next_page_token: str


def _offset(page_token: str) -> int:
    if not page_token:
        return 0
    try:
        offset = int(page_token)
    except ValueError:
        offset = -1
    if offset < 0:
        raise AppError(
            code="VALIDATION_FAILED",
            message="提交的内容有误，请按提示修改后重试。",
            kind=ErrorKind.INVALID,
            details={"fields": [{"field": "page_token", "message": "分页标记无效"}]},
        )
    return offset


async def list_declarations(
    *,
    deps: IntakeDeps,
    principal: Principal,
    where: DeclarationFilter,
    page_size: int = DEFAULT_PAGE_SIZE,
    page_token: str = "",
) -> Page:
    """Declarations the caller may see (a unit: its own org's only), newest first, paged."""
    tenant = _require_tenant(principal)
    if where.project_code is not None:
        parse_project_code(where.project_code)
    if not rules.reads_whole_tenant(principal):
        if principal.org is None or (where.org_id is not None and where.org_id != principal.org):
            return Page(items=[], total=0, next_page_token="")
        where = replace(where, org_id=principal.org)
    size = max(1, min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))
    offset = _offset(page_token)
    async with deps.uow(tenant_id=tenant) as tx:
        items, total = await repository.list_declarations(tx.session, where, limit=size, offset=offset)
    following = offset + len(items)
    return Page(items=items, total=total, next_page_token=str(following) if following < total else "")


# --- effects of review events -------------------------------------------------------------------


def _event_declaration_id(envelope: Envelope) -> str | None:
    value = envelope.payload.get("declaration_id")
    if not isinstance(value, str):
        return None
    try:
        uuid.UUID(value)
    except ValueError:
        return None
    return value


def _event_citations(envelope: Envelope) -> list[str]:
    out = []
    for item in envelope.payload.get("citations") or []:
        ref = item.get("ref") if isinstance(item, dict) else item
        if isinstance(ref, str) and ref:
            out.append(ref)
    return out


async def apply_review_event(session: AsyncSession, envelope: Envelope) -> None:
    """A review event → the declaration's status (runs in the consumer's transaction, with its inbox row).

    ``review.returned`` → returned (the applicant may edit; the unit head resubmits);
    ``review.rejected`` → rejected; ``plan.decided`` with outcome ``in_plan`` → in_plan. Any review
    event about the declaration closes withdrawal (review has started). Events about unknown
    declarations or in states that no longer fit are audited as ignored, never retried forever.
    """
    declaration_id = _event_declaration_id(envelope)
    if declaration_id is None:
        return
    current = await repository.get(session, declaration_id, for_update=True)
    if current is None:
        return
    at = datetime.now(UTC)
    payload = envelope.payload
    kind = envelope.type.rsplit(".", 2)[-2:]
    reason = str(payload.get("reason", ""))
    returned = kind == ["review", "returned"] or (
        kind == ["plan", "decided"] and payload.get("outcome") == "returned"
    )
    rejected = kind == ["review", "rejected"] or (
        kind == ["plan", "decided"] and payload.get("outcome") == "rejected"
    )
    target: DeclarationStatus | None
    changed: Declaration | None
    if returned:
        target = DeclarationStatus.RETURNED
        stage = str(payload.get("stage") or ("plan" if kind == ["plan", "decided"] else ""))
        items = tuple(str(i) for i in payload.get("items") or [])
        changed = rules.mark_returned(current, stage=stage, items=items, reason=reason, at=at)
    elif rejected:
        target = DeclarationStatus.REJECTED
        changed = rules.mark_rejected(current, reason=reason, at=at)
    elif kind == ["plan", "decided"] and payload.get("outcome") == "in_plan":
        target = DeclarationStatus.IN_PLAN
        changed = rules.mark_in_plan(current, at=at)
    else:
        target = None
        changed = rules.mark_review_started(current, at=at)
    details = {"event_id": envelope.id, "event_type": envelope.type}
    if changed is None:
        if returned and current.status is DeclarationStatus.IN_PLAN:
            # The approval application went back for correction (in review); the project stays in
            # the plan, and its history says why the approval takes longer.
            await _audit_declaration(
                session,
                SYSTEM_ACTOR,
                "declaration.approval_returned",
                current,
                from_state=current.status,
                citations=_event_citations(envelope),
                details={**details, "stage": str(payload.get("stage") or ""), "reason": reason},
            )
        elif target is not None and current.status is not target:
            # e.g. a return for a declaration withdrawn meanwhile: kept in the audit, not retried.
            await _audit_declaration(
                session,
                SYSTEM_ACTOR,
                "declaration.review_event_ignored",
                current,
                from_state=current.status,
                citations=_event_citations(envelope),
                details={**details, "reason": "状态不适用该审查结果"},
            )
        return
    stored = await repository.save_from_event(session, changed)
    # Only the flag flipped: review has started, so withdrawal is closed from now on.
    action = (
        "declaration.review_started"
        if stored.status is current.status
        else f"declaration.{stored.status.value}"
    )
    await _audit_declaration(
        session,
        SYSTEM_ACTOR,
        action,
        stored,
        from_state=current.status,
        citations=_event_citations(envelope),
        details={
            **details,
            "reason": stored.return_reason,
            "stage": stored.return_stage,
            "items": list(stored.return_items),
            "case_id": payload.get("case_id"),
        },
    )


# --- materials ----------------------------------------------------------------------------------


def _store(deps: IntakeDeps) -> ObjectStore:
    if deps.store is None:
        raise AppError(
            code="OBJECT_STORE_UNAVAILABLE",
            message="文件存储服务未配置，暂不能上传或下载材料，请联系系统管理员。",
            kind=ErrorKind.UNAVAILABLE,
        )
    return deps.store


async def upload_material(
    *,
    deps: IntakeDeps,
    principal: Principal,
    declaration_id: str,
    doc_type: str,
    filename: str,
    content_type: str,
    data: bytes,
) -> Material:
    """Store an uploaded file of an editable declaration (type and size checked, SHA-256 kept)."""
    tenant = _require_tenant(principal)
    check_doc_type(doc_type)
    checked = validate_upload(
        filename,
        content_type,
        len(data),
        max_bytes=deps.max_upload_bytes,
        allowed_types=deps.allowed_upload_types,
        data=data,
    )
    store = _store(deps)
    material_id = str(uuid.uuid4())
    key: str | None = None
    try:
        async with deps.uow(tenant_id=tenant) as tx:
            current = await _load_visible(tx.session, principal, declaration_id, for_update=True)
            rules.ensure_can_edit(principal, current)
            digest = hashlib.sha256(data).hexdigest()
            key = storage_key(
                tenant_id=tenant, declaration_id=current.id, material_id=material_id, sha256=digest
            )
            stored = await store.put(key, data, content_type=checked.content_type)
            material = Material(
                id=material_id,
                tenant_id=tenant,
                declaration_id=current.id,
                org_id=current.org_id,
                doc_type=doc_type,
                filename=checked.filename,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
                uploaded_by=principal.username,
                uploaded_at=deps.now(),
            )
            await repository.add_material(tx.session, material)
            await _audit(
                tx.session,
                tenant_id=tenant,
                actor=principal.username,
                action="material.uploaded",
                entity_type="declaration",
                entity_id=current.id,
                from_state=current.status.value,
                to_state=current.status.value,
                details={
                    "material_id": material.id,
                    "doc_type": doc_type,
                    "filename": material.filename,
                    "size": material.size,
                    "sha256": material.sha256,
                },
            )
            await tx.commit()
    except BaseException:
        if key is not None:
            await store.delete(key)  # the row never committed: no orphan bytes
        raise
    return material


@dataclass(frozen=True)
class MaterialList:
    """A declaration's materials and what the pack still requires."""

    materials: list[Material]
    required: tuple[str, ...]
    alternatives: tuple[tuple[str, ...], ...]
    missing: list[str]
    missing_one_of: list[list[str]]
    citations: tuple[str, ...]


async def list_materials(*, deps: IntakeDeps, principal: Principal, declaration_id: str) -> MaterialList:
    """The materials of a declaration the caller may see, with the pack's required documents."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        current = await _load_visible(tx.session, principal, declaration_id)
        items = await repository.list_materials(tx.session, current.id)
        docs = checks.required_documents(deps.pack_for(tenant), await _facts(tx.session, current))
    missing, groups = docs.missing({m.doc_type for m in items})
    return MaterialList(
        materials=items,
        required=docs.required,
        alternatives=docs.alternatives,
        missing=missing,
        missing_one_of=groups,
        citations=docs.citations,
    )


async def _visible_material(
    session: AsyncSession,
    principal: Principal,
    declaration_id: str,
    material_id: str,
    *,
    for_update: bool = False,
) -> tuple[Declaration, Material]:
    current = await _load_visible(session, principal, declaration_id, for_update=for_update)
    _valid_uuid(material_id, "material", "材料")
    material = await repository.get_material(session, current.id, material_id)
    if material is None:
        raise not_found("material", material_id, label_zh="材料")
    return current, material


async def download_material(
    *, deps: IntakeDeps, principal: Principal, declaration_id: str, material_id: str
) -> tuple[Material, bytes]:
    """A material's record and bytes (for whoever may see the declaration)."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        _, material = await _visible_material(tx.session, principal, declaration_id, material_id)
    return material, await _store(deps).get(material.storage_key)


async def delete_material(
    *, deps: IntakeDeps, principal: Principal, declaration_id: str, material_id: str
) -> None:
    """Remove a material from an editable declaration (its bytes after the commit)."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        current, material = await _visible_material(
            tx.session, principal, declaration_id, material_id, for_update=True
        )
        rules.ensure_can_edit(principal, current)
        await repository.delete_material(tx.session, material.id)
        await _audit(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="material.deleted",
            entity_type="declaration",
            entity_id=current.id,
            from_state=current.status.value,
            to_state=current.status.value,
            details={"material_id": material.id, "filename": material.filename, "sha256": material.sha256},
        )
        await tx.commit()
    if deps.store is not None:
        await deps.store.delete(material.storage_key)


# --- tenants and orgs ---------------------------------------------------------------------------


async def list_tenants(*, deps: IntakeDeps, principal: Principal) -> list[TenantRecord]:
    """The caller's tenant record (tenants are isolated from each other)."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_tenants(tx.session)


def _registry_conflict(what: str, label_zh: str, ident: str) -> AppError:
    return AppError(
        code=f"{what.upper()}_EXISTS",
        message=f"该{label_zh}已存在，请刷新后按修改办理。",
        kind=ErrorKind.CONFLICT,
        details={"id": ident},
    )


async def upsert_tenant(
    *, deps: IntakeDeps, principal: Principal, record: TenantRecord, expected_version: int
) -> TenantRecord:
    """The tenant administrator registers (version 0) or changes their tenant's record."""
    tenant = _require_tenant(principal)
    org_rules.ensure_registry_admin(principal, record.id)
    org_rules.validate_tenant(record)
    async with deps.uow(tenant_id=tenant) as tx:
        before = await repository.get_tenant(tx.session, tenant)
        try:
            stored = await repository.upsert_tenant(
                tx.session, record, expected_version=expected_version, at=deps.now()
            )
        except IntegrityError:
            # Another tenant, invisible here under RLS, has the code: the unique index says so.
            raise _registry_conflict("region_code", "行政区划代码", record.region_code) from None
        if stored is None:
            if expected_version == 0:
                raise _registry_conflict("tenant", "地区", record.id)
            raise stale_version("tenant", expected=expected_version, label_zh="地区")
        await _audit(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="tenant.registered" if before is None else "tenant.updated",
            entity_type="tenant",
            entity_id=tenant,
            from_state=None,
            to_state=None,
            details={
                "name": stored.name,
                "region_code": stored.region_code,
                "level": stored.level.value,
                "previous_region_code": before.region_code if before else None,
            },
        )
        await tx.commit()
    return stored


async def list_orgs(*, deps: IntakeDeps, principal: Principal, org_type: OrgType | None = None) -> list[Org]:
    """The orgs of the caller's tenant."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_orgs(tx.session, org_type=org_type)


async def upsert_org(*, deps: IntakeDeps, principal: Principal, org: Org, expected_version: int) -> Org:
    """The tenant administrator adds (version 0) or changes an org of their tenant."""
    tenant = _require_tenant(principal)
    org_rules.ensure_registry_admin(principal, org.tenant_id)
    org_rules.validate_org(org)
    async with deps.uow(tenant_id=tenant) as tx:
        before = await repository.get_org(tx.session, org.id)
        stored = await repository.upsert_org(
            tx.session, org, expected_version=expected_version, at=deps.now()
        )
        if stored is None:
            if expected_version == 0:
                raise _registry_conflict("org", "单位", org.id)
            if before is None:
                raise not_found("org", org.id, label_zh="单位")
            raise stale_version("org", expected=expected_version, label_zh="单位")
        await _audit(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="org.registered" if before is None else "org.updated",
            entity_type="org",
            entity_id=stored.id,
            from_state="active" if before is not None and before.active else None,
            to_state="active" if stored.active else "inactive",
            details={
                "name": stored.name,
                "org_type": stored.org_type.value,
                "budget_units": stored.budget_units,
                "dept_code": stored.dept_code,
            },
        )
        await tx.commit()
    return stored


@dataclass(frozen=True)
class SeedOrg:
    """An org as the dev seed file gives it."""

    id: str
    name: str
    org_type: OrgType
    budget_units: int
    dept_code: str


@dataclass(frozen=True)
class SeedTenant:
    """A tenant and its orgs as the dev seed file gives them."""

    id: str
    name: str
    region_code: str
    level: TenantLevel
    parent_id: str | None
    orgs: tuple[SeedOrg, ...]


async def seed_registry(*, deps: IntakeDeps, tenants: Sequence[SeedTenant]) -> int:
    """Load the dev seed: tenants and orgs that are missing are added; existing ones are left alone.

    Returns how many records were added. Idempotent, so every `make dev` start may run it.
    """
    added = 0
    now = deps.now()
    for seed in tenants:
        async with deps.uow(tenant_id=seed.id) as tx:
            record = TenantRecord(
                id=seed.id,
                name=seed.name,
                region_code=seed.region_code,
                level=seed.level,
                parent_id=seed.parent_id,
                version=0,
            )
            org_rules.validate_tenant(record)
            if await repository.upsert_tenant(tx.session, record, expected_version=0, at=now) is not None:
                added += 1
                await _audit(
                    tx.session,
                    tenant_id=seed.id,
                    actor=SYSTEM_ACTOR,
                    action="tenant.seeded",
                    entity_type="tenant",
                    entity_id=seed.id,
                    from_state=None,
                    to_state=None,
                    details={"region_code": seed.region_code},
                )
            for o in seed.orgs:
                org = org_rules.validate_org(
                    Org(
                        tenant_id=seed.id,
                        id=o.id,
                        name=o.name,
                        org_type=o.org_type,
                        budget_units=o.budget_units,
                        dept_code=o.dept_code,
                        active=True,
                        version=0,
                    )
                )
                if await repository.upsert_org(tx.session, org, expected_version=0, at=now) is not None:
                    added += 1
                    await _audit(
                        tx.session,
                        tenant_id=seed.id,
                        actor=SYSTEM_ACTOR,
                        action="org.seeded",
                        entity_type="org",
                        entity_id=o.id,
                        from_state=None,
                        to_state="active",
                        details={"org_type": o.org_type.value, "dept_code": o.dept_code},
                    )
            await tx.commit()
    return added


# --- annual calls -------------------------------------------------------------------------------


async def open_call(
    *,
    deps: IntakeDeps,
    principal: Principal,
    target_year: int,
    deadline: date | None,
    title: str = "",
    notes: str = "",
) -> AnnualCall:
    """The bureau opens the annual call for ``target_year``; the window comes from the pack."""
    tenant = call_rules.ensure_call_opener(principal)
    today = deps.today()
    pack = deps.pack_for(tenant, today)
    terms = call_rules.call_terms(pack, target_year=target_year, today=today, announced=deadline)
    call = AnnualCall(
        id=str(uuid.uuid4()),
        tenant_id=tenant,
        target_year=target_year,
        status=CallStatus.OPEN,
        opens_on=today,
        deadline=terms.deadline,
        deadline_source=terms.deadline_source,
        late_route=terms.late_route,
        title=title.strip() or f"{target_year}年度政务信息化项目计划征集",
        notes=notes.strip(),
        opened_by=principal.username,
        opened_at=deps.now(),
        citations=terms.citations,
        version=1,
    )
    async with deps.uow(tenant_id=tenant) as tx:
        stored = await repository.add_call(tx.session, call)
        if stored is None:
            raise AppError(
                code="CALL_EXISTS",
                message=f"{target_year} 年度的计划征集已经发布。",
                kind=ErrorKind.CONFLICT,
                details={"target_year": target_year},
            )
        await _audit(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="call.opened",
            entity_type="annual_call",
            entity_id=stored.id,
            from_state=None,
            to_state=stored.status.value,
            citations=stored.citations,
            details={
                "target_year": target_year,
                "deadline": stored.deadline.isoformat() if stored.deadline else None,
                "deadline_source": stored.deadline_source,
                "late_route": stored.late_route.value,
            },
        )
        await tx.commit()
    return stored


async def get_call(*, deps: IntakeDeps, principal: Principal, call_id: str) -> AnnualCall:
    """One call of the caller's tenant."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await _call_of(tx.session, call_id)


async def list_calls(
    *,
    deps: IntakeDeps,
    principal: Principal,
    target_year: int | None = None,
    status: CallStatus | None = None,
) -> list[AnnualCall]:
    """The calls of the caller's tenant, latest year first."""
    tenant = _require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_calls(tx.session, target_year=target_year, status=status)


async def close_call(
    *, deps: IntakeDeps, principal: Principal, call_id: str, expected_version: int
) -> AnnualCall:
    """The bureau closes a call (no more declarations into it)."""
    tenant = call_rules.ensure_call_opener(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        current = await _call_of(tx.session, call_id)
        closed = call_rules.close(current)
        stored = await repository.save_call(tx.session, closed, expected_version=expected_version)
        if stored is None:
            raise stale_version("call", expected=expected_version, label_zh="年度计划征集")
        await _audit(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="call.closed",
            entity_type="annual_call",
            entity_id=stored.id,
            from_state=current.status.value,
            to_state=stored.status.value,
            citations=stored.citations,
            details={"target_year": stored.target_year},
        )
        await tx.commit()
    return stored


# --- registered existing systems ----------------------------------------------------------------


async def upsert_system(
    *, deps: IntakeDeps, principal: Principal, system: ExistingSystem, expected_version: int
) -> ExistingSystem:
    """The bureau or tenant administrator registers (version 0) or changes an existing system."""
    tenant = org_rules.ensure_system_registrar(principal)
    now = deps.now()
    async with deps.uow(tenant_id=tenant) as tx:
        await _org_of(tx.session, system.org_id)
        # Screening numbers are handed out in commit order under this lock (see screening_index).
        await repository.lock_submissions(tx.session, tenant)
        if expected_version == 0:
            candidate = replace(system, id=str(uuid.uuid4()), tenant_id=tenant, version=1, updated_at=now)
            org_rules.validate_system(candidate, this_year=deps.today().year)
            stored = await repository.add_system(tx.session, candidate, created_by=principal.username)
            before = None
        else:
            _valid_uuid(system.id, "existing_system", "已建系统")
            before = await repository.get_system(tx.session, system.id)
            if before is None:
                raise not_found("existing_system", system.id, label_zh="已建系统")
            candidate = replace(system, tenant_id=tenant, updated_at=now)
            org_rules.validate_system(candidate, this_year=deps.today().year)
            saved = await repository.save_system(tx.session, candidate, expected_version=expected_version)
            if saved is None:
                raise stale_version("existing_system", expected=expected_version, label_zh="已建系统")
            stored = saved
        await _audit(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="existing_system.registered" if before is None else "existing_system.updated",
            entity_type="existing_system",
            entity_id=stored.id,
            from_state=before.status.value if before else None,
            to_state=stored.status.value,
            details={"name": stored.name, "org_id": stored.org_id},
        )
        await tx.commit()
    return stored


async def list_systems(
    *, deps: IntakeDeps, principal: Principal, org_id: str | None = None, include_retired: bool = False
) -> list[ExistingSystem]:
    """Registered systems of the caller's tenant (a unit sees its own org's)."""
    tenant = _require_tenant(principal)
    if not rules.reads_whole_tenant(principal) and not principal.has_role(*org_rules.SYSTEM_REGISTRARS):
        if principal.org is None or (org_id is not None and org_id != principal.org):
            return []
        org_id = principal.org
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_systems(tx.session, org_id=org_id, include_retired=include_retired)


__all__ = [
    "DECLARATION_RESUBMITTED",
    "DECLARATION_SUBMITTED",
    "DECLARATION_WITHDRAWN",
    "DeclarationFields",
    "IntakeDeps",
    "MaterialList",
    "Page",
    "SeedOrg",
    "SeedTenant",
    "SystemStatus",
]
