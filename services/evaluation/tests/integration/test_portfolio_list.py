"""The portfolio as the portal's 项目库 and 统计看板 read it over gRPC: every filter (year, tenant,
org, stage, category, amount range, overdue) with paging and a total, the overdue filter in SQL
agreeing with the domain's overdue rules row by row, working-day timings; and org/tenant switching
through the real AuthInterceptor with the dev issuer's tokens (a user of county-a and the city)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from devstack.issuer.testing import RunningIssuer, get_token, start_issuer
from evaluation.domain.portfolio import overdue_items
from evaluation.entrypoints import grpc as grpc_api
from evaluation.service import EvaluationDeps
from evaluation.service import portfolio as portfolio_service
from govkit.auth import ACTIVE_ORG_HEADER, AuthInterceptor, TokenVerifier
from govkit.auth.grpc_aio import _principal
from govkit.errors import AppError
from govkit.grpckit import create_server, error_from_rpc_error
from govproj.common.v1 import common_pb2
from govproj.evaluation.v1 import evaluation_pb2 as pb
from govproj.evaluation.v1 import evaluation_pb2_grpc as rpc
from govproj.procurement.events.v1 import events_pb2 as procurement_pb2
from govproj.review.events.v1 import events_pb2 as review_pb2

pytestmark = pytest.mark.integration


async def _project(
    deps: EvaluationDeps,
    h: Any,
    tenant: str,
    *,
    name: str,
    year: int = 2025,
    amount: str = "800000.00",
    org: str = "unit-1",
    category: str = "business_app",
    contract_end: str | None = None,
    approve: bool = True,
) -> Any:
    """A project submitted (and approved, and contracted when ``contract_end`` is given)."""
    d = h.submitted(
        tenant,
        name=name,
        org_id=org,
        category=category,
        amount=common_pb2.Money(amount=amount),
        target_year=year,
        plan_year=year,
        submitted_at="2025-03-03T09:00:00+08:00",
    )
    messages: list[Any] = [d, h.planned(d)]
    if approve:
        messages.append(
            review_pb2.ApprovalGranted(
                approval_id=str(uuid.uuid4()),
                declaration_id=d.declaration_id,
                tenant_id=tenant,
                project_code=d.project_code,
                approved_amount=d.amount,
                approved_on="2025-03-17",  # ten working days after Mon 3 March 2025
                valid_until="2025-09-17",
            )
        )
    await h.feed(deps, *messages, tenant=tenant)
    if contract_end:
        contract = procurement_pb2.ContractFiled(
            contract_id=str(uuid.uuid4()),
            declaration_id=d.declaration_id,
            tenant_id=tenant,
            project_code=d.project_code,
            role="construction",
            contract_amount=d.amount,
            signed_on="2025-04-01",
            period_end=contract_end,
        )
        env = h.envelope(contract, tenant, "govproj.procurement.v1.contract.filed")
        async with deps.uow(tenant_id=tenant) as tx:
            await portfolio_service.project_event(tx.session, env, deps=deps)
            await tx.commit()
    return d


async def test_list_filters_paging_overdue_and_timings(
    deps: EvaluationDeps, tenants: Any, clock: Any, h: Any
) -> None:
    city, county = tenants.city, tenants.qiaokou
    lapsed = await _project(deps, h, city, name="智慧城管平台", amount="800000.00")
    late = await _project(
        deps, h, city, name="政务云扩容", contract_end="2025-06-30", category="infrastructure"
    )
    on_time = await _project(deps, h, city, name="电子证照库", contract_end="2026-06-30", org="unit-2")
    old = await _project(deps, h, city, name="旧项目", year=2024, amount="2000000.00", approve=False)
    in_county = await _project(deps, h, county, name="县教育云", amount="300000.00")
    clock.day = date(2025, 10, 8)
    servicer = {type(s).__name__: s for _, s in grpc_api.servicers(deps)}["PortfolioServicer"]

    async def listed(**fields: Any) -> tuple[list[str], int]:
        got = await servicer.ListProjects(pb.ListProjectsRequest(**fields), None)
        return [p.declaration_id for p in got.projects], got.total

    reset = _principal.set(h.who(city, "bureau_head"))
    try:
        ids, total = await listed()
        assert total == 4 and set(ids) == {
            lapsed.declaration_id,
            late.declaration_id,
            on_time.declaration_id,
            old.declaration_id,
        }
        assert (await listed(year=2024))[0] == [old.declaration_id]
        assert set((await listed(stage="construction"))[0]) == {late.declaration_id, on_time.declaration_id}
        assert (await listed(org_id="unit-2"))[0] == [on_time.declaration_id]
        assert (await listed(category="infrastructure"))[0] == [late.declaration_id]
        money = common_pb2.Money
        assert set((await listed(amount_min=money(amount="1000000")))[0]) == {old.declaration_id}
        assert len((await listed(amount_max=money(amount="800000.00")))[0]) == 3  # inclusive
        assert (await listed(name_contains="证照"))[0] == [on_time.declaration_id]
        # Overdue today: the lapsed approval and the construction past its contract's end.
        overdue_ids, overdue_total = await listed(overdue=True)
        assert set(overdue_ids) == {lapsed.declaration_id, late.declaration_id} and overdue_total == 2
        # The SQL filter and the domain's rules agree on every row.
        rows = await portfolio_service.all_rows(deps, h.who(city, "bureau_head"))
        assert {r.declaration_id for r in rows if overdue_items(r, today=clock.day)} == set(overdue_ids)
        # Paging: the same order, no row twice, the total on every page.
        first, t1 = await listed(limit=3)
        second, t2 = await listed(limit=3, offset=3)
        assert len(first) == 3 and len(second) == 1 and t1 == t2 == 4 and not set(first) & set(second)
        # The city reads a county under it, under the county's own RLS binding.
        assert (await listed(tenant_id=county))[0] == [in_county.declaration_id]
        for bad in (
            pb.ListProjectsRequest(amount_min=money(amount="9"), amount_max=money(amount="1")),
            pb.ListProjectsRequest(stage="nowhere"),
            pb.ListProjectsRequest(amount_min=money(amount="abc")),
            pb.ListProjectsRequest(limit=1000),
        ):
            with pytest.raises(AppError) as info:
                await servicer.ListProjects(bad, None)
            assert info.value.http_status == 400

        timings = await servicer.Timings(pb.TimingsRequest(), None)
        assert timings.overall.approval.projects == 3 and timings.overall.approval.mean_workdays == 10.0
        assert timings.overall.approval.median_workdays == 10
        assert [r.key for r in timings.by_year] == ["2025"]  # the 2024 project was never approved
        assert timings.overall.acceptance.projects == 0
    finally:
        _principal.reset(reset)

    # A county sees neither the city nor a sibling; a unit only its own rows.
    reset = _principal.set(h.who(county, "bureau_head"))
    try:
        with pytest.raises(AppError) as refused:
            await listed(tenant_id=city)
        assert refused.value.code == "TENANT_NOT_VISIBLE" and refused.value.http_status == 403
    finally:
        _principal.reset(reset)
    reset = _principal.set(h.who(city, "applicant", org="unit-2"))
    try:
        assert (await listed())[0] == [on_time.declaration_id]
        assert (await listed(org_id="unit-1"))[0] == [on_time.declaration_id]  # its own, whatever asked
    finally:
        _principal.reset(reset)


@pytest.fixture
def issuer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GOVPROJ_ENV", "dev")
    running: RunningIssuer = start_issuer(tmp_path / "issuer")
    monkeypatch.delenv("GOVPROJ_ENV")
    yield running
    running.stop()


@pytest.fixture
async def portfolio_stub(deps: EvaluationDeps, issuer: RunningIssuer) -> AsyncIterator[Any]:
    """evaluation's gRPC server as bootstrap builds it (AuthInterceptor), on a free port."""
    verifier = TokenVerifier(server_url=issuer.base_url, realm="govproj", audience="govproj-evaluation")
    server = await create_server(
        servicers=grpc_api.servicers(deps),
        service_names=["govproj.evaluation.v1.PortfolioService"],
        port=0,
        interceptors=[AuthInterceptor(verifier)],
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield rpc.PortfolioServiceStub(channel)
    finally:
        await server.stop(0)
        await verifier.aclose()


async def test_switching_org_over_grpc_with_real_tokens(
    deps: EvaluationDeps, h: Any, issuer: RunningIssuer, portfolio_stub: Any
) -> None:
    marker = uuid.uuid4().hex[:8]
    mine = {t: await _project(deps, h, t, name=f"{t}项目{marker}") for t in ("county-a", "city", "county-b")}
    token = get_token(issuer.base_url, "bureau_reviewer.multi")  # county-a/bureau and city/bureau

    async def names(active: str | None) -> list[str]:
        metadata = [("authorization", f"Bearer {token}")]
        if active:
            metadata.append((ACTIVE_ORG_HEADER, active))
        got = await portfolio_stub.ListProjects(
            pb.ListProjectsRequest(name_contains=marker), metadata=metadata, timeout=10
        )
        return [p.name for p in got.projects]

    assert await names(None) == [f"county-a项目{marker}"]  # the default: the first membership
    assert await names("county-a/bureau") == [f"county-a项目{marker}"]
    assert await names("city/bureau") == [f"city项目{marker}"]  # switched: the city's rows only
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await names("county-b/bureau")
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    error = error_from_rpc_error(info.value)
    assert isinstance(error, AppError) and error.code == "ACTIVE_ORG_NOT_GRANTED"
    assert "不属于所选的地区或单位" in error.message
    # A single-membership token works as before and cannot borrow another tenant.
    single = get_token(issuer.base_url, "bureau_reviewer.county-b")
    got = await portfolio_stub.ListProjects(
        pb.ListProjectsRequest(name_contains=marker),
        metadata=[("authorization", f"Bearer {single}")],
        timeout=10,
    )
    assert [p.declaration_id for p in got.projects] == [mine["county-b"].declaration_id]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await portfolio_stub.ListProjects(
            pb.ListProjectsRequest(),
            metadata=[("authorization", f"Bearer {single}"), (ACTIVE_ORG_HEADER, "city/bureau")],
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
