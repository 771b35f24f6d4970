"""Resident memory (psutil RSS) of every service process: idle (after start) and after the run."""

from __future__ import annotations

from bench.harness import BenchContext, ScenarioResult, Target, scenario

MB = 2**20
IDLE_LIMIT_MB = 150.0


@scenario("memory", "RSS of each process idle and after the other scenarios")
async def memory(ctx: BenchContext) -> ScenarioResult:
    """Idle is read by the harness before any scenario; `after` here, when the others are done."""
    after = ctx.rss()
    metrics = {
        name: {
            "idle_mb": round(ctx.idle_rss.get(name, 0) / MB, 1),
            "after_mb": round(after.get(name, 0) / MB, 1),
        }
        for name in sorted(set(ctx.idle_rss) | set(after))
    }
    table = [
        (f"RSS {name} idle/after", f"{m['idle_mb']:.0f}/{m['after_mb']:.0f} MB", "")
        for name, m in metrics.items()
    ]
    targets = [
        Target(f"{name} idle RSS", m["idle_mb"], IDLE_LIMIT_MB, "MB", False)
        for name, m in metrics.items()
        if name in ctx.stack.services  # the portal is reported, the target is per service
    ]
    return ScenarioResult(metrics={"rss": metrics}, targets=targets, table=table)
