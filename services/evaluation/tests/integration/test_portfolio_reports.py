"""The bureau's reports over the portfolio: by group (the city reaching its counties under their
own RLS binding), overdue and risk lists, working-day timings, the Excel and OCDS exports."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from evaluation.adapters import ocds
from evaluation.service import EvaluationDeps
from evaluation.service import portfolio as portfolio_service
from govproj.common.v1 import common_pb2
from govproj.procurement.events.v1 import events_pb2 as procurement_pb2
from govproj.review.events.v1 import events_pb2 as review_pb2

pytestmark = pytest.mark.integration


async def _seed(deps: EvaluationDeps, h: Any, tenant: str, *, contracts: bool) -> Any:
    d = h.submitted(tenant, submitted_at="2025-03-03T09:00:00+08:00")
    approval = review_pb2.ApprovalGranted(
        approval_id=str(uuid.uuid4()),
        declaration_id=d.declaration_id,
        tenant_id=tenant,
        project_code=d.project_code,
        approved_amount=common_pb2.Money(amount="700000.00"),
        approved_on="2025-03-17",
        valid_until="2025-09-17",
    )
    await h.feed(deps, d, h.planned(d), approval, tenant=tenant)
    if contracts:
        contract = procurement_pb2.ContractFiled(
            contract_id=str(uuid.uuid4()),
            declaration_id=d.declaration_id,
            tenant_id=tenant,
            project_code=d.project_code,
            role="construction",
            contract_amount=common_pb2.Money(amount="650000.00"),
            signed_on="2025-04-01",
            period_end="2025-06-30",
        )
        payment = procurement_pb2.PaymentRecorded(
            payment_id=str(uuid.uuid4()),
            contract_id=contract.contract_id,
            declaration_id=d.declaration_id,
            tenant_id=tenant,
            paid_total=common_pb2.Money(amount="195000.00"),
            paid_on="2025-04-10",
        )
        for message, subject in (
            (contract, "govproj.procurement.v1.contract.filed"),
            (payment, "govproj.procurement.v1.payment.recorded"),
        ):
            env = h.envelope(message, tenant, subject)
            async with deps.uow(tenant_id=tenant) as tx:
                await portfolio_service.project_event(tx.session, env, deps=deps)
                await tx.commit()
    return d


async def test_dashboard_overdue_risks_timings_and_exports(
    deps: EvaluationDeps, tenants: Any, clock: Any, h: Any
) -> None:
    built = await _seed(deps, h, tenants.city, contracts=True)
    await _seed(deps, h, tenants.city, contracts=False)
    await _seed(deps, h, tenants.qiaokou, contracts=False)
    users = {
        "city": h.who(tenants.city, "bureau_head"),
        "county": h.who(tenants.qiaokou, "bureau_head"),
        "unit": h.who(tenants.city, "applicant", org="unit-1"),
    }
    clock.day = date(2025, 10, 8)
    app = h.app_for(deps, users)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        by_stage = (
            await c.get("/v1/portfolio/dashboard", params={"by": "stage"}, headers={"x-test-user": "city"})
        ).json()
        stages = {r["key"]: r for r in by_stage["items"]}
        assert stages["construction"]["projects"] == 1 and stages["approved"]["projects"] == 1
        assert float(stages["construction"]["paid"]) == 195000.0
        by_tenant = (
            await c.get("/v1/portfolio/dashboard", params={"by": "tenant"}, headers={"x-test-user": "city"})
        ).json()
        assert {r["key"]: r["projects"] for r in by_tenant["items"]} == {tenants.city: 2, tenants.qiaokou: 1}
        county = (
            await c.get("/v1/portfolio/dashboard", params={"by": "tenant"}, headers={"x-test-user": "county"})
        ).json()
        assert {r["key"] for r in county["items"]} == {tenants.qiaokou}  # a county does not see the city
        bad = await c.get("/v1/portfolio/dashboard", params={"by": "colour"}, headers={"x-test-user": "city"})
        assert bad.status_code == 400
        assert (await c.get("/v1/portfolio/dashboard", headers={"x-test-user": "unit"})).status_code == 403

        overdue = (await c.get("/v1/portfolio/overdue", headers={"x-test-user": "city"})).json()["items"]
        late = {o["project"]["declaration_id"]: [i["code"] for i in o["overdue"]] for o in overdue}
        assert late[built.declaration_id] == ["construction_overdue"]
        assert sorted(late.values()) == [["approval_lapsed"], ["construction_overdue"]]
        risks = (await c.get("/v1/portfolio/risks", headers={"x-test-user": "city"})).json()["items"]
        assert len(risks) == 2

        timed = (await c.get("/v1/portfolio/timings", headers={"x-test-user": "city"})).json()
        # Mon 3 → Mon 17 March 2025: ten working days.
        assert {t["approval_workdays"] for t in timed["items"]} == {10}
        assert timed["average"] == {"approval_workdays": 10.0, "acceptance_workdays": None}

        own = (await c.get("/v1/portfolio/projects", headers={"x-test-user": "unit"})).json()["items"]
        assert len(own) == 2 and all(p["org_id"] == "unit-1" for p in own)
        missing = await c.get(
            f"/v1/portfolio/projects/{built.declaration_id}", headers={"x-test-user": "county"}
        )
        assert missing.status_code == 404

        xlsx = await c.get("/v1/portfolio/export.xlsx", headers={"x-test-user": "city"})
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "项目编号" and len(rows) == 3
        assert any(r[9] == 650000 and r[10] == 195000 for r in rows[1:])

        package = await c.get("/v1/portfolio/ocds", headers={"x-test-user": "city"})
        assert package.status_code == 200, package.text
        body = package.json()
        assert ocds.validate(body) == []
        assert len(body["releases"]) == 2
        contracted = next(r for r in body["releases"] if "contracts" in r)
        assert contracted["contracts"][0]["value"] == {"amount": 650000.0, "currency": "CNY"}
        # A broken package is caught by the official schema.
        body["releases"][0]["tag"] = ["nonsense"]
        assert ocds.validate(body)
