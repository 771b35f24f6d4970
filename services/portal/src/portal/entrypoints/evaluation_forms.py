"""The back half's evaluation forms (zh-CN): 绩效自评 and the bureau's evaluations, 运维经费申请,
整改通知, 失信名单. Each write is one of evaluation's gRPC calls as the user.

The pattern is the front half's (entrypoints.pages): the CSRF token checked, a refused form shown
again with what was typed and each message beside its field, a redirect with ?saved= on success.
Who may act is evaluation's to decide; the pages offer each form to the roles it accepts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile

from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from govproj.evaluation.v1 import evaluation_pb2
from govproj.intake.v1 import intake_pb2
from portal import service
from portal.adapters.backend import Backend
from portal.adapters.sessions import PortalSession
from portal.domain import evaluation_forms as spec
from portal.domain.forms import FormErrors, form_values, lines, parse_amount, parse_int
from portal.domain.formspec import Field, names
from portal.entrypoints.auth import CurrentSession
from portal.entrypoints.pages import BackendDep, TemplatesDep, form_page, read_form, render

router = APIRouter()
# Projects offered in the order form's select (the portfolio's first page of the user's projects).
_PROJECT_CHOICES = 200


def _labels() -> dict[str, Any]:
    """The Chinese labels the evaluation templates use."""
    return {
        "KIND_ZH": spec.EVALUATION_KIND_ZH,
        "EVAL_STATUS_ZH": spec.EVALUATION_STATUS_ZH,
        "OM_OUTCOME_ZH": spec.OM_OUTCOME_ZH,
        "ORDER_STATUS_ZH": spec.ORDER_STATUS_ZH,
        "ORDER_STAGE_ZH": spec.ORDER_STAGE_ZH,
        "SUBJECT_KIND_ZH": spec.SUBJECT_KIND_ZH,
        "SCOPE_ZH": spec.SCOPE_ZH,
        "WINDOW_STATE_ZH": spec.WINDOW_STATE_ZH,
    }


async def _call(backend: Backend, session: PortalSession, method: Any, request: Any) -> Any:
    return await backend.call("evaluation", method, request, token=session.access_token)


def _refused(err: AppError, **kw: Any) -> FormErrors:
    """The refusal placed on the form; a service that is down stays the 503 page."""
    if err.kind is ErrorKind.UNAVAILABLE:
        raise err
    return spec.place_errors(err, **kw)


async def _project(backend: Backend, session: PortalSession, declaration_id: str) -> dict[str, Any]:
    """The portfolio's row of a project (its name, org, acceptance and self-evaluation window)."""
    got = await _call(
        backend,
        session,
        backend.portfolio.GetProject,
        evaluation_pb2.GetProjectRequest(declaration_id=declaration_id),
    )
    return service.as_dict(got.project)


# ------------------------------------------------------------------------------------------------
# 绩效评价: start (self / key / application / third-party), score, result
# ------------------------------------------------------------------------------------------------


def _kind(raw: str) -> str:
    return raw if raw in spec.EVALUATION_KIND_ZH else "self"


def _start_fields(kind: str) -> tuple[Field, ...]:
    return spec.START_THIRD_PARTY if kind == "third_party" else ()


def _start_intro(kind: str, project: dict[str, Any]) -> str:
    if kind == "self":
        window = ""
        if project.get("self_evaluation_opens_on"):
            window = (
                f"按管理办法，绩效自评在 {project['self_evaluation_opens_on']} 至 "
                f"{project.get('self_evaluation_closes_on') or '—'} 期间开展。"
            )
        accepted = project.get("accepted_on") or "—"
        return f"项目于 {accepted} 通过竣工验收。{window}开始后逐项填写指标并上传佐证材料。"
    return "开始后按指标逐项评分并上传评价报告；开展期限按管理办法计算。"


@router.get("/projects/{declaration_id}/evaluations/new", response_class=HTMLResponse)
async def start_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
    kind: str = "self",
) -> Response:
    """开展绩效评价 (the unit's self-evaluation, or the bureau's key / third-party evaluation)."""
    chosen = _kind(kind)
    project = await _project(backend, session, declaration_id)
    return form_page(
        templates,
        request,
        session,
        title=f"{spec.EVALUATION_KIND_ZH[chosen]} — {project['name']}",
        fields=_start_fields(chosen),
        action=f"/projects/{declaration_id}/evaluations/new?kind={chosen}",
        back=f"/projects/{declaration_id}",
        intro=_start_intro(chosen, project),
    )


@router.post("/projects/{declaration_id}/evaluations/new", response_class=HTMLResponse)
async def start(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
    kind: str = "self",
) -> Response:
    """StartEvaluation; refused outside the pack's window (with its article) and shown again."""
    form = await read_form(request, session)
    chosen = _kind(kind)
    values = form_values(form)
    fields = _start_fields(chosen)
    try:
        started = await _call(
            backend,
            session,
            backend.evaluations.StartEvaluation,
            evaluation_pb2.StartEvaluationRequest(
                declaration_id=declaration_id,
                kind=chosen,
                evaluator_org=values.get("evaluator_org", "").strip(),
            ),
        )
    except AppError as err:
        errors = _refused(err, form="start", known_fields=names(fields))
    else:
        return RedirectResponse(f"/evaluations/{started.evaluation.id}/score", status_code=303)
    project = await _project(backend, session, declaration_id)
    return form_page(
        templates,
        request,
        session,
        title=f"{spec.EVALUATION_KIND_ZH[chosen]} — {project['name']}",
        fields=fields,
        action=f"/projects/{declaration_id}/evaluations/new?kind={chosen}",
        values=values,
        errors=errors,
        back=f"/projects/{declaration_id}",
        intro=_start_intro(chosen, project),
    )


def _kind_zh(evaluation: dict[str, Any]) -> str:
    return spec.EVALUATION_KIND_ZH.get(evaluation["kind"], "绩效评价")


async def _evaluation(backend: Backend, session: PortalSession, evaluation_id: str) -> dict[str, Any]:
    got = await _call(
        backend,
        session,
        backend.evaluations.GetEvaluation,
        evaluation_pb2.GetEvaluationRequest(id=evaluation_id),
    )
    return service.as_dict(got.evaluation)


async def _goals(backend: Backend, session: PortalSession, declaration_id: str) -> str:
    """The declaration's performance goals (the targets of own indicators); empty when intake does
    not show the declaration to this user (evaluation then applies the same default)."""
    try:
        got = await backend.call(
            "intake",
            backend.declarations.GetDeclaration,
            intake_pb2.GetDeclarationRequest(id=declaration_id),
            token=session.access_token,
        )
    except AppError as err:
        if err.kind is ErrorKind.UNAVAILABLE:
            raise
        return ""
    return str(got.declaration.performance_goals)


async def _rows(
    backend: Backend, session: PortalSession, evaluation: dict[str, Any]
) -> tuple[spec.IndicatorRow, ...]:
    sheet = evaluation.get("sheet") or []
    goals = "" if sheet else await _goals(backend, session, evaluation["declaration_id"])
    return spec.indicator_rows(sheet, goals=goals)


def _score_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    *,
    evaluation: dict[str, Any],
    rows: tuple[spec.IndicatorRow, ...],
    values: dict[str, str],
    errors: FormErrors | None = None,
) -> HTMLResponse:
    return render(
        templates,
        request,
        "evaluation_score.html",
        session,
        status_code=422 if errors else 200,
        title=f"{_kind_zh(evaluation)}评分 — {evaluation['project_code']}",
        evaluation=evaluation,
        rows=rows,
        tail=spec.SCORE_TAIL,
        values=values,
        errors=errors or FormErrors(),
        action=f"/evaluations/{evaluation['id']}/score",
        back=f"/projects/{evaluation['declaration_id']}",
        **_labels(),
    )


@router.get("/evaluations/{evaluation_id}/score", response_class=HTMLResponse)
async def score_form(
    request: Request,
    evaluation_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """评分: the pack's indicators (target from the declaration's goals), actual, score, evidence."""
    evaluation = await _evaluation(backend, session, evaluation_id)
    if evaluation["status"] == "completed":
        return RedirectResponse(f"/evaluations/{evaluation_id}", status_code=303)
    rows = await _rows(backend, session, evaluation)
    values = {r.field("target"): r.target for r in rows}
    return _score_page(templates, request, session, evaluation=evaluation, rows=rows, values=values)


async def _upload(
    backend: Backend,
    session: PortalSession,
    evaluation_id: str,
    upload: Any,
    *,
    name: str,
    errors: FormErrors,
) -> str:
    """A chosen file sent to evaluation as evidence; its SHA-256 ('' when none was chosen)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return ""
    data = await upload.read()
    try:
        stored = await _call(
            backend,
            session,
            backend.evaluations.UploadEvidence,
            evaluation_pb2.UploadEvidenceRequest(
                evaluation_id=evaluation_id,
                filename=upload.filename,
                content_type=upload.content_type or "application/octet-stream",
                content=data,
            ),
        )
    except AppError as err:
        if err.kind is ErrorKind.UNAVAILABLE:
            raise
        errors.add(name, err.message)
        return ""
    return str(stored.sha256)


def _indicators(
    rows: tuple[spec.IndicatorRow, ...], values: dict[str, str]
) -> list[evaluation_pb2.Indicator]:
    """What was entered per row; an own row left blank is not an indicator."""
    out = []
    for row in rows:
        entered = {part: values.get(row.field(part), "").strip() for part in ("label", "actual", "score")}
        if row.own and not any(entered.values()):
            continue
        sha = values.get(row.field("evidence_sha"), "")
        out.append(
            evaluation_pb2.Indicator(
                code=row.code,
                label_zh=entered["label"] if row.own else "",
                target=values.get(row.field("target"), "").strip(),
                actual=entered["actual"],
                score=entered["score"],
                evidence_sha256=[sha] if sha else [],
            )
        )
    return out


@router.post("/evaluations/{evaluation_id}/score", response_class=HTMLResponse)
async def score(
    request: Request,
    evaluation_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """UploadEvidence for each chosen file, then CompleteEvaluation (the weighted total and grade are
    evaluation's). Files already uploaded by a refused attempt are kept by their SHA-256."""
    form = await read_form(request, session)
    evaluation = await _evaluation(backend, session, evaluation_id)
    rows = await _rows(backend, session, evaluation)
    values = form_values(form)
    errors = FormErrors()
    for row in rows:
        sha = await _upload(
            backend,
            session,
            evaluation_id,
            form.get(row.field("evidence")),
            name=row.field("evidence"),
            errors=errors,
        )
        if sha:
            values[row.field("evidence_sha")] = sha
    report = await _upload(backend, session, evaluation_id, form.get("report"), name="report", errors=errors)
    if report:
        values["report_sha"] = report
    indicators = _indicators(rows, values)
    if not errors:
        try:
            await _call(
                backend,
                session,
                backend.evaluations.CompleteEvaluation,
                evaluation_pb2.CompleteEvaluationRequest(
                    id=evaluation_id,
                    version=int(evaluation["version"]),
                    indicators=indicators,
                    report_sha256=values.get("report_sha", ""),
                    summary=values.get("summary", "").strip(),
                ),
            )
        except AppError as err:
            errors = _refused(
                err,
                form="score",
                known_fields=names(spec.score_fields(rows)),
                indicator_codes=[i.code for i in indicators],
            )
        else:
            return RedirectResponse(f"/evaluations/{evaluation_id}?saved=1", status_code=303)
    return _score_page(
        templates, request, session, evaluation=evaluation, rows=rows, values=values, errors=errors
    )


@router.get("/evaluations/{evaluation_id}", response_class=HTMLResponse)
async def evaluation_result(
    request: Request,
    evaluation_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """绩效评价结果: every indicator's score, the weighted total and the grade, with the articles."""
    evaluation = await _evaluation(backend, session, evaluation_id)
    return render(
        templates,
        request,
        "evaluation.html",
        session,
        title=f"{_kind_zh(evaluation)}结果 — {evaluation['project_code']}",
        evaluation=evaluation,
        saved=request.query_params.get("saved"),
        **_labels(),
    )


@router.get("/evaluations", response_class=HTMLResponse)
async def evaluations(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """绩效评价: the evaluations the user may see or score (a third-party evaluator's assignments
    among them) and the accepted projects' self-evaluation windows (due, open, missed, done)."""
    listed = await _call(
        backend, session, backend.evaluations.ListEvaluations, evaluation_pb2.ListEvaluationsRequest()
    )
    windows: list[dict[str, Any]] | None = None
    if session.principal.has_role(*spec.ORDER_READERS):
        got = await _call(
            backend,
            session,
            backend.evaluations.ListSelfEvaluations,
            evaluation_pb2.ListSelfEvaluationsRequest(),
        )
        windows = [service.as_dict(w) for w in got.items]
    return render(
        templates,
        request,
        "evaluations.html",
        session,
        title="绩效评价",
        evaluations=[service.as_dict(e) for e in listed.evaluations],
        windows=windows,
        **_labels(),
    )


# ------------------------------------------------------------------------------------------------
# 运维经费申请
# ------------------------------------------------------------------------------------------------


async def _om_fields(backend: Backend, session: PortalSession, declaration_id: str) -> tuple[Field, ...]:
    """The request's inputs; the evaluation report attached is one of the project's completed
    evaluations."""
    listed = await _call(
        backend,
        session,
        backend.evaluations.ListEvaluations,
        evaluation_pb2.ListEvaluationsRequest(declaration_id=declaration_id),
    )
    reports = tuple(
        (
            e.id,
            f"{spec.EVALUATION_KIND_ZH.get(e.kind, e.kind)}"
            f"（{e.completed_on} 完成，{e.total_score} 分，{e.grade}）",
        )
        for e in listed.evaluations
        if e.status == "completed"
    )
    report = Field(
        "evaluation_id",
        "所附绩效评价报告",
        "select",
        (("", "（不附）"), *reports),
        help="管理办法要求附绩效评价报告的，未附将不予安排",
    )
    return (*spec.OM_REQUEST_STATIC, report)


@router.get("/projects/{declaration_id}/om-request", response_class=HTMLResponse)
async def om_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """运维经费申请."""
    project = await _project(backend, session, declaration_id)
    fields = await _om_fields(backend, session, declaration_id)
    latest = next((code for code, _ in reversed(fields[-1].options) if code), "")
    return form_page(
        templates,
        request,
        session,
        title=f"运维经费申请 — {project['name']}",
        fields=fields,
        action=f"/projects/{declaration_id}/om-request",
        values={"evaluation_id": latest},
        back=f"/projects/{declaration_id}",
        intro="提交后按管理办法即时审核：不符合条件的逐条说明理由及所依据的条款。",
    )


@router.post("/projects/{declaration_id}/om-request", response_class=HTMLResponse)
async def file_om_request(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """FileRequest: granted or refused at once; either way the decision page shows why."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    year = parse_int(values.get("budget_year"), name="budget_year", errors=errors)
    amount = parse_amount(values.get("amount"), name="amount", errors=errors)
    fields = await _om_fields(backend, session, declaration_id)
    if not errors:
        try:
            filed = await _call(
                backend,
                session,
                backend.om_funding.FileRequest,
                evaluation_pb2.FileOmRequestRequest(
                    declaration_id=declaration_id,
                    budget_year=year or 0,
                    amount=common_pb2.Money(amount=amount or ""),
                    free_maintenance_ends_on=values.get("free_maintenance_ends_on", ""),
                    data_shared=values.get("data_shared") == "on",
                    in_resource_catalog=values.get("in_resource_catalog") == "on",
                    security_compliant=values.get("security_compliant") == "on",
                    crypto_compliant=values.get("crypto_compliant") == "on",
                    evaluation_id=values.get("evaluation_id", ""),
                ),
            )
        except AppError as err:
            errors = _refused(err, form="om", known_fields=names(fields))
        else:
            return RedirectResponse(f"/om-requests/{filed.request.id}?saved=1", status_code=303)
    project = await _project(backend, session, declaration_id)
    return form_page(
        templates,
        request,
        session,
        title=f"运维经费申请 — {project['name']}",
        fields=fields,
        action=f"/projects/{declaration_id}/om-request",
        values=values,
        errors=errors,
        back=f"/projects/{declaration_id}",
    )


@router.get("/om-requests/{request_id}", response_class=HTMLResponse)
async def om_request(
    request: Request, request_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """运维经费审核结果: granted, or each reason with its article."""
    got = await _call(
        backend, session, backend.om_funding.GetRequest, evaluation_pb2.GetOmRequestRequest(id=request_id)
    )
    found = service.as_dict(got.request)
    return render(
        templates,
        request,
        "om_request.html",
        session,
        title=f"运维经费申请结果 — {found['project_code'] or found['declaration_id']}",
        r=found,
        saved=request.query_params.get("saved"),
        **_labels(),
    )


# ------------------------------------------------------------------------------------------------
# 整改通知
# ------------------------------------------------------------------------------------------------


async def _order_fields(backend: Backend, session: PortalSession) -> tuple[Field, ...]:
    """The order's inputs, the project chosen among the portfolio's projects the user sees."""
    listed = await _call(
        backend,
        session,
        backend.portfolio.ListProjects,
        evaluation_pb2.ListProjectsRequest(limit=_PROJECT_CHOICES),
    )
    choices = tuple(
        (p.declaration_id, f"{p.name}（{p.project_code or '未赋码'}）") for p in listed.projects if p.name
    )
    project = Field("declaration_id", "项目", "select", (("", "（请选择）"), *choices), required=True)
    return (project, *spec.ORDER_STATIC)


async def _orders_page(
    request: Request,
    session: PortalSession,
    backend: Backend,
    templates: Jinja2Templates,
    *,
    values: dict[str, str],
    errors: FormErrors,
    declaration_id: str = "",
    status: str = "",
) -> HTMLResponse:
    listed = await _call(
        backend,
        session,
        backend.rectifications.ListOrders,
        evaluation_pb2.ListOrdersRequest(declaration_id=declaration_id, status=status),
    )
    may_issue = session.principal.has_role(*spec.ORDER_ISSUERS)
    return render(
        templates,
        request,
        "rectifications.html",
        session,
        status_code=422 if errors else 200,
        title="整改通知",
        orders=[service.as_dict(o) for o in listed.orders],
        may_issue=may_issue,
        fields=await _order_fields(backend, session) if may_issue else (),
        values=values,
        errors=errors,
        status=status,
        declaration_id=declaration_id,
        **_labels(),
    )


@router.get("/rectifications", response_class=HTMLResponse)
async def rectifications(
    request: Request,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
    declaration_id: str = "",
    status: str = "",
) -> Response:
    """整改通知: the orders the user may see (units: their own) and, for inspectors, the issue form
    (``?declaration_id=`` filters the list and preselects the project)."""
    chosen = status if status in spec.ORDER_STATUS_ZH else ""
    return await _orders_page(
        request,
        session,
        backend,
        templates,
        values={"declaration_id": declaration_id, "stage": "construction"},
        errors=FormErrors(),
        declaration_id=declaration_id,
        status=chosen,
    )


@router.post("/rectifications", response_class=HTMLResponse)
async def issue_order(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """IssueOrder."""
    form = await read_form(request, session)
    values = form_values(form)
    declaration_id = values.get("declaration_id", "")
    try:
        await _call(
            backend,
            session,
            backend.rectifications.IssueOrder,
            evaluation_pb2.IssueOrderRequest(
                declaration_id=declaration_id,
                stage=values.get("stage", ""),
                owner=values.get("owner", "").strip(),
                items=lines(values.get("items")),
                grounds=values.get("grounds", "").strip(),
                due_on=values.get("due_on", ""),
            ),
        )
    except AppError as err:
        fields = await _order_fields(backend, session)
        errors = _refused(err, form="order", known_fields=names(fields))
    else:
        return RedirectResponse(
            f"/rectifications?declaration_id={quote(declaration_id)}&saved=1", status_code=303
        )
    return await _orders_page(request, session, backend, templates, values=values, errors=errors)


async def _order(
    backend: Backend, session: PortalSession, order_id: str
) -> evaluation_pb2.RectificationOrder:
    got = await _call(
        backend, session, backend.rectifications.GetOrder, evaluation_pb2.GetOrderRequest(id=order_id)
    )
    order: evaluation_pb2.RectificationOrder = got.order
    return order


@router.get("/rectifications/{order_id}/resolve", response_class=HTMLResponse)
async def resolve_form(
    request: Request, order_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """整改销号: the items reported fixed, recorded by the inspector."""
    order = await _order(backend, session, order_id)
    return form_page(
        templates,
        request,
        session,
        title=f"整改销号 — {order.project_code}",
        fields=spec.RESOLVE,
        action=f"/rectifications/{order_id}/resolve",
        back=f"/rectifications?declaration_id={quote(order.declaration_id)}",
        intro=f"整改事项：{'；'.join(order.items)}（责任人 {order.owner}，期限 {order.due_on}）",
        extra={"version": order.version},
    )


@router.post("/rectifications/{order_id}/resolve", response_class=HTMLResponse)
async def resolve(
    request: Request, order_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """ResolveOrder at the version the form was read at (a stale one is refused by evaluation)."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    version = parse_int(str(form.get("version") or ""), name="version", errors=errors)
    order = await _order(backend, session, order_id)
    back = f"/rectifications?declaration_id={quote(order.declaration_id)}"
    if not errors:
        try:
            await _call(
                backend,
                session,
                backend.rectifications.ResolveOrder,
                evaluation_pb2.ResolveOrderRequest(
                    id=order_id, version=version or 0, resolution=values.get("resolution", "").strip()
                ),
            )
        except AppError as err:
            errors = _refused(err, form="resolve", known_fields=names(spec.RESOLVE))
        else:
            return RedirectResponse(f"{back}&saved=1", status_code=303)
    return form_page(
        templates,
        request,
        session,
        title=f"整改销号 — {order.project_code}",
        fields=spec.RESOLVE,
        action=f"/rectifications/{order_id}/resolve",
        values=values,
        errors=errors,
        back=back,
        extra={"version": str(form.get("version") or "")},
    )


# ------------------------------------------------------------------------------------------------
# 失信名单
# ------------------------------------------------------------------------------------------------


async def _discredited_page(
    request: Request,
    session: PortalSession,
    backend: Backend,
    templates: Jinja2Templates,
    *,
    values: dict[str, str],
    errors: FormErrors,
    include_removed: bool = False,
) -> HTMLResponse:
    listed = await _call(
        backend,
        session,
        backend.discredited.ListEntries,
        evaluation_pb2.ListEntriesRequest(include_removed=include_removed),
    )
    return render(
        templates,
        request,
        "discredited.html",
        session,
        status_code=422 if errors else 200,
        title="失信名单",
        entries=[service.as_dict(e) for e in listed.entries],
        may_edit=session.principal.has_role(*spec.LIST_EDITORS),
        fields=spec.DISCREDITED,
        values=values,
        errors=errors,
        include_removed=include_removed,
        **_labels(),
    )


@router.get("/discredited", response_class=HTMLResponse)
async def discredited(
    request: Request,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
    removed: str = "",
) -> Response:
    """失信名单: the tenant's and the platform's listings; the bureau adds and removes."""
    return await _discredited_page(
        request,
        session,
        backend,
        templates,
        values={"scope": "tenant", "subject_kind": "supplier"},
        errors=FormErrors(),
        include_removed=removed == "yes",
    )


@router.post("/discredited", response_class=HTMLResponse)
async def add_entry(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """AddEntry (discredited.changed: review's draws and procurement's filings refuse the subject)."""
    form = await read_form(request, session)
    values = form_values(form)
    try:
        await _call(
            backend,
            session,
            backend.discredited.AddEntry,
            evaluation_pb2.AddEntryRequest(
                scope=values.get("scope", ""),
                subject_kind=values.get("subject_kind", ""),
                credit_code=values.get("credit_code", "").strip(),
                expert_id=values.get("expert_id", "").strip(),
                name=values.get("name", "").strip(),
                grounds=values.get("grounds", "").strip(),
                period_from=values.get("period_from", ""),
                period_until=values.get("period_until", ""),
            ),
        )
    except AppError as err:
        errors = _refused(err, form="discredited", known_fields=names(spec.DISCREDITED))
    else:
        return RedirectResponse("/discredited?saved=1", status_code=303)
    return await _discredited_page(request, session, backend, templates, values=values, errors=errors)


async def _entry(backend: Backend, session: PortalSession, entry_id: str) -> dict[str, Any]:
    """One listing as the list gives it (with its version)."""
    listed = await _call(
        backend,
        session,
        backend.discredited.ListEntries,
        evaluation_pb2.ListEntriesRequest(include_removed=True),
    )
    for entry in listed.entries:
        if entry.id == entry_id:
            return service.as_dict(entry)
    raise AppError(code="ENTRY_NOT_FOUND", message="未找到该失信名单记录。", kind=ErrorKind.NOT_FOUND)


def _remove_intro(entry: dict[str, Any]) -> str:
    kind = spec.SUBJECT_KIND_ZH.get(entry["subject_kind"], entry["subject_kind"])
    return f"{kind} {entry['name']}（{entry['credit_code'] or entry['expert_id']}）：{entry['grounds']}"


@router.get("/discredited/{entry_id}/remove", response_class=HTMLResponse)
async def remove_form(
    request: Request, entry_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """移出失信名单."""
    entry = await _entry(backend, session, entry_id)
    return form_page(
        templates,
        request,
        session,
        title=f"移出失信名单 — {entry['name']}",
        fields=spec.REMOVE,
        action=f"/discredited/{entry_id}/remove",
        back="/discredited",
        intro=_remove_intro(entry),
        extra={"version": entry["version"]},
    )


@router.post("/discredited/{entry_id}/remove", response_class=HTMLResponse)
async def remove_entry(
    request: Request, entry_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """RemoveEntry at the version read."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    version = parse_int(str(form.get("version") or ""), name="version", errors=errors)
    if not errors:
        try:
            await _call(
                backend,
                session,
                backend.discredited.RemoveEntry,
                evaluation_pb2.RemoveEntryRequest(
                    id=entry_id, version=version or 0, reason=values.get("reason", "").strip()
                ),
            )
        except AppError as err:
            errors = _refused(err, form="remove", known_fields=names(spec.REMOVE))
        else:
            return RedirectResponse("/discredited?saved=1&removed=yes", status_code=303)
    entry = await _entry(backend, session, entry_id)
    return form_page(
        templates,
        request,
        session,
        title=f"移出失信名单 — {entry['name']}",
        fields=spec.REMOVE,
        action=f"/discredited/{entry_id}/remove",
        values=values,
        errors=errors,
        back="/discredited",
        intro=_remove_intro(entry),
        extra={"version": str(form.get("version") or "")},
    )
