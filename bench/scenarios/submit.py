"""Declaration create and submit under concurrent clients, beside a bare FastAPI insert."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import psutil

from bench.harness import BenchContext, LoadResult, ScenarioResult, Target, closed_loop, expect, scenario
from govkit.localinfra import free_port

BASELINE_DB = "govproj_bench"


def draft(i: int) -> dict[str, str]:
    """A valid declaration draft (distinct names make failures traceable)."""
    return {
        "name": f"压测项目 {i:05d}",
        "category": "business_app",
        "construction_type": "new",
        "amount": "800000.00",
    }


async def create_drafts(
    ctx: BenchContext, intake: httpx.AsyncClient, count: int, offset: int
) -> tuple[list[str], LoadResult]:
    """``count`` drafts created by ``config.concurrency`` workers; (ids, the timed run)."""
    ids: list[str] = [""] * count

    async def create(i: int) -> None:
        response = expect(await intake.post("/v1/declarations", json=draft(offset + i)), 201)
        ids[i] = str(response.json()["id"])

    result = await closed_loop(create, operations=count, concurrency=ctx.config.concurrency)
    return [i for i in ids if i], result


async def submit_all(
    ctx: BenchContext, intake: httpx.AsyncClient, ids: list[str], concurrency: int
) -> LoadResult:
    """POST /v1/declarations/{id}/submit for every id (each a version-1 draft)."""

    async def submit(i: int) -> None:
        expect(await intake.post(f"/v1/declarations/{ids[i]}/submit", json={"version": 1}), 200)

    return await closed_loop(submit, operations=len(ids), concurrency=concurrency)


async def raw_insert_baseline(ctx: BenchContext) -> tuple[LoadResult, int]:
    """The bare FastAPI + SQLAlchemy 2 + asyncpg insert app, loaded like intake; (run, its RSS)."""
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
            result = await closed_loop(
                insert, operations=ctx.config.baseline_inserts, concurrency=ctx.config.concurrency
            )
            rss = psutil.Process(proc.pid).memory_info().rss
        return result, rss
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@scenario("declaration_submit", "create + submit declarations under concurrent clients vs a raw insert")
async def declaration_submit(ctx: BenchContext) -> ScenarioResult:
    """Drafts are created first (timed as `create`), then each is submitted once (timed as `submit`)."""
    cfg = ctx.config
    token = ctx.token()
    async with ctx.client("intake", token) as intake:
        warm_ids, _ = await create_drafts(ctx, intake, cfg.warmup, offset=90000)
        await submit_all(ctx, intake, warm_ids, cfg.concurrency)
        ids, create = await create_drafts(ctx, intake, cfg.drafts, offset=0)
        window_start = datetime.now(UTC)
        submit = await submit_all(ctx, intake, ids, cfg.concurrency)
        window_end = datetime.now(UTC)
    # The event scenario reads the latency of these submits too (under load).
    ctx.extras["loaded_submit_window"] = (window_start, window_end)
    raw, raw_rss = await raw_insert_baseline(ctx)
    s, r = submit.summary(), raw.summary()
    metrics: dict[str, Any] = {
        "create": create.summary(),
        "submit": s,
        "raw_insert": r,
        "raw_insert_app_rss_mb": round(raw_rss / 2**20, 1),
        "method": (
            "closed loop, in-process httpx clients; submit = POST /v1/declarations/{id}/submit on "
            "pre-created version-1 drafts; raw = bench.baseline_app (FastAPI, SQLAlchemy 2 + asyncpg, "
            "pool 10+20, one uvicorn process) on the same PostgreSQL and host"
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
    c = create.summary()
    table = [
        ("create throughput", f"{c['throughput_per_s']:.0f}/s", f"{r['throughput_per_s']:.0f}/s"),
        (
            "create p50/p95/p99",
            f"{c['p50_ms']:.0f}/{c['p95_ms']:.0f}/{c['p99_ms']:.0f} ms",
            f"{r['p50_ms']:.0f}/{r['p95_ms']:.0f}/{r['p99_ms']:.0f} ms",
        ),
        ("submit throughput", f"{s['throughput_per_s']:.0f}/s", f"{r['throughput_per_s']:.0f}/s"),
        (
            "submit p50/p95/p99",
            f"{s['p50_ms']:.0f}/{s['p95_ms']:.0f}/{s['p99_ms']:.0f} ms",
            f"{r['p50_ms']:.0f}/{r['p95_ms']:.0f}/{r['p99_ms']:.0f} ms",
        ),
        ("errors (create/submit/raw)", f"{c['errors']}/{s['errors']}", f"{r['errors']}"),
    ]
    return ScenarioResult(metrics=metrics, targets=targets, table=table)
