"""What screening against 10,000 existing declarations adds to a submit's p95, through the whole
stack (issue 5).

One tenant (county-b, qiaokou-2022), one code path, measured twice in the same run: the unit head's
sign-off (the submission to the bureau, screening included) while the tenant has almost nothing at
the bureau, then again after 10,000 declarations were put there. The difference of the two p95s is
what screening at that size adds. The 10,000 are realistic generated texts (the screening quality
test's generator) spread over 400 orgs and three years, written straight into intake's table the
way a sign-off leaves them (at the bureau, with a screening number taken under the tenant's
submission lock), so the running service picks them up as it would a replica's commits.

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

from bench.harness import BenchContext, ScenarioResult, Target, scenario
from bench.scenarios.submit import ready_for_sign_off, sign_off_all, texts, unit_clients
from govkit.db import ServiceDatabase

TENANT = "county-b"
UNITS = (("applicant.county-b", "unit_head.county-b"),)
BUREAU = "bureau_reviewer.county-b"
EXISTING = 10_000
ORGS = 400
ADDED_P95_LIMIT_MS = 50.0


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
    conn = await asyncpg.connect(ctx.stack.postgres.dsn(ServiceDatabase("intake").database))
    try:
        async with conn.transaction():
            # The tenant's submission lock: screening numbers follow commit order (ADR 0010).
            await conn.execute(
                "select pg_advisory_xact_lock(hashtextextended($1, 0))", f"intake.submissions:{TENANT}"
            )
            await conn.execute(
                """
                insert into intake.declarations (
                    id, tenant_id, org_id, name, category, construction_type, amount, necessity, goals,
                    content, performance_goals, contact, status, version, created_by, created_at,
                    updated_at, submitted_at, funding_source, screen_seq
                )
                select r.id, $1, r.org, r.name, 'business_app', 'new', $2, r.necessity, r.goals,
                       r.content, r.goals, '王工 0451-88880000', 'submitted', 3, 'bench-seed', r.at,
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
            )
    finally:
        await conn.close()
    return time.perf_counter() - started


@scenario("screening_submit", "sign-off p95 with 10,000 declarations at the bureau vs almost none")
async def screening_submit(ctx: BenchContext) -> ScenarioResult:
    """Sign-offs in an almost empty tenant, then 10,000 declarations, then the same sign-offs again."""
    cfg = ctx.config
    count = cfg.screening_signoffs
    existing = cfg.screening_existing

    async def timed_sign_offs(offset: int) -> dict[str, Any]:
        prepared, _, _ = await ready_for_sign_off(ctx, count, offset, units=UNITS, bureau=BUREAU)
        # Let the review service finish consuming what came before, so both runs meet a quiet stack.
        await asyncio.sleep(cfg.idle_settle_seconds)
        async with unit_clients(ctx, UNITS) as (_applicants, heads):
            result = await sign_off_all(ctx, heads, prepared, concurrency=1)
        if result.errors:
            raise RuntimeError(f"{result.errors} sign-offs failed: {result.error_samples}")
        return result.summary()

    # Warm the tenant's caches and connections the way the first run would otherwise do on its clock.
    warm, _, _ = await ready_for_sign_off(ctx, cfg.warmup, 700_000, units=UNITS, bureau=BUREAU)
    async with unit_clients(ctx, UNITS) as (_applicants, heads):
        await sign_off_all(ctx, heads, warm, concurrency=1)
    before = await timed_sign_offs(offset=710_000)
    seed_seconds = await seed_existing(ctx, existing)
    # The first sign-off after the seeding brings the service's index up to date (a replica
    # starting cold would do the same once): timed apart, not part of the p95.
    first, _, _ = await ready_for_sign_off(ctx, 1, 720_000, units=UNITS, bureau=BUREAU)
    async with unit_clients(ctx, UNITS) as (_applicants, heads):
        catch_up = (await sign_off_all(ctx, heads, first, concurrency=1)).summary()
    after = await timed_sign_offs(offset=730_000)
    added = after["p95_ms"] - before["p95_ms"]
    metrics: dict[str, Any] = {
        "existing": existing,
        "before": before,
        "after": after,
        "added_p95_ms": round(added, 1),
        "added_p50_ms": round(after["p50_ms"] - before["p50_ms"], 1),
        "seed_seconds": round(seed_seconds, 1),
        "first_sign_off_after_seeding_ms": catch_up["p50_ms"],
        "method": (
            f"{TENANT}: {count} sign-offs one at a time (complete, documented drafts with varied "
            f"texts) before and after {existing} declarations at the bureau over {ORGS} orgs and "
            "three years were written into intake's table; added = p95 after − p95 before"
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
        ("sign-off p50/p95/p99, tenant almost empty", pct(before), ""),
        (f"sign-off p50/p95/p99, {existing:,} at the bureau", pct(after), f"+{added:.1f} ms p95"),
        ("first sign-off after seeding (index catch-up)", f"{catch_up['p50_ms']:.0f} ms", ""),
    ]
    return ScenarioResult(metrics=metrics, targets=targets, table=table)
