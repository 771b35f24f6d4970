"""Evaluations of accepted projects: who may start which kind, the deadlines of the pack, evidence
files in the object store, scoring and ``evaluation.completed``; the self-evaluation lists."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from evaluation.adapters import repository
from evaluation.domain import evaluation as rules
from evaluation.domain import scoring
from evaluation.domain.evaluation import Evaluation, Kind, Status, Window, WindowState
from evaluation.domain.portfolio import ProjectRow
from evaluation.service import events
from evaluation.service._common import (
    BUREAU,
    EVALUATOR,
    FINANCE,
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
from govkit.errors import AppError, ErrorKind, forbidden, not_found, stale_version
from govkit.objectstore import DOCX, JPEG, OFD, PDF, PNG, XLSX, ZIP, validate_upload
from govkit.policy import Pack
from govkit.policy.evaluate import evaluation_indicators
from govkit.workdays import add_workdays

LABEL = "绩效评价"
EVIDENCE_TYPES = (PDF, DOCX, XLSX, ZIP, PNG, JPEG, OFD)
WEIGHTS = "evaluation_weights"
APPLICATION = "application_evaluation_after_one_year"
POST_EVALUATION = "post_evaluation_third_party"


@dataclass(frozen=True)
class EvaluationStart:
    """What starts an evaluation."""

    declaration_id: str
    kind: Kind
    evaluator_org: str = ""  # third-party: the evaluator organisation


@dataclass(frozen=True)
class WindowRow:
    """A project in the self-evaluation lists."""

    project: ProjectRow
    window: Window | None
    state: WindowState
    # Key projects under a pack with evaluation_start_workdays (lhasa §22): by when the bureau or
    # finance must start its evaluation after the self-evaluation, and whether it has.
    key_evaluation_due_on: date | None = None
    key_evaluation_started: bool = False
    key_evaluation_cite: tuple[str, ...] = ()
    key_evaluation_overdue: bool = False  # the deadline passed and the bureau has not started it


def _project_pack(deps: EvaluationDeps, project: ProjectRow) -> Pack:
    if project.accepted_on is not None:
        found = deps.acceptance_pack(project.tenant_id, project.accepted_on)
        if found is not None:
            return found
    return deps.pack_for(project.tenant_id, project.accepted_on or deps.today())


def _window(deps: EvaluationDeps, pack: Pack, project: ProjectRow) -> Window | None:
    if project.accepted_on is None:
        return None
    req = deps.rule(pack, "self_evaluation_window_months")
    return rules.window(project.accepted_on, req.value, tuple(req.cite))


def indicators_for(deps: EvaluationDeps, pack: Pack) -> tuple[scoring.Indicator, ...]:
    """The pack's indicators with their weights."""
    weights = deps.obligation(pack, WEIGHTS)
    return scoring.indicators_of(evaluation_indicators(pack), (weights or {}).get("params", {}))


async def _load_project(session: Any, declaration_id: str) -> ProjectRow:
    project = await repository.get_project(session, declaration_id)
    if project is None or not project.name:
        raise not_found("project", declaration_id, label_zh="项目")
    return project


def _evaluator_for(principal: Principal, kind: Kind, project: ProjectRow, fields: EvaluationStart) -> str:
    if kind is Kind.SELF:
        require(principal, *UNIT, action="evaluation.self")
        if principal.org != project.org_id:
            raise not_found("project", project.declaration_id, label_zh="项目")
        return project.org_id
    if kind is Kind.THIRD_PARTY:
        require(principal, *BUREAU, action="evaluation.assign_third_party")
        if not fields.evaluator_org:
            raise AppError(
                code="EVALUATOR_ORG_REQUIRED",
                message="请指定承担后评价的第三方机构。",
                kind=ErrorKind.INVALID,
            )
        return fields.evaluator_org
    require(principal, *BUREAU, *FINANCE, action=f"evaluation.{kind.value}")
    return "finance" if principal.has_role(*FINANCE) and not principal.has_role(*BUREAU) else "bureau"


async def start_evaluation(
    *, deps: EvaluationDeps, principal: Principal, fields: EvaluationStart
) -> Evaluation:
    """Start an evaluation under the pack's rules (refused with the article when they forbid it)."""
    tenant = require_tenant(principal)
    today = deps.today()
    async with deps.uow(tenant_id=tenant) as tx:
        project = await _load_project(tx.session, fields.declaration_id)
        evaluator = _evaluator_for(principal, fields.kind, project, fields)
        pack = _project_pack(deps, project)
        existing = await repository.evaluations_of(tx.session, project.declaration_id)
        cite: list[str] = []
        due_on: date | None = None
        late = False
        if project.accepted_on is None:
            raise AppError(
                code="PROJECT_NOT_ACCEPTED",
                message="项目尚未通过竣工验收，不能开展绩效评价。",
                kind=ErrorKind.PRECONDITION,
            )
        if fields.kind is Kind.SELF:
            if any(e.kind is Kind.SELF for e in existing):
                raise AppError(
                    code="SELF_EVALUATION_EXISTS", message="该项目已开展绩效自评。", kind=ErrorKind.CONFLICT
                )
            win = _window(deps, pack, project)
            rules.check_self_evaluation(accepted_on=project.accepted_on, win=win, today=today)
            cite = list(win.cite) if win else []
            due_on = win.closes_on if win else None
        elif fields.kind is Kind.KEY:
            req = deps.rule(pack, "evaluation_start_workdays")
            self_done = [e for e in existing if e.kind is Kind.SELF and e.status is Status.COMPLETED]
            if req.value is not None:
                if not self_done:
                    raise AppError(
                        code="SELF_EVALUATION_MISSING",
                        message="重点项目绩效评价应根据项目建设单位的自评结果开展，该项目尚未完成绩效自评。",
                        kind=ErrorKind.PRECONDITION,
                        cite=list(req.cite),
                    )
                done_on = self_done[0].completed_on or today
                due_on = add_workdays(done_on, int(req.value), deps.calendar).date
                late = today > due_on
                cite = list(req.cite)
        elif fields.kind is Kind.APPLICATION:
            found = deps.obligation(pack, APPLICATION)
            months = int(found["params"]["months"]) if found else None
            cite = list(found["cite"]) if found else []
            rules.check_application_evaluation(
                accepted_on=project.accepted_on,
                key=project.level == "key",
                months=months,
                cite=tuple(cite),
                today=today,
            )
        else:
            found = deps.obligation(pack, POST_EVALUATION)
            cite = list(found["cite"]) if found else []
        evaluation = Evaluation(
            id=new_id(),
            tenant_id=tenant,
            declaration_id=project.declaration_id,
            project_code=project.project_code,
            org_id=project.org_id,
            kind=fields.kind,
            status=Status.STARTED,
            evaluator=evaluator,
            started_on=today,
            pack_id=pack.id,
            cite=tuple(sorted_cite(cite)),
            created_by=principal.username,
            created_at=deps.now(),
            due_on=due_on,
            late=late,
        )
        await repository.add_evaluation(tx.session, evaluation)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="evaluation.started",
            entity_type="evaluation",
            entity_id=evaluation.id,
            from_state=None,
            to_state=evaluation.status.value,
            citations=evaluation.cite,
            details={
                "declaration_id": project.declaration_id,
                "kind": fields.kind.value,
                "evaluator": evaluator,
                "due_on": due_on.isoformat() if due_on else None,
                "late": late,
            },
        )
        await tx.commit()
    return evaluation


def _may_score(principal: Principal, evaluation: Evaluation) -> bool:
    if evaluation.kind is Kind.SELF:
        return principal.has_role(*UNIT) and principal.org == evaluation.org_id
    if evaluation.kind is Kind.THIRD_PARTY:
        return principal.has_role(*EVALUATOR) and evaluation.evaluator in (principal.org, principal.username)
    return principal.has_role(*BUREAU, *FINANCE)


def _may_read(principal: Principal, evaluation: Evaluation) -> bool:
    if _may_score(principal, evaluation):
        return True
    try:
        org = unit_scope(principal)
    except AppError:
        return False
    return org is None or org == evaluation.org_id


async def _visible(
    session: Any, principal: Principal, evaluation_id: str, *, lock: bool = False
) -> Evaluation:
    valid_uuid(evaluation_id, "evaluation", LABEL)
    found = await repository.get_evaluation(session, evaluation_id, lock=lock)
    if found is None or not _may_read(principal, found):
        raise not_found("evaluation", evaluation_id, label_zh=LABEL)
    return found


async def upload_evidence(
    *,
    deps: EvaluationDeps,
    principal: Principal,
    evaluation_id: str,
    filename: str,
    content_type: str,
    data: bytes,
    max_bytes: int,
) -> dict[str, Any]:
    """Store an evidence file (SHA-256 recorded) for an evaluation still being scored."""
    tenant = require_tenant(principal)
    checked = validate_upload(
        filename, content_type, len(data), max_bytes=max_bytes, allowed_types=EVIDENCE_TYPES, data=data
    )
    async with deps.uow(tenant_id=tenant) as tx:
        evaluation = await _visible(tx.session, principal, evaluation_id)
        if not _may_score(principal, evaluation):
            raise forbidden("evaluation.evidence")
        if evaluation.status is Status.COMPLETED:
            raise AppError(
                code="EVALUATION_ALREADY_COMPLETED",
                message="该评价已完成，不能再上传佐证材料。",
                kind=ErrorKind.CONFLICT,
            )
        file_id = new_id()
        stored = await deps.store.put(
            f"{tenant}/evaluations/{evaluation.id}/{file_id}", data, content_type=checked.content_type
        )
        values = {
            "id": file_id,
            "tenant_id": tenant,
            "evaluation_id": evaluation.id,
            "filename": checked.filename,
            "sha256": stored.sha256,
            "size": stored.size,
            "content_type": checked.content_type,
            "object_key": stored.key,
            "uploaded_by": principal.username,
            "uploaded_at": deps.now(),
        }
        await repository.add_evidence(tx.session, values)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="evaluation.evidence_uploaded",
            entity_type="evaluation",
            entity_id=evaluation.id,
            from_state=evaluation.status.value,
            to_state=evaluation.status.value,
            details={"filename": checked.filename, "sha256": stored.sha256, "size": stored.size},
        )
        await tx.commit()
    return values


async def complete_evaluation(
    *,
    deps: EvaluationDeps,
    principal: Principal,
    evaluation_id: str,
    expected_version: int,
    scores: list[scoring.ScoreInput],
    report_sha256: str,
    summary: str,
) -> Evaluation:
    """Score every indicator, compute the weighted total and the grade, publish evaluation.completed."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        evaluation = await _visible(tx.session, principal, evaluation_id, lock=True)
        if not _may_score(principal, evaluation):
            raise forbidden("evaluation.complete")
        if evaluation.version != expected_version:
            raise stale_version("evaluation", expected=expected_version, label_zh=LABEL)
        project = await _load_project(tx.session, evaluation.declaration_id)
        pack = deps.policies.get(evaluation.pack_id)
        files = {f["sha256"] for f in await repository.evidence_of(tx.session, evaluation.id)}
        unknown = sorted({sha for s in scores for sha in s.evidence} - files)
        if report_sha256 and report_sha256 not in files:
            unknown.append(report_sha256)
        if unknown:
            raise AppError(
                code="EVIDENCE_NOT_UPLOADED",
                message="引用的佐证材料尚未上传到本评价。",
                kind=ErrorKind.INVALID,
                details={"sha256": unknown},
            )
        indicators = indicators_for(deps, pack)
        scored = scoring.score(indicators, scores, default_target=project.performance_goals)
        total = scoring.weighted_total(scored)
        grade = scoring.grade(total, deps.grade_bands)
        cite = sorted_cite(evaluation.cite, [c for i in indicators for c in i.cite])
        changed = rules.complete(
            evaluation,
            scores=scored,
            total=total,
            grade=grade,
            on=deps.today(),
            report_sha256=report_sha256,
            summary=summary,
        )
        changed = replace(changed, cite=tuple(cite))
        stored = await repository.save_evaluation(tx.session, changed, expected_version=evaluation.version)
        if stored is None:
            raise stale_version("evaluation", expected=expected_version, label_zh=LABEL)
        await audit_event(
            tx.session,
            tenant_id=tenant,
            actor=principal.username,
            action="evaluation.completed",
            entity_type="evaluation",
            entity_id=evaluation.id,
            from_state=evaluation.status.value,
            to_state=stored.status.value,
            citations=stored.cite,
            details={"total_score": str(total), "grade": grade, "kind": evaluation.kind.value},
        )
        tx.emit(events.evaluation_completed(stored))
        await tx.commit()
    return stored


async def get_evaluation(*, deps: EvaluationDeps, principal: Principal, evaluation_id: str) -> Evaluation:
    """One evaluation the caller may see."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        return await _visible(tx.session, principal, evaluation_id)


async def scoring_sheet(
    *, deps: EvaluationDeps, principal: Principal, evaluation_id: str
) -> tuple[Evaluation, tuple[scoring.IndicatorScore, ...]]:
    """An evaluation the caller may see and, while it is being scored, what to score: the pack's
    indicators with their weights, each target the declaration's performance goals (the default
    complete_evaluation applies). Empty when the pack lists none or the evaluation is completed."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        evaluation = await _visible(tx.session, principal, evaluation_id)
        if evaluation.status is Status.COMPLETED:
            return evaluation, ()
        project = await _load_project(tx.session, evaluation.declaration_id)
    indicators = indicators_for(deps, deps.policies.get(evaluation.pack_id))
    sheet = tuple(
        scoring.IndicatorScore(
            code=i.code,
            label_zh=i.label_zh,
            weight=i.weight,
            target=project.performance_goals,
            actual="",
            score=Decimal(0),
        )
        for i in indicators
    )
    return evaluation, sheet


async def evidence_list(
    *, deps: EvaluationDeps, principal: Principal, evaluation_id: str
) -> list[dict[str, Any]]:
    """The evidence files of an evaluation."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        evaluation = await _visible(tx.session, principal, evaluation_id)
        return await repository.evidence_of(tx.session, evaluation.id)


async def download_evidence(
    *, deps: EvaluationDeps, principal: Principal, evaluation_id: str, file_id: str
) -> tuple[dict[str, Any], bytes]:
    """An evidence file's record and bytes (whoever may read the evaluation)."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        evaluation = await _visible(tx.session, principal, evaluation_id)
        files = {f["id"]: f for f in await repository.evidence_of(tx.session, evaluation.id)}
    found = files.get(file_id)
    if found is None:
        raise not_found("evidence", file_id, label_zh="佐证材料")
    return found, await deps.store.get(found["object_key"])


async def list_evaluations(
    *, deps: EvaluationDeps, principal: Principal, kind: str | None, declaration_id: str | None
) -> list[Evaluation]:
    """Evaluations the caller may see (evaluators: those assigned to their org)."""
    tenant = require_tenant(principal)
    async with deps.uow(tenant_id=tenant) as tx:
        if declaration_id:
            found = await repository.evaluations_of(tx.session, declaration_id)
        else:
            found = await repository.list_evaluations(tx.session, kind=kind, evaluator=None, org_id=None)
    return [e for e in found if _may_read(principal, e) and (kind is None or e.kind.value == kind)]


async def self_evaluation_lists(
    *, deps: EvaluationDeps, principal: Principal, org_id: str | None
) -> list[WindowRow]:
    """Accepted projects with their window state (due = upcoming, open, missed, done, no window)."""
    tenant = require_tenant(principal)
    scope = unit_scope(principal)
    if scope is not None:
        org_id = scope
    today = deps.today()
    async with deps.uow(tenant_id=tenant) as tx:
        projects = await repository.accepted_projects(tx.session, org_id=org_id)
        evaluations = await repository.list_evaluations(tx.session, kind=None, evaluator=None, org_id=org_id)
    done = {
        e.declaration_id: e.completed_on or today
        for e in evaluations
        if e.kind is Kind.SELF and e.status is Status.COMPLETED
    }
    keyed = {e.declaration_id for e in evaluations if e.kind is Kind.KEY}
    out = []
    for project in projects:
        pack = _project_pack(deps, project)
        win = _window(deps, pack, project)
        state = rules.window_state(win, today=today, self_evaluated=project.declaration_id in done)
        row = WindowRow(project, win, state, key_evaluation_started=project.declaration_id in keyed)
        start = deps.rule(pack, "evaluation_start_workdays")
        if start.value is not None and project.level == "key" and project.declaration_id in done:
            due = add_workdays(done[project.declaration_id], int(start.value), deps.calendar).date
            row = replace(
                row,
                key_evaluation_due_on=due,
                key_evaluation_cite=tuple(start.cite),
                key_evaluation_overdue=today > due and not row.key_evaluation_started,
            )
        out.append(row)
    return out
