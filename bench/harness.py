"""The benchmark harness: a throw-away stack, a registry of scenarios, stats, targets, results.

A scenario is an async function taking the :class:`BenchContext` and returning a
:class:`ScenarioResult` (metrics + targets). Register one with ``@scenario("name", "what")`` in a
module under bench/scenarios/ and import it from bench/scenarios/__init__.py; scenarios run in
registration order (later issues add theirs). Targets are reported pass/fail, never asserted: the
numbers depend on the machine.

The load generator runs in this process (asyncio + httpx) on the same host as the services, so it
shares the CPUs with them; the raw baselines are driven by the same generator with the same
concurrency, which keeps the ratios fair even where the absolute numbers are not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from devstack.stack import Stack, StackPorts

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REALM_TOKEN_PATH = "/realms/govproj/protocol/openid-connect/token"


# --- stats --------------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@dataclass
class Latencies:
    """Latency samples in seconds, summarised in milliseconds."""

    samples: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """count, p50, p95, p99, max (ms)."""
        values = sorted(self.samples)
        return {
            "count": len(values),
            "p50_ms": round(percentile(values, 50) * 1000, 2),
            "p95_ms": round(percentile(values, 95) * 1000, 2),
            "p99_ms": round(percentile(values, 99) * 1000, 2),
            "max_ms": round((values[-1] if values else float("nan")) * 1000, 2),
        }


@dataclass
class LoadResult:
    """One closed-loop load run: N operations by C concurrent workers."""

    operations: int
    concurrency: int
    seconds: float
    errors: int
    latencies: Latencies
    error_samples: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Successful operations per second."""
        return (self.operations - self.errors) / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "operations": self.operations,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "error_samples": self.error_samples[:3],
            "throughput_per_s": round(self.throughput, 1),
            **self.latencies.summary(),
        }


async def closed_loop(
    operation: Callable[[int], Awaitable[None]], *, operations: int, concurrency: int
) -> LoadResult:
    """Run ``operation(i)`` for i in range(operations) on ``concurrency`` workers; time each call.

    An operation signals failure by raising; the error is counted, the loop goes on.
    """
    latencies = Latencies()
    errors: list[str] = []
    next_index = iter(range(operations))

    async def worker() -> None:
        for i in next_index:
            started = time.perf_counter()
            try:
                await operation(i)
            except Exception as err:  # noqa: BLE001 - a failed operation is a data point, not a crash
                errors.append(f"{type(err).__name__}: {err}"[:300])
                continue
            latencies.samples.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(
        operations=operations,
        concurrency=concurrency,
        seconds=time.perf_counter() - started,
        errors=len(errors),
        latencies=latencies,
        error_samples=errors,
    )


def expect(response: httpx.Response, status: int) -> httpx.Response:
    """Raise (→ an error data point) unless the response has the expected status."""
    if response.status_code != status:
        request = response.request
        raise RuntimeError(
            f"{request.method} {request.url.path}: {response.status_code} {response.text[:200]}"
        )
    return response


# --- targets and results --------------------------------------------------------------------------


@dataclass
class Target:
    """One pass/fail line: ``value`` compared with ``limit``."""

    name: str
    value: float
    limit: float
    unit: str
    higher_is_better: bool

    @property
    def passed(self) -> bool:
        """Whether the value meets the limit."""
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            **asdict(self),
            "value": round(self.value, 2),
            "limit": round(self.limit, 2),
            "passed": self.passed,
        }


@dataclass
class ScenarioResult:
    """What a scenario reports."""

    metrics: dict[str, Any]
    targets: list[Target] = field(default_factory=list)
    table: list[tuple[str, str, str]] = field(default_factory=list)  # (measure, value, baseline)


# --- context and registry ---------------------------------------------------------------------------


@dataclass
class BenchConfig:
    """Sizes of the runs (``--quick`` shrinks them for a smoke test)."""

    concurrency: int = 50
    drafts: int = 1000
    baseline_inserts: int = 1000
    warmup: int = 100
    event_samples: int = 300
    # One event at a time, like the raw round trip it is compared with: each sign-off is followed
    # by this pause so its event is consumed before the next submit (back-to-back and loaded
    # figures are reported beside it).
    event_pause_seconds: float = 0.1
    jetstream_round_trips: int = 1000
    idle_settle_seconds: float = 5.0
    # Screening through the stack: sign-offs timed before and after this many declarations exist.
    screening_signoffs: int = 200
    screening_existing: int = 10_000
    # The portfolio (issue 7): project histories replayed by the rebuild, rows under the dashboard.
    portfolio_rebuild_projects: int = 5_000
    portfolio_dashboard_projects: int = 100_000
    portfolio_dashboard_samples: int = 50
    # The trading center's bulk import (issue 6): releases in the package file.
    ocds_releases: int = 10_000

    @classmethod
    def quick(cls) -> BenchConfig:
        """A small run that still exercises every path."""
        return cls(
            concurrency=10,
            drafts=100,
            baseline_inserts=100,
            warmup=10,
            event_samples=30,
            jetstream_round_trips=100,
            idle_settle_seconds=1.0,
            screening_signoffs=20,
            screening_existing=1000,
            portfolio_rebuild_projects=100,
            portfolio_dashboard_projects=2000,
            portfolio_dashboard_samples=5,
            ocds_releases=500,
        )


@dataclass
class BenchContext:
    """What scenarios share: the running stack, sizes, helpers, memory readings."""

    stack: Stack
    config: BenchConfig
    idle_rss: dict[str, int] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # scenarios may leave data for later ones

    def token(self, username: str = "applicant.county-a") -> str:
        """A fresh access token from the dev issuer (password grant of govproj-cli)."""
        response = httpx.post(
            f"{self.stack.issuer_url}{REALM_TOKEN_PATH}",
            data={
                "grant_type": "password",
                "client_id": "govproj-cli",
                "username": username,
                "password": "govproj-dev",
            },
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def client(self, service: str, token: str | None = None) -> httpx.AsyncClient:
        """An HTTP/1.1 client for a service, pooled for ``config.concurrency`` connections."""
        limits = httpx.Limits(
            max_connections=self.config.concurrency * 2, max_keepalive_connections=self.config.concurrency * 2
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            base_url=self.stack.http_url(service), headers=headers, limits=limits, timeout=30
        )

    def rss(self) -> dict[str, int]:
        """Resident memory (bytes) of every service process and the portal."""
        readings = {}
        for name, proc in self.stack.processes.items():
            if name == "issuer" or proc.poll() is not None:
                continue
            readings[name] = psutil.Process(proc.pid).memory_info().rss
        return readings

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system, seconds) so far of every process of the run: each service and
        the portal, PostgreSQL (the postmaster and its backends), nats-server and this process
        (the load generator). Differences over a run say where its CPU went."""
        groups: dict[str, list[psutil.Process]] = {
            name: [psutil.Process(proc.pid)]
            for name, proc in self.stack.processes.items()
            if name != "issuer" and proc.poll() is None
        }
        for name, pid in (("postgres", self.stack.postgres.pid), ("nats", self.stack.nats.pid)):
            if pid is not None:
                root = psutil.Process(pid)
                groups[name] = [root, *root.children(recursive=True)]
        groups["bench client"] = [psutil.Process()]
        readings = {}
        for name, procs in groups.items():
            total = 0.0
            for proc in procs:
                try:
                    times = proc.cpu_times()
                except psutil.Error:  # a backend that ended meanwhile
                    continue
                total += times.user + times.system
            readings[name] = total
        return readings


def cpu_per_operation(before: dict[str, float], after: dict[str, float], operations: int) -> dict[str, float]:
    """Milliseconds of CPU per operation by process between two :meth:`BenchContext.cpu_seconds`
    readings, with their total. A PostgreSQL backend that ended between them is not counted."""
    per = {
        name: round((after[name] - before.get(name, 0.0)) * 1000 / operations, 2)
        for name in after
        if operations
    }
    return {**dict(sorted(per.items(), key=lambda item: -item[1])), "total": round(sum(per.values()), 2)}


ScenarioFn = Callable[[BenchContext], Awaitable[ScenarioResult]]


@dataclass(frozen=True)
class Scenario:
    """A registered scenario."""

    name: str
    description: str
    run: ScenarioFn


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, description: str) -> Callable[[ScenarioFn], ScenarioFn]:
    """Register a scenario under ``name`` (runs in registration order)."""

    def register(fn: ScenarioFn) -> ScenarioFn:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} registered twice")
        SCENARIOS[name] = Scenario(name=name, description=description, run=fn)
        return fn

    return register


# --- running -------------------------------------------------------------------------------------


def print_table(results: dict[str, ScenarioResult], targets: list[Target]) -> None:
    """The short stdout table: measures beside baselines, then targets."""
    rows = [("scenario", "measure", "value", "baseline")]
    for name, result in results.items():
        rows += [(name, m, v, b) for m, v, b in result.table]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for target in targets:
        comparator = "≥" if target.higher_is_better else "≤"
        print(
            f"{'PASS' if target.passed else 'FAIL'}  {target.name}: {target.value:.2f} {target.unit} "
            f"{comparator} {target.limit:.2f} {target.unit}"
        )


def host_info() -> dict[str, Any]:
    """Where the numbers come from."""
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


async def run_scenarios(ctx: BenchContext, names: Sequence[str]) -> dict[str, ScenarioResult]:
    """Each named scenario once, in registration order; a crash is reported, not fatal."""
    results: dict[str, ScenarioResult] = {}
    for name in [n for n in SCENARIOS if n in names]:
        print(f"… {name}: {SCENARIOS[name].description}", flush=True)
        started = time.perf_counter()
        try:
            results[name] = await SCENARIOS[name].run(ctx)
        except Exception as err:  # noqa: BLE001 - keep the other scenarios' numbers
            results[name] = ScenarioResult(metrics={"error": f"{type(err).__name__}: {err}"})
            results[name].table.append(("error", f"{type(err).__name__}: {err}"[:80], ""))
        results[name].metrics["scenario_seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    """Boot the stack on free ports, run the scenarios, write bench/results/latest.json."""
    import bench.scenarios  # noqa: F401 - registers the scenarios

    parser = argparse.ArgumentParser(prog="python -m bench", description="govproj benchmark")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test, not a benchmark)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "latest.json")
    args = parser.parse_args(argv)
    config = BenchConfig.quick() if args.quick else BenchConfig()
    names = args.only or list(SCENARIOS)
    root = Path(tempfile.mkdtemp(prefix="govproj-bench-"))
    stack = Stack(root=root, ports=StackPorts.free(), durable=False)
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        print("… starting the stack (PostgreSQL, NATS, issuer, services, portal)", flush=True)
        stack.start()
        startup = time.perf_counter() - t0
        ctx = BenchContext(stack=stack, config=config)
        time.sleep(config.idle_settle_seconds)
        ctx.idle_rss = ctx.rss()
        results = asyncio.run(run_scenarios(ctx, names))
    except (RuntimeError, TimeoutError, subprocess.SubprocessError) as err:
        print(f"bench: the stack failed: {err}", file=sys.stderr)
        return 2
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    targets = [t for r in results.values() for t in r.targets]
    document = {
        "started_at": started_at.isoformat(),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "stack_startup_seconds": round(startup, 1),
        "host": host_info(),
        "config": asdict(config),
        "quick": args.quick,
        "scenarios": {
            name: {"metrics": r.metrics, "targets": [t.as_dict() for t in r.targets]}
            for name, r in results.items()
        },
        "targets_passed": sum(t.passed for t in targets),
        "targets_failed": sum(not t.passed for t in targets),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print()
    print_table(results, targets)
    print(f"\nresults: {args.out} ({document['total_seconds']}s total, stack up in {startup:.1f}s)")
    return 0
