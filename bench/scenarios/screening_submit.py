"""What screening against 10,000 existing declarations adds to a submit's p95, through the whole
stack (issue 5).

One tenant (county-b, qiaokou-2022), one code path: the unit head's sign-off (the submission to
the bureau, screening included), timed while 10,000 other declarations are at the bureau and while
they are not. The 10,000 are realistic generated texts (the screening quality test's generator)
spread over 400 orgs and three years, written straight into intake's table the way a sign-off
leaves them (at the bureau, with a screening number taken under the tenant's submission lock), and
later withdrawn and put back the same way, so the running service's index follows them as it would
a replica's commits. The runs go empty, full, full, empty (ABBA): the stack keeps getting faster for
a while after it starts, and that order cancels such a drift instead of crediting it to either side.
The difference of the two p95s is what screening at that size adds.

Sign-offs run one client at a time: a p95 under 50 clients measures the queue, not the work.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from bench.harness import BenchContext, Latencies, LoadResult, ScenarioResult, Target, scenario
from bench.scenarios.submit import ready_for_sign_off, sign_off_all, texts, unit_clients
from govkit.db import ServiceDatabase

TENANT = "county-b"
UNITS = (("applicant.county-b", "unit_head.county-b"),)
BUREAU = "bureau_reviewer.county-b"
EXISTING = 10_000
ORGS = 400
ADDED_P95_LIMIT_MS = 50.0
SEEDED_BY = "bench-seed"
SUBMITTED, WITHDRAWN = "submitted", "withdrawn"


async def _locked(ctx: BenchContext, statement: str, *args: Any) -> None:
    """One statement in intake's database under the tenant's submission lock (ADR 0010: screening
    numbers follow commit order)."""
    conn = await asyncpg.connect(ctx.stack.postgres.dsn(ServiceDatabase("intake").database))
    try:
        async with conn.transaction():
            await conn.execute(
                "select pg_advisory_xact_lock(hashtextextended($1, 0))", f"intake.submissions:{TENANT}"
            )
            await conn.execute(statement, *args)
    finally:
        await conn.close()


async def seed_existing(ctx: BenchContext, count: int) -> float:
    """``count`` declarations at the bureau of TENANT, as sign-offs leave them; seconds taken."""
    generated = texts(count, offset=500_000)
    now = datetime.now(UTC)
    rows: dict[str, list[Any]] = {k: [] for k in ("id", "org", "name", "necessity", "content", "goals", "at")}
    for i, text in enumerate(generated):
        rows["id"].append(str(uuid.uuid4()))
        rows["org"].append(f"seed-{i % ORGS:03d}")
        rows["name"].append(f"{text.name}（存量{i:05d}）")
        rows["necessity"].append(text.content[:200] or "现有系统分散建设，需统一建设。")
        rows["content"].append(text.content or "建设业务子系统。")
        rows["goals"].append(text.goals or "建成统一的业务平台。")
        rows["at"].append(now - timedelta(days=(i * 7) % 1095, minutes=i))
    started = time.perf_counter()
    await _locked(
        ctx,
        """
        insert into intake.declarations (
            id, tenant_id, org_id, name, category, construction_type, amount, necessity, goals,
            content, performance_goals, contact, status, version, created_by, created_at,
            updated_at, submitted_at, funding_source, screen_seq
        )
        select r.id, $1, r.org, r.name, 'business_app', 'new', $2, r.necessity, r.goals,
               r.content, r.goals, '王工 0451-88880000', 'submitted', 3, $10, r.at,
               r.at, r.at, '县级财政资金', nextval('intake.screen_seq')
        from unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                    $9::timestamptz[])
             as r(id, org, name, necessity, content, goals, at)
        """,
        TENANT,
        Decimal("600000.00"),
        rows["id"],
        rows["org"],
        rows["name"],
        rows["necessity"],
        rows["content"],
        rows["goals"],
        rows["at"],
        SEEDED_BY,
    )
    return time.perf_counter() - started


async def set_existing_status(ctx: BenchContext, status: str) -> None:
    """Withdraw the seeded declarations or put them back at the bureau (re-numbered for screening)."""
    await _locked(
        ctx,
        "update intake.declarations set status = $3, screen_seq = nextval('intake.screen_seq') "
        "where tenant_id = $1 and created_by = $2",
        TENANT,
        SEEDED_BY,
        status,
    )


@scenario("screening_submit", "sign-off p95 with 10,000 declarations at the bureau vs none")
async def screening_submit(ctx: BenchContext) -> ScenarioResult:
    """Sign-offs with the tenant empty, full, full, empty; added = p95(full) − p95(empty)."""
    cfg = ctx.config
    count = cfg.screening_signoffs
    existing = cfg.screening_existing

    async def signed_off(offset: int, n: int) -> LoadResult:
        prepared, _, _ = await ready_for_sign_off(ctx, n, offset, units=UNITS, bureau=BUREAU)
        # Let the review service finish consuming what came before, so every run meets a quiet stack.
        await asyncio.sleep(cfg.idle_settle_seconds)
        async with unit_clients(ctx, UNITS) as (_applicants, heads):
            result = await sign_off_all(ctx, heads, prepared, concurrency=1)
        if result.errors:
            raise RuntimeError(f"{result.errors} sign-offs failed: {result.error_samples}")
        return result

    await signed_off(700_000, cfg.warmup)  # caches, connections, the tenant's (empty) index
    seed_seconds = await seed_existing(ctx, existing)
    await set_existing_status(ctx, WITHDRAWN)
    empty, full = Latencies(), Latencies()
    catch_up: list[float] = []
    status = WITHDRAWN
    for run, wanted in enumerate((WITHDRAWN, SUBMITTED, SUBMITTED, WITHDRAWN)):
        if wanted != status:
            await set_existing_status(ctx, wanted)
            status = wanted
            # The next sign-off brings the service's index up to date (as a cold replica's first
            # would): timed apart, part of neither side.
            catch_up.append((await signed_off(710_000 + run * 1000, 1)).latencies.samples[0] * 1000)
        into = full if wanted == SUBMITTED else empty
        into.samples.extend((await signed_off(720_000 + run * 1000, count // 2)).latencies.samples)
    before, after = empty.summary(), full.summary()
    added = after["p95_ms"] - before["p95_ms"]
    metrics: dict[str, Any] = {
        "existing": existing,
        "empty": before,
        "full": after,
        "added_p95_ms": round(added, 1),
        "added_p50_ms": round(after["p50_ms"] - before["p50_ms"], 1),
        "seed_seconds": round(seed_seconds, 1),
        "index_catch_up_ms": [round(ms) for ms in catch_up],
        "method": (
            f"{TENANT}: {count} sign-offs with and {count} without {existing} declarations at the "
            f"bureau ({ORGS} orgs, three years), one at a time, in runs empty/full/full/empty; "
            "added = p95(full) − p95(empty)"
        ),
    }
    targets = [
        Target(
            f"sign-off p95 added by screening against {existing:,} declarations",
            round(added, 1),
            ADDED_P95_LIMIT_MS,
            "ms",
            False,
        )
    ]

    def pct(s: dict[str, Any]) -> str:
        return f"{s['p50_ms']:.0f}/{s['p95_ms']:.0f}/{s['p99_ms']:.0f} ms"

    table = [
        ("sign-off p50/p95/p99, none at the bureau", pct(before), ""),
        (f"sign-off p50/p95/p99, {existing:,} at the bureau", pct(after), f"{added:+.1f} ms p95"),
        ("index catch-up (first sign-off after a change)", ", ".join(f"{ms:.0f} ms" for ms in catch_up), ""),
    ]
    return ScenarioResult(metrics=metrics, targets=targets, table=table)
