"""evaluation's portfolio (issue 7): the rebuild from the event streams in events/s, and the main
dashboard query over 100,000 projects beside the same aggregate in raw SQL.

Rebuild: synthetic project histories (declaration → plan → approval → contract → payments →
acceptance) are published to a nats-server of the scenario's own, with the five GOVPROJ_* streams
(the stack's services would otherwise consume them and do their own work meanwhile); the real
command ``python -m evaluation.entrypoints.rebuild`` replays them into the stack's evaluation
database under a bench tenant and reports its rate, folding and writing included. (The streams
are the truth of a rebuild: the configured tenants, absent from these streams, are left empty in
the throw-away stack; the dashboard's rows are written afterwards.)

Dashboard: 100,000 rows are written into the stack's portfolio for tenant ``city``; the service's
GET /v1/portfolio/dashboard?by=stage (token, RLS, JSON) is timed against the same GROUP BY sent by
asyncpg on the same app role with the tenant bound, one request at a time, p50 over the samples.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from bench.harness import BenchContext, Latencies, ScenarioResult, Target, scenario
from devstack.stack import DEV_PASSWORD_PREFIX
from govkit.db import TENANT_SETTING, ServiceDatabase
from govkit.events import new_event
from govkit.events.nats import NatsConnection, ensure_stream
from govkit.localinfra import LocalNats, free_port
from govproj.acceptance.events.v1 import events_pb2 as acceptance_pb2
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2 as intake_pb2
from govproj.procurement.events.v1 import events_pb2 as procurement_pb2
from govproj.review.events.v1 import events_pb2 as review_pb2

CONTEXTS = ("intake", "review", "procurement", "acceptance", "evaluation")
BENCH_TENANT = "bench-portfolio"
DASHBOARD_TENANT = "city"
DASHBOARD_USER = "bureau_head.city"
RAW_DASHBOARD = """
SELECT stage AS key, count(*) AS projects,
       coalesce(sum(declared_amount), 0) AS declared, coalesce(sum(planned_amount), 0) AS planned,
       coalesce(sum(approved_amount), 0) AS approved, coalesce(sum(contracted_amount), 0) AS contracted,
       coalesce(sum(paid_amount), 0) AS paid
FROM evaluation.portfolio_projects GROUP BY stage ORDER BY stage
"""
SEED_ROWS = """
INSERT INTO evaluation.portfolio_projects
  (declaration_id, tenant_id, org_id, name, category, plan_year, stage, declared_amount, planned_amount,
   approved_amount, contracted_amount, paid_amount, contracts, payments, flags)
SELECT 'bench-' || g, $1, 'org-' || (g % 400), '项目' || g,
       (ARRAY['business_app','infrastructure','data','platform'])[1 + g % 4], 2022 + g % 4,
       (ARRAY['review','planned','approved','procurement','construction','acceptance',
              'operation'])[1 + g % 7],
       100000 + g % 5000 * 100, 90000 + g % 5000 * 100, 80000 + g % 5000 * 100, 70000 + g % 5000 * 100,
       g % 5000 * 10, '{}'::jsonb, '{}'::jsonb, '[]'::jsonb
FROM generate_series($2::int, $3::int) AS g
ON CONFLICT (declaration_id) DO NOTHING
"""


def _histories(projects: int) -> list[tuple[str, bytes, str]]:
    """(subject, body, msg id) of every event, the streams' order within each stream."""
    money = common_pb2.Money
    out = []
    for n in range(projects):
        did = str(uuid.uuid4())
        contract = str(uuid.uuid4())
        messages = [
            (
                "govproj.intake.v1.declaration.submitted",
                intake_pb2.DeclarationSubmitted(
                    declaration_id=did,
                    tenant_id=BENCH_TENANT,
                    org_id=f"org-{n % 400}",
                    name=f"项目{n}",
                    amount=money(amount="1000000.00"),
                    category="business_app",
                    submitted_at="2024-03-01T09:00:00+08:00",
                    target_year=2024,
                    plan_year=2024,
                    project_code=f"B-{n}",
                ),
            ),
            (
                "govproj.review.v1.plan.decided",
                review_pb2.PlanDecided(
                    declaration_id=did,
                    tenant_id=BENCH_TENANT,
                    outcome="in_plan",
                    level="general",
                    budget=money(amount="950000.00"),
                ),
            ),
            (
                "govproj.review.v1.approval.granted",
                review_pb2.ApprovalGranted(
                    approval_id=str(uuid.uuid4()),
                    declaration_id=did,
                    tenant_id=BENCH_TENANT,
                    project_code=f"B-{n}",
                    approved_amount=money(amount="900000.00"),
                    approved_on="2024-05-01",
                ),
            ),
            (
                "govproj.procurement.v1.contract.filed",
                procurement_pb2.ContractFiled(
                    contract_id=contract,
                    declaration_id=did,
                    tenant_id=BENCH_TENANT,
                    contract_amount=money(amount="850000.00"),
                    signed_on="2024-07-01",
                    period_end="2025-01-31",
                ),
            ),
            (
                "govproj.procurement.v1.payment.recorded",
                procurement_pb2.PaymentRecorded(
                    payment_id=str(uuid.uuid4()),
                    contract_id=contract,
                    declaration_id=did,
                    tenant_id=BENCH_TENANT,
                    paid_total=money(amount="255000.00"),
                ),
            ),
            (
                "govproj.procurement.v1.payment.recorded",
                procurement_pb2.PaymentRecorded(
                    payment_id=str(uuid.uuid4()),
                    contract_id=contract,
                    declaration_id=did,
                    tenant_id=BENCH_TENANT,
                    paid_total=money(amount="800000.00"),
                ),
            ),
            (
                "govproj.acceptance.v1.acceptance.passed",
                acceptance_pb2.AcceptancePassed(
                    acceptance_id=str(uuid.uuid4()),
                    declaration_id=did,
                    tenant_id=BENCH_TENANT,
                    accepted_on="2025-03-01",
                    stage="final",
                    result="passed",
                ),
            ),
        ]
        for subject, message in messages:
            envelope = new_event(event_type=subject, tenant=BENCH_TENANT, payload=message)
            out.append((subject, envelope.to_json(), envelope.id))
    return out


async def _publish(url: str, events: list[tuple[str, bytes, str]]) -> None:
    nats = NatsConnection(url=url, name="bench-portfolio")
    try:
        js = await nats.jetstream(timeout=30)
        for context in CONTEXTS:
            await ensure_stream(js, context)
        for start in range(0, len(events), 500):
            batch = events[start : start + 500]
            await asyncio.gather(
                *(js.publish(s, body, headers={"Nats-Msg-Id": mid}) for s, body, mid in batch)
            )
    finally:
        await nats.close()


def _rebuild(ctx: BenchContext, nats_url: str) -> tuple[float, float, int, str]:
    """Run the real command; (folded/s, with writes/s, events, output)."""
    env = {**os.environ, **ctx.stack.service_env("evaluation"), "GOVPROJ_EVALUATION_NATS_URL": nats_url}
    done = subprocess.run(
        [sys.executable, "-m", "evaluation.entrypoints.rebuild"],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    found = re.search(r"(\d+) events, (\d+)/s folded, (\d+)/s with the writes", done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"rebuild failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return float(found.group(2)), float(found.group(3)), int(found.group(1)), done.stdout.strip()


async def _dashboard(ctx: BenchContext, rows: int, samples: int) -> tuple[Latencies, Latencies]:
    names = ServiceDatabase("evaluation")
    pg = ctx.stack.postgres
    admin = await asyncpg.connect(pg.dsn(names.database))
    try:
        for start in range(1, rows + 1, 20_000):
            await admin.execute(SEED_ROWS, DASHBOARD_TENANT, start, min(rows, start + 19_999))
        await admin.execute("ANALYZE evaluation.portfolio_projects")
    finally:
        await admin.close()
    app = await asyncpg.connect(
        user=names.app_role,
        password=f"{DEV_PASSWORD_PREFIX}evaluation",
        host=pg.host,
        port=pg.port,
        database=names.database,
    )
    service, raw = Latencies(), Latencies()
    try:
        await app.execute(f"SELECT set_config('{TENANT_SETTING}', $1, false)", DASHBOARD_TENANT)
        async with ctx.client("evaluation", ctx.token(DASHBOARD_USER)) as client:
            for _ in range(3):  # warm both paths
                (await client.get("/v1/portfolio/dashboard", params={"by": "stage"})).raise_for_status()
                await app.fetch(RAW_DASHBOARD)
            for _ in range(samples):  # interleaved, so drift hits both alike
                t0 = time.perf_counter()
                response = await client.get("/v1/portfolio/dashboard", params={"by": "stage"})
                service.samples.append(time.perf_counter() - t0)
                response.raise_for_status()
                t0 = time.perf_counter()
                await app.fetch(RAW_DASHBOARD)
                raw.samples.append(time.perf_counter() - t0)
    finally:
        await app.close()
    return service, raw


@scenario(
    "portfolio",
    "evaluation: portfolio rebuild from the streams (events/s); dashboard over 100,000 projects vs raw SQL",
)
async def run(ctx: BenchContext) -> ScenarioResult:
    """Rebuild rate and dashboard latency ratio."""
    projects = ctx.config.portfolio_rebuild_projects
    data_dir = Path(tempfile.mkdtemp(prefix="govproj-bench-nats-"))
    server = LocalNats(data_dir=data_dir, port=free_port())
    server.start()
    try:
        events = _histories(projects)
        await _publish(server.url, events)
        folded_rate, rate, replayed, output = await asyncio.to_thread(_rebuild, ctx, server.url)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    service, raw = await _dashboard(
        ctx, ctx.config.portfolio_dashboard_projects, ctx.config.portfolio_dashboard_samples
    )
    s, r = service.summary(), raw.summary()
    ratio = s["p50_ms"] / r["p50_ms"] if r["p50_ms"] else float("inf")
    return ScenarioResult(
        metrics={
            "rebuild_events": replayed,
            "rebuild_events_per_s": rate,
            "rebuild_fold_events_per_s": folded_rate,
            "rebuild_output": output,
            "dashboard_projects": ctx.config.portfolio_dashboard_projects,
            "dashboard_service": s,
            "dashboard_raw_sql": r,
            "dashboard_ratio_p50": round(ratio, 3),
        },
        targets=[
            Target("portfolio rebuild", rate, 1000.0, "events/s", higher_is_better=True),
            Target("dashboard p50 / raw SQL p50", ratio, 1.5, "x", higher_is_better=False),
        ],
        table=[
            ("rebuild (fold + write)", f"{rate:.0f} events/s", f"fold only {folded_rate:.0f}/s"),
            ("dashboard p50", f"{s['p50_ms']} ms", f"raw SQL {r['p50_ms']} ms"),
        ],
    )
