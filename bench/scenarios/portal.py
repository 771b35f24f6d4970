"""The portal (issue 8): p95 of the 项目库 page and the 统计看板 page with 100,000 projects in the
portfolio, beside the p95 of the very gRPC calls each page makes, made directly.

100,000 rows are written into evaluation's portfolio for tenant ``city`` as the portfolio scenario
does (the same rows: whichever runs first writes them), a fifth of them given submission and
approval dates (the dashboard's working-day timings) and some an approval that lapsed unused
(its overdue list). ``bureau_head.city`` signs in to the portal through the issuer's code flow
(login page, form post, callback) as a browser would; then, one request at a time, interleaved so
that drift hits both alike:

- 项目库: ``GET /projects`` (the lifecycle view, first page) — the portal's one ListProjects call
  (20 rows and the total) — beside that ListProjects call on evaluation's gRPC with the same token;
- 统计看板: ``GET /dashboard`` — the portal's six concurrent reads (Dashboard by year, stage,
  tenant and department, ListProjects of the overdue, Timings) and the page's rendering — beside
  the same six calls made concurrently on the same channel.

Target: each page's p95 ≤ 2× the p95 of its direct calls (the portal adds sessions, HTML and
its own gRPC client on top of the same service work).
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import grpc.aio
import httpx

from bench.harness import BenchContext, Latencies, ScenarioResult, Target, scenario
from bench.scenarios.portfolio import DASHBOARD_TENANT, DASHBOARD_USER, SEED_ROWS
from govkit.db import ServiceDatabase
from govproj.evaluation.v1 import evaluation_pb2 as pb
from govproj.evaluation.v1 import evaluation_pb2_grpc as rpc

PASSWORD = "govproj-dev"
PAGE_SIZE = 20  # the portal's lifecycle page
OVERDUE_SHOWN = 20
# A fifth of the rows: submitted and approved (timings); of those, approvals valid until a day
# long past with nothing procured (approval_lapsed on the overdue list).
DATES = """
UPDATE evaluation.portfolio_projects
SET submitted_on = DATE '2024-01-02' + (abs(hashtext(declaration_id)) % 300),
    approved_on = DATE '2024-01-02' + (abs(hashtext(declaration_id)) % 300)
                  + 10 + (abs(hashtext(declaration_id)) % 25),
    approval_valid_until = CASE WHEN stage = 'approved' THEN DATE '2024-12-31' END
WHERE tenant_id = $1 AND declaration_id LIKE 'bench-%' AND abs(hashtext(declaration_id)) % 5 = 0
"""
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]+)">')


async def _seed(ctx: BenchContext, rows: int) -> None:
    names = ServiceDatabase("evaluation")
    admin = await asyncpg.connect(ctx.stack.postgres.dsn(names.database))
    try:
        for start in range(1, rows + 1, 20_000):
            await admin.execute(SEED_ROWS, DASHBOARD_TENANT, start, min(rows, start + 19_999))
        await admin.execute(DATES, DASHBOARD_TENANT)
        await admin.execute("ANALYZE evaluation.portfolio_projects")
    finally:
        await admin.close()


async def _portal_session(ctx: BenchContext, client: httpx.AsyncClient, username: str) -> None:
    """Sign in through the code flow as a browser does; the client keeps the session cookie."""
    start = await client.get("/login", params={"next": "/"})
    login_page = await client.get(start.headers["location"])
    action = _ACTION.search(login_page.text)
    if start.status_code != 303 or login_page.status_code != 200 or action is None:
        raise RuntimeError(f"portal login did not start: {start.status_code} {login_page.status_code}")
    form = {name: html.unescape(value) for name, value in _HIDDEN.findall(login_page.text)}
    form |= {"username": username, "password": PASSWORD}
    back = await client.post(f"{ctx.stack.issuer_url}{html.unescape(action.group(1))}", data=form)
    done = await client.get(back.headers["location"])
    if done.status_code != 303 or "govproj_portal_session" not in client.cookies:
        raise RuntimeError(f"portal login failed: {back.status_code} {done.status_code} {done.text[:200]}")


async def _timed(samples: Latencies, call: Callable[[], Awaitable[Any]]) -> None:
    t0 = time.perf_counter()
    await call()
    samples.samples.append(time.perf_counter() - t0)


@scenario(
    "portal", "portal: 项目库 and 统计看板 pages over 100,000 projects vs their gRPC calls made directly"
)
async def run(ctx: BenchContext) -> ScenarioResult:
    """p95 of each page beside the p95 of its underlying calls."""
    rows = ctx.config.portfolio_dashboard_projects
    samples = max(20, ctx.config.portfolio_dashboard_samples * 2)
    await _seed(ctx, rows)
    token = ctx.token(DASHBOARD_USER)  # the baseline's token; the portal has its own session
    metadata = (("authorization", f"Bearer {token}"),)
    timings = {name: Latencies() for name in ("list_page", "list_grpc", "dashboard_page", "dashboard_grpc")}
    async with (
        httpx.AsyncClient(base_url=ctx.stack.portal_url, timeout=60) as browser,
        grpc.aio.insecure_channel(ctx.stack.grpc_target("evaluation")) as channel,
    ):
        await _portal_session(ctx, browser, DASHBOARD_USER)
        stub = rpc.PortfolioServiceStub(channel)

        async def list_page() -> None:
            page = await browser.get("/projects", params={"view": "lifecycle"})
            if page.status_code != 200 or 'id="projects"' not in page.text:
                raise RuntimeError(f"/projects: {page.status_code} {page.text[:200]}")

        async def list_grpc() -> None:
            await stub.ListProjects(pb.ListProjectsRequest(limit=PAGE_SIZE), metadata=metadata, timeout=30)

        async def dashboard_page() -> None:
            page = await browser.get("/dashboard")
            if page.status_code != 200 or 'id="chart-p-year"' not in page.text:
                raise RuntimeError(f"/dashboard: {page.status_code} {page.text[:300]}")

        async def dashboard_grpc() -> None:
            await asyncio.gather(
                *(
                    stub.Dashboard(pb.DashboardRequest(by=by), metadata=metadata, timeout=30)
                    for by in ("year", "stage", "tenant", "department")
                ),
                stub.ListProjects(
                    pb.ListProjectsRequest(overdue=True, limit=OVERDUE_SHOWN), metadata=metadata, timeout=30
                ),
                stub.Timings(pb.TimingsRequest(), metadata=metadata, timeout=30),
            )

        calls = {
            "list_page": list_page,
            "list_grpc": list_grpc,
            "dashboard_page": dashboard_page,
            "dashboard_grpc": dashboard_grpc,
        }
        for call in calls.values():  # warm every path (channels, caches, plans)
            for _ in range(3):
                await call()
        for _ in range(samples):
            for name, call in calls.items():
                await _timed(timings[name], call)
        overdue = await stub.ListProjects(pb.ListProjectsRequest(overdue=True, limit=1), metadata=metadata)
    s = {name: t.summary() for name, t in timings.items()}

    def ratio(page: str, direct: str) -> float:
        base = s[direct]["p95_ms"]
        return s[page]["p95_ms"] / base if base else float("inf")

    list_ratio, board_ratio = ratio("list_page", "list_grpc"), ratio("dashboard_page", "dashboard_grpc")
    return ScenarioResult(
        metrics={
            "projects": rows,
            "overdue_projects": int(overdue.total),
            **s,
            "list_ratio_p95": round(list_ratio, 3),
            "dashboard_ratio_p95": round(board_ratio, 3),
        },
        targets=[
            Target("项目库 page p95 / its gRPC call p95", list_ratio, 2.0, "x", higher_is_better=False),
            Target("统计看板 page p95 / its gRPC calls p95", board_ratio, 2.0, "x", higher_is_better=False),
        ],
        table=[
            (
                "项目库 page p95",
                f"{s['list_page']['p95_ms']} ms",
                f"ListProjects {s['list_grpc']['p95_ms']} ms",
            ),
            (
                "统计看板 page p95",
                f"{s['dashboard_page']['p95_ms']} ms",
                f"6 gRPC reads {s['dashboard_grpc']['p95_ms']} ms",
            ),
        ],
    )
