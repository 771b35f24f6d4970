"""The portal's pages and forms (zh-CN, server-rendered). Each write is one gRPC call as the user.

A refused form is shown again with the values typed and each message next to its field
(domain.forms); a service that is down gives a page that says so (HTTP 503).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from govproj.intake.v1 import intake_pb2
from govproj.review.v1 import approval_pb2, experts_pb2, plan_pb2, review_pb2
from portal import audit_trail, back_half, service
from portal.adapters.backend import Backend
from portal.adapters.sessions import PortalSession
from portal.domain import formspec
from portal.domain.forms import FormErrors, errors_from, form_values, lines, parse_amount, parse_int
from portal.domain.formspec import Field
from portal.entrypoints.auth import AuthDep, CurrentSession, LoginRequired, check_csrf, current_session

router = APIRouter()


async def backend_of(request: Request) -> Backend:
    """The app's gRPC backend."""
    backend: Backend = request.app.state.backend
    return backend


BackendDep = Annotated[Backend, Depends(backend_of)]


async def templates_of(request: Request) -> Jinja2Templates:
    """The app's Jinja2 environment."""
    templates: Jinja2Templates = request.app.state.templates
    return templates


TemplatesDep = Annotated[Jinja2Templates, Depends(templates_of)]


def render(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    session: PortalSession | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page with the signed-in user's navigation."""
    return templates.TemplateResponse(
        request,
        name,
        {"session": session, "user": session.principal if session else None, **context},
        status_code=status_code,
    )


async def read_form(request: Request, session: PortalSession) -> FormData:
    """The submitted form, once its CSRF token is checked."""
    form = await request.form()
    token = form.get("csrf_token")
    check_csrf(session, token if isinstance(token, str) else None)
    return form


def form_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    *,
    title: str,
    fields: tuple[Field, ...],
    action: str,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    back: str = "/",
    intro: str = "",
    extra: dict[str, Any] | None = None,
    template: str = "form.html",
) -> HTMLResponse:
    """A form page (``template``, by default the plain form.html); 422 when it carries the
    service's refusal."""
    return render(
        templates,
        request,
        template,
        session,
        status_code=422 if errors else 200,
        title=title,
        fields=fields,
        action=action,
        values=values or {},
        errors=errors or FormErrors(),
        back=back,
        intro=intro,
        **(extra or {}),
    )


def _money(value: str | None) -> common_pb2.Money | None:
    return common_pb2.Money(amount=value) if value else None


# ------------------------------------------------------------------------------------------------
# 我的待办, 项目库, 项目详情
# ------------------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, deps: AuthDep, backend: BackendDep, templates: TemplatesDep) -> Response:
    """我的待办: open tasks with their working-day deadlines, overdue ones marked.

    Signed out, the start page says what the platform is and offers the sign-in.
    """
    try:
        session = await current_session(request, deps)
    except LoginRequired:
        return render(templates, request, "welcome.html", None, title="欢迎使用")
    tasks = await service.my_tasks(backend=backend, token=session.access_token)
    return render(templates, request, "tasks.html", session, title="我的待办", tasks=tasks)


# The 项目库 has two views: every project across the lifecycle (evaluation's portfolio: stage,
# overdue, a city's counties) and the declarations in intake (drafts and declaration statuses,
# which the portfolio learns of only once submitted). Construction units start on their
# declarations, everyone else on the lifecycle.
PROJECT_VIEWS = ("lifecycle", "declarations")
_UNIT_ROLES = ("applicant", "unit_head")


def _default_view(session: PortalSession) -> str:
    return "declarations" if session.principal.has_role(*_UNIT_ROLES) else "lifecycle"


@router.get("/projects", response_class=HTMLResponse)
async def projects(
    request: Request,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
    view: str = "",
    status: str = "",
    year: str = "",
    tenant: str = "",
    org: str = "",
    stage: str = "",
    q: str = "",
    supplementary: str = "",
    category: str = "",
    amount_min: str = "",
    amount_max: str = "",
    overdue: str = "",
    page: str = "",
) -> Response:
    """项目库: the projects the user may see, filtered and paged (lifecycle or declarations view)."""
    chosen = view if view in PROJECT_VIEWS else _default_view(session)
    query = {
        "view": chosen,
        "year": year,
        "org": org,
        "q": q,
        "category": category,
        "amount_min": amount_min,
        "amount_max": amount_max,
    }
    if chosen == "lifecycle":
        query |= {"tenant": tenant, "stage": stage, "overdue": "yes" if overdue == "yes" else ""}
    else:
        query |= {"status": status, "supplementary": supplementary}
    errors = FormErrors()
    low = parse_amount(amount_min, name="amount_min", errors=errors, required=False)
    high = parse_amount(amount_max, name="amount_max", errors=errors, required=False)
    year_value = parse_int(year, name="year", errors=errors, required=False)
    listing: dict[str, Any] = {"items": [], "next_page_token": "", "total": 0, "page": 1, "pages": 1}
    next_url = prev_url = ""
    if chosen == "lifecycle":
        page_number = parse_int(page, name="page", errors=errors, required=False) or 1
        if page_number < 1:
            errors.add("page", "页码应为正整数")
        filters = service.LifecycleFilters(
            year=year_value or 0,
            tenant_id=tenant.strip(),
            org_id=org.strip(),
            stage=stage,
            category=category,
            amount_min=low or "",
            amount_max=high or "",
            overdue=overdue == "yes",
            name_contains=q.strip(),
            page=page_number,
        )
        listing["page"] = page_number
        if not errors:
            try:
                listing = await service.lifecycle_list(
                    backend=backend, token=session.access_token, filters=filters
                )
            except AppError as err:
                if err.kind is ErrorKind.UNAVAILABLE:
                    raise
                errors = errors_from(err, form="projects", known_fields=set(query))
        if listing["page"] < listing["pages"]:
            next_url = "/projects?" + urlencode({**query, "page": listing["page"] + 1})
        if listing["page"] > 1:
            prev_url = "/projects?" + urlencode({**query, "page": listing["page"] - 1})
    else:
        declaration_filters = service.ProjectFilters(
            status=status,
            target_year=year_value or 0,
            org_id=org.strip(),
            name_contains=q.strip(),
            supplementary=supplementary if supplementary in ("yes", "no") else "",
            category=category,
            amount_min=low or "",
            amount_max=high or "",
            page_token=page,
        )
        if not errors:
            try:
                listing = await service.project_list(
                    backend=backend, token=session.access_token, filters=declaration_filters
                )
            except AppError as err:
                if err.kind is ErrorKind.UNAVAILABLE:
                    raise
                errors = errors_from(err, form="projects", known_fields=set(query))
        if listing.get("next_page_token"):
            next_url = "/projects?" + urlencode({**query, "page": listing["next_page_token"]})
    return render(
        templates,
        request,
        "projects.html",
        session,
        status_code=422 if errors else 200,
        title="项目库",
        view=chosen,
        listing=listing,
        query=query,
        next_url=next_url,
        prev_url=prev_url,
        errors=errors,
    )


@router.get("/projects/new", response_class=HTMLResponse)
async def new_project(request: Request, session: CurrentSession, templates: TemplatesDep) -> Response:
    """新建项目申报 (the applicant's draft)."""
    return form_page(
        templates,
        request,
        session,
        title="新建项目申报",
        fields=formspec.DECLARATION,
        action="/projects/new",
        values={"category": "business_app", "construction_type": "new", "mlps_level": "0"},
        back="/projects",
        intro="保存后为草稿，可继续上传材料，再提交单位负责人审核。",
    )


def _declaration_fields(form: FormData, errors: FormErrors) -> tuple[intake_pb2.DeclarationFields, list[str]]:
    values = form_values(form)
    mask: list[str] = []
    fields = intake_pb2.DeclarationFields()
    for name in (
        "name",
        "construction_unit",
        "category",
        "construction_type",
        "funding_source",
        "necessity",
        "goals",
        "content",
        "performance_goals",
        "contact",
    ):
        text = values.get(name, "").strip()
        setattr(fields, name, text)
        mask.append(name)
    amount = parse_amount(values.get("amount"), name="amount", errors=errors, required=False)
    if amount is not None:
        fields.amount.CopyFrom(common_pb2.Money(amount=amount))
    mask.append("amount")
    parts: dict[str, str] = {}
    for part, _label in formspec.BREAKDOWN_PARTS:
        value = parse_amount(
            values.get(f"breakdown.{part}"), name=f"breakdown.{part}", errors=errors, required=False
        )
        if value is not None:
            parts[part] = value
    if parts:
        for part, value in parts.items():
            getattr(fields.breakdown, part).CopyFrom(common_pb2.Money(amount=value))
        mask.append("breakdown")
    level = parse_int(values.get("mlps_level") or "0", name="mlps_level", errors=errors)
    fields.mlps_level = level or 0
    fields.cloud_deployment = values.get("cloud_deployment") == "on"
    mask += ["mlps_level", "cloud_deployment"]
    return fields, mask


@router.post("/projects/new", response_class=HTMLResponse)
async def create_project(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """Save the draft (intake CreateDeclaration)."""
    form = await read_form(request, session)
    errors = FormErrors()
    fields, mask = _declaration_fields(form, errors)
    known = formspec.names(formspec.DECLARATION)
    if not errors:
        try:
            created = await backend.call(
                "intake",
                backend.declarations.CreateDeclaration,
                intake_pb2.CreateDeclarationRequest(fields=fields, field_mask=mask),
                token=session.access_token,
            )
        except AppError as err:
            if err.kind is ErrorKind.UNAVAILABLE:
                raise
            errors = errors_from(err, form="declaration", known_fields=known)
        else:
            return RedirectResponse(f"/projects/{created.declaration.id}?saved=1", status_code=303)
    return form_page(
        templates,
        request,
        session,
        title="新建项目申报",
        fields=formspec.DECLARATION,
        action="/projects/new",
        values=form_values(form),
        errors=errors,
        back="/projects",
    )


def _declaration_values(declaration: intake_pb2.Declaration) -> dict[str, str]:
    """A declaration as the form's values (to edit it)."""
    values = {
        name: str(getattr(declaration, name))
        for name in (
            "name",
            "construction_unit",
            "category",
            "construction_type",
            "funding_source",
            "necessity",
            "goals",
            "content",
            "performance_goals",
            "contact",
        )
    }
    values["amount"] = declaration.amount.amount
    values["mlps_level"] = str(declaration.mlps_level)
    values["cloud_deployment"] = "on" if declaration.cloud_deployment else ""
    if declaration.HasField("breakdown"):
        for part, _label in formspec.BREAKDOWN_PARTS:
            money = getattr(declaration.breakdown, part)
            values[f"breakdown.{part}"] = money.amount if money.amount not in ("", "0", "0.00") else ""
    return values


@router.get("/projects/{declaration_id}/edit", response_class=HTMLResponse)
async def edit_project(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """修改申报 (a draft, or a declaration returned for correction)."""
    declaration = await _declaration(backend, session, declaration_id)
    return form_page(
        templates,
        request,
        session,
        title=f"修改申报 — {declaration.name}",
        fields=formspec.DECLARATION,
        action=f"/projects/{declaration_id}/edit",
        values=_declaration_values(declaration),
        back=f"/projects/{declaration_id}",
        extra={"version": declaration.version},
    )


@router.post("/projects/{declaration_id}/edit", response_class=HTMLResponse)
async def update_project(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """UpdateDeclaration with the version the form was read at (a stale one is refused by intake)."""
    form = await read_form(request, session)
    errors = FormErrors()
    fields, mask = _declaration_fields(form, errors)
    version = parse_int(str(form.get("version") or ""), name="version", errors=errors)
    if not errors:
        try:
            await backend.call(
                "intake",
                backend.declarations.UpdateDeclaration,
                intake_pb2.UpdateDeclarationRequest(
                    id=declaration_id, version=version or 0, fields=fields, update_mask=mask
                ),
                token=session.access_token,
            )
        except AppError as err:
            if err.kind is ErrorKind.UNAVAILABLE:
                raise
            errors = errors_from(err, form="declaration", known_fields=formspec.names(formspec.DECLARATION))
        else:
            return RedirectResponse(f"/projects/{declaration_id}?saved=1", status_code=303)
    return form_page(
        templates,
        request,
        session,
        title="修改申报",
        fields=formspec.DECLARATION,
        action=f"/projects/{declaration_id}/edit",
        values=form_values(form),
        errors=errors,
        back=f"/projects/{declaration_id}",
        extra={"version": str(form.get("version") or "")},
    )


@router.get("/projects/{declaration_id}", response_class=HTMLResponse)
async def project(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """项目详情: the declaration and its whole timeline across the services, with the articles applied.

    The front half (intake, review) and the back half (procurement, acceptance, evaluation) are
    read concurrently; a back-half part the project has not reached, or whose service is down, says
    so in its own place.
    """
    detail, later, trail = await asyncio.gather(
        service.project_detail(backend=backend, token=session.access_token, declaration_id=declaration_id),
        back_half.back_half(backend=backend, token=session.access_token, declaration_id=declaration_id),
        audit_trail.audit_trail(backend=backend, token=session.access_token, declaration_id=declaration_id),
    )
    return render(
        templates,
        request,
        "project.html",
        session,
        title=f"项目详情 — {detail.declaration['name']}",
        d=detail,
        b=later,
        audit=trail,
        saved=request.query_params.get("saved"),
    )


@router.get("/cases/{case_id}", include_in_schema=False)
async def case_link(case_id: str, session: CurrentSession, backend: BackendDep) -> Response:
    """A task's case → its project page."""
    got = await backend.call(
        "review", backend.cases.GetCase, review_pb2.GetCaseRequest(id=case_id), token=session.access_token
    )
    return RedirectResponse(f"/projects/{got.review_case.declaration_id}", status_code=303)


# ------------------------------------------------------------------------------------------------
# Declaration: materials, hand to the unit head, sign-off
# ------------------------------------------------------------------------------------------------


async def _declaration(
    backend: Backend, session: PortalSession, declaration_id: str
) -> intake_pb2.Declaration:
    got = await backend.call(
        "intake",
        backend.declarations.GetDeclaration,
        intake_pb2.GetDeclarationRequest(id=declaration_id),
        token=session.access_token,
    )
    return got.declaration


@router.get("/projects/{declaration_id}/materials", response_class=HTMLResponse)
async def material_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """上传申报材料."""
    declaration = await _declaration(backend, session, declaration_id)
    return form_page(
        templates,
        request,
        session,
        title=f"上传申报材料 — {declaration.name}",
        fields=formspec.MATERIAL,
        action=f"/projects/{declaration_id}/materials",
        back=f"/projects/{declaration_id}",
        extra={"multipart": True},
    )


@router.post("/projects/{declaration_id}/materials", response_class=HTMLResponse)
async def upload_material(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """Send the file to intake (UploadMaterial): type and size are checked there."""
    form = await read_form(request, session)
    upload = form.get("file")
    errors = FormErrors()
    doc_type = str(form.get("doc_type") or "")
    data = b""
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors.add("file", "请选择要上传的文件")
    else:
        data = await upload.read()
    if not errors and isinstance(upload, UploadFile):
        try:
            await backend.call(
                "intake",
                backend.declarations.UploadMaterial,
                intake_pb2.UploadMaterialRequest(
                    declaration_id=declaration_id,
                    doc_type=doc_type,
                    filename=upload.filename or "",
                    content_type=upload.content_type or "application/octet-stream",
                    data=data,
                ),
                token=session.access_token,
            )
        except AppError as err:
            if err.kind is ErrorKind.UNAVAILABLE:
                raise
            errors = errors_from(err, form="material", known_fields=formspec.names(formspec.MATERIAL))
        else:
            return RedirectResponse(f"/projects/{declaration_id}?saved=1", status_code=303)
    return form_page(
        templates,
        request,
        session,
        title="上传申报材料",
        fields=formspec.MATERIAL,
        action=f"/projects/{declaration_id}/materials",
        values=form_values(form),
        errors=errors,
        back=f"/projects/{declaration_id}",
        extra={"multipart": True},
    )


async def _transition(
    request: Request,
    session: PortalSession,
    backend: Backend,
    templates: Jinja2Templates,
    *,
    declaration_id: str,
    method_name: str,
    title: str,
    fields: tuple[Field, ...] = (),
    reason: str = "",
) -> Response:
    declaration = await _declaration(backend, session, declaration_id)
    method = getattr(backend.declarations, method_name)
    try:
        await backend.call(
            "intake",
            method,
            intake_pb2.TransitionRequest(id=declaration_id, version=declaration.version, reason=reason),
            token=session.access_token,
        )
    except AppError as err:
        if err.kind is ErrorKind.UNAVAILABLE:
            raise
        errors = errors_from(err, form="signoff", known_fields=formspec.names(fields))
        if not fields:
            return render(
                templates,
                request,
                "message.html",
                session,
                status_code=422,
                title=title,
                error=errors,
                back=f"/projects/{declaration_id}",
            )
        return form_page(
            templates,
            request,
            session,
            title=title,
            fields=fields,
            action=f"/projects/{declaration_id}/signoff",
            values={"reason": reason, "decision": "send_back" if method_name == "SendBack" else "sign_off"},
            errors=errors,
            back=f"/projects/{declaration_id}",
        )
    return RedirectResponse(f"/projects/{declaration_id}?saved=1", status_code=303)


@router.post("/projects/{declaration_id}/submit", response_class=HTMLResponse)
async def submit_project(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """提交单位审核 (the applicant hands the draft to the unit head)."""
    await read_form(request, session)
    return await _transition(
        request,
        session,
        backend,
        templates,
        declaration_id=declaration_id,
        method_name="SubmitForSignoff",
        title="提交单位审核",
    )


@router.post("/projects/{declaration_id}/resubmit", response_class=HTMLResponse)
async def resubmit_project(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """重新报送 (the unit head sends a corrected, returned declaration back to the bureau)."""
    await read_form(request, session)
    return await _transition(
        request,
        session,
        backend,
        templates,
        declaration_id=declaration_id,
        method_name="Resubmit",
        title="重新报送",
    )


@router.get("/projects/{declaration_id}/signoff", response_class=HTMLResponse)
async def signoff_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """单位审核 (the unit head signs off or sends back)."""
    declaration = await _declaration(backend, session, declaration_id)
    return form_page(
        templates,
        request,
        session,
        title=f"单位审核 — {declaration.name}",
        fields=formspec.SIGNOFF,
        action=f"/projects/{declaration_id}/signoff",
        values={"decision": "sign_off"},
        back=f"/projects/{declaration_id}",
        intro="同意报送后即提交数据局：系统按政策检查材料与限额，进行重复建设筛查并赋项目编码。",
    )


@router.post("/projects/{declaration_id}/signoff", response_class=HTMLResponse)
async def signoff(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """SignOff or SendBack in intake."""
    form = await read_form(request, session)
    decision = str(form.get("decision") or "")
    method = "SendBack" if decision == "send_back" else "SignOff"
    return await _transition(
        request,
        session,
        backend,
        templates,
        declaration_id=declaration_id,
        method_name=method,
        title="单位审核",
        fields=formspec.SIGNOFF,
        reason=str(form.get("reason") or "").strip(),
    )


# ------------------------------------------------------------------------------------------------
# Review: formal review, opinions, experts, plan decision
# ------------------------------------------------------------------------------------------------


async def _case(backend: Backend, session: PortalSession, case_id: str) -> review_pb2.ReviewCase:
    got = await backend.call(
        "review", backend.cases.GetCase, review_pb2.GetCaseRequest(id=case_id), token=session.access_token
    )
    return got.review_case


async def _review_write(
    request: Request,
    session: PortalSession,
    templates: Jinja2Templates,
    *,
    call: Any,
    form_name: str,
    fields: tuple[Field, ...],
    title: str,
    action: str,
    back: str,
    values: dict[str, str],
    errors: FormErrors | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    errors = errors or FormErrors()
    if not errors:
        try:
            await call()
        except AppError as err:
            if err.kind is ErrorKind.UNAVAILABLE:
                raise
            errors = errors_from(err, form=form_name, known_fields=formspec.names(fields))
        else:
            return RedirectResponse(f"{back}?saved=1", status_code=303)
    return form_page(
        templates,
        request,
        session,
        title=title,
        fields=fields,
        action=action,
        values=values,
        errors=errors,
        back=back,
        extra=extra,
    )


@router.get("/cases/{case_id}/formal-review", response_class=HTMLResponse)
async def formal_review_form(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """形式审查: the pack's checklist and the reviewer's notes."""
    case = await _case(backend, session, case_id)
    checklist = await backend.call(
        "review",
        backend.cases.GetChecklist,
        review_pb2.GetChecklistRequest(case_id=case_id),
        token=session.access_token,
    )
    return form_page(
        templates,
        request,
        session,
        title=f"形式审查 — {case.name}",
        fields=formspec.FORMAL_REVIEW,
        action=f"/cases/{case_id}/formal-review",
        back=f"/projects/{case.declaration_id}",
        extra={"checklist": service.as_dict(checklist)},
    )


@router.post("/cases/{case_id}/formal-review", response_class=HTMLResponse)
async def formal_review(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """FormalReview: passed when the checklist is complete and no notes; otherwise returned."""
    form = await read_form(request, session)
    case = await _case(backend, session, case_id)
    notes = lines(str(form.get("notes") or ""))

    async def call() -> None:
        await backend.call(
            "review",
            backend.cases.FormalReview,
            review_pb2.FormalReviewRequest(case_id=case_id, version=case.version, notes=notes),
            token=session.access_token,
        )

    return await _review_write(
        request,
        session,
        templates,
        call=call,
        form_name="formal_review",
        fields=formspec.FORMAL_REVIEW,
        title="形式审查",
        action=f"/cases/{case_id}/formal-review",
        back=f"/projects/{case.declaration_id}",
        values=form_values(form),
    )


async def _opinion(backend: Backend, session: PortalSession, case_id: str, opinion_id: str) -> dict[str, Any]:
    listed = await backend.call(
        "review",
        backend.cases.ListOpinions,
        review_pb2.ListOpinionsRequest(case_id=case_id),
        token=session.access_token,
    )
    for opinion in listed.opinions:
        if opinion.id == opinion_id:
            return service.as_dict(opinion)
    raise AppError(code="OPINION_NOT_FOUND", message="未找到该部门意见。", kind=ErrorKind.NOT_FOUND)


@router.get("/cases/{case_id}/opinions/{opinion_id}", response_class=HTMLResponse)
async def opinion_form(
    request: Request,
    case_id: str,
    opinion_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """部门意见."""
    case = await _case(backend, session, case_id)
    opinion = await _opinion(backend, session, case_id, opinion_id)
    return form_page(
        templates,
        request,
        session,
        title=f"部门意见 — {case.name}",
        fields=formspec.OPINION,
        action=f"/cases/{case_id}/opinions/{opinion_id}",
        back=f"/projects/{case.declaration_id}",
        values={"verdict": "agree"},
        intro=f"请就“{opinion['reviews_zh']}”出具意见。",
    )


@router.post("/cases/{case_id}/opinions/{opinion_id}", response_class=HTMLResponse)
async def give_opinion(
    request: Request,
    case_id: str,
    opinion_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """GiveOpinion."""
    form = await read_form(request, session)
    case = await _case(backend, session, case_id)
    opinion = await _opinion(backend, session, case_id, opinion_id)

    async def call() -> None:
        await backend.call(
            "review",
            backend.cases.GiveOpinion,
            review_pb2.GiveOpinionRequest(
                opinion_id=opinion_id,
                version=int(opinion["version"]),
                verdict=str(form.get("verdict") or ""),
                text=str(form.get("text") or "").strip(),
            ),
            token=session.access_token,
        )

    return await _review_write(
        request,
        session,
        templates,
        call=call,
        form_name="opinion",
        fields=formspec.OPINION,
        title="部门意见",
        action=f"/cases/{case_id}/opinions/{opinion_id}",
        back=f"/projects/{case.declaration_id}",
        values=form_values(form),
    )


@router.get("/cases/{case_id}/draw", response_class=HTMLResponse)
async def draw_form(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """抽取评审专家."""
    case = await _case(backend, session, case_id)
    return form_page(
        templates,
        request,
        session,
        title=f"抽取评审专家 — {case.name}",
        fields=formspec.DRAW,
        action=f"/cases/{case_id}/draw",
        back=f"/projects/{case.declaration_id}",
        values={"size": "3"},
        intro="从专家库随机抽取，自动回避同单位、设计单位、投标单位及失信专家；抽取种子留档可复核。",
    )


@router.post("/cases/{case_id}/draw", response_class=HTMLResponse)
async def draw(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """DrawPanel."""
    form = await read_form(request, session)
    case = await _case(backend, session, case_id)
    errors = FormErrors()
    size = parse_int(str(form.get("size") or ""), name="size", errors=errors)

    async def call() -> None:
        await backend.call(
            "review",
            backend.experts.DrawPanel,
            experts_pb2.DrawPanelRequest(
                case_id=case_id, size=size or 0, specialty=str(form.get("specialty") or "")
            ),
            token=session.access_token,
        )

    return await _review_write(
        request,
        session,
        templates,
        call=call,
        form_name="draw",
        fields=formspec.DRAW,
        title="抽取评审专家",
        action=f"/cases/{case_id}/draw",
        back=f"/projects/{case.declaration_id}",
        values=form_values(form),
        errors=errors,
    )


async def _score_fields(backend: Backend, session: PortalSession, case_id: str) -> tuple[Field, ...]:
    sheet = await backend.call(
        "review",
        backend.experts.GetScoringSheet,
        experts_pb2.GetScoringSheetRequest(case_id=case_id),
        token=session.access_token,
    )
    top = sheet.max_score_per_criterion
    fields = [
        Field(
            f"score.{c.code}",
            f"{c.label_zh}（0–{top} 分）",
            "number",
            required=True,
            help="依据：" + "、".join(c.citations) if c.citations else "",
        )
        for c in sheet.criteria
    ]
    return (*fields, Field("overall_comment", "总体评审意见", "textarea"), Field("scores", "评分", "hidden"))


@router.get("/cases/{case_id}/scores", response_class=HTMLResponse)
async def scores_form(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """专家评分 (the drawn expert's sheet)."""
    case = await _case(backend, session, case_id)
    fields = await _score_fields(backend, session, case_id)
    return form_page(
        templates,
        request,
        session,
        title=f"专家评分 — {case.name}",
        fields=fields,
        action=f"/cases/{case_id}/scores",
        back=f"/projects/{case.declaration_id}",
    )


@router.post("/cases/{case_id}/scores", response_class=HTMLResponse)
async def submit_scores(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """SubmitScores."""
    form = await read_form(request, session)
    case = await _case(backend, session, case_id)
    fields = await _score_fields(backend, session, case_id)
    scores = {
        key.removeprefix("score."): str(value).strip()
        for key, value in form.items()
        if key.startswith("score.") and isinstance(value, str)
    }
    errors = FormErrors()
    for code, value in scores.items():
        if not value:
            errors.add(f"score.{code}", "请填写分数")

    async def call() -> None:
        await backend.call(
            "review",
            backend.experts.SubmitScores,
            experts_pb2.SubmitScoresRequest(
                case_id=case_id, scores=scores, overall_comment=str(form.get("overall_comment") or "")
            ),
            token=session.access_token,
        )

    return await _review_write(
        request,
        session,
        templates,
        call=call,
        form_name="scores",
        fields=fields,
        title="专家评分",
        action=f"/cases/{case_id}/scores",
        back=f"/projects/{case.declaration_id}",
        values=form_values(form),
        errors=errors,
    )


@router.get("/cases/{case_id}/plan-decision", response_class=HTMLResponse)
async def plan_decision_form(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """计划决定 (列入计划 / 退回补正 / 不予列入)."""
    case = await _case(backend, session, case_id)
    return form_page(
        templates,
        request,
        session,
        title=f"计划决定 — {case.name}",
        fields=formspec.PLAN_DECISION,
        action=f"/cases/{case_id}/plan-decision",
        back=f"/projects/{case.declaration_id}",
        values={"outcome": "in_plan", "level": "general"},
        intro=f"申报总投资 {case.amount.amount} 元。",
    )


@router.post("/cases/{case_id}/plan-decision", response_class=HTMLResponse)
async def plan_decision(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """DecidePlan."""
    form = await read_form(request, session)
    case = await _case(backend, session, case_id)
    errors = FormErrors()
    budget = parse_amount(str(form.get("budget") or ""), name="budget", errors=errors, required=False)

    async def call() -> None:
        await backend.call(
            "review",
            backend.cases.DecidePlan,
            review_pb2.DecidePlanRequest(
                case_id=case_id,
                version=case.version,
                outcome=str(form.get("outcome") or ""),
                level=str(form.get("level") or ""),
                budget=_money(budget),
                reason=str(form.get("reason") or ""),
                items=lines(str(form.get("items") or "")),
            ),
            token=session.access_token,
        )

    return await _review_write(
        request,
        session,
        templates,
        call=call,
        form_name="plan_decision",
        fields=formspec.PLAN_DECISION,
        title="计划决定",
        action=f"/cases/{case_id}/plan-decision",
        back=f"/projects/{case.declaration_id}",
        values=form_values(form),
        errors=errors,
    )


# ------------------------------------------------------------------------------------------------
# Approval: application, conclusion, grant, document
# ------------------------------------------------------------------------------------------------


@router.get("/cases/{case_id}/application", response_class=HTMLResponse)
async def application_form(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """审批申请: the declaration's uploaded documents go with it."""
    case = await _case(backend, session, case_id)
    return form_page(
        templates,
        request,
        session,
        title=f"审批申请 — {case.name}",
        fields=formspec.APPLICATION,
        action=f"/cases/{case_id}/application",
        back=f"/projects/{case.declaration_id}",
        intro="提交后，本项目已上传的申报材料随申请报送；审批所需的技术文件请先在“上传申报材料”中上传。",
    )


@router.post("/cases/{case_id}/application", response_class=HTMLResponse)
async def submit_application(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """SubmitApplication (or ResubmitApplication after written feedback)."""
    form = await read_form(request, session)
    case = await _case(backend, session, case_id)
    listed = await backend.call(
        "intake",
        backend.declarations.ListMaterials,
        intake_pb2.ListMaterialsRequest(declaration_id=case.declaration_id),
        token=session.access_token,
    )
    materials = [
        approval_pb2.Material(
            doc_type=m.doc_type,
            filename=m.filename,
            sha256=m.sha256,
            size=m.size,
            content_type=m.content_type,
        )
        for m in listed.materials
    ]
    approved_by = str(form.get("sign_off_approved_by") or "")
    sign_off = None
    if approved_by:
        sign_off = approval_pb2.SignOff(
            approved_by=approved_by,
            reference=str(form.get("sign_off_reference") or ""),
            signed_on=str(form.get("sign_off_signed_on") or ""),
            funds_secured=True,
        )
    applications = await backend.call(
        "review",
        backend.approvals.ListApplications,
        approval_pb2.ListApplicationsRequest(case_id=case_id),
        token=session.access_token,
    )
    method = (
        backend.approvals.ResubmitApplication
        if applications.applications
        else backend.approvals.SubmitApplication
    )

    async def call() -> None:
        await backend.call(
            "review",
            method,
            approval_pb2.SubmitApplicationRequest(
                case_id=case_id, version=case.version, materials=materials, sign_off=sign_off
            ),
            token=session.access_token,
        )

    return await _review_write(
        request,
        session,
        templates,
        call=call,
        form_name="application",
        fields=formspec.APPLICATION,
        title="审批申请",
        action=f"/cases/{case_id}/application",
        back=f"/projects/{case.declaration_id}",
        values=form_values(form),
    )


@router.get("/cases/{case_id}/conclusion", response_class=HTMLResponse)
async def conclusion_form(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """审查结论 of the approval review round."""
    case = await _case(backend, session, case_id)
    return form_page(
        templates,
        request,
        session,
        title=f"审批审查结论 — {case.name}",
        fields=formspec.CONCLUSION,
        action=f"/cases/{case_id}/conclusion",
        back=f"/projects/{case.declaration_id}",
        values={"passed": "yes"},
    )


@router.post("/cases/{case_id}/conclusion", response_class=HTMLResponse)
async def conclude(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """ConcludeReview."""
    form = await read_form(request, session)
    case = await _case(backend, session, case_id)

    async def call() -> None:
        await backend.call(
            "review",
            backend.approvals.ConcludeReview,
            approval_pb2.ConcludeReviewRequest(
                case_id=case_id,
                version=case.version,
                passed=form.get("passed") == "yes",
                comments=str(form.get("comments") or "").strip(),
                items=lines(str(form.get("items") or "")),
            ),
            token=session.access_token,
        )

    return await _review_write(
        request,
        session,
        templates,
        call=call,
        form_name="conclusion",
        fields=formspec.CONCLUSION,
        title="审批审查结论",
        action=f"/cases/{case_id}/conclusion",
        back=f"/projects/{case.declaration_id}",
        values=form_values(form),
    )


@router.get("/cases/{case_id}/approval", response_class=HTMLResponse)
async def approval_form(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """批复 (the approval document with its number)."""
    case = await _case(backend, session, case_id)
    budget = case.plan_budget.amount if case.HasField("plan_budget") else case.amount.amount
    return form_page(
        templates,
        request,
        session,
        title=f"项目批复 — {case.name}",
        fields=formspec.APPROVAL,
        action=f"/cases/{case_id}/approval",
        back=f"/projects/{case.declaration_id}",
        values={"approved_amount": budget},
        intro=f"计划安排资金 {budget} 元。",
    )


@router.post("/cases/{case_id}/approval", response_class=HTMLResponse)
async def grant(
    request: Request, case_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """GrantApproval."""
    form = await read_form(request, session)
    case = await _case(backend, session, case_id)
    errors = FormErrors()
    amount = parse_amount(str(form.get("approved_amount") or ""), name="approved_amount", errors=errors)

    async def call() -> None:
        await backend.call(
            "review",
            backend.approvals.GrantApproval,
            approval_pb2.GrantApprovalRequest(
                case_id=case_id,
                version=case.version,
                approved_amount=_money(amount),
                content=str(form.get("content") or ""),
                conditions=lines(str(form.get("conditions") or "")),
            ),
            token=session.access_token,
        )

    return await _review_write(
        request,
        session,
        templates,
        call=call,
        form_name="approval",
        fields=formspec.APPROVAL,
        title="项目批复",
        action=f"/cases/{case_id}/approval",
        back=f"/projects/{case.declaration_id}",
        values=form_values(form),
        errors=errors,
    )


async def _step(backend: Backend, session: PortalSession, case_id: str, step_id: str) -> approval_pb2.Step:
    listed = await backend.call(
        "review",
        backend.approvals.ListApplications,
        approval_pb2.ListApplicationsRequest(case_id=case_id),
        token=session.access_token,
    )
    for application in listed.applications:
        for step in application.steps:
            if step.id == step_id:
                return step
    raise AppError(code="STEP_NOT_FOUND", message="未找到该审批环节。", kind=ErrorKind.NOT_FOUND)


@router.get("/cases/{case_id}/steps/{step_id}", response_class=HTMLResponse)
async def step_form(
    request: Request,
    case_id: str,
    step_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """登记审批环节 (e.g. 发改's contact sheet or feasibility-study approval, with its reference)."""
    case = await _case(backend, session, case_id)
    step = await _step(backend, session, case_id, step_id)
    return form_page(
        templates,
        request,
        session,
        title=f"登记审批环节 — {step.label_zh}",
        fields=formspec.STEP,
        action=f"/cases/{case_id}/steps/{step_id}",
        back=f"/projects/{case.declaration_id}",
        intro="依据：" + "；".join(c.ref for c in step.citations) if step.citations else "",
    )


@router.post("/cases/{case_id}/steps/{step_id}", response_class=HTMLResponse)
async def record_step(
    request: Request,
    case_id: str,
    step_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """RecordStep."""
    form = await read_form(request, session)
    case = await _case(backend, session, case_id)
    step = await _step(backend, session, case_id, step_id)

    async def call() -> None:
        await backend.call(
            "review",
            backend.approvals.RecordStep,
            approval_pb2.RecordStepRequest(
                step_id=step_id, version=step.version, reference=str(form.get("reference") or "").strip()
            ),
            token=session.access_token,
        )

    return await _review_write(
        request,
        session,
        templates,
        call=call,
        form_name="step",
        fields=formspec.STEP,
        title="登记审批环节",
        action=f"/cases/{case_id}/steps/{step_id}",
        back=f"/projects/{case.declaration_id}",
        values=form_values(form),
    )


@router.get("/approvals/{approval_id}/document.pdf", include_in_schema=False)
async def approval_document(approval_id: str, session: CurrentSession, backend: BackendDep) -> Response:
    """The approval PDF as review keeps it."""
    doc = await backend.call(
        "review",
        backend.approvals.GetApprovalDocument,
        approval_pb2.GetApprovalDocumentRequest(approval_id=approval_id),
        token=session.access_token,
    )
    return Response(
        doc.content,
        media_type=doc.content_type or "application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{approval_id}.pdf"',
            "X-Content-SHA256": doc.sha256,
        },
    )


# ------------------------------------------------------------------------------------------------
# Annual calls (年度计划征集)
# ------------------------------------------------------------------------------------------------


async def _calls_page(
    request: Request,
    session: PortalSession,
    backend: Backend,
    templates: Jinja2Templates,
    *,
    values: dict[str, str],
    errors: FormErrors,
    status_code: int = 200,
) -> HTMLResponse:
    listed = await backend.call(
        "intake", backend.calls.ListCalls, intake_pb2.ListCallsRequest(), token=session.access_token
    )
    return render(
        templates,
        request,
        "calls.html",
        session,
        status_code=status_code,
        title="年度计划征集",
        calls=[service.as_dict(c) for c in listed.calls],
        fields=formspec.CALL,
        values=values,
        errors=errors,
    )


@router.get("/calls", response_class=HTMLResponse)
async def calls(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """年度计划征集: the tenant's calls and, for the bureau, the form that opens one."""
    return await _calls_page(request, session, backend, templates, values={}, errors=FormErrors())


@router.post("/calls", response_class=HTMLResponse)
async def open_call(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """OpenCall (the pack fixes or leaves the deadline to the bureau: intake decides)."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    year = parse_int(values.get("target_year"), name="target_year", errors=errors)
    if not errors:
        try:
            await backend.call(
                "intake",
                backend.calls.OpenCall,
                intake_pb2.OpenCallRequest(
                    target_year=year or 0, deadline=values.get("deadline", ""), title=values.get("title", "")
                ),
                token=session.access_token,
            )
        except AppError as err:
            if err.kind is ErrorKind.UNAVAILABLE:
                raise
            errors = errors_from(err, form="call", known_fields=formspec.names(formspec.CALL))
        else:
            return RedirectResponse("/calls?saved=1", status_code=303)
    return await _calls_page(
        request, session, backend, templates, values=values, errors=errors, status_code=422
    )


# ------------------------------------------------------------------------------------------------
# Annual plan
# ------------------------------------------------------------------------------------------------


@router.get("/plans", response_class=HTMLResponse)
async def plans(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """年度计划: the tenant's plans and the compile form."""
    listed = await backend.call(
        "review", backend.plans.ListPlans, plan_pb2.ListPlansRequest(), token=session.access_token
    )
    return render(
        templates,
        request,
        "plans.html",
        session,
        title="年度计划",
        plans=[service.as_dict(p) for p in listed.plans],
        fields=formspec.PLAN_COMPILE,
        values={},
        errors=FormErrors(),
    )


@router.post("/plans", response_class=HTMLResponse)
async def compile_plan(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """CompilePlan for a year."""
    form = await read_form(request, session)
    errors = FormErrors()
    year = parse_int(str(form.get("year") or ""), name="year", errors=errors)
    if not errors:
        try:
            compiled = await backend.call(
                "review",
                backend.plans.CompilePlan,
                plan_pb2.CompilePlanRequest(year=year or 0),
                token=session.access_token,
            )
        except AppError as err:
            if err.kind is ErrorKind.UNAVAILABLE:
                raise
            errors = errors_from(err, form="plan_compile", known_fields={"year"})
        else:
            return RedirectResponse(f"/plans/{compiled.plan.id}", status_code=303)
    listed = await backend.call(
        "review", backend.plans.ListPlans, plan_pb2.ListPlansRequest(), token=session.access_token
    )
    return render(
        templates,
        request,
        "plans.html",
        session,
        status_code=422,
        title="年度计划",
        plans=[service.as_dict(p) for p in listed.plans],
        fields=formspec.PLAN_COMPILE,
        values=form_values(form),
        errors=errors,
    )


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
async def plan(
    request: Request, plan_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """One annual plan with its entries."""
    got = await backend.call(
        "review", backend.plans.GetPlan, plan_pb2.GetPlanRequest(plan_id=plan_id), token=session.access_token
    )
    return render(
        templates,
        request,
        "plan.html",
        session,
        title=f"{got.plan.year} 年度项目计划",
        plan=service.as_dict(got.plan),
    )


@router.post("/plans/{plan_id}/publish", response_class=HTMLResponse)
async def publish_plan(
    request: Request, plan_id: str, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """PublishPlan."""
    await read_form(request, session)
    got = await backend.call(
        "review", backend.plans.GetPlan, plan_pb2.GetPlanRequest(plan_id=plan_id), token=session.access_token
    )
    try:
        await backend.call(
            "review",
            backend.plans.PublishPlan,
            plan_pb2.PublishPlanRequest(plan_id=plan_id, version=got.plan.version),
            token=session.access_token,
        )
    except AppError as err:
        if err.kind is ErrorKind.UNAVAILABLE:
            raise
        return render(
            templates,
            request,
            "message.html",
            session,
            status_code=422,
            title="发布年度计划",
            error=errors_from(err, form="plan_publish", known_fields=set()),
            back=f"/plans/{plan_id}",
        )
    return RedirectResponse(f"/plans/{plan_id}", status_code=303)


@router.get("/plans/{plan_id}/export.xlsx", include_in_schema=False)
async def export_plan(plan_id: str, session: CurrentSession, backend: BackendDep) -> Response:
    """The plan as review's Excel export."""
    exported = await backend.call(
        "review",
        backend.plans.ExportPlan,
        plan_pb2.ExportPlanRequest(plan_id=plan_id),
        token=session.access_token,
    )
    filename = exported.filename or f"plan-{plan_id}.xlsx"
    return Response(
        exported.content,
        media_type=exported.content_type
        or "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}"},
    )


# ------------------------------------------------------------------------------------------------
# 统计看板, 专家库, 单位管理
# ------------------------------------------------------------------------------------------------


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
    year: str = "",
) -> Response:
    """统计看板: the portfolio's counts and amounts by year, stage, tenant and department, overdue
    projects and approval times in working days; for those the portfolio does not answer (units,
    experts — or evaluation down), the summary of the declarations they may read instead."""
    errors = FormErrors()
    year_value = parse_int(year, name="year", errors=errors, required=False) or 0
    board = await service.portfolio_board(backend=backend, token=session.access_token, year=year_value)
    refused = next((s.error for s in board.groups.values() if s.error is not None), None)
    summary = None
    if refused is not None:
        # The portfolio is for bureaus, finance and auditors: others get their declarations' sums.
        summary = await service.dashboard(backend=backend, token=session.access_token)
    return render(
        templates,
        request,
        "dashboard.html",
        session,
        status_code=422 if errors else 200,
        title="统计看板",
        board=board,
        refused=refused,
        summary=summary,
        errors=errors,
        year=year,
        chart_data={
            "portfolio": None if refused else service.portfolio_chart_data(board),
            "summary": service.chart_data(summary) if summary else None,
        },
    )


@router.get("/experts", response_class=HTMLResponse)
async def experts(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """专家库."""
    listed = await backend.call(
        "review", backend.experts.ListExperts, experts_pb2.ListExpertsRequest(), token=session.access_token
    )
    return render(
        templates,
        request,
        "experts.html",
        session,
        title="专家库",
        experts=[service.as_dict(e) for e in listed.experts],
        fields=formspec.EXPERT,
        values={},
        errors=FormErrors(),
    )


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]


@router.post("/experts", response_class=HTMLResponse)
async def create_expert(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """CreateExpert."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    try:
        await backend.call(
            "review",
            backend.experts.CreateExpert,
            experts_pb2.CreateExpertRequest(
                fields=experts_pb2.ExpertFields(
                    name=values.get("name", "").strip(),
                    org=values.get("org", "").strip(),
                    specialties=_csv(values.get("specialties", "")),
                    contact=values.get("contact", "").strip(),
                    available=True,
                    username=values.get("username", "").strip(),
                    affiliations=_csv(values.get("affiliations", "")),
                )
            ),
            token=session.access_token,
        )
    except AppError as err:
        if err.kind is ErrorKind.UNAVAILABLE:
            raise
        errors = errors_from(err, form="expert", known_fields=formspec.names(formspec.EXPERT))
    else:
        return RedirectResponse("/experts?saved=1", status_code=303)
    listed = await backend.call(
        "review", backend.experts.ListExperts, experts_pb2.ListExpertsRequest(), token=session.access_token
    )
    return render(
        templates,
        request,
        "experts.html",
        session,
        status_code=422,
        title="专家库",
        experts=[service.as_dict(e) for e in listed.experts],
        fields=formspec.EXPERT,
        values=values,
        errors=errors,
    )


@router.get("/orgs", response_class=HTMLResponse)
async def orgs(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """单位管理 (tenant_admin)."""
    listed = await backend.call(
        "intake", backend.orgs.ListOrgs, intake_pb2.ListOrgsRequest(), token=session.access_token
    )
    return render(
        templates,
        request,
        "orgs.html",
        session,
        title="单位管理",
        orgs=[service.as_dict(o) for o in listed.orgs],
        fields=formspec.ORG,
        values={"org_type": "construction_unit"},
        errors=FormErrors(),
    )


@router.post("/orgs", response_class=HTMLResponse)
async def upsert_org(
    request: Request, session: CurrentSession, backend: BackendDep, templates: TemplatesDep
) -> Response:
    """UpsertOrg (a new org; an existing id is refused by intake with its version conflict)."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    budget_units = parse_int(values.get("budget_units") or "0", name="budget_units", errors=errors)
    if not errors:
        try:
            await backend.call(
                "intake",
                backend.orgs.UpsertOrg,
                intake_pb2.UpsertOrgRequest(
                    org=intake_pb2.Org(
                        id=values.get("id", "").strip(),
                        name=values.get("name", "").strip(),
                        org_type=values.get("org_type", ""),
                        dept_code=values.get("dept_code", "").strip(),
                        budget_units=budget_units or 0,
                        active=True,
                    ),
                    version=0,
                ),
                token=session.access_token,
            )
        except AppError as err:
            if err.kind is ErrorKind.UNAVAILABLE:
                raise
            errors = errors_from(err, form="org", known_fields=formspec.names(formspec.ORG))
        else:
            return RedirectResponse("/orgs?saved=1", status_code=303)
    listed = await backend.call(
        "intake", backend.orgs.ListOrgs, intake_pb2.ListOrgsRequest(), token=session.access_token
    )
    return render(
        templates,
        request,
        "orgs.html",
        session,
        status_code=422,
        title="单位管理",
        orgs=[service.as_dict(o) for o in listed.orgs],
        fields=formspec.ORG,
        values=values,
        errors=errors,
    )
