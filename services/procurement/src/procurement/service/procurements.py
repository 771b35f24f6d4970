"""Procurements and contract filings: a procurement begins (procurement.started), its contract is
signed (the filing clock runs), its files are uploaded (SHA-256 kept) and the contract is filed
after the pack's checks (contract.filed)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, invalid_field, not_found, stale_version
from govkit.events import Envelope
from govkit.objectstore import DOCX, JPEG, OFD, PDF, PNG, ZIP, validate_upload
from govkit.workdays import add_workdays
from procurement.adapters import repository
from procurement.domain import procurement as rules
from procurement.domain import project as project_rules
from procurement.domain.procurement import (
    DOC_ZH,
    Check,
    ContractTerms,
    DocKind,
    Document,
    Filing,
    FilingContext,
    Method,
    Milestone,
    Procurement,
    ProcurementStatus,
    Role,
)
from procurement.domain.project import Project, ProjectStatus
from procurement.service import events as ev
from procurement.service._common import (
    SYSTEM_ACTOR,
    ProcurementDeps,
    audit_event,
    cite_of,
    ensure_unit,
    load_project,
    new_id,
    require_tenant,
    save_project,
    sorted_cite,
    valid_uuid,
)

LABEL = "采购"
ALLOWED_TYPES = (PDF, OFD, DOCX, ZIP, PNG, JPEG)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


async def load_procurement(
    session: AsyncSession, principal: Principal, procurement_id: str, *, lock: bool = False
) -> tuple[Procurement, Project]:
    """A procurement of a project the caller may see (404 otherwise), and its project."""
    valid_uuid(procurement_id, "procurement", LABEL)
    found = await repository.get_procurement(session, procurement_id, lock=lock)
    if found is None:
        raise not_found("procurement", procurement_id, label_zh=LABEL)
    try:
        project = await load_project(session, principal, found.declaration_id, lock=lock)
    except AppError:
        raise not_found("procurement", procurement_id, label_zh=LABEL) from None
    return found, project


def _check_version(p: Procurement, expected: int | None) -> None:
    if expected is not None and p.version != expected:
        raise stale_version("procurement", expected=expected, label_zh=LABEL)


async def _save(session: AsyncSession, changed: Procurement, *, read: Procurement) -> Procurement:
    stored = await repository.save_procurement(session, changed, expected_version=read.version)
    if stored is None:
        raise stale_version("procurement", expected=read.version, label_zh=LABEL)
    return stored


def filing_rule(deps: ProcurementDeps, project: Project) -> tuple[int | None, list[str]]:
    """The pack's contract_filing_workdays and its articles (None: the pack sets no deadline)."""
    req = deps.requirements(project)["contract_filing_workdays"]
    value = req.value if isinstance(req.value, int) and not isinstance(req.value, bool) else None
    return value, list(req.cite)


def filing_due(deps: ProcurementDeps, project: Project, signed_on: date) -> date:
    """The last day to file a contract signed on ``signed_on`` (signing day itself without a rule)."""
    workdays, _ = filing_rule(deps, project)
    if workdays is None:
        return signed_on
    return add_workdays(signed_on, workdays, deps.calendar).date


# --------------------------------------------------------------------------------------------
# Start, sign, upload
# --------------------------------------------------------------------------------------------


async def begin(
    session: AsyncSession,
    deps: ProcurementDeps,
    *,
    project: Project,
    role: Role,
    method: Method,
    started_on: date,
    title: str,
    actor: str,
    ocid: str = "",
    prefill: dict[str, Any] | None = None,
) -> tuple[Procurement, Project, Envelope | None]:
    """Begin a procurement on a locked project (shared by the unit's request and the OCDS import);
    the project's first procurement gives the procurement.started event to emit."""
    project_rules.ensure_open_for_procurement(project)
    if started_on > deps.today():
        raise invalid_field("started_on", "采购开始日期不能晚于今天")
    active = [p for p in await repository.procurements_of(session, project.declaration_id) if p.role is role]
    if active:
        raise AppError(
            code="PROCUREMENT_EXISTS",
            message=f"该项目已有{rules.ROLE_ZH[role]}的采购，请在原采购中继续办理。",
            kind=ErrorKind.CONFLICT,
            details={"procurement_id": active[0].id},
        )
    lapse = cite_of(deps.obligations(project, "approval_lapses_without_start"))
    cite = sorted_cite(lapse, project.approval_cite)
    procurement = Procurement(
        id=new_id(),
        tenant_id=project.tenant_id,
        declaration_id=project.declaration_id,
        role=role,
        method=method,
        title=title,
        started_on=started_on,
        status=ProcurementStatus.STARTED,
        created_by=actor,
        ocid=ocid,
        prefill=prefill or {},
        cite=tuple(cite),
    )
    await repository.add_procurement(session, procurement)
    first = project.procurement_started_on is None
    stored = await save_project(session, project_rules.started(project, started_on), read=project)
    event = ev.procurement_started(stored, procurement, cite=cite) if first else None
    await audit_event(
        session,
        tenant_id=project.tenant_id,
        actor=actor,
        action="procurement.started",
        entity_type="procurement",
        entity_id=procurement.id,
        from_state=project.status.value,
        to_state=stored.status.value,
        citations=cite,
        details={
            "role": role.value,
            "method": method.value,
            "declaration_id": project.declaration_id,
            "ocid": ocid,
        },
    )
    return procurement, stored, event


async def start_procurement(
    *,
    deps: ProcurementDeps,
    principal: Principal,
    declaration_id: str,
    role: Role,
    method: Method,
    started_on: date | None,
    title: str,
    expected_version: int,
) -> Procurement:
    """The unit begins a procurement; the project's first one emits procurement.started."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        project = await load_project(
            tx.session, principal, declaration_id, lock=True, expected_version=expected_version
        )
        ensure_unit(principal, project)
        procurement, _, event = await begin(
            tx.session,
            deps,
            project=project,
            role=role,
            method=method,
            started_on=started_on or deps.today(),
            title=title,
            actor=principal.username,
        )
        if event is not None:
            tx.emit(event)
        await tx.commit()
    return procurement


async def record_signing(
    *,
    deps: ProcurementDeps,
    principal: Principal,
    procurement_id: str,
    signed_on: date,
    expected_version: int,
) -> Procurement:
    """The contract was signed: the filing deadline (working days) starts running."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        procurement, project = await load_procurement(tx.session, principal, procurement_id, lock=True)
        _check_version(procurement, expected_version)
        ensure_unit(principal, project)
        if signed_on > deps.today():
            raise invalid_field("signed_on", "合同签订日期不能晚于今天")
        if signed_on < procurement.started_on:
            raise invalid_field("signed_on", "合同签订日期不能早于采购开始日期")
        due = filing_due(deps, project, signed_on)
        stored = await _save(
            tx.session, rules.signed(procurement, on=signed_on, due_on=due), read=procurement
        )
        _, cite = filing_rule(deps, project)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="procurement.signed",
            entity_type="procurement",
            entity_id=procurement.id,
            from_state=procurement.status.value,
            to_state=stored.status.value,
            citations=cite,
            details={"signed_on": signed_on.isoformat(), "filing_due_on": due.isoformat()},
        )
        await tx.commit()
    return stored


async def upload_document(
    *,
    deps: ProcurementDeps,
    principal: Principal,
    procurement_id: str,
    kind: DocKind,
    filename: str,
    content_type: str,
    data: bytes,
) -> Document:
    """Store a file of the filing (tender documents, award notice, contract ...) with its SHA-256."""
    tenant = require_tenant(principal)
    checked = validate_upload(
        filename,
        content_type,
        len(data),
        max_bytes=deps.upload_max_bytes,
        allowed_types=ALLOWED_TYPES,
        data=data,
    )
    async with deps.uow(tenant_id=tenant) as tx:
        procurement, project = await load_procurement(tx.session, principal, procurement_id, lock=True)
        ensure_unit(principal, project)
        if procurement.status is ProcurementStatus.FILED:
            raise AppError(
                code="ALREADY_FILED", message="合同已备案，不能再更改备案材料。", kind=ErrorKind.CONFLICT
            )
        doc_id = new_id()
        key = f"procurement/{tenant}/{procurement.id}/{doc_id}{Path(checked.filename).suffix.lower()}"
        stored_object = await deps.store.put(key, data, content_type=checked.content_type)
        document = Document(
            kind=kind,
            filename=checked.filename,
            sha256=stored_object.sha256,
            size=stored_object.size,
            key=stored_object.key,
            content_type=checked.content_type,
            uploaded_at=deps.now(),
        )
        await _save(
            tx.session, replace(procurement, documents=(*procurement.documents, document)), read=procurement
        )
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="procurement.document_uploaded",
            entity_type="procurement",
            entity_id=procurement.id,
            from_state=procurement.status.value,
            to_state=procurement.status.value,
            details={"kind": kind.value, "filename": document.filename, "sha256": document.sha256},
        )
        await tx.commit()
    return document


async def get_procurement(
    *, deps: ProcurementDeps, principal: Principal, procurement_id: str
) -> ProcurementView:
    """A procurement with its filing (if filed) and the files still missing."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        procurement, project = await load_procurement(tx.session, principal, procurement_id)
        filing = await repository.filing_of(tx.session, procurement.id)
    return ProcurementView(procurement, project, filing, rules.missing_documents(procurement))


async def get_document(
    *, deps: ProcurementDeps, principal: Principal, procurement_id: str, sha256: str
) -> tuple[Document, bytes]:
    """A stored file of a procurement, by its SHA-256."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        procurement, _ = await load_procurement(tx.session, principal, procurement_id)
    document = next((d for d in procurement.documents if d.sha256 == sha256), None)
    if document is None:
        raise not_found("document", sha256, label_zh="备案材料")
    return document, await deps.store.get(document.key)


@dataclass(frozen=True)
class ProcurementView:
    """What the API shows of a procurement."""

    procurement: Procurement
    project: Project
    filing: Filing | None
    missing: list[DocKind]


# --------------------------------------------------------------------------------------------
# Filing
# --------------------------------------------------------------------------------------------


async def filing_context(
    session: AsyncSession,
    deps: ProcurementDeps,
    *,
    project: Project,
    role: Role,
    terms: ContractTerms,
    filed_on: date,
) -> tuple[FilingContext, Check | None]:
    """Everything the checks need: the pack's answers for the project and contract, the project's
    other contracts, the discredited list."""
    reqs = deps.requirements(project, contract_amount=terms.amount)
    workdays, filing_cite = filing_rule(deps, project)
    due_on = (
        add_workdays(terms.signed_on, workdays, deps.calendar).date
        if workdays is not None
        else terms.signed_on
    )
    others = [f for f in await repository.filings_of(session, project.declaration_id)]
    construction = [f for f in others if f.role is Role.CONSTRUCTION]
    supervision = [f for f in others if f.role is Role.SUPERVISION]
    testing = [f for f in others if f.role is Role.TESTING]
    warranty = reqs["warranty_min_years"]
    supervision_req = reqs["supervision_required"]
    validity = reqs["approval_validity_months"]
    listed = await repository.discredited_entries(session, terms.supplier_credit_code, on=filed_on)
    discredited_rule = cite_of(deps.obligations(project, "discredited_list"))
    independence = cite_of(deps.obligations(project, "supervisor_independent_and_first")) or list(
        supervision_req.cite
    )
    ctx = FilingContext(
        approved_amount=project.approved_amount,
        approval_valid_at_signing=project_rules.approval_valid_on(project, terms.signed_on),
        approval_cite=tuple(
            sorted_cite(validity.cite, cite_of(deps.obligations(project, "approval_lapses_without_start")))
            or project.approval_cite
        ),
        amount_cite=tuple(
            sorted_cite(
                project.approval_cite,
                cite_of(deps.obligations(project, "investment_within_estimate")),
                cite_of(deps.obligations(project, "build_to_approved_scheme")),
            )
        ),
        other_contracts_total=sum((f.terms.amount for f in construction), Decimal(0)),
        filing_workdays=workdays,
        filing_cite=tuple(filing_cite),
        due_on=due_on,
        filed_on=filed_on,
        warranty_min_years=warranty.value if isinstance(warranty.value, int) else None,
        warranty_cite=tuple(warranty.cite),
        supervision_required=supervision_req.value if isinstance(supervision_req.value, bool) else None,
        supervision_cite=tuple(supervision_req.cite),
        supervisor_credit_codes=tuple(f.terms.supplier_credit_code for f in supervision),
        contractor_credit_codes=tuple(f.terms.supplier_credit_code for f in construction),
        tester_credit_codes=tuple(f.terms.supplier_credit_code for f in testing),
        independence_cite=tuple(independence),
        excluded_parties=tuple(p for p in (project.designer_org,) if p),
        exclusion_cite=tuple(cite_of(deps.obligations(project, "designer_supervisor_tester_excluded"))),
        discredited=bool(listed),
        discredited_cite=tuple(sorted_cite(discredited_rule, *(e["cite"] for e in listed))),
        ip_cite=tuple(cite_of(deps.obligations(project, "contract_states_ip_ownership"))),
        termination_cite=tuple(cite_of(deps.obligations(project, "contract_termination_mechanism"))),
    )
    supervision_check = None
    if role is Role.CONSTRUCTION:
        supervision_check = rules.supervision_check(
            required=ctx.supervision_required,
            filed_supervision=bool(supervision),
            cite=sorted_cite(
                supervision_req.cite, cite_of(deps.obligations(project, "supervisor_enters_with_contractor"))
            ),
        )
    return ctx, supervision_check


async def file_contract(
    *,
    deps: ProcurementDeps,
    principal: Principal,
    procurement_id: str,
    terms: ContractTerms,
    expected_version: int,
    source: str = "manual",
) -> Filing:
    """File the signed contract: every check of the pack, each with its articles; a blocking check
    that fails refuses the filing (422 with all checks), a late filing is accepted and marked."""
    tenant = require_tenant(principal)
    rules.validate_terms(terms)
    async with deps.uow(tenant_id=tenant) as tx:
        procurement, project = await load_procurement(tx.session, principal, procurement_id, lock=True)
        _check_version(procurement, expected_version)
        ensure_unit(principal, project)
        if procurement.status is ProcurementStatus.FILED:
            raise AppError(code="ALREADY_FILED", message="该采购的合同已备案。", kind=ErrorKind.CONFLICT)
        if project.status in (ProjectStatus.TERMINATED, ProjectStatus.EXPIRED):
            raise AppError(
                code="PROJECT_NOT_OPEN",
                message=f"项目当前状态为“{project_rules.STATUS_ZH[project.status]}”，不能备案合同。",
                kind=ErrorKind.PRECONDITION,
            )
        today = deps.today()
        if terms.signed_on > today:
            raise invalid_field("signed_on", "合同签订日期不能晚于今天")
        _, filing_cite = filing_rule(deps, project)
        missing = rules.missing_documents(procurement)
        if missing:
            raise AppError(
                code="FILING_DOCUMENTS_MISSING",
                message="备案材料不全：" + "、".join(DOC_ZH[k] for k in missing) + "。",
                kind=ErrorKind.PRECONDITION,
                details={"missing": [k.value for k in missing]},
                cite=filing_cite,
            )
        ctx, supervision = await filing_context(
            tx.session, deps, project=project, role=procurement.role, terms=terms, filed_on=today
        )
        checks = rules.check_filing(procurement.role, terms, ctx)
        if supervision is not None:
            checks.append(supervision)
        failed = rules.failures(checks)
        if failed:
            raise AppError(
                code="FILING_REFUSED",
                message="合同备案未通过：" + "；".join(c.message for c in failed) + "。",
                kind=ErrorKind.PRECONDITION,
                details={"checks": [c.to_dict() for c in checks]},
                cite=sorted_cite(*(c.cite for c in failed)),
            )
        cite = sorted_cite(*(c.cite for c in checks))
        filing = Filing(
            id=new_id(),
            tenant_id=tenant,
            procurement_id=procurement.id,
            declaration_id=project.declaration_id,
            role=procurement.role,
            method=procurement.method,
            terms=terms,
            filed_on=today,
            filed_at=deps.now(),
            filed_by=principal.username,
            due_on=ctx.due_on,
            overdue=today > ctx.due_on,
            checks=tuple(checks),
            cite=tuple(cite),
            source=source,
        )
        await repository.add_filing(tx.session, filing)
        late_unreported = filing.overdue and procurement.overdue_notified_on is None
        changed = replace(
            procurement,
            status=ProcurementStatus.FILED,
            signed_on=terms.signed_on,
            filing_due_on=ctx.due_on,
            overdue_notified_on=today if late_unreported else procurement.overdue_notified_on,
        )
        await _save(tx.session, changed, read=procurement)
        stored_project = project
        if procurement.role is Role.CONSTRUCTION:
            stored_project = await save_project(
                tx.session, project_rules.construction_filed(project), read=project
            )
        if late_unreported:
            tx.emit(ev.filing_overdue(project, changed, workdays=ctx.filing_workdays or 0, cite=filing_cite))
        tx.emit(ev.contract_filed(stored_project, filing))
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="contract.filed",
            entity_type="filing",
            entity_id=filing.id,
            from_state=procurement.status.value,
            to_state=ProcurementStatus.FILED.value,
            citations=cite,
            details={
                "procurement_id": procurement.id,
                "amount": str(terms.amount),
                "supplier_credit_code": terms.supplier_credit_code,
                "overdue": filing.overdue,
                "due_on": ctx.due_on.isoformat(),
                "checks": [c.to_dict() for c in checks],
                "source": source,
            },
        )
        await tx.commit()
    return filing


async def report_overdue(deps: ProcurementDeps, tenant: str) -> int:
    """The sweep: signed contracts not filed by their deadline → filing.overdue (once each)."""
    today = deps.today()
    async with deps.uow(tenant_id=tenant) as tx:
        due = await repository.overdue_unfiled(tx.session, today=today)
    reported = 0
    for procurement_id in due:
        async with deps.uow(tenant_id=tenant) as tx:
            procurement = await repository.get_procurement(tx.session, procurement_id, lock=True)
            if procurement is None or not rules.overdue_unfiled(procurement, today):
                continue
            project = await repository.get_project(tx.session, procurement.declaration_id)
            if project is None:
                continue
            workdays, cite = filing_rule(deps, project)
            stored = await _save(
                tx.session, replace(procurement, overdue_notified_on=today), read=procurement
            )
            tx.emit(ev.filing_overdue(project, stored, workdays=workdays or 0, cite=cite))
            await audit_event(
                tx.session,
                tenant_id=tenant,
                actor=SYSTEM_ACTOR,
                action="filing.overdue",
                entity_type="procurement",
                entity_id=procurement.id,
                from_state=procurement.status.value,
                to_state=stored.status.value,
                citations=cite,
                details={
                    "due_on": procurement.filing_due_on.isoformat() if procurement.filing_due_on else None
                },
            )
            await tx.commit()
            reported += 1
    return reported


PREFILLED = (
    "contract_no",
    "supplier_name",
    "supplier_credit_code",
    "amount",
    "signed_on",
    "period_start",
    "period_end",
)


def _missing_field(name: str) -> AppError:
    return AppError(
        code="VALIDATION_FAILED",
        message="提交的内容有误，请按提示修改后重试。",
        kind=ErrorKind.INVALID,
        details={"fields": [{"field": name, "message": "请填写（交易中心未提供）"}]},
    )


def merge_terms(
    given: dict[str, Any],
    prefill: dict[str, Any],
    *,
    warranty_months: int,
    ip_clause: str,
    termination_clause: str,
    schedule: tuple[Milestone, ...],
) -> tuple[ContractTerms, bool]:
    """The contract's terms: what the unit gave, else what the trading center's releases filled in
    (the clauses and the warranty always come from the unit). Also says whether a prefill was used."""
    values: dict[str, Any] = {}
    used = False
    for name in PREFILLED:
        value = given.get(name)
        if value in (None, ""):
            value = prefill.get(name)
            used = used or value not in (None, "")
        if value in (None, ""):
            raise _missing_field(name)
        values[name] = value
    try:
        terms = ContractTerms(
            contract_no=str(values["contract_no"]).strip(),
            supplier_name=str(values["supplier_name"]).strip(),
            supplier_credit_code=str(values["supplier_credit_code"]).strip().upper(),
            amount=Decimal(str(values["amount"])),
            signed_on=date.fromisoformat(str(values["signed_on"])),
            period_start=date.fromisoformat(str(values["period_start"])),
            period_end=date.fromisoformat(str(values["period_end"])),
            warranty_months=warranty_months,
            ip_clause=ip_clause.strip(),
            termination_clause=termination_clause.strip(),
            schedule=schedule,
        )
    except (ValueError, ArithmeticError) as exc:
        raise invalid_field("terms", f"合同信息格式不正确：{exc}") from None
    if (
        not terms.amount.is_finite()
        or terms.amount <= 0
        or terms.amount != terms.amount.quantize(Decimal("0.01"))
    ):
        raise invalid_field("amount", "金额必须大于零，最多两位小数")
    if warranty_months < 0:
        raise invalid_field("warranty_months", "质保期不能为负数")
    return terms, used


async def file_with_prefill(
    *,
    deps: ProcurementDeps,
    principal: Principal,
    procurement_id: str,
    given: dict[str, Any],
    warranty_months: int,
    ip_clause: str,
    termination_clause: str,
    schedule: tuple[Milestone, ...],
    expected_version: int,
) -> Filing:
    """File the contract, taking the fields the unit left out from the procurement's prefill."""
    view = await get_procurement(deps=deps, principal=principal, procurement_id=procurement_id)
    terms, used = merge_terms(
        given,
        view.procurement.prefill,
        warranty_months=warranty_months,
        ip_clause=ip_clause,
        termination_clause=termination_clause,
        schedule=schedule,
    )
    return await file_contract(
        deps=deps,
        principal=principal,
        procurement_id=procurement_id,
        terms=terms,
        expected_version=expected_version,
        source="ocds" if used else "manual",
    )
