"""procurement's REST and gRPC entry points in process over the real PostgreSQL: the whole filing
flow by HTTP, the signed webhook (HMAC, timestamp, nonce replay, the same release twice), 404 for
another tenant and 403 for the wrong role on every endpoint, gRPC reads and writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Request

from govkit import signing
from govkit.auth import Principal
from govkit.auth.grpc_aio import _principal
from govkit.auth.rest import current_principal
from govkit.errors import AppError, ErrorKind
from govkit.web import create_app
from govproj.common.v1 import common_pb2
from govproj.procurement.v1 import procurement_pb2
from procurement.entrypoints import grpc as grpc_api
from procurement.entrypoints.rest import routers
from procurement.service import ProcurementDeps

from .conftest import CONTRACTOR, PDF, SECRET, credit_code

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "ocds-release-package.json"
CODE = "2025-230522-65-01-000123"


def app_for(deps: ProcurementDeps, users: dict[str, Principal]) -> Any:
    """The REST app with the caller named by an ``X-Test-User`` header (no token service here)."""
    app = create_app(title="procurement-test")
    for router in routers:
        app.include_router(router)
    app.state.procurement_deps = deps
    app.state.webhook_max_bytes = 1024 * 1024

    async def principal(request: Request) -> Principal:
        return users[request.headers["x-test-user"]]

    app.dependency_overrides[current_principal] = principal
    return app


def client(app: Any, user: str | None = None) -> httpx.AsyncClient:
    headers = {"x-test-user": user} if user else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers)


CONTRACT = {
    "contract_no": "HT-1",
    "supplier_name": "某某信息技术有限公司",
    "supplier_credit_code": CONTRACTOR,
    "amount": "750000.00",
    "signed_on": "2025-03-03",
    "period_start": "2025-03-10",
    "period_end": "2025-09-10",
    "warranty_months": 36,
    "ip_clause": "知识产权归建设单位。",
    "termination_clause": "严重违约可解除。",
    "schedule": [{"name": "上线", "due_on": "2025-08-01"}],
}


async def test_rest_flow_and_every_endpoint_refuses_other_tenants_and_roles(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant, other = tenants.qiaokou, tenants.city
    declaration_id = await h.grant(deps, tenant)
    users = {
        "unit": h.who(tenant, "applicant"),
        "bureau": h.who(tenant, "bureau_head", org="bureau"),
        "other_bureau": h.who(other, "bureau_head", org="bureau"),
        "other_unit": h.who(other, "applicant"),
        "auditor": h.who(tenant, "auditor", org=None),
    }
    app = app_for(deps, users)
    async with (
        client(app, "unit") as unit,
        client(app, "bureau") as bureau,
        client(app, "other_bureau") as outsider,
    ):
        listed = await bureau.get("/v1/projects")
        assert listed.status_code == 200 and [p["declaration_id"] for p in listed.json()["items"]] == [
            declaration_id
        ]
        assert (await outsider.get("/v1/projects")).json()["items"] == []
        project = (await unit.get(f"/v1/projects/{declaration_id}")).json()
        assert project["final_payment_blocked"] and project["final_payment_cite"] == ["qiaokou-2022 §29"]
        version = project["project"]["version"]

        bad = await unit.post(
            f"/v1/projects/{declaration_id}/procurements", json={"version": version, "method": "拍卖"}
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"]
        started = await unit.post(
            f"/v1/projects/{declaration_id}/procurements", json={"version": version, "method": "open_tender"}
        )
        assert started.status_code == 201, started.text
        procurement = started.json()
        assert procurement["method_zh"] == "公开招标" and procurement["missing_documents"] == [
            "tender_documents",
            "award_notice",
            "contract",
        ]
        pid = procurement["id"]
        stale = await unit.post(
            f"/v1/projects/{declaration_id}/procurements",
            json={"version": version, "method": "inquiry", "role": "supervision"},
        )
        assert stale.status_code == 409
        for kind in ("tender_documents", "award_notice", "contract"):
            up = await unit.post(
                f"/v1/procurements/{pid}/documents",
                data={"kind": kind},
                files={"file": (f"{kind}.pdf", PDF + kind.encode(), "application/pdf")},
            )
            assert up.status_code == 201, up.text
        exe = await unit.post(
            f"/v1/procurements/{pid}/documents",
            data={"kind": "other"},
            files={"file": ("x.pdf", b"MZ\x90\x00binary", "application/pdf")},
        )
        assert exe.status_code == 400 and exe.json()["error"]["code"] == "UPLOAD_TYPE_NOT_ALLOWED"
        current = (await unit.get(f"/v1/procurements/{pid}")).json()
        sha = current["documents"][0]["sha256"]
        download = await unit.get(f"/v1/procurements/{pid}/documents/{sha}")
        assert download.status_code == 200 and download.headers["x-content-sha256"] == sha

        missing_field = await unit.post(
            f"/v1/procurements/{pid}/filing",
            json={**CONTRACT, "contract_no": None, "version": current["version"]},
        )
        assert missing_field.status_code == 400
        assert missing_field.json()["error"]["details"]["fields"][0]["field"] == "contract_no"
        unknown_field = await unit.post(
            f"/v1/procurements/{pid}/filing", json={**CONTRACT, "x": 1, "version": 1}
        )
        assert unknown_field.status_code == 400
        filed = await unit.post(
            f"/v1/procurements/{pid}/filing", json={**CONTRACT, "version": current["version"]}
        )
        assert filed.status_code == 201, filed.text
        filing = filed.json()
        assert filing["due_on"] == "2025-03-10" and not filing["overdue"] and filing["period_days"] == 185
        assert {c["code"] for c in filing["checks"]} >= {"FILED_WITHIN_DEADLINE", "AMOUNT_WITHIN_APPROVAL"}

        version = (await unit.get(f"/v1/projects/{declaration_id}")).json()["project"]["version"]
        progress = await unit.post(
            f"/v1/projects/{declaration_id}/progress",
            json={"version": version, "filing_id": filing["id"], "percent": "30", "milestones_done": []},
        )
        assert progress.status_code == 201, progress.text
        version = progress.json()["project"]["version"]
        final = await unit.post(
            f"/v1/projects/{declaration_id}/payments",
            json={
                "version": version,
                "filing_id": filing["id"],
                "kind": "final",
                "amount": "100.00",
                "paid_on": "2025-03-03",
            },
        )
        assert final.status_code == 422 and final.json()["error"]["cite"] == ["qiaokou-2022 §29"]
        unit_suspends = await unit.post(
            f"/v1/projects/{declaration_id}/suspension",
            json={"version": version, "ground": "force_majeure", "reason": "洪水"},
        )
        assert unit_suspends.status_code == 403
        suspended = await bureau.post(
            f"/v1/projects/{declaration_id}/suspension",
            json={"version": version, "ground": "force_majeure", "reason": "洪水"},
        )
        assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"

        # Another tenant's bureau: every endpoint answers 404 (nothing of this tenant exists for it).
        body = {"version": 1}
        for method, path, payload in [
            ("GET", f"/v1/projects/{declaration_id}", None),
            ("POST", f"/v1/projects/{declaration_id}/procurements", {**body, "method": "inquiry"}),
            (
                "POST",
                f"/v1/projects/{declaration_id}/progress",
                {**body, "filing_id": filing["id"], "percent": "1"},
            ),
            (
                "POST",
                f"/v1/projects/{declaration_id}/payments",
                {
                    **body,
                    "filing_id": filing["id"],
                    "kind": "progress",
                    "amount": "1.00",
                    "paid_on": "2025-03-03",
                },
            ),
            (
                "POST",
                f"/v1/projects/{declaration_id}/suspension",
                {**body, "ground": "force_majeure", "reason": "x"},
            ),
            ("POST", f"/v1/projects/{declaration_id}/resumption", {**body, "reason": "x"}),
            (
                "POST",
                f"/v1/projects/{declaration_id}/termination",
                {**body, "ground": "force_majeure", "reason": "x"},
            ),
            ("GET", f"/v1/procurements/{pid}", None),
            ("POST", f"/v1/procurements/{pid}/signing", {**body, "signed_on": "2025-03-03"}),
            ("GET", f"/v1/procurements/{pid}/documents/{sha}", None),
            ("POST", f"/v1/procurements/{pid}/filing", {**CONTRACT, **body}),
        ]:
            answer = await outsider.request(method, path, json=payload)
            assert answer.status_code == 404, (method, path, answer.text)
        upload = await outsider.post(
            f"/v1/procurements/{pid}/documents",
            data={"kind": "other"},
            files={"file": ("a.pdf", PDF, "application/pdf")},
        )
        assert upload.status_code == 404
        # Tenant-wide lists show the outsider only its own tenant.
        assert (await outsider.get("/v1/trading/mismatches")).json()["items"] == []
        assert (await outsider.get("/v1/trading/releases")).json()["items"] == []
        assert (await outsider.get("/v1/discredited")).json()["items"] == []
        async with client(app, "other_unit") as other_unit:
            assert (await other_unit.get("/v1/trading/mismatches")).status_code == 403
            assert (await other_unit.post("/v1/trading/imports", content=b"{}")).status_code == 403
        async with client(app, "auditor") as auditor:
            assert (await auditor.get(f"/v1/projects/{declaration_id}")).status_code == 200
            refused = await auditor.post(
                f"/v1/projects/{declaration_id}/resumption", json={"version": 99, "reason": "x"}
            )
            assert refused.status_code == 403
        assert (await unit.get("/v1/projects/not-a-uuid")).status_code == 404


async def test_a_testing_contract_by_rest_and_grpc_refused_for_the_contractor_with_wuxing_17(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    """The tester (检测/测评) as a procurement role over both APIs: the contractor may not test
    (wuxing-2023 §17, 422 with the check), another supplier may; other tenants see nothing of it."""
    tenant = tenants.wuxing
    declaration_id = await h.grant(deps, tenant, amount="800000.00")
    users = {"unit": h.who(tenant, "applicant"), "other_unit": h.who(tenants.city, "applicant")}
    app = app_for(deps, users)
    async with client(app, "unit") as unit, client(app, "other_unit") as outsider:
        version = (await unit.get(f"/v1/projects/{declaration_id}")).json()["project"]["version"]
        built = await unit.post(
            f"/v1/projects/{declaration_id}/procurements", json={"version": version, "method": "open_tender"}
        )
        assert built.status_code == 201, built.text
        for kind in ("tender_documents", "award_notice", "contract"):
            await unit.post(
                f"/v1/procurements/{built.json()['id']}/documents",
                data={"kind": kind},
                files={"file": (f"{kind}.pdf", PDF + kind.encode(), "application/pdf")},
            )
        current = (await unit.get(f"/v1/procurements/{built.json()['id']}")).json()
        filed = await unit.post(
            f"/v1/procurements/{built.json()['id']}/filing", json={**CONTRACT, "version": current["version"]}
        )
        assert filed.status_code == 201, filed.text

        unknown = await unit.post(
            f"/v1/projects/{declaration_id}/procurements",
            json={"version": 1, "method": "inquiry", "role": "designer"},
        )
        assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "VALIDATION_FAILED"
        version = (await unit.get(f"/v1/projects/{declaration_id}")).json()["project"]["version"]
        started = await unit.post(
            f"/v1/projects/{declaration_id}/procurements",
            json={"version": version, "method": "inquiry", "role": "testing", "title": "第三方验收测试"},
        )
        assert started.status_code == 201, started.text
        testing = started.json()
        assert testing["role"] == "testing" and testing["role_zh"] == "检测（测评）合同"
        for kind in ("tender_documents", "award_notice", "contract"):
            up = await unit.post(
                f"/v1/procurements/{testing['id']}/documents",
                data={"kind": kind},
                files={"file": (f"jc-{kind}.pdf", PDF + b"jc" + kind.encode(), "application/pdf")},
            )
            assert up.status_code == 201, up.text
        current = (await unit.get(f"/v1/procurements/{testing['id']}")).json()
        body = {**CONTRACT, "contract_no": "JC-1", "amount": "20000.00", "version": current["version"]}
        refused = await unit.post(f"/v1/procurements/{testing['id']}/filing", json=body)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "FILING_REFUSED" and error["cite"] == ["wuxing-2023 §17"]
        failed = [c for c in error["details"]["checks"] if not c["passed"]]
        assert [c["code"] for c in failed] == ["DESIGNER_SUPERVISOR_TESTER_EXCLUDED"]
        assert "承建单位" in failed[0]["message"]

        # Other tenants: the testing procurement does not exist for them.
        assert (await outsider.get(f"/v1/procurements/{testing['id']}")).status_code == 404
        assert (await outsider.post(f"/v1/procurements/{testing['id']}/filing", json=body)).status_code == 404
        assert (
            await outsider.post(
                f"/v1/procurements/{testing['id']}/documents",
                data={"kind": "other"},
                files={"file": ("x.pdf", PDF, "application/pdf")},
            )
        ).status_code == 404

    # gRPC: the same role by name; the tester files with its own credit code.
    [(_, servicer)] = grpc_api.servicers(deps)
    reset = _principal.set(h.who(tenant, "applicant"))
    try:
        shown = await servicer.GetProcurement(
            procurement_pb2.GetProcurementRequest(procurement_id=testing["id"]), None
        )
        assert shown.procurement.role == "testing" and shown.procurement.status == "started"
        terms = procurement_pb2.ContractTerms(
            contract_no="JC-1",
            supplier_name="某某软件测评中心有限公司",
            supplier_credit_code=credit_code("91330502MA2B3C4D5"),
            amount=common_pb2.Money(amount="20000.00"),
            signed_on="2025-03-03",
            period_start="2025-03-10",
            period_end="2025-06-30",
            warranty_months=36,
            ip_clause="测试文档归建设单位",
            termination_clause="可解除",
        )
        done = await servicer.FileContract(
            procurement_pb2.FileContractRequest(
                procurement_id=testing["id"], version=shown.procurement.version, terms=terms
            ),
            None,
        )
        assert done.filing.role == "testing"
        assert any(c.code == "DESIGNER_SUPERVISOR_TESTER_EXCLUDED" and c.passed for c in done.filing.checks)
        with pytest.raises(AppError) as bad_role:
            await servicer.StartProcurement(
                procurement_pb2.StartProcurementRequest(
                    declaration_id=declaration_id, version=1, method="inquiry", role="tester"
                ),
                None,
            )
        assert bad_role.value.kind is ErrorKind.INVALID
        _principal.set(h.who(tenants.city, "applicant"))
        with pytest.raises(AppError) as hidden:
            await servicer.GetProcurement(
                procurement_pb2.GetProcurementRequest(procurement_id=testing["id"]), None
            )
        assert hidden.value.kind is ErrorKind.NOT_FOUND
    finally:
        _principal.reset(reset)


async def test_webhook_signature_replay_and_the_same_release_twice(
    deps: ProcurementDeps, tenants: Any, h: Any, clock: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant, code=CODE)
    app = app_for(deps, {})
    body = SAMPLE.read_bytes()
    # The domain clock stands in March 2025; the trading center signs with the real time, which
    # the signature window keeps (a dev clock must not make every real push stale).
    now = deps.wall_now().timestamp()
    assert abs(now - deps.now().timestamp()) > 86400
    url = f"/v1/trading/webhook/{tenant}"
    async with client(app) as center:
        domain_time = signing.signed_headers(SECRET, body, now=deps.now().timestamp())
        answer = await center.post(url, content=body, headers=domain_time)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "WEBHOOK_STALE_TIMESTAMP"
        headers = signing.signed_headers(SECRET, body, now=now, nonce="nonce-1")
        first = await center.post(url, content=body, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json()["matched"] == 3 and first.json()["procurements_started"] == 1
        replay = await center.post(url, content=body, headers=headers)
        assert replay.status_code == 409 and replay.json()["error"]["code"] == "WEBHOOK_REPLAYED"
        again = await center.post(url, content=body, headers=signing.signed_headers(SECRET, body, now=now))
        assert again.status_code == 200 and again.json()["duplicates"] == 4 and again.json()["matched"] == 0
        forged = signing.signed_headers("wrong-secret", body, now=now)
        assert (await center.post(url, content=body, headers=forged)).status_code == 401
        tampered = await center.post(
            url, content=body + b" ", headers=signing.signed_headers(SECRET, body, now=now)
        )
        assert tampered.status_code == 401
        stale = signing.signed_headers(SECRET, body, now=now - 3600)
        answer = await center.post(url, content=body, headers=stale)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "WEBHOOK_STALE_TIMESTAMP"
        unsigned = await center.post(url, content=body)
        assert unsigned.status_code == 401
        unknown = await center.post(
            "/v1/trading/webhook/nowhere", content=body, headers=signing.signed_headers(SECRET, body, now=now)
        )
        assert unknown.status_code == 404
        junk = b"not json"
        assert (
            await center.post(url, content=junk, headers=signing.signed_headers(SECRET, junk, now=now))
        ).status_code == 400
    started = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.procurement.started")
    assert len(started) == 1 and started[0]["payload"]["declaration_id"] == declaration_id


async def test_grpc_reads_and_writes(deps: ProcurementDeps, tenants: Any, h: Any) -> None:
    tenant = tenants.wuxing
    declaration_id = await h.grant(deps, tenant)
    [(_, servicer)] = grpc_api.servicers(deps)
    reset = _principal.set(h.who(tenant, "applicant"))
    try:
        got = await servicer.GetProject(
            procurement_pb2.GetProjectRequest(declaration_id=declaration_id), None
        )
        assert got.project.status == "approved" and got.project.pack_id == "wuxing-2023"
        started = await servicer.StartProcurement(
            procurement_pb2.StartProcurementRequest(
                declaration_id=declaration_id, version=got.project.version, method="competitive_consultation"
            ),
            None,
        )
        pid = started.procurement.id
        for kind in ("tender_documents", "award_notice", "contract"):
            await servicer.UploadDocument(
                procurement_pb2.UploadDocumentRequest(
                    procurement_id=pid,
                    kind=kind,
                    filename=f"{kind}.pdf",
                    content_type="application/pdf",
                    data=PDF + kind.encode(),
                ),
                None,
            )
        with pytest.raises(AppError) as bad:
            await servicer.FileContract(
                procurement_pb2.FileContractRequest(procurement_id=pid, version=1), None
            )
        assert bad.value.kind is ErrorKind.INVALID
        current = await servicer.GetProcurement(
            procurement_pb2.GetProcurementRequest(procurement_id=pid), None
        )
        terms = procurement_pb2.ContractTerms(
            contract_no="HT-G",
            supplier_name="某公司",
            supplier_credit_code=CONTRACTOR,
            amount=common_pb2.Money(amount="700000.00"),
            signed_on="2025-03-03",
            period_start="2025-03-10",
            period_end="2025-06-30",
            warranty_months=36,
            ip_clause="归建设单位",
            termination_clause="可解除",
        )
        filed = await servicer.FileContract(
            procurement_pb2.FileContractRequest(
                procurement_id=pid, version=current.procurement.version, terms=terms
            ),
            None,
        )
        assert filed.filing.terms.amount.amount == "700000.00"
        assert {c.ref for c in filed.filing.citations} >= {"wuxing-2023 §15", "wuxing-2023 §27"}
        # GetProject carries the procurements with their filing (the portal's project page).
        detail = await servicer.GetProject(
            procurement_pb2.GetProjectRequest(declaration_id=declaration_id), None
        )
        [listed_p] = detail.procurements
        assert listed_p.id == pid and listed_p.filing.id == filed.filing.id
        assert listed_p.filing.terms.supplier_credit_code == CONTRACTOR
        assert {d.kind for d in listed_p.documents} == {"tender_documents", "award_notice", "contract"}
        assert list(detail.progress) == [] and list(detail.payments) == []
        _principal.set(h.who(tenants.lhasa, "bureau_head", org="bureau"))
        with pytest.raises(AppError) as hidden:
            await servicer.GetProject(procurement_pb2.GetProjectRequest(declaration_id=declaration_id), None)
        assert hidden.value.kind is ErrorKind.NOT_FOUND
        listed = await servicer.ListProjects(procurement_pb2.ListProjectsRequest(), None)
        assert list(listed.items) == []
        with pytest.raises(AppError) as denied:
            await servicer.ListMismatches(procurement_pb2.ListMismatchesRequest(declaration_id="x"), None)
        assert denied.value.kind is ErrorKind.NOT_FOUND
        package = json.loads(SAMPLE.read_text(encoding="utf-8"))
        imported = await servicer.ImportPackage(
            procurement_pb2.ImportPackageRequest(package_json=json.dumps(package).encode()), None
        )
        assert imported.received == 4 and imported.unmatched == 4  # lhasa has no such project codes
    finally:
        _principal.reset(reset)


async def test_grpc_project_carries_the_packs_grounds_and_its_interventions(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    """GetProject gives the portal the grounds an Intervene may name (qiaokou-2022 §27(1)–(5))
    and each intervention with its ground's label and article, oldest first."""
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant)
    [(_, servicer)] = grpc_api.servicers(deps)
    reset = _principal.set(h.who(tenant, "applicant"))
    try:
        approved = await servicer.GetProject(
            procurement_pb2.GetProjectRequest(declaration_id=declaration_id), None
        )
        await servicer.StartProcurement(  # suspension stops a project in procurement or construction
            procurement_pb2.StartProcurementRequest(
                declaration_id=declaration_id, version=approved.project.version, method="open_tender"
            ),
            None,
        )
        _principal.set(h.who(tenant, "bureau_head", org="bureau"))
        got = await servicer.GetProject(
            procurement_pb2.GetProjectRequest(declaration_id=declaration_id), None
        )
        grounds = {g.code: (g.label_zh, [c.ref for c in g.citations]) for g in got.suspension_grounds}
        assert set(grounds) == {
            "force_majeure",
            "major_content_change",
            "poor_execution",
            "major_security_risk",
            "refuses_supervision",
        }
        assert grounds["force_majeure"] == ("项目因不可抗力无法完成", ["qiaokou-2022 §27(1)"])
        assert list(got.interventions) == []
        with pytest.raises(AppError) as unknown:
            await servicer.Intervene(
                procurement_pb2.InterveneRequest(
                    declaration_id=declaration_id,
                    version=got.project.version,
                    kind="suspension",
                    ground="serious_delay",
                    reason="进度滞后",
                ),
                None,
            )
        assert unknown.value.code == "UNKNOWN_SUSPENSION_GROUND"
        suspended = await servicer.Intervene(
            procurement_pb2.InterveneRequest(
                declaration_id=declaration_id,
                version=got.project.version,
                kind="suspension",
                ground="major_security_risk",
                reason="等保测评发现高危漏洞未整改",
            ),
            None,
        )
        assert suspended.project.status == "suspended"
        read = await servicer.GetProject(
            procurement_pb2.GetProjectRequest(declaration_id=declaration_id), None
        )
        [item] = read.interventions
        assert (item.kind, item.ground, item.ground_zh) == (
            "suspension",
            "major_security_risk",
            "存在重大安全隐患，整改不到位",
        )
        assert item.reason == "等保测评发现高危漏洞未整改" and item.source == "bureau" and item.on_date
        assert [c.ref for c in item.citations] == ["qiaokou-2022 §27(4)"]
    finally:
        _principal.reset(reset)
