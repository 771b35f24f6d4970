"""The back half's procurement, construction and acceptance forms (zh-CN): 采购备案, 进度报告,
支付登记, 暂停/终止, 验收申请, 延期申请, 验收专家抽取, 验收结论, 整改完成 and 验收结果备案. Each
write is one or more of procurement's or acceptance's gRPC calls as the user.

The pattern is the front half's (entrypoints.pages): the CSRF token checked, a refused form shown
again with what was typed and each message beside its field, a redirect with ?saved= on success.
Who may act is the services' to decide; the project page offers each form to the roles they accept.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile

from govkit.errors import AppError, ErrorKind
from govproj.acceptance.v1 import acceptance_pb2
from govproj.common.v1 import common_pb2
from govproj.procurement.v1 import procurement_pb2
from portal import service
from portal.adapters.backend import Backend
from portal.adapters.sessions import PortalSession
from portal.domain import construction_forms as spec
from portal.domain.forms import FormErrors, form_values, lines, parse_amount, parse_int
from portal.domain.formspec import Field, names
from portal.entrypoints.auth import CurrentSession
from portal.entrypoints.pages import BackendDep, TemplatesDep, form_page, read_form

router = APIRouter()
# The contract terms the trading center's releases may prefill (procurement's PREFILLED).
_PREFILLED = (
    "contract_no",
    "supplier_name",
    "supplier_credit_code",
    "amount",
    "signed_on",
    "period_start",
    "period_end",
)


async def _call(backend: Backend, session: PortalSession, name: str, method: Any, request: Any) -> Any:
    return await backend.call(name, method, request, token=session.access_token)


def _refused(err: AppError, **kw: Any) -> FormErrors:
    """The refusal placed on the form; a service that is down stays the 503 page."""
    if err.kind is ErrorKind.UNAVAILABLE:
        raise err
    return spec.place_errors(err, **kw)


def _page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    *,
    title: str,
    fields: tuple[Field, ...],
    action: str,
    back: str,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    intro: str = "",
    **extra: Any,
) -> HTMLResponse:
    """A back-half form page (construction_form.html); 422 when it carries a refusal."""
    return form_page(
        templates,
        request,
        session,
        title=title,
        fields=fields,
        action=action,
        back=back,
        values=values,
        errors=errors,
        intro=intro,
        extra={"multipart": any(f.kind == "file" for f in fields), **extra},
        template="construction_form.html",
    )


async def _procurement_project(
    backend: Backend, session: PortalSession, declaration_id: str
) -> dict[str, Any]:
    """procurement's project with its procurements (each with its filing), progress and payments."""
    got = await _call(
        backend,
        session,
        "procurement",
        backend.procurement.GetProject,
        procurement_pb2.GetProjectRequest(declaration_id=declaration_id),
    )
    return service.as_dict(got)


async def _upload(
    backend: Backend, session: PortalSession, upload: Any, *, name: str, errors: FormErrors, send: Any
) -> bool:
    """A chosen file sent by ``send(filename, content_type, data)``; False when none was chosen or
    the service refused it (its message beside ``name``)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return False
    data = await upload.read()
    try:
        await send(upload.filename, upload.content_type or "application/octet-stream", data)
    except AppError as err:
        if err.kind is ErrorKind.UNAVAILABLE:
            raise
        errors.add(name, err.message)
        return False
    return True


# ------------------------------------------------------------------------------------------------
# 采购备案: begin the procurement (role, method), upload its files, file the contract
# ------------------------------------------------------------------------------------------------


def _role(raw: str) -> str:
    return raw if raw in spec.ROLE_ZH else "construction"


def _of_role(project: dict[str, Any], role: str) -> dict[str, Any] | None:
    return next((p for p in project.get("procurements", []) if p.get("role") == role), None)


def _prefill(procurement: dict[str, Any] | None) -> dict[str, Any]:
    if not procurement or not procurement.get("prefill_json"):
        return {}
    loaded = json.loads(procurement["prefill_json"])
    return loaded if isinstance(loaded, dict) else {}


def _filing_fields(procurement: dict[str, Any] | None, method: str) -> tuple[Field, ...]:
    start = () if procurement else spec.start_fields()
    uploaded = [d["kind"] for d in (procurement or {}).get("documents", [])]
    chosen = (procurement or {}).get("method") or method or "open_tender"
    # A term the trading center prefilled may be left out (procurement files the prefill's).
    prefilled = _prefill(procurement)
    terms = tuple(replace(f, required=False) if prefilled.get(f.name) else f for f in spec.FILING_TERMS)
    return (*start, *terms, *spec.document_fields(chosen, uploaded))


def _filing_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    *,
    project: dict[str, Any],
    role: str,
    values: dict[str, str],
    errors: FormErrors | None = None,
    checks: list[dict[str, Any]] | None = None,
) -> HTMLResponse:
    pp = project["project"]
    procurement = _of_role(project, role)
    prefill = _prefill(procurement)
    return _page(
        templates,
        request,
        session,
        title=f"采购备案（{spec.ROLE_ZH[role]}） — {pp['name']}",
        fields=_filing_fields(procurement, values.get("method", "")),
        action=f"/projects/{pp['declaration_id']}/filing?role={role}",
        back=f"/projects/{pp['declaration_id']}",
        values=values,
        errors=errors,
        intro=(
            f"批复金额 {pp['approved_amount']['amount'] if pp.get('approved_amount') else '—'} 元。"
            "提交后按管理办法逐项审核（备案期限、批复金额、质保期、失信名单、监理与设计单位回避等），"
            "审核结果及所依据的条款在项目详情中显示。"
        ),
        procurement=procurement,
        method_zh=spec.METHOD_ZH,
        doc_zh=spec.DOC_ZH,
        prefill={k: prefill[k] for k in _PREFILLED if prefill.get(k)},
        checks=checks or [],
    )


@router.get("/projects/{declaration_id}/filing", response_class=HTMLResponse)
async def filing_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
    role: str = "construction",
) -> Response:
    """采购备案: the procurement's method, the contract's terms and clauses, its files; the trading
    center's OCDS prefill shown and filled in where the project has one."""
    chosen = _role(role)
    project = await _procurement_project(backend, session, declaration_id)
    procurement = _of_role(project, chosen)
    if procurement and procurement.get("filing", {}).get("id"):
        return RedirectResponse(f"/projects/{declaration_id}#procurement-{chosen}", status_code=303)
    values = {k: str(v) for k, v in _prefill(procurement).items() if k in _PREFILLED}
    return _filing_page(templates, request, session, project=project, role=chosen, values=values)


def _terms(values: dict[str, str], schedule: list[spec.ScheduleLine], warranty: int) -> Any:
    return procurement_pb2.ContractTerms(
        contract_no=values.get("contract_no", "").strip(),
        supplier_name=values.get("supplier_name", "").strip(),
        supplier_credit_code=values.get("supplier_credit_code", "").strip(),
        amount=common_pb2.Money(amount=values.get("amount_parsed", "")),
        signed_on=values.get("signed_on", ""),
        period_start=values.get("period_start", ""),
        period_end=values.get("period_end", ""),
        warranty_months=warranty,
        ip_clause=values.get("ip_clause", ""),
        termination_clause=values.get("termination_clause", ""),
        schedule=[procurement_pb2.Milestone(name=m.name, due_on=m.due_on) for m in schedule],
    )


@router.post("/projects/{declaration_id}/filing", response_class=HTMLResponse)
async def file_contract(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
    role: str = "construction",
) -> Response:
    """StartProcurement (once per role), UploadDocument for each chosen file, then FileContract;
    a refusal (the filing's checks with their articles among them) shown beside its fields."""
    form = await read_form(request, session)
    chosen = _role(role)
    values = form_values(form)
    errors = FormErrors()
    checks: list[dict[str, Any]] = []
    project = await _procurement_project(backend, session, declaration_id)
    procurement = _of_role(project, chosen)
    prefill = _prefill(procurement)
    schedule = spec.parse_schedule(values.get("schedule", ""), errors=errors)
    warranty = parse_int(values.get("warranty_months"), name="warranty_months", errors=errors)
    amount = parse_amount(
        values.get("amount"), name="amount", errors=errors, required=not prefill.get("amount")
    )
    fields = _filing_fields(procurement, values.get("method", ""))
    if not errors and procurement is None:
        try:
            started = await _call(
                backend,
                session,
                "procurement",
                backend.procurement.StartProcurement,
                procurement_pb2.StartProcurementRequest(
                    declaration_id=declaration_id,
                    version=int(project["project"]["version"]),
                    role=chosen,
                    method=values.get("method", ""),
                    title=values.get("title", "").strip(),
                ),
            )
        except AppError as err:
            errors = _refused(err, form="filing", known_fields=names(fields))
        else:
            procurement = service.as_dict(started.procurement)
    if not errors and procurement is not None:
        pid = procurement["id"]
        for f in spec.document_fields(procurement["method"], []):
            kind = f.name.removeprefix("doc.")

            async def send(filename: str, content_type: str, data: bytes, kind: str = kind) -> None:
                await _call(
                    backend,
                    session,
                    "procurement",
                    backend.procurement.UploadDocument,
                    procurement_pb2.UploadDocumentRequest(
                        procurement_id=pid, kind=kind, filename=filename, content_type=content_type, data=data
                    ),
                )

            await _upload(backend, session, form.get(f.name), name=f.name, errors=errors, send=send)
    if not errors and procurement is not None:
        current = await _call(
            backend,
            session,
            "procurement",
            backend.procurement.GetProcurement,
            procurement_pb2.GetProcurementRequest(procurement_id=procurement["id"]),
        )
        try:
            await _call(
                backend,
                session,
                "procurement",
                backend.procurement.FileContract,
                procurement_pb2.FileContractRequest(
                    procurement_id=procurement["id"],
                    version=current.procurement.version,
                    terms=_terms({**values, "amount_parsed": amount or ""}, schedule, warranty or 0),
                ),
            )
        except AppError as err:
            project = await _procurement_project(backend, session, declaration_id)
            fields = _filing_fields(_of_role(project, chosen), "")
            errors = _refused(err, form="filing", known_fields=names(fields))
            checks = list((err.details or {}).get("checks") or [])
        else:
            return RedirectResponse(f"/projects/{declaration_id}?saved=filing", status_code=303)
    else:
        project = await _procurement_project(backend, session, declaration_id)
    return _filing_page(
        templates,
        request,
        session,
        project=project,
        role=chosen,
        values=values,
        errors=errors,
        checks=checks,
    )


# ------------------------------------------------------------------------------------------------
# 进度报告 and 支付登记
# ------------------------------------------------------------------------------------------------


def _filings(project: dict[str, Any], *, role: str | None = None) -> list[dict[str, Any]]:
    return [
        p["filing"]
        for p in project.get("procurements", [])
        if p.get("filing", {}).get("id") and (role is None or p.get("role") == role)
    ]


def _filing_choice(filings: list[dict[str, Any]]) -> Field:
    # The construction contract first: most payments and every progress report are against it.
    filings = sorted(filings, key=lambda f: f["role"] != "construction")
    options = tuple(
        (
            f["id"],
            f"{spec.ROLE_ZH.get(f['role'], f['role'])}：{f['terms']['supplier_name']}"
            f"（{f['terms']['amount']['amount']} 元）",
        )
        for f in filings
    )
    return Field("filing_id", "合同", "select", options, required=True)


def _progress_fields(project: dict[str, Any]) -> tuple[Field, ...]:
    filings = _filings(project, role="construction")
    schedule = filings[0]["terms"].get("schedule", []) if filings else []
    milestones = tuple(
        Field(f"ms.{n}", f"已完成：{m['name']}（计划 {m['due_on']}）", "checkbox")
        for n, m in enumerate(schedule)
    )
    hidden = (Field("milestones_done", "已完成的进度节点", "hidden"),)
    return (_filing_choice(filings), spec.PROGRESS_TAIL[0], *milestones, *hidden, spec.PROGRESS_TAIL[1])


def _progress_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    project: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    pp = project["project"]
    last = (project.get("progress") or [{}])[-1]
    return _page(
        templates,
        request,
        session,
        title=f"建设进度报告 — {pp['name']}",
        fields=_progress_fields(project),
        action=f"/projects/{pp['declaration_id']}/progress",
        back=f"/projects/{pp['declaration_id']}",
        values=values,
        errors=errors,
        intro=(f"上次报告：{last['reported_on']} 完成 {last['percent']}%。" if last.get("id") else "")
        + "按合同进度计划报告；严重滞后的按管理办法标记。",
    )


@router.get("/projects/{declaration_id}/progress", response_class=HTMLResponse)
async def progress_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """建设进度报告: the construction contract, percent done, the schedule's milestones reached."""
    project = await _procurement_project(backend, session, declaration_id)
    return _progress_page(templates, request, session, project)


@router.post("/projects/{declaration_id}/progress", response_class=HTMLResponse)
async def report_progress(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """ReportProgress with the project's version as read."""
    form = await read_form(request, session)
    values = form_values(form)
    project = await _procurement_project(backend, session, declaration_id)
    filings = {f["id"]: f for f in _filings(project, role="construction")}
    chosen = filings.get(values.get("filing_id", ""), {})
    done = [
        m["name"]
        for n, m in enumerate(chosen.get("terms", {}).get("schedule", []))
        if values.get(f"ms.{n}") == "on"
    ]
    try:
        await _call(
            backend,
            session,
            "procurement",
            backend.procurement.ReportProgress,
            procurement_pb2.ReportProgressRequest(
                declaration_id=declaration_id,
                version=int(project["project"]["version"]),
                filing_id=values.get("filing_id", ""),
                percent=values.get("percent", "").strip(),
                milestones_done=done,
                note=values.get("note", "").strip(),
            ),
        )
    except AppError as err:
        errors = _refused(err, form="progress", known_fields=names(_progress_fields(project)))
    else:
        return RedirectResponse(f"/projects/{declaration_id}?saved=progress", status_code=303)
    return _progress_page(templates, request, session, project, values=values, errors=errors)


def _payment_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    project: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    pp = project["project"]
    blocked = ""
    if pp.get("final_payment_blocked"):
        refs = spec.cite_text(pp.get("final_payment_citations") or [])
        blocked = "项目通过竣工验收前不得支付尾款" + (f"（依据：{refs}）" if refs else "") + "。"
    return _page(
        templates,
        request,
        session,
        title=f"合同付款登记 — {pp['name']}",
        fields=(_filing_choice(_filings(project)), *spec.PAYMENT),
        action=f"/projects/{pp['declaration_id']}/payment",
        back=f"/projects/{pp['declaration_id']}",
        values=values,
        errors=errors,
        intro="累计付款不得超过合同金额。" + blocked,
    )


@router.get("/projects/{declaration_id}/payment", response_class=HTMLResponse)
async def payment_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """合同付款登记: the contract, the kind of payment, its amount and date."""
    project = await _procurement_project(backend, session, declaration_id)
    return _payment_page(templates, request, session, project)


@router.post("/projects/{declaration_id}/payment", response_class=HTMLResponse)
async def record_payment(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """RecordPayment; the final payment before acceptance refused with its article."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    amount = parse_amount(values.get("amount"), name="amount", errors=errors)
    project = await _procurement_project(backend, session, declaration_id)
    if not errors:
        try:
            await _call(
                backend,
                session,
                "procurement",
                backend.procurement.RecordPayment,
                procurement_pb2.RecordPaymentRequest(
                    declaration_id=declaration_id,
                    version=int(project["project"]["version"]),
                    filing_id=values.get("filing_id", ""),
                    kind=values.get("kind", ""),
                    amount=common_pb2.Money(amount=amount or ""),
                    paid_on=values.get("paid_on", ""),
                    note=values.get("note", "").strip(),
                ),
            )
        except AppError as err:
            fields = (_filing_choice(_filings(project)), *spec.PAYMENT)
            errors = _refused(err, form="payment", known_fields=names(fields))
        else:
            return RedirectResponse(f"/projects/{declaration_id}?saved=payment", status_code=303)
    return _payment_page(templates, request, session, project, values=values, errors=errors)


# ------------------------------------------------------------------------------------------------
# 验收申请 (trial run, the pack's assessments, the application) and 验收结论
# ------------------------------------------------------------------------------------------------


async def _acceptance_project(
    backend: Backend, session: PortalSession, declaration_id: str
) -> dict[str, Any]:
    got = await _call(
        backend,
        session,
        "acceptance",
        backend.acceptance.GetProjectByDeclaration,
        acceptance_pb2.GetProjectByDeclarationRequest(declaration_id=declaration_id),
    )
    return service.as_dict(got)


def _apply_fields(view: dict[str, Any]) -> tuple[Field, ...]:
    trial = () if view["project"].get("trial_started_on") else spec.TRIAL
    evidence = tuple(
        f for r in view.get("missing_evidence", []) for f in spec.evidence_fields(r["kind"], r["label_zh"])
    )
    return (*evidence, *trial, *spec.APPLY_STAGE)


def _apply_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    view: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    ap = view["project"]
    stage = "final" if ap.get("initial_passed_on") else "initial"
    needs = "；".join(
        f"{r['label_zh']}（{spec.cite_text(r.get('citations') or [])}）"
        for r in view.get("missing_evidence", [])
    )
    trial = (
        f"试运行不少于 {ap.get('trial_min_months') or 0} 个月"
        f"（{spec.cite_text(ap.get('trial_citations') or [])}）。"
        if ap.get("trial_min_months")
        else ""
    )
    return _page(
        templates,
        request,
        session,
        title=f"验收申请 — {ap['project_name']}",
        fields=_apply_fields(view),
        action=f"/projects/{ap['declaration_id']}/acceptance",
        back=f"/projects/{ap['declaration_id']}",
        values={"stage": stage, **(values or {})},
        errors=errors,
        intro=trial + (f"管理办法要求提交：{needs}。" if needs else "管理办法要求的测评、评估材料已齐备。"),
    )


@router.get("/projects/{declaration_id}/acceptance", response_class=HTMLResponse)
async def apply_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """验收申请: the trial run's start, the assessments the pack asks for, initial or final."""
    view = await _acceptance_project(backend, session, declaration_id)
    return _apply_page(templates, request, session, view)


def _int_or_none(raw: str) -> int:
    text = (raw or "").strip()
    return int(text) if text.isdigit() else 0


@router.post("/projects/{declaration_id}/acceptance", response_class=HTMLResponse)
async def apply(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """RecordEvidence for each chosen report, StartTrial when not started, then ApplyAcceptance;
    the first refusal shown beside its field (evidence already recorded stays recorded)."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    view = await _acceptance_project(backend, session, declaration_id)
    project_id = view["project"]["id"]
    fields = names(_apply_fields(view))
    for r in view.get("missing_evidence", []):
        kind = r["kind"]

        async def send(filename: str, content_type: str, data: bytes, kind: str = kind) -> None:
            try:
                await _call(
                    backend,
                    session,
                    "acceptance",
                    backend.acceptance.RecordEvidence,
                    acceptance_pb2.RecordEvidenceRequest(
                        project_id=project_id,
                        kind=kind,
                        conclusion=values.get(f"{kind}.conclusion", "pass"),
                        level=_int_or_none(values.get(f"{kind}.level", "")),
                        issued_by=values.get(f"{kind}.issued_by", "").strip(),
                        issued_on=values.get(f"{kind}.issued_on", ""),
                        filename=filename,
                        content_type=content_type,
                        content=data,
                    ),
                )
            except AppError as err:
                if err.kind is ErrorKind.UNAVAILABLE:
                    raise
                placed = spec.place_errors(err, form="apply", known_fields=fields, prefix=f"{kind}.")
                for name, message in placed.fields.items():
                    errors.add(name, message)
                if not placed.fields:
                    errors.add(f"{kind}.file", err.message)

        await _upload(
            backend, session, form.get(f"{kind}.file"), name=f"{kind}.file", errors=FormErrors(), send=send
        )
    if not errors and not view["project"].get("trial_started_on"):
        try:
            await _call(
                backend,
                session,
                "acceptance",
                backend.acceptance.StartTrial,
                acceptance_pb2.StartTrialRequest(
                    project_id=project_id,
                    version=int(view["project"]["version"]),
                    started_on=values.get("trial_started_on", ""),
                    completed_on=values.get("completed_on", ""),
                ),
            )
        except AppError as err:
            errors = _refused(err, form="apply", known_fields=fields)
    if not errors:
        current = await _acceptance_project(backend, session, declaration_id)
        try:
            await _call(
                backend,
                session,
                "acceptance",
                backend.acceptance.ApplyAcceptance,
                acceptance_pb2.ApplyAcceptanceRequest(
                    project_id=project_id,
                    version=int(current["project"]["version"]),
                    stage=values.get("stage", ""),
                ),
            )
        except AppError as err:
            errors = _refused(err, form="apply", known_fields=fields)
        else:
            return RedirectResponse(f"/projects/{declaration_id}?saved=acceptance", status_code=303)
    view = await _acceptance_project(backend, session, declaration_id)
    return _apply_page(templates, request, session, view, values=values, errors=errors)


async def _acceptance(backend: Backend, session: PortalSession, acceptance_id: str) -> dict[str, Any]:
    got = await _call(
        backend,
        session,
        "acceptance",
        backend.acceptance.GetAcceptance,
        acceptance_pb2.GetAcceptanceRequest(id=acceptance_id),
    )
    return service.as_dict(got.acceptance)


async def _declaration_of(backend: Backend, session: PortalSession, project_id: str) -> dict[str, Any]:
    got = await _call(
        backend,
        session,
        "acceptance",
        backend.acceptance.GetProject,
        acceptance_pb2.GetProjectRequest(id=project_id),
    )
    return service.as_dict(got.project)


def _decide_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    item: dict[str, Any],
    project: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    panel = "、".join(f"{m['name']}（{m['org']}）" for m in item.get("panel", []))
    return _page(
        templates,
        request,
        session,
        title=f"验收结论（{spec.STAGE_ZH.get(item['stage'], item['stage'])}第{item['round']}轮）"
        f" — {project['project_name']}",
        fields=spec.decision_fields(item.get("checklist", [])),
        action=f"/acceptances/{item['id']}/decide",
        back=f"/projects/{project['declaration_id']}",
        values=values,
        errors=errors,
        intro=f"组织单位：{spec.ORGANIZER_ZH.get(item.get('organizer', ''), item.get('organizer') or '—')}"
        f"（{spec.cite_text(item.get('organizer_citations') or [])}）。"
        + (f"验收专家：{panel}。" if panel else "")
        + "逐项给出结论；任一项不符合即验收不通过，须列明整改事项、责任单位和整改期限。",
    )


@router.get("/acceptances/{acceptance_id}/decide", response_class=HTMLResponse)
async def decide_form(
    request: Request,
    acceptance_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """验收结论: the pack's checklist item by item, the opinion, rectification items."""
    item = await _acceptance(backend, session, acceptance_id)
    project = await _declaration_of(backend, session, item["project_id"])
    return _decide_page(templates, request, session, item, project)


@router.post("/acceptances/{acceptance_id}/decide", response_class=HTMLResponse)
async def decide(
    request: Request,
    acceptance_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """DecideAcceptance with every finding given; an item left unanswered is acceptance's refusal."""
    form = await read_form(request, session)
    values = form_values(form)
    item = await _acceptance(backend, session, acceptance_id)
    project = await _declaration_of(backend, session, item["project_id"])
    findings = [
        acceptance_pb2.Finding(
            code=c["code"],
            passed=values.get(f"finding.{c['code']}") == "pass",
            note=values.get(f"note.{c['code']}", "").strip(),
        )
        for c in item.get("checklist", [])
        if values.get(f"finding.{c['code']}") in ("pass", "fail")
    ]
    rows = spec.filled_rectifications(values)
    try:
        await _call(
            backend,
            session,
            "acceptance",
            backend.acceptance.DecideAcceptance,
            acceptance_pb2.DecideAcceptanceRequest(
                acceptance_id=acceptance_id,
                version=int(item["version"]),
                findings=findings,
                opinion=values.get("opinion", "").strip(),
                rectifications=[
                    acceptance_pb2.RectificationInput(description=d, owner=o, due_on=due)
                    for _, d, o, due in rows
                ],
            ),
        )
    except AppError as err:
        errors = _refused(
            err, form="decide", known_fields=names(spec.decision_fields(item.get("checklist", [])))
        )
        # The service numbers the rows it was sent; the form's rows may skip blank ones.
        errors.fields = {_row_name(k, rows): v for k, v in errors.fields.items()}
    else:
        return RedirectResponse(
            f"/projects/{project['declaration_id']}?saved=acceptance-result", status_code=303
        )
    return _decide_page(templates, request, session, item, project, values=values, errors=errors)


def _row_name(name: str, rows: list[tuple[int, str, str, str]]) -> str:
    """rect.<n>.x of the n-th row sent → the form row it came from."""
    if not name.startswith("rect."):
        return name
    _, index, part = name.split(".", 2)
    n = int(index)
    return f"rect.{rows[n - 1][0]}.{part}" if 0 < n <= len(rows) else name


# ------------------------------------------------------------------------------------------------
# 验收专家抽取: the acceptance's panel drawn from review's expert library (acceptance's DrawPanel)
# ------------------------------------------------------------------------------------------------


def _panel_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    item: dict[str, Any],
    project: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    return _page(
        templates,
        request,
        session,
        title=f"验收专家抽取（{spec.STAGE_ZH.get(item['stage'], item['stage'])}第{item['round']}轮）"
        f" — {project['project_name']}",
        fields=spec.PANEL,
        action=f"/acceptances/{item['id']}/panel",
        back=f"/projects/{project['declaration_id']}",
        values=values,
        errors=errors,
        intro=f"组织单位：{spec.ORGANIZER_ZH.get(item.get('organizer', ''), item.get('organizer') or '—')}"
        f"（{spec.cite_text(item.get('organizer_citations') or [])}）。"
        "从专家库随机抽取，建设单位及本项目合同单位的专家自动回避；抽取结果与随机种子记录在案。",
    )


@router.get("/acceptances/{acceptance_id}/panel", response_class=HTMLResponse)
async def panel_form(
    request: Request,
    acceptance_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """验收专家抽取: how many experts, of which specialty, which further orgs to avoid."""
    item = await _acceptance(backend, session, acceptance_id)
    project = await _declaration_of(backend, session, item["project_id"])
    if item.get("panel"):
        return RedirectResponse(f"/projects/{project['declaration_id']}", status_code=303)
    return _panel_page(templates, request, session, item, project, values={"size": "5"})


@router.post("/acceptances/{acceptance_id}/panel", response_class=HTMLResponse)
async def draw_panel(
    request: Request,
    acceptance_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """DrawPanel (acceptance draws through review's gRPC); a pool too small for the size asked
    is review's refusal beside 抽取人数. The drawn panel is shown on the project page."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    size = parse_int(values.get("size"), name="size", errors=errors)
    item = await _acceptance(backend, session, acceptance_id)
    project = await _declaration_of(backend, session, item["project_id"])
    if not errors:
        try:
            await _call(
                backend,
                session,
                "acceptance",
                backend.acceptance.DrawPanel,
                acceptance_pb2.DrawPanelRequest(
                    acceptance_id=acceptance_id,
                    version=int(item["version"]),
                    size=size or 0,
                    seed=values.get("seed", "").strip(),
                    specialty=values.get("specialty", "").strip(),
                    avoid_orgs=lines(values.get("avoid_orgs")),
                ),
            )
        except AppError as err:
            errors = _refused(err, form="panel", known_fields=names(spec.PANEL))
        else:
            return RedirectResponse(
                f"/projects/{project['declaration_id']}?saved=panel#acceptance-{item['stage']}-{item['round']}",
                status_code=303,
            )
    return _panel_page(templates, request, session, item, project, values=values, errors=errors)


# ------------------------------------------------------------------------------------------------
# 整改完成: the unit reports a failed acceptance's rectification item done (CompleteRectification)
# ------------------------------------------------------------------------------------------------


def _rectification_of(item: dict[str, Any], rectification_id: str) -> dict[str, Any]:
    """The acceptance's item; another acceptance's id is acceptance's not-found."""
    found = next((r for r in item.get("rectifications", []) if r.get("id") == rectification_id), None)
    if found is None:
        raise AppError(code="NOT_FOUND", message="未找到该整改事项。", kind=ErrorKind.NOT_FOUND)
    return found


def _rectification_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    item: dict[str, Any],
    rect: dict[str, Any],
    project: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    return _page(
        templates,
        request,
        session,
        title=f"整改完成 — {project['project_name']}",
        fields=spec.RECTIFICATION_DONE,
        action=f"/acceptances/{item['id']}/rectifications/{rect['id']}/done",
        back=f"/projects/{project['declaration_id']}",
        values=values,
        errors=errors,
        intro=f"{spec.STAGE_ZH.get(item['stage'], item['stage'])}第{item['round']}轮整改事项："
        f"{rect['description']}（责任单位：{rect['owner']}，整改期限 {rect['due_on']}）。"
        "完成日期按提交当日记录；全部整改完成后可再次申请验收。",
    )


@router.get(
    "/acceptances/{acceptance_id}/rectifications/{rectification_id}/done", response_class=HTMLResponse
)
async def rectification_form(
    request: Request,
    acceptance_id: str,
    rectification_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """整改完成: the item, its owner and due date, and the unit's account of what was done."""
    item = await _acceptance(backend, session, acceptance_id)
    rect = _rectification_of(item, rectification_id)
    project = await _declaration_of(backend, session, item["project_id"])
    if rect.get("done_on"):
        return RedirectResponse(f"/projects/{project['declaration_id']}", status_code=303)
    return _rectification_page(templates, request, session, item, rect, project)


@router.post(
    "/acceptances/{acceptance_id}/rectifications/{rectification_id}/done", response_class=HTMLResponse
)
async def complete_rectification(
    request: Request,
    acceptance_id: str,
    rectification_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """CompleteRectification; an empty account is acceptance's refusal beside 整改完成情况."""
    form = await read_form(request, session)
    values = form_values(form)
    item = await _acceptance(backend, session, acceptance_id)
    rect = _rectification_of(item, rectification_id)
    project = await _declaration_of(backend, session, item["project_id"])
    try:
        await _call(
            backend,
            session,
            "acceptance",
            backend.acceptance.CompleteRectification,
            acceptance_pb2.CompleteRectificationRequest(
                id=rectification_id, version=int(rect["version"]), note=values.get("note", "")
            ),
        )
    except AppError as err:
        errors = _refused(err, form="rectification", known_fields=names(spec.RECTIFICATION_DONE))
    else:
        return RedirectResponse(f"/projects/{project['declaration_id']}?saved=rectification", status_code=303)
    return _rectification_page(templates, request, session, item, rect, project, values=values, errors=errors)


# ------------------------------------------------------------------------------------------------
# 验收结果备案: a self-accepted project's result filed with the bureau within the pack's working days
# ------------------------------------------------------------------------------------------------


def _result_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    item: dict[str, Any],
    project: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    refs = spec.cite_text(item.get("filing_citations") or [])
    return _page(
        templates,
        request,
        session,
        title=f"验收结果备案 — {project['project_name']}",
        fields=spec.RESULT_FILING,
        action=f"/acceptances/{item['id']}/filing",
        back=f"/projects/{project['declaration_id']}",
        values=values,
        errors=errors,
        intro=f"{spec.STAGE_ZH.get(item['stage'], item['stage'])}（建设单位自行组织）于 {item['decided_on']} "
        f"作出结论：{item.get('opinion') or '—'}。"
        f"须在 {item['filing_due_on']} 前报数据局备案" + (f"（依据：{refs}）" if refs else "") + "；"
        "备案日期按提交当日记录，超过期限的照常备案并标记为逾期。",
    )


@router.get("/acceptances/{acceptance_id}/filing", response_class=HTMLResponse)
async def result_form(
    request: Request,
    acceptance_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """验收结果备案: the result, its filing due date with the article, the unit's confirmation."""
    item = await _acceptance(backend, session, acceptance_id)
    project = await _declaration_of(backend, session, item["project_id"])
    if item.get("filed_on"):
        return RedirectResponse(f"/projects/{project['declaration_id']}", status_code=303)
    return _result_page(templates, request, session, item, project)


@router.post("/acceptances/{acceptance_id}/filing", response_class=HTMLResponse)
async def file_result(
    request: Request,
    acceptance_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """FileResult once the unit confirms; a late filing is acceptance's to mark."""
    form = await read_form(request, session)
    values = form_values(form)
    errors = FormErrors()
    item = await _acceptance(backend, session, acceptance_id)
    project = await _declaration_of(backend, session, item["project_id"])
    if values.get("confirm") != "on":
        # Filing is final (acceptance refuses a second one): the unit confirms it deliberately.
        errors.add("confirm", "请确认验收意见和验收报告已核对无误后再报备")
    else:
        try:
            await _call(
                backend,
                session,
                "acceptance",
                backend.acceptance.FileResult,
                acceptance_pb2.FileResultRequest(acceptance_id=acceptance_id, version=int(item["version"])),
            )
        except AppError as err:
            errors = _refused(err, form="result", known_fields=names(spec.RESULT_FILING))
        else:
            return RedirectResponse(
                f"/projects/{project['declaration_id']}?saved=result-filing", status_code=303
            )
    return _result_page(templates, request, session, item, project, values=values, errors=errors)


# ------------------------------------------------------------------------------------------------
# 延期申请: the final acceptance applied for later, with reasons, where the pack allows it
# ------------------------------------------------------------------------------------------------


def _deadline(ap: dict[str, Any]) -> str:
    """The final acceptance's deadline with its article, as the forms say it."""
    if not ap.get("final_due_on"):
        return ""
    refs = spec.cite_text(ap.get("final_due_citations") or [])
    return f"竣工验收申请期限 {ap['final_due_on']}" + (f"（依据：{refs}）" if refs else "")


def _extension_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    view: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    ap = view["project"]
    deadline = _deadline(ap)
    return _page(
        templates,
        request,
        session,
        title=f"延期验收申请 — {ap['project_name']}",
        fields=spec.EXTENSION,
        action=f"/projects/{ap['declaration_id']}/extension",
        back=f"/projects/{ap['declaration_id']}",
        values=values,
        errors=errors,
        intro=(f"{deadline}。" if deadline else "")
        + "不能按期申请竣工验收的，写明理由向数据局申请延期；是否可以延期以本地区管理办法为准。",
    )


@router.get("/projects/{declaration_id}/extension", response_class=HTMLResponse)
async def extension_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """延期申请: the deadline with its article, the reasons and the date asked for."""
    view = await _acceptance_project(backend, session, declaration_id)
    return _extension_page(templates, request, session, view)


@router.post("/projects/{declaration_id}/extension", response_class=HTMLResponse)
async def request_extension(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """RequestExtension; a pack that provides none is acceptance's refusal, shown with the
    deadline's article beside the date."""
    form = await read_form(request, session)
    values = form_values(form)
    view = await _acceptance_project(backend, session, declaration_id)
    ap = view["project"]
    try:
        await _call(
            backend,
            session,
            "acceptance",
            backend.acceptance.RequestExtension,
            acceptance_pb2.RequestExtensionRequest(
                project_id=ap["id"],
                version=int(ap["version"]),
                reason=values.get("reason", "").strip(),
                requested_until=values.get("requested_until", ""),
            ),
        )
    except AppError as err:
        errors = _refused(err, form="extension", known_fields=names(spec.EXTENSION))
        if err.code == "EXTENSION_NOT_PROVIDED":
            deadline = _deadline(ap)
            errors.add("requested_until", err.message + (f"{deadline}。" if deadline else ""))
            errors.message = ""  # said beside the date, not twice
    else:
        return RedirectResponse(f"/projects/{declaration_id}?saved=extension", status_code=303)
    return _extension_page(templates, request, session, view, values=values, errors=errors)


def _extension_decision_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    view: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    ap = view["project"]
    deadline = _deadline(ap)
    reason = (ap.get("extension_reason") or "（未填写）").rstrip("。")
    asked = (
        f"申请延期至 {ap['extension_until']}，理由：{reason}。"
        if ap.get("extension_status") == "requested"
        else "该项目没有待审核的延期验收申请。"
    )
    return _page(
        templates,
        request,
        session,
        title=f"延期验收申请审核 — {ap['project_name']}",
        fields=spec.EXTENSION_DECISION,
        action=f"/projects/{ap['declaration_id']}/extension/decision",
        back=f"/projects/{ap['declaration_id']}",
        values=values,
        errors=errors,
        intro=(f"{deadline}。" if deadline else "") + asked,
    )


@router.get("/projects/{declaration_id}/extension/decision", response_class=HTMLResponse)
async def extension_decision_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """延期申请审核: the deadline with its article, what the unit asked for and why."""
    view = await _acceptance_project(backend, session, declaration_id)
    return _extension_decision_page(templates, request, session, view)


@router.post("/projects/{declaration_id}/extension/decision", response_class=HTMLResponse)
async def decide_extension(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """DecideExtension; a refusal without its reason is acceptance's, shown beside 审核意见."""
    form = await read_form(request, session)
    values = form_values(form)
    view = await _acceptance_project(backend, session, declaration_id)
    ap = view["project"]
    errors = FormErrors()
    decision = values.get("decision", "")
    if decision not in ("approve", "reject"):
        errors.add("decision", "请选择同意或不同意延期")
    else:
        try:
            await _call(
                backend,
                session,
                "acceptance",
                backend.acceptance.DecideExtension,
                acceptance_pb2.DecideExtensionRequest(
                    project_id=ap["id"],
                    version=int(ap["version"]),
                    approve=decision == "approve",
                    note=values.get("note", "").strip(),
                ),
            )
        except AppError as err:
            errors = _refused(err, form="extension_decision", known_fields=names(spec.EXTENSION_DECISION))
        else:
            return RedirectResponse(f"/projects/{declaration_id}?saved=extension-decision", status_code=303)
    return _extension_decision_page(templates, request, session, view, values=values, errors=errors)


# ------------------------------------------------------------------------------------------------
# 暂停/终止: the bureau suspends, terminates or resumes a project on the pack's grounds (Intervene)
# ------------------------------------------------------------------------------------------------


def _intervention_fields(project: dict[str, Any]) -> tuple[Field, ...]:
    return spec.intervention_fields(project["project"]["status"], project.get("suspension_grounds", []))


def _intervention_page(
    templates: Jinja2Templates,
    request: Request,
    session: PortalSession,
    project: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    pp = project["project"]
    return _page(
        templates,
        request,
        session,
        title=f"暂停/终止项目 — {pp['name']}",
        fields=_intervention_fields(project),
        action=f"/projects/{pp['declaration_id']}/intervention",
        back=f"/projects/{pp['declaration_id']}",
        values=values,
        errors=errors,
        intro=f"建设状态：{pp.get('status_zh') or pp['status']}。"
        "暂停或终止须依据本地区管理办法规定的情形（条款见各选项）；恢复实施沿用暂停时的依据。",
    )


@router.get("/projects/{declaration_id}/intervention", response_class=HTMLResponse)
async def intervention_form(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """暂停/终止: the kind, one of the pack's grounds with its article, the reason."""
    project = await _procurement_project(backend, session, declaration_id)
    return _intervention_page(templates, request, session, project)


@router.post("/projects/{declaration_id}/intervention", response_class=HTMLResponse)
async def intervene(
    request: Request,
    declaration_id: str,
    session: CurrentSession,
    backend: BackendDep,
    templates: TemplatesDep,
) -> Response:
    """Intervene; a ground the pack lacks or a missing reason is procurement's refusal beside its field."""
    form = await read_form(request, session)
    values = form_values(form)
    project = await _procurement_project(backend, session, declaration_id)
    try:
        await _call(
            backend,
            session,
            "procurement",
            backend.procurement.Intervene,
            procurement_pb2.InterveneRequest(
                declaration_id=declaration_id,
                version=int(project["project"]["version"]),
                kind=values.get("kind", ""),
                ground=values.get("ground", ""),
                reason=values.get("reason", "").strip(),
            ),
        )
    except AppError as err:
        errors = _refused(err, form="intervention", known_fields=names(_intervention_fields(project)))
    else:
        return RedirectResponse(f"/projects/{declaration_id}?saved=intervention", status_code=303)
    return _intervention_page(templates, request, session, project, values=values, errors=errors)
