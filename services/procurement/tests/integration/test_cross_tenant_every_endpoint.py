"""Issue 6, "cross-tenant access refused on every new endpoint": every route of procurement's REST
app and every RPC of its gRPC service is called as another tenant's bureau head and unit on a real
project, procurement, document, contract filing and imported OCDS releases of the owner's tenant.
Each refuses (404/403, NOT_FOUND/PERMISSION_DENIED), the tenant-wide lists and imports answer only
for the caller's own tenant, no response carries the owner's ids and nothing of the owner changed.
The route and RPC lists are read from the routers and the service descriptor, so a new endpoint
without a call here fails the test. The trading-center webhook has no user: its tenant is the URL's
and its guard is the HMAC signature, so it is checked refusing an unsigned and a forged push."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute

from govkit import signing
from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import common_pb2
from govproj.procurement.v1 import procurement_pb2 as pb
from procurement.entrypoints import grpc as grpc_api
from procurement.entrypoints.rest import routers
from procurement.service import ProcurementDeps

from .conftest import CONTRACTOR, PDF, SECRET
from .test_api import CODE, CONTRACT, SAMPLE, app_for, client

pytestmark = pytest.mark.integration

OUTSIDERS = ("other_bureau", "other_unit")


async def _owner_state(deps: ProcurementDeps, app: Any, tenant: str, h: Any) -> dict[str, Any]:
    """A project with a procurement, its documents and a filed contract; another project matched
    by the trading center's pushed OCDS package (releases, and the procurement it started)."""
    declaration_id = await h.grant(deps, tenant)
    matched_id = await h.grant(deps, tenant, code=CODE)
    async with client(app, "unit") as unit, client(app) as center:
        version = (await unit.get(f"/v1/projects/{declaration_id}")).json()["project"]["version"]
        started = await unit.post(
            f"/v1/projects/{declaration_id}/procurements", json={"version": version, "method": "open_tender"}
        )
        assert started.status_code == 201, started.text
        pid = started.json()["id"]
        for kind in ("tender_documents", "award_notice", "contract"):
            up = await unit.post(
                f"/v1/procurements/{pid}/documents",
                data={"kind": kind},
                files={"file": (f"{kind}.pdf", PDF + kind.encode(), "application/pdf")},
            )
            assert up.status_code == 201, up.text
        current = (await unit.get(f"/v1/procurements/{pid}")).json()
        filed = await unit.post(
            f"/v1/procurements/{pid}/filing", json={**CONTRACT, "version": current["version"]}
        )
        assert filed.status_code == 201, filed.text
        body = SAMPLE.read_bytes()
        pushed = await center.post(
            f"/v1/trading/webhook/{tenant}",
            content=body,
            headers=signing.signed_headers(SECRET, body, now=deps.wall_now().timestamp()),
        )
        assert pushed.status_code == 200 and pushed.json()["procurements_started"] == 1, pushed.text
    return {
        "declaration_id": declaration_id,
        "matched_id": matched_id,
        "pid": pid,
        "sha": current["documents"][0]["sha256"],
        "filing_id": filed.json()["id"],
        "version": current["version"],
    }


def _rest_calls(s: dict[str, Any], tenant: str) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """For each (method, route path): the URL on the owner's objects and a valid request."""
    d, pid = s["declaration_id"], s["pid"]
    v = {"version": 1}
    return {
        ("GET", "/v1/projects"): ("/v1/projects", {}),
        ("GET", "/v1/projects/{declaration_id}"): (f"/v1/projects/{d}", {}),
        ("POST", "/v1/projects/{declaration_id}/procurements"): (
            f"/v1/projects/{d}/procurements",
            {"json": {**v, "method": "inquiry", "role": "supervision"}},
        ),
        ("POST", "/v1/projects/{declaration_id}/progress"): (
            f"/v1/projects/{d}/progress",
            {"json": {**v, "filing_id": s["filing_id"], "percent": "10", "milestones_done": []}},
        ),
        ("POST", "/v1/projects/{declaration_id}/payments"): (
            f"/v1/projects/{d}/payments",
            {
                "json": {
                    **v,
                    "filing_id": s["filing_id"],
                    "kind": "progress",
                    "amount": "1.00",
                    "paid_on": "2025-03-03",
                }
            },
        ),
        ("POST", "/v1/projects/{declaration_id}/suspension"): (
            f"/v1/projects/{d}/suspension",
            {"json": {**v, "ground": "force_majeure", "reason": "x"}},
        ),
        ("POST", "/v1/projects/{declaration_id}/termination"): (
            f"/v1/projects/{d}/termination",
            {"json": {**v, "ground": "force_majeure", "reason": "x"}},
        ),
        ("POST", "/v1/projects/{declaration_id}/resumption"): (
            f"/v1/projects/{d}/resumption",
            {"json": {**v, "reason": "x"}},
        ),
        ("GET", "/v1/procurements/{procurement_id}"): (f"/v1/procurements/{pid}", {}),
        ("POST", "/v1/procurements/{procurement_id}/signing"): (
            f"/v1/procurements/{pid}/signing",
            {"json": {"version": s["version"], "signed_on": "2025-03-03"}},
        ),
        ("POST", "/v1/procurements/{procurement_id}/documents"): (
            f"/v1/procurements/{pid}/documents",
            {"data": {"kind": "other"}, "files": {"file": ("a.pdf", PDF, "application/pdf")}},
        ),
        ("GET", "/v1/procurements/{procurement_id}/documents/{sha256}"): (
            f"/v1/procurements/{pid}/documents/{s['sha']}",
            {},
        ),
        ("POST", "/v1/procurements/{procurement_id}/filing"): (
            f"/v1/procurements/{pid}/filing",
            {"json": {**CONTRACT, "version": s["version"]}},
        ),
        ("GET", "/v1/discredited"): ("/v1/discredited", {}),
        ("POST", "/v1/trading/webhook/{tenant}"): (f"/v1/trading/webhook/{tenant}", {}),
        ("POST", "/v1/trading/imports"): ("/v1/trading/imports", {"content": SAMPLE.read_bytes()}),
        ("GET", "/v1/trading/releases"): ("/v1/trading/releases", {}),
        ("GET", "/v1/trading/mismatches"): ("/v1/trading/mismatches", {}),
    }


def _grpc_calls(servicer: Any, s: dict[str, Any]) -> dict[str, Any]:
    """For each RPC of ProcurementService: a coroutine factory on the owner's objects."""
    d, pid = s["declaration_id"], s["pid"]
    terms = pb.ContractTerms(
        contract_no="HT-X",
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
    return {
        "GetProject": lambda: servicer.GetProject(pb.GetProjectRequest(declaration_id=d), None),
        "ListProjects": lambda: servicer.ListProjects(pb.ListProjectsRequest(), None),
        "StartProcurement": lambda: servicer.StartProcurement(
            pb.StartProcurementRequest(declaration_id=d, version=1, method="inquiry", role="supervision"),
            None,
        ),
        "GetProcurement": lambda: servicer.GetProcurement(pb.GetProcurementRequest(procurement_id=pid), None),
        "RecordSigning": lambda: servicer.RecordSigning(
            pb.RecordSigningRequest(procurement_id=pid, version=s["version"], signed_on="2025-03-03"), None
        ),
        "UploadDocument": lambda: servicer.UploadDocument(
            pb.UploadDocumentRequest(
                procurement_id=pid, kind="other", filename="a.pdf", content_type="application/pdf", data=PDF
            ),
            None,
        ),
        "FileContract": lambda: servicer.FileContract(
            pb.FileContractRequest(procurement_id=pid, version=s["version"], terms=terms), None
        ),
        "ReportProgress": lambda: servicer.ReportProgress(
            pb.ReportProgressRequest(declaration_id=d, version=1, filing_id=s["filing_id"], percent="10"),
            None,
        ),
        "RecordPayment": lambda: servicer.RecordPayment(
            pb.RecordPaymentRequest(
                declaration_id=d,
                version=1,
                filing_id=s["filing_id"],
                kind="progress",
                amount=common_pb2.Money(amount="1.00"),
                paid_on="2025-03-03",
            ),
            None,
        ),
        "Intervene": lambda: servicer.Intervene(
            pb.InterveneRequest(
                declaration_id=d, version=1, kind="suspension", ground="force_majeure", reason="x"
            ),
            None,
        ),
        "ImportPackage": lambda: servicer.ImportPackage(
            pb.ImportPackageRequest(package_json=SAMPLE.read_bytes()), None
        ),
        "ListMismatches": lambda: servicer.ListMismatches(
            pb.ListMismatchesRequest(declaration_id=s["matched_id"]), None
        ),
    }


async def test_every_rest_route_and_rpc_refuses_another_tenant(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant, other = tenants.qiaokou, tenants.city
    users = {
        "unit": h.who(tenant, "applicant"),
        "bureau": h.who(tenant, "bureau_head", org="bureau"),
        "other_bureau": h.who(other, "bureau_head", org="bureau"),
        "other_unit": h.who(other, "applicant"),
    }
    app = app_for(deps, users)
    s = await _owner_state(deps, app, tenant, h)
    owner_ids = [s["declaration_id"], s["matched_id"], s["pid"], s["sha"], s["filing_id"]]

    async def snapshot() -> Any:
        async with client(app, "bureau") as bureau:
            return [
                (await bureau.get(url)).json()
                for url in (
                    f"/v1/projects/{s['declaration_id']}",
                    f"/v1/projects/{s['matched_id']}",
                    "/v1/trading/releases",
                    "/v1/trading/mismatches",
                )
            ]

    before = await snapshot()
    routes = {
        (m, r.path) for router in routers for r in router.routes if isinstance(r, APIRoute) for m in r.methods
    }
    calls = _rest_calls(s, tenant)
    assert routes == set(calls), f"routes without a cross-tenant call: {routes - set(calls)}"
    for user in OUTSIDERS:
        async with client(app, user) as outsider:
            for (method, path), (url, request) in calls.items():
                answer = await outsider.request(method, url, **request)
                if path == "/v1/trading/webhook/{tenant}":
                    assert answer.status_code == 401, answer.text  # unsigned
                    body = SAMPLE.read_bytes()
                    forged = signing.signed_headers(
                        "other-tenant-secret", body, now=deps.wall_now().timestamp()
                    )
                    answer = await outsider.post(url, content=body, headers=forged)
                    assert answer.status_code == 401, answer.text
                elif "{" in path:
                    assert answer.status_code in (403, 404), (user, method, url, answer.text)
                elif answer.status_code != 403:  # tenant-wide: only the caller's own tenant
                    assert answer.status_code == 200, (user, method, url, answer.text)
                    if path == "/v1/trading/imports":
                        assert answer.json()["procurements_started"] == 0, answer.text
                # an id the caller sent may be echoed in the 404; any other of the owner's is a leak
                leaked = [i for i in owner_ids if i in answer.text and i not in url]
                assert not leaked, (user, method, url, leaked)
    assert await snapshot() == before  # nothing the other tenant sent changed the owner's records

    [(_, servicer)] = grpc_api.servicers(deps)
    rpcs = set(pb.DESCRIPTOR.services_by_name["ProcurementService"].methods_by_name)
    grpc_calls = _grpc_calls(servicer, s)
    assert rpcs == set(grpc_calls), f"RPCs without a cross-tenant call: {rpcs - set(grpc_calls)}"
    refusals = (ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN)
    for user in OUTSIDERS:
        reset = _principal.set(users[user])
        try:
            for name, call in grpc_calls.items():
                if name in ("ListProjects", "ListMismatches", "ImportPackage"):  # the caller's tenant only
                    try:
                        answer = await call()
                    except AppError as refused:
                        assert refused.kind in refusals, (user, name, refused)
                        continue
                    text = str(answer)
                    assert not [i for i in owner_ids if i in text], (user, name)
                    if name == "ImportPackage":  # into the caller's tenant: the owner's project unmatched
                        assert answer.procurements_started == 0 and answer.matched == 0, (user, answer)
                    if name == "ListMismatches":
                        assert list(answer.items) == [], (user, answer)
                    continue
                with pytest.raises(AppError) as refused:
                    await call()
                assert refused.value.kind in refusals, (user, name, refused.value)
        finally:
            _principal.reset(reset)
    assert await snapshot() == before
