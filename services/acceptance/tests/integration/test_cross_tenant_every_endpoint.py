"""Issue 6, "cross-tenant access refused on every new endpoint": every route of acceptance's REST
app and every RPC of its gRPC service is called as another tenant's bureau and unit on a real
project, acceptance, evidence and rectification of the owner's tenant. Each refuses (404 /
NOT_FOUND, as if nothing were there), no response carries the owner's ids, and nothing changed.
The route and RPC lists are read from the app and the service descriptor, so a new endpoint
without a call here fails the test."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from acceptance.entrypoints import grpc as grpc_api
from acceptance.entrypoints.rest import routers
from acceptance.service import AcceptanceDeps
from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError, ErrorKind
from govproj.acceptance.v1 import acceptance_pb2 as pb

from .test_api_and_tenancy import _upload, app_for

pytestmark = pytest.mark.integration

EVIDENCE = ("crypto", "security_risk", "resource_catalog", "user_participation", "third_party_test")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _owner_state(c: httpx.AsyncClient, declaration_id: str) -> dict[str, Any]:
    """Project with a trial and evidence, an acceptance failed with one rectification item."""
    unit, bureau = {"x-test-user": "unit"}, {"x-test-user": "bureau"}
    project = (await c.get(f"/v1/projects/by-declaration/{declaration_id}", headers=unit)).json()
    pid = project["id"]
    started = await c.post(
        f"/v1/projects/{pid}/trial",
        json={"started_on": "2025-01-20", "version": project["version"]},
        headers=unit,
    )
    assert started.status_code == 200, started.text
    ev = await _upload(c, pid, "mlps", level="3")
    assert ev.status_code == 201, ev.text
    for kind in EVIDENCE:
        assert (await _upload(c, pid, kind)).status_code == 201
    version = (await c.get(f"/v1/projects/{pid}", headers=unit)).json()["project"]["version"]
    applied = await c.post(
        f"/v1/projects/{pid}/acceptances", json={"stage": "final", "version": version}, headers=unit
    )
    assert applied.status_code == 201, applied.text
    a = applied.json()
    drawn = await c.post(
        f"/v1/acceptances/{a['id']}/panel", json={"size": 3, "version": a["version"]}, headers=bureau
    )
    assert drawn.status_code == 200, drawn.text
    a = drawn.json()
    failed = await c.post(
        f"/v1/acceptances/{a['id']}/decision",
        json={
            "version": a["version"],
            "opinion": "用户测试未覆盖",
            "findings": [{"code": i["code"], "passed": i["code"] != "user_testing"} for i in a["checklist"]],
            "rectifications": [
                {"description": "补充服务对象测试", "owner": "承建公司", "due_on": "2025-04-30"}
            ],
        },
        headers=bureau,
    )
    assert failed.status_code == 200, failed.text
    a = failed.json()
    return {
        "pid": pid,
        "declaration_id": declaration_id,
        "evidence_id": ev.json()["id"],
        "acceptance": a,
        "item": a["rectifications"][0],
    }


def _rest_calls(s: dict[str, Any]) -> dict[tuple[str, str], tuple[str, Any]]:
    """For each (method, route path) of the app: the URL on the owner's objects and a valid body."""
    pid, a, item = s["pid"], s["acceptance"], s["item"]
    aid, v = a["id"], a["version"]
    upload = {
        "data": {"kind": "crypto", "conclusion": "pass", "issued_by": "x", "issued_on": "2025-02-25"},
        "files": {"file": ("crypto.pdf", PDF, "application/pdf")},
    }
    return {
        ("GET", "/v1/projects"): ("/v1/projects", None),
        ("GET", "/v1/projects/by-declaration/{declaration_id}"): (
            f"/v1/projects/by-declaration/{s['declaration_id']}",
            None,
        ),
        ("GET", "/v1/projects/{project_id}"): (f"/v1/projects/{pid}", None),
        ("POST", "/v1/projects/{project_id}/trial"): (
            f"/v1/projects/{pid}/trial",
            {"json": {"started_on": "2025-01-21", "version": 1}},
        ),
        ("POST", "/v1/projects/{project_id}/evidence"): (f"/v1/projects/{pid}/evidence", upload),
        ("GET", "/v1/projects/{project_id}/evidence/{evidence_id}/content"): (
            f"/v1/projects/{pid}/evidence/{s['evidence_id']}/content",
            None,
        ),
        ("POST", "/v1/projects/{project_id}/extension"): (
            f"/v1/projects/{pid}/extension",
            {"json": {"reason": "x", "requested_until": "2026-01-01", "version": 1}},
        ),
        ("POST", "/v1/projects/{project_id}/extension/decision"): (
            f"/v1/projects/{pid}/extension/decision",
            {"json": {"approve": True, "version": 1}},
        ),
        ("POST", "/v1/projects/{project_id}/acceptances"): (
            f"/v1/projects/{pid}/acceptances",
            {"json": {"stage": "final", "version": 1}},
        ),
        ("GET", "/v1/acceptances/{acceptance_id}"): (f"/v1/acceptances/{aid}", None),
        ("POST", "/v1/acceptances/{acceptance_id}/panel"): (
            f"/v1/acceptances/{aid}/panel",
            {"json": {"size": 1, "version": v}},
        ),
        ("POST", "/v1/acceptances/{acceptance_id}/decision"): (
            f"/v1/acceptances/{aid}/decision",
            {"json": {"version": v, "findings": [{"code": "x", "passed": True}]}},
        ),
        ("POST", "/v1/acceptances/{acceptance_id}/filing"): (
            f"/v1/acceptances/{aid}/filing",
            {"json": {"version": v}},
        ),
        ("GET", "/v1/acceptances/{acceptance_id}/report.pdf"): (f"/v1/acceptances/{aid}/report.pdf", None),
        ("POST", "/v1/rectifications/{item_id}/completion"): (
            f"/v1/rectifications/{item['id']}/completion",
            {"json": {"note": "x", "version": item["version"]}},
        ),
    }


def _grpc_calls(servicer: Any, s: dict[str, Any]) -> dict[str, Any]:
    """For each RPC of AcceptanceService: a coroutine factory on the owner's objects."""
    pid, a, item = s["pid"], s["acceptance"], s["item"]
    aid, v = a["id"], a["version"]
    return {
        "GetProject": lambda: servicer.GetProject(pb.GetProjectRequest(id=pid), None),
        "GetProjectByDeclaration": lambda: servicer.GetProjectByDeclaration(
            pb.GetProjectByDeclarationRequest(declaration_id=s["declaration_id"]), None
        ),
        "ListProjects": lambda: servicer.ListProjects(pb.ListProjectsRequest(), None),
        "StartTrial": lambda: servicer.StartTrial(
            pb.StartTrialRequest(project_id=pid, version=1, started_on="2025-01-21"), None
        ),
        "RecordEvidence": lambda: servicer.RecordEvidence(
            pb.RecordEvidenceRequest(
                project_id=pid,
                kind="crypto",
                conclusion="pass",
                issued_by="x",
                issued_on="2025-02-25",
                filename="crypto.pdf",
                content_type="application/pdf",
                content=PDF,
            ),
            None,
        ),
        "RequestExtension": lambda: servicer.RequestExtension(
            pb.RequestExtensionRequest(project_id=pid, version=1, reason="x", requested_until="2026-01-01"),
            None,
        ),
        "DecideExtension": lambda: servicer.DecideExtension(
            pb.DecideExtensionRequest(project_id=pid, version=1, approve=True), None
        ),
        "ApplyAcceptance": lambda: servicer.ApplyAcceptance(
            pb.ApplyAcceptanceRequest(project_id=pid, version=1, stage="final"), None
        ),
        "GetAcceptance": lambda: servicer.GetAcceptance(pb.GetAcceptanceRequest(id=aid), None),
        "DrawPanel": lambda: servicer.DrawPanel(
            pb.DrawPanelRequest(acceptance_id=aid, version=v, size=1), None
        ),
        "DecideAcceptance": lambda: servicer.DecideAcceptance(
            pb.DecideAcceptanceRequest(
                acceptance_id=aid, version=v, findings=[pb.Finding(code="x", passed=True)]
            ),
            None,
        ),
        "FileResult": lambda: servicer.FileResult(pb.FileResultRequest(acceptance_id=aid, version=v), None),
        "CompleteRectification": lambda: servicer.CompleteRectification(
            pb.CompleteRectificationRequest(id=item["id"], version=item["version"], note="x"), None
        ),
        "GetReport": lambda: servicer.GetReport(pb.GetReportRequest(acceptance_id=aid), None),
    }


async def test_every_rest_route_and_rpc_refuses_another_tenant(  # type: ignore[no-untyped-def]
    deps: AcceptanceDeps, tenants, h
) -> None:
    t, other = tenants.city, tenants.wuxing
    users = {
        "unit": h.who(t, "applicant", org="unit-1"),
        "bureau": h.who(t, "bureau_reviewer"),
        "other_bureau": h.who(other, "bureau_reviewer"),
        "other_unit": h.who(other, "applicant", org="unit-1"),
        "other_head": h.who(other, "unit_head", org="unit-1"),
    }
    filed = h.contract_filed(t, amount="2000000.00", contract_amount="1500000.00", public_facing=True)
    await h.learn(deps, filed)
    transport = httpx.ASGITransport(app=app_for(deps, users))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        s = await _owner_state(c, filed.declaration_id)
        owner_ids = [s["pid"], s["declaration_id"], s["evidence_id"], s["acceptance"]["id"], s["item"]["id"]]
        before = {
            "project": (await c.get(f"/v1/projects/{s['pid']}", headers={"x-test-user": "unit"})).json(),
            "acceptance": (
                await c.get(f"/v1/acceptances/{s['acceptance']['id']}", headers={"x-test-user": "bureau"})
            ).json(),
        }

        routes = {
            (m, r.path)
            for router in routers
            for r in router.routes
            if isinstance(r, APIRoute)
            for m in r.methods
        }
        calls = _rest_calls(s)
        assert routes == set(calls), f"routes without a cross-tenant call: {routes - set(calls)}"
        for user in ("other_bureau", "other_unit", "other_head"):
            for (method, path), (url, body) in calls.items():
                response = await c.request(method, url, headers={"x-test-user": user}, **(body or {}))
                if "{" in path:
                    assert response.status_code in (403, 404), (user, method, url, response.text)
                else:  # a list: answered, without the owner's objects
                    assert response.status_code == 200, (user, method, url, response.text)
                # an id the caller sent may be echoed in the 404; any other of the owner's is a leak
                leaked = [i for i in owner_ids if i in response.text and i not in url]
                assert not leaked, (user, method, url, leaked)

        after = {
            "project": (await c.get(f"/v1/projects/{s['pid']}", headers={"x-test-user": "unit"})).json(),
            "acceptance": (
                await c.get(f"/v1/acceptances/{s['acceptance']['id']}", headers={"x-test-user": "bureau"})
            ).json(),
        }
        assert after == before  # nothing the other tenant sent changed the owner's records

    ((_, servicer),) = grpc_api.servicers(deps)
    rpcs = set(pb.DESCRIPTOR.services_by_name["AcceptanceService"].methods_by_name)
    grpc_calls = _grpc_calls(servicer, s)
    assert rpcs == set(grpc_calls), f"RPCs without a cross-tenant call: {rpcs - set(grpc_calls)}"
    for user in ("other_bureau", "other_unit", "other_head"):
        reset = _principal.set(users[user])
        try:
            for name, call in grpc_calls.items():
                if name == "ListProjects":
                    listed = await call()
                    assert s["pid"] not in [p.id for p in listed.projects], user
                    continue
                with pytest.raises(AppError) as refused:
                    await call()
                assert refused.value.kind in (ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN), (
                    user,
                    name,
                    refused.value,
                )
        finally:
            _principal.reset(reset)
    reset = _principal.set(users["unit"])
    try:
        mine = await servicer.GetProject(pb.GetProjectRequest(id=s["pid"]), None)
        assert mine.project.version == before["project"]["project"]["version"]
        assert len(mine.evidence) == len(before["project"]["evidence"])
    finally:
        _principal.reset(reset)
