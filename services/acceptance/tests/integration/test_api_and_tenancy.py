"""The REST and gRPC entry points in process: a project through REST, and every endpoint refusing
another tenant's user and another unit of the same tenant (404, as if nothing were there)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from fastapi import Request

from acceptance.entrypoints import grpc as grpc_api
from acceptance.entrypoints.rest import routers
from acceptance.service import AcceptanceDeps
from govkit.auth import Principal
from govkit.auth.grpc_aio import _principal
from govkit.auth.rest import current_principal
from govkit.errors import AppError, ErrorKind
from govkit.pdf import page_texts
from govkit.web import create_app
from govproj.acceptance.v1 import acceptance_pb2

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def app_for(deps: AcceptanceDeps, users: dict[str, Principal]) -> Any:
    """The acceptance REST app with the caller named by an ``X-Test-User`` header."""
    app = create_app(title="acceptance-test")
    for router in routers:
        app.include_router(router)
    app.state.acceptance_deps = deps

    async def principal(request: Request) -> Principal:
        return users[request.headers["x-test-user"]]

    app.dependency_overrides[current_principal] = principal
    return app


def _upload(client: httpx.AsyncClient, project_id: str, kind: str, **extra: str) -> Any:
    return client.post(
        f"/v1/projects/{project_id}/evidence",
        data={
            "kind": kind,
            "conclusion": "pass",
            "issued_by": "某测评中心",
            "issued_on": "2025-02-25",
            **extra,
        },
        files={"file": (f"{kind}.pdf", PDF, "application/pdf")},
        headers={"x-test-user": "unit"},
    )


async def test_rest_flow_and_every_endpoint_refuses_other_tenants_and_units(  # type: ignore[no-untyped-def]
    deps: AcceptanceDeps, tenants, h, clock
) -> None:
    t = tenants.city  # shuangyashan-2024: unit organizes, bureau supervises
    users = {
        "unit": h.who(t, "applicant", org="unit-1"),
        "head": h.who(t, "unit_head", org="unit-1"),
        "bureau": h.who(t, "bureau_reviewer"),
        "other_unit": h.who(t, "applicant", org="unit-2"),
        "other_tenant": h.who(tenants.wuxing, "bureau_reviewer"),
        "other_tenant_unit": h.who(tenants.wuxing, "applicant", org="unit-1"),
    }
    filed = h.contract_filed(t, amount="2000000.00", contract_amount="1500000.00", public_facing=True)
    await h.learn(deps, filed)
    transport = httpx.ASGITransport(app=app_for(deps, users))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:

        def as_(user: str) -> dict[str, str]:
            return {"x-test-user": user}

        found = await c.get(f"/v1/projects/by-declaration/{filed.declaration_id}", headers=as_("unit"))
        assert found.status_code == 200, found.text
        project = found.json()
        pid = project["id"]
        started = await c.post(
            f"/v1/projects/{pid}/trial",
            json={"started_on": "2025-01-20", "version": project["version"]},
            headers=as_("unit"),
        )
        assert started.status_code == 200, started.text
        assert started.json()["trial_ends_on"] == "2025-02-20"
        assert started.json()["trial_citations"] == ["shuangyashan-2024 §29(1)"]
        bad_level = await _upload(c, pid, "mlps")
        assert bad_level.status_code == 400 and bad_level.json()["error"]["code"] == "MLPS_LEVEL_REQUIRED"
        ev = await _upload(c, pid, "mlps", level="3")
        assert ev.status_code == 201, ev.text
        assert ev.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
        content = await c.get(f"/v1/projects/{pid}/evidence/{ev.json()['id']}/content", headers=as_("bureau"))
        assert content.status_code == 200 and content.content == PDF
        assert content.headers["x-content-sha256"] == hashlib.sha256(PDF).hexdigest()
        detail = (await c.get(f"/v1/projects/{pid}", headers=as_("unit"))).json()
        missing = {r["kind"]: r["citations"] for r in detail["missing_evidence"]}
        assert missing == {
            "crypto": ["shuangyashan-2024 §29(2)"],
            "security_risk": ["shuangyashan-2024 §29(2)"],
            "resource_catalog": ["shuangyashan-2024 §29(4)"],
            "user_participation": ["shuangyashan-2024 §29(5)"],
            "third_party_test": ["shuangyashan-2024 §29(3)"],
        }
        version = detail["project"]["version"]
        refused = await c.post(
            f"/v1/projects/{pid}/acceptances",
            json={"stage": "final", "version": version},
            headers=as_("unit"),
        )
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "EVIDENCE_MISSING"
        assert "shuangyashan-2024 §29(5)" in refused.json()["error"]["cite"]
        for kind in missing:
            assert (await _upload(c, pid, kind)).status_code == 201
        no_version = await c.post(
            f"/v1/projects/{pid}/acceptances", json={"stage": "final"}, headers=as_("unit")
        )
        assert no_version.status_code == 400 and no_version.json()["error"]["code"] == "VERSION_REQUIRED"
        applied = await c.post(
            f"/v1/projects/{pid}/acceptances",
            json={"stage": "final"},
            headers={**as_("unit"), "If-Match": f'"{version}"'},
        )
        assert applied.status_code == 201, applied.text
        a = applied.json()
        # shuangyashan-2024 §8: a city project is built by the bureau unless it says otherwise, so
        # the bureau organizes the acceptance with the requesting unit (§28).
        assert a["organizer"] == "bureau"
        assert a["needs_panel"] is True and a["panel"] is None  # judged by a panel: draw one first
        assert a["organizer_citations"] == ["shuangyashan-2024 §28", "shuangyashan-2024 §8"]
        assert "user_testing" in [i["code"] for i in a["checklist"]]
        drawn = await c.post(
            f"/v1/acceptances/{a['id']}/panel",
            json={"size": 3, "version": a["version"]},
            headers=as_("bureau"),
        )
        assert drawn.status_code == 200, drawn.text
        a = drawn.json()
        by_head = await c.post(
            f"/v1/acceptances/{a['id']}/decision",
            json={
                "version": a["version"],
                "findings": [{"code": i["code"], "passed": True} for i in a["checklist"]],
            },
            headers=as_("head"),
        )
        assert by_head.status_code == 403  # the bureau organizes: the unit does not record the result
        failed = await c.post(
            f"/v1/acceptances/{a['id']}/decision",
            json={
                "version": a["version"],
                "opinion": "用户测试未覆盖",
                "findings": [
                    {"code": i["code"], "passed": i["code"] != "user_testing"} for i in a["checklist"]
                ],
                "rectifications": [
                    {"description": "补充服务对象测试", "owner": "承建公司", "due_on": "2025-04-30"}
                ],
            },
            headers=as_("bureau"),
        )
        assert failed.status_code == 200, failed.text
        a = failed.json()
        assert a["status"] == "failed" and a["result_zh"] == "验收不通过"
        item = a["rectifications"][0]
        pdf = await c.get(f"/v1/acceptances/{a['id']}/report.pdf", headers=as_("unit"))
        assert pdf.status_code == 200 and pdf.headers["x-content-sha256"] == a["report_sha256"]
        assert filed.project_code in "".join(page_texts(pdf.content))

        # Every endpoint, as another tenant's bureau / unit and as another unit of the same tenant.
        calls = [
            ("get", f"/v1/projects/{pid}", None),
            ("get", f"/v1/projects/by-declaration/{filed.declaration_id}", None),
            ("post", f"/v1/projects/{pid}/trial", {"started_on": "2025-01-20", "version": 1}),
            ("get", f"/v1/projects/{pid}/evidence/{ev.json()['id']}/content", None),
            (
                "post",
                f"/v1/projects/{pid}/extension",
                {"reason": "x", "requested_until": "2026-01-01", "version": 1},
            ),
            ("post", f"/v1/projects/{pid}/extension/decision", {"approve": True, "version": 1}),
            ("post", f"/v1/projects/{pid}/acceptances", {"stage": "final", "version": 1}),
            ("get", f"/v1/acceptances/{a['id']}", None),
            ("post", f"/v1/acceptances/{a['id']}/panel", {"size": 1, "version": a["version"]}),
            (
                "post",
                f"/v1/acceptances/{a['id']}/decision",
                {"version": a["version"], "findings": [{"code": "x", "passed": True}]},
            ),
            ("post", f"/v1/acceptances/{a['id']}/filing", {"version": a["version"]}),
            ("get", f"/v1/acceptances/{a['id']}/report.pdf", None),
            (
                "post",
                f"/v1/rectifications/{item['id']}/completion",
                {"note": "x", "version": item["version"]},
            ),
        ]
        for user in ("other_tenant", "other_tenant_unit", "other_unit"):
            for method, url, body in calls:
                response = await c.request(method, url, json=body, headers=as_(user))
                assert response.status_code == 404, (user, method, url, response.text)
            listed = await c.get("/v1/projects", headers=as_(user))
            assert listed.status_code == 200 and pid not in [p["id"] for p in listed.json()["items"]]
        assert pid in [p["id"] for p in (await c.get("/v1/projects", headers=as_("bureau"))).json()["items"]]

        done = await c.post(
            f"/v1/rectifications/{item['id']}/completion",
            json={"note": "已邀请服务对象测试", "version": item["version"]},
            headers=as_("unit"),
        )
        assert done.status_code == 200 and done.json()["done_on"] == clock.day.isoformat()


async def test_grpc_reads_and_refuses_other_tenants(deps: AcceptanceDeps, tenants, h) -> None:  # type: ignore[no-untyped-def]
    t = tenants.qiaokou
    filed = h.contract_filed(t)
    await h.learn(deps, filed)
    ((_, servicer),) = grpc_api.servicers(deps)
    reset = _principal.set(h.who(t, "applicant", org="unit-1"))
    try:
        found = await servicer.GetProjectByDeclaration(
            acceptance_pb2.GetProjectByDeclarationRequest(declaration_id=filed.declaration_id), None
        )
        assert found.project.pack_id == "qiaokou-2022"
        started = await servicer.StartTrial(
            acceptance_pb2.StartTrialRequest(
                project_id=found.project.id, version=found.project.version, started_on="2025-03-03"
            ),
            None,
        )
        assert started.project.trial_ends_on == "2025-06-03" and started.project.trial_min_months == 3
        with pytest.raises(AppError) as short:
            await servicer.ApplyAcceptance(
                acceptance_pb2.ApplyAcceptanceRequest(
                    project_id=found.project.id, version=started.project.version, stage="initial"
                ),
                None,
            )
        assert short.value.code == "TRIAL_RUN_TOO_SHORT" and short.value.cite == ["qiaokou-2022 §28(1)"]
        with pytest.raises(AppError) as bad_day:
            await servicer.StartTrial(
                acceptance_pb2.StartTrialRequest(
                    project_id=found.project.id, version=1, started_on="03/03/2025"
                ),
                None,
            )
        assert bad_day.value.kind is ErrorKind.INVALID
        _principal.set(h.who(tenants.wuxing, "bureau_reviewer"))
        for call in (
            servicer.GetProject(acceptance_pb2.GetProjectRequest(id=found.project.id), None),
            servicer.GetProjectByDeclaration(
                acceptance_pb2.GetProjectByDeclarationRequest(declaration_id=filed.declaration_id), None
            ),
            servicer.StartTrial(
                acceptance_pb2.StartTrialRequest(
                    project_id=found.project.id, version=2, started_on="2025-03-03"
                ),
                None,
            ),
        ):
            with pytest.raises(AppError) as cross:
                await call
            assert cross.value.kind is ErrorKind.NOT_FOUND
        listed = await servicer.ListProjects(acceptance_pb2.ListProjectsRequest(), None)
        assert found.project.id not in [p.id for p in listed.projects]
    finally:
        _principal.reset(reset)
