"""Declaration create and submit under concurrent clients, beside a bare FastAPI insert."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import psutil

from bench.harness import (
    BenchContext,
    LoadResult,
    ScenarioResult,
    Target,
    closed_loop,
    cpu_per_operation,
    expect,
    scenario,
)
from govkit.localinfra import free_port

BASELINE_DB = "govproj_bench"
# After the last sign-off answers, review and evaluation are still consuming its events.
SETTLE_AFTER_SUBMIT_SECONDS = 2.0


# Two construction units of county-a (wuxing-2023: no per-unit quota), each with its applicant
# and unit head, so sign-offs come from more than one org as they would in a real call.
UNITS = (("applicant.county-a", "unit_head.county-a"), ("applicant2.county-a", "unit_head2.county-a"))
BUREAU = "bureau_reviewer.county-a"
Client = httpx.AsyncClient
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def texts(count: int, offset: int) -> list[Any]:
    """Realistic, varied declaration texts (the screening test's generator), so that screening
    meets a tenant's real mix instead of one text repeated."""
    from bench.scenarios.screening import load_data_module

    return list(load_data_module().background(size=count, seed=7_000 + offset))


def draft(i: int, text: Any) -> dict[str, Any]:
    """A complete declaration form (every field a sign-off checks; the parts add up)."""
    return {
        "name": f"{text.name}（{i:05d}）",  # distinct names make failures traceable
        "category": "business_app",
        "construction_type": "new",
        "amount": "800000.00",
        "breakdown": {
            "hardware": "200000.00",
            "software": "450000.00",
            "services": "60000.00",
            "security": "60000.00",
            "supervision": "30000.00",
        },
        "necessity": text.content[:200] or "现有系统分散建设，数据不能共享，需统一建设。",
        "goals": text.goals or "建成统一的业务平台。",
        "content": text.content or "建设业务子系统，部署在政务云。",
        "performance_goals": text.goals or "覆盖全县相关单位，月活跃用户不少于一万人。",
        "funding_source": "县级财政资金",
        "cloud_deployment": True,
        "contact": "李工 0451-88886666",
    }


@dataclass
class Prepared:
    """Declarations created for a run, each with its unit (index into UNITS) and current version."""

    ids: list[str]
    units: list[int]
    versions: list[int]

    def split(self, at: int) -> tuple[Prepared, Prepared]:
        """The first ``at`` declarations and the rest, as two runs."""
        return (
            Prepared(self.ids[:at], self.units[:at], self.versions[:at]),
            Prepared(self.ids[at:], self.units[at:], self.versions[at:]),
        )


async def ensure_call(ctx: BenchContext, bureau_user: str = BUREAU) -> None:
    """An open annual call in the bureau's tenant (opened two years ahead when there is none)."""
    async with ctx.client("intake", ctx.token(bureau_user)) as bureau:
        listed = expect(await bureau.get("/v1/calls", params={"status": "open"}), 200).json()
        if listed["items"]:
            return
        today = datetime.now(UTC).date()
        expect(
            await bureau.post(
                "/v1/calls",
                json={"target_year": today.year + 2, "deadline": (today + timedelta(days=60)).isoformat()},
            ),
            201,
        )


async def create_drafts(
    ctx: BenchContext, clients: list[httpx.AsyncClient], count: int, offset: int
) -> tuple[Prepared, LoadResult]:
    """``count`` complete drafts created by ``config.concurrency`` workers across the units."""
    bodies = [draft(offset + i, t) for i, t in enumerate(texts(count, offset))]
    units = [i % len(clients) for i in range(count)]
    prepared = Prepared(ids=[""] * count, units=units, versions=[0] * count)

    async def create(i: int) -> None:
        response = expect(await clients[prepared.units[i]].post("/v1/declarations", json=bodies[i]), 201)
        prepared.ids[i], prepared.versions[i] = str(response.json()["id"]), int(response.json()["version"])

    result = await closed_loop(create, operations=count, concurrency=ctx.config.concurrency)
    return prepared, result


async def upload_required(ctx: BenchContext, clients: list[httpx.AsyncClient], prepared: Prepared) -> None:
    """A small PDF for every document the pack requires for these facts (the same for all drafts)."""
    first = prepared.ids[0]
    listed = expect(await clients[prepared.units[0]].get(f"/v1/declarations/{first}/materials"), 200).json()
    doc_types = [*listed["missing_doc_types"], *(group[0] for group in listed["missing_one_of"])]
    jobs = [(i, doc) for i in range(len(prepared.ids)) for doc in doc_types]

    async def upload(j: int) -> None:
        i, doc = jobs[j]
        expect(
            await clients[prepared.units[i]].post(
                f"/v1/declarations/{prepared.ids[i]}/materials",
                data={"doc_type": doc},
                files={"file": (f"{doc}.pdf", PDF, "application/pdf")},
            ),
            201,
        )

    if jobs:
        result = await closed_loop(upload, operations=len(jobs), concurrency=ctx.config.concurrency)
        if result.errors:  # a draft without its documents would fail its sign-off for the wrong reason
            raise RuntimeError(f"{result.errors} uploads failed: {result.error_samples}")


async def hand_in_all(
    ctx: BenchContext, clients: list[httpx.AsyncClient], prepared: Prepared, concurrency: int
) -> LoadResult:
    """The applicants hand their drafts to their unit heads (POST …/submit → pending_signoff)."""

    async def hand_in(i: int) -> None:
        response = await clients[prepared.units[i]].post(
            f"/v1/declarations/{prepared.ids[i]}/submit", json={"version": prepared.versions[i]}
        )
        prepared.versions[i] = int(expect(response, 200).json()["version"])

    return await closed_loop(hand_in, operations=len(prepared.ids), concurrency=concurrency)


async def sign_off_all(
    ctx: BenchContext, heads: list[httpx.AsyncClient], prepared: Prepared, concurrency: int
) -> LoadResult:
    """The unit heads sign off: the submission to the bureau (checks, screening, project code,
    ``declaration.submitted``)."""

    async def sign_off(i: int) -> None:
        response = await heads[prepared.units[i]].post(
            f"/v1/declarations/{prepared.ids[i]}/sign-off", json={"version": prepared.versions[i]}
        )
        prepared.versions[i] = int(expect(response, 200).json()["version"])

    return await closed_loop(sign_off, operations=len(prepared.ids), concurrency=concurrency)


@asynccontextmanager
async def unit_clients(
    ctx: BenchContext, units: tuple[tuple[str, str], ...] = UNITS
) -> AsyncIterator[tuple[list[httpx.AsyncClient], list[httpx.AsyncClient]]]:
    """(applicants' clients, unit heads' clients), one per (applicant, unit head) in ``units``."""
    async with AsyncExitStack() as stack:
        applicants = [await stack.enter_async_context(ctx.client("intake", ctx.token(a))) for a, _ in units]
        heads = [await stack.enter_async_context(ctx.client("intake", ctx.token(h))) for _, h in units]
        yield applicants, heads


async def ready_for_sign_off(
    ctx: BenchContext,
    count: int,
    offset: int,
    *,
    units: tuple[tuple[str, str], ...] = UNITS,
    bureau: str = BUREAU,
) -> tuple[Prepared, LoadResult, LoadResult]:
    """Drafts created, documents uploaded and handed in: (prepared, create run, hand-in run)."""
    await ensure_call(ctx, bureau)
    async with unit_clients(ctx, units) as (applicants, _heads):
        prepared, create = await create_drafts(ctx, applicants, count, offset)
        await upload_required(ctx, applicants, prepared)
        hand_in = await hand_in_all(ctx, applicants, prepared, ctx.config.concurrency)
    return prepared, create, hand_in


async def raw_insert_baseline(ctx: BenchContext) -> tuple[LoadResult, int, dict[str, float]]:
    """The bare FastAPI + SQLAlchemy 2 + asyncpg insert app, loaded like intake; (run, its RSS,
    CPU ms per insert by process: the app, PostgreSQL, the load generator, the idle services)."""
    pg = ctx.stack.postgres
    conn = await asyncpg.connect(pg.dsn())
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {BASELINE_DB}")
        await conn.execute(f"CREATE DATABASE {BASELINE_DB}")
    finally:
        await conn.close()
    port = free_port()
    url = pg.url(BASELINE_DB)
    proc = subprocess.Popen(  # noqa: ASYNC220 - starting it is instant; we never wait on it here
        [sys.executable, "-m", "bench.baseline_app", "--url", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(
            base_url=base, timeout=30, limits=httpx.Limits(max_connections=200)
        ) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"baseline app exited: {proc.stderr.read().decode()[-1000:] if proc.stderr else ''}"
                    )
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("baseline app not ready in 30s")
                await asyncio.sleep(0.1)

            async def insert(i: int) -> None:
                expect(await client.post("/rows", json={"name": f"行 {i}", "amount": "800000.00"}), 201)

            await closed_loop(insert, operations=ctx.config.warmup, concurrency=ctx.config.concurrency)
            app = psutil.Process(proc.pid)
            before = {**ctx.cpu_seconds(), "raw app": sum(app.cpu_times()[:2])}
            result = await closed_loop(
                insert, operations=ctx.config.baseline_inserts, concurrency=ctx.config.concurrency
            )
            after = {**ctx.cpu_seconds(), "raw app": sum(app.cpu_times()[:2])}
            rss = app.memory_info().rss
        return result, rss, cpu_per_operation(before, after, result.operations)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _largest(cpu: dict[str, float], count: int = 3) -> str:
    """The processes that took most of it, for the table."""
    parts = [(name, ms) for name, ms in cpu.items() if name != "total"][:count]
    return ", ".join(f"{name} {ms:.1f}" for name, ms in parts)


@scenario(
    "declaration_submit", "sign-off (submission to the bureau) under concurrent clients vs a raw insert"
)
async def declaration_submit(ctx: BenchContext) -> ScenarioResult:
    """Drafts are created (timed as `create`), given their documents and handed to the unit heads
    (timed as `hand-in`); then the unit heads sign them off (timed as `submit`: the submission to
    the bureau with the pack's checks, screening, project code and event)."""
    cfg = ctx.config
    # The raw insert first, on the idle stack: measured after the sign-offs it would share the
    # machine with the review service still consuming their events.
    raw, raw_rss, raw_cpu = await raw_insert_baseline(ctx)
    warm, _, _ = await ready_for_sign_off(ctx, cfg.warmup, offset=90000)
    async with unit_clients(ctx) as (_applicants, heads):
        await sign_off_all(ctx, heads, warm, cfg.concurrency)
    prepared, create, hand_in = await ready_for_sign_off(ctx, cfg.drafts, offset=0)
    async with unit_clients(ctx) as (_applicants, heads):
        cpu_before = ctx.cpu_seconds()
        window_start = datetime.now(UTC)
        submit = await sign_off_all(ctx, heads, prepared, cfg.concurrency)
        window_end = datetime.now(UTC)
        # The consumers are still folding the last events: their CPU belongs to the sign-offs.
        await asyncio.sleep(SETTLE_AFTER_SUBMIT_SECONDS)
        cpu = cpu_per_operation(cpu_before, ctx.cpu_seconds(), submit.operations)
    # The event scenario reads the latency of these submits too (under load).
    ctx.extras["loaded_submit_window"] = (window_start, window_end)
    s, r = submit.summary(), raw.summary()
    metrics: dict[str, Any] = {
        "create": create.summary(),
        "hand_in": hand_in.summary(),
        "submit": s,
        "raw_insert": r,
        "raw_insert_app_rss_mb": round(raw_rss / 2**20, 1),
        # Where the CPU of a sign-off goes on this host (every process shares its cores).
        "submit_cpu_ms_per_op": cpu,
        "raw_insert_cpu_ms_per_op": raw_cpu,
        "method": (
            "closed loop, in-process httpx clients; submit = POST /v1/declarations/{id}/sign-off by the "
            "unit heads of two county-a units on complete, documented, handed-in drafts with varied "
            "realistic texts; raw = bench.baseline_app (FastAPI, SQLAlchemy 2 + asyncpg, pool 20+10, "
            "one uvicorn process) on the same PostgreSQL and host"
        ),
    }
    targets = [
        Target(
            "submit throughput vs raw insert",
            s["throughput_per_s"],
            0.5 * r["throughput_per_s"],
            "req/s",
            True,
        ),
        Target("submit p99 vs raw insert p99", s["p99_ms"], 1.5 * r["p99_ms"], "ms", False),
    ]
    c, h = create.summary(), hand_in.summary()
    table = [
        ("create throughput", f"{c['throughput_per_s']:.0f}/s", f"{r['throughput_per_s']:.0f}/s"),
        ("hand-in throughput", f"{h['throughput_per_s']:.0f}/s", ""),
        ("submit (sign-off) throughput", f"{s['throughput_per_s']:.0f}/s", f"{r['throughput_per_s']:.0f}/s"),
        (
            "submit p50/p95/p99",
            f"{s['p50_ms']:.0f}/{s['p95_ms']:.0f}/{s['p99_ms']:.0f} ms",
            f"{r['p50_ms']:.0f}/{r['p95_ms']:.0f}/{r['p99_ms']:.0f} ms",
        ),
        (
            "CPU per submit / raw insert, all processes",
            f"{cpu['total']:.1f} ms ({_largest(cpu)})",
            f"{raw_cpu['total']:.1f} ms ({_largest(raw_cpu)})",
        ),
        (
            "errors (create/hand-in/submit/raw)",
            f"{c['errors']}/{h['errors']}/{s['errors']}",
            f"{r['errors']}",
        ),
    ]
    return ScenarioResult(metrics=metrics, targets=targets, table=table)
