"""intake → review event latency (outbox → relay → JetStream → review's consumer) beside a raw
JetStream publish → durable pull consume → ack round trip on the same nats-server.

Latency is read from the database, not by polling review's REST API (polling would add load and
its own interval): from the intake outbox row's ``created_at`` (PostgreSQL ``now()``: the start
of the submit's transaction) to review's inbox row ``processed_at`` (``now()`` of the consumer
transaction that opens the case), joined on the event id. Same PostgreSQL server, one clock.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import nats
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from bench.harness import BenchContext, Latencies, ScenarioResult, Target, expect, scenario
from bench.scenarios.submit import Prepared, ready_for_sign_off, sign_off_all, unit_clients
from govkit.db import ServiceDatabase

SUBMITTED = "govproj.intake.v1.declaration.submitted"
RAW_STREAM = "BENCH_RAW"
RAW_SUBJECT = "bench.raw.ping"
# Longer than the consumers' ack_wait (30 s), so a redelivered event is still counted.
EVENT_TIMEOUT_SECONDS = 45.0


async def event_latencies(
    ctx: BenchContext,
    start: datetime,
    end: datetime,
    *,
    timeout: float = EVENT_TIMEOUT_SECONDS,
    slack: timedelta = timedelta(seconds=1),
) -> dict[str, Any]:
    """outbox.created_at → inbox.processed_at of every submitted event created in [start, end].

    An event review has not consumed after ``timeout`` counts as ``timeout`` (a lower bound, so a
    stall shows in p99 instead of vanishing from the sample) and is reported as undelivered.
    """
    pg = ctx.stack.postgres
    intake_db = await asyncpg.connect(pg.dsn(ServiceDatabase("intake").database))
    review_db = await asyncpg.connect(pg.dsn(ServiceDatabase("review").database))
    try:
        outbox_rows = {
            str(row["event_id"]): (row["created_at"], row["sent_at"])
            for row in await intake_db.fetch(
                "SELECT event_id, created_at, sent_at FROM intake.outbox"
                " WHERE subject = $1 AND created_at BETWEEN $2 AND $3",
                SUBMITTED,
                start - slack,
                end,
            )
        }
        created = {event: times[0] for event, times in outbox_rows.items()}
        deadline = time.monotonic() + timeout
        while True:
            processed = {
                str(row["event_id"]): row["processed_at"]
                for row in await review_db.fetch(
                    "SELECT event_id, processed_at FROM review.inbox WHERE event_id = ANY($1::uuid[])",
                    list(created),
                )
            }
            if len(processed) >= len(created) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await intake_db.close()
        await review_db.close()
    samples = [(processed[e] - created[e]).total_seconds() if e in processed else timeout for e in created]
    undelivered = len(created) - len(processed)
    # Where the time goes: written → published by the relay → consumed by review.
    to_sent = [(s - c).total_seconds() for c, s in outbox_rows.values() if s is not None]
    to_consumed = [
        (processed[e] - s).total_seconds()
        for e, (_, s) in outbox_rows.items()
        if s is not None and e in processed
    ]
    return {
        **Latencies(samples).summary(),
        "undelivered_after_timeout": undelivered,
        "timeout_s": timeout,
        "outbox_to_published": Latencies(to_sent).summary(),
        "published_to_consumed": Latencies(to_consumed).summary(),
    }


async def jetstream_round_trips(url: str, count: int) -> Latencies:
    """publish (await PubAck) → fetch from a durable pull consumer → ack, one message at a time."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(name=RAW_STREAM, subjects=[f"{RAW_SUBJECT}"], storage=StorageType.FILE)
        )
        sub = await js.pull_subscribe(
            RAW_SUBJECT, durable="bench-raw", config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT)
        )
        latencies = Latencies()
        payload = b"x" * 512  # about the size of an event envelope
        for i in range(count + 20):
            started = time.perf_counter()
            await js.publish(RAW_SUBJECT, payload, headers={"Nats-Msg-Id": f"raw-{i}"})
            (msg,) = await sub.fetch(1, timeout=5)
            await msg.ack()
            if i >= 20:  # the first few warm the connection and the consumer
                latencies.samples.append(time.perf_counter() - started)
        await js.delete_stream(RAW_STREAM)
        return latencies
    finally:
        await nc.close()


async def sign_off_one_at_a_time(heads: list[httpx.AsyncClient], prepared: Prepared, *, pause: float) -> None:
    """One sign-off, then a pause long enough for its event to be consumed, then the next.

    This is how the raw round trip is measured (each message consumed before the next is
    published): the latency of one event, not of an event queued behind the next submit's work.
    """
    for i, declaration_id in enumerate(prepared.ids):
        response = await heads[prepared.units[i]].post(
            f"/v1/declarations/{declaration_id}/sign-off", json={"version": prepared.versions[i]}
        )
        prepared.versions[i] = int(expect(response, 200).json()["version"])
        await asyncio.sleep(pause)


def _row(label: str, figures: dict[str, Any], baseline: str) -> tuple[str, str, str]:
    return (
        label,
        f"{figures['p50_ms']:.1f}/{figures['p99_ms']:.1f} ms, {figures['undelivered_after_timeout']} lost",
        baseline,
    )


@scenario("event_latency", "intake → review event latency vs a raw JetStream round trip")
async def event_latency(ctx: BenchContext) -> ScenarioResult:
    """One event at a time (as the raw round trip is measured: the target), one client signing off
    back to back, and the figure under the 50-client submit load (both reported)."""
    cfg = ctx.config
    raw = (await jetstream_round_trips(ctx.stack.nats.url, cfg.jetstream_round_trips)).summary()
    warmup = max(cfg.warmup // 10, 3)
    prepared, _, _ = await ready_for_sign_off(ctx, warmup + 2 * cfg.event_samples, offset=50000)
    warming, measured = prepared.split(warmup)
    isolated_part, back_to_back_part = measured.split(cfg.event_samples)
    async with unit_clients(ctx) as (_applicants, heads):
        # Not counted, as the raw round trip's first messages are not: the review consumer's
        # first events of the tenant (pack, prepared statements) and the connections warm up.
        await sign_off_one_at_a_time(heads, warming, pause=cfg.event_pause_seconds)
        start = datetime.now(UTC)
        await sign_off_one_at_a_time(heads, isolated_part, pause=cfg.event_pause_seconds)
        middle = datetime.now(UTC)
        await sign_off_all(ctx, heads, back_to_back_part, 1)
        end = datetime.now(UTC)
    isolated = await event_latencies(ctx, start, middle, slack=timedelta(0))
    back_to_back = await event_latencies(ctx, middle, end, slack=timedelta(0))
    metrics: dict[str, Any] = {
        "one_at_a_time": {**isolated, "pause_s": cfg.event_pause_seconds},
        "back_to_back": {**back_to_back, "submitters": 1},
        "raw_jetstream_round_trip": raw,
        "method": " ".join((__doc__ or "").split()),
    }
    raw_figure = f"{raw['p50_ms']:.2f}/{raw['p99_ms']:.2f} ms"
    table = [
        _row("event p50/p99, one at a time", isolated, raw_figure),
        _row("event p50/p99, 1 client back to back", back_to_back, "(same raw)"),
    ]
    window = ctx.extras.get("loaded_submit_window")
    if window:
        loaded = await event_latencies(ctx, *window)
        metrics["under_submit_load"] = {**loaded, "submitters": cfg.concurrency}
        table.append(
            (
                f"event p50/p99 ({cfg.concurrency} clients)",
                f"{loaded['p50_ms']:.0f}/{loaded['p99_ms']:.0f} ms, "
                f"{loaded['undelivered_after_timeout']} lost",
                "(same raw)",
            )
        )
    targets = [Target("event p99 vs raw JetStream p99", isolated["p99_ms"], 10 * raw["p99_ms"], "ms", False)]
    return ScenarioResult(metrics=metrics, targets=targets, table=table)
