"""Duplicate and splitting screening against 10,000 declarations, in process (issue 5).

Measures what screening adds to a submit, without the HTTP path (the lead measures the integrated
submit): building the tenant's SimilarityIndex from 10,000 declarations, its memory (tracemalloc,
a second build), and per screened submission ``duplicate_findings`` + ``splitting_findings`` (over
the org's declarations of the last 12 months) + ``index.add`` — the service's order.

Data: side a of the hand-written pairs and hard negatives (tests/data/screening) plus generated
background from services/intake/tests/unit/test_screening_quality.py (loaded by path), spread over
400 orgs (25 declarations each within 12 months; the generator's handful of departments would give
one org hundreds a year). Two query sets, each screened and then indexed, so every query meets a
changed index as in the service:
- ``handwritten``: side b of every hand-written pair and hard negative (realistic submissions);
- ``templated``: 500 new generated declarations, each within the cut-off margin of the whole
  candidate pool (the templates make the background self-similar) — the worst case.
Target: screening p95 over both sets ≤ 50 ms.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
import time
import tracemalloc
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.harness import BenchContext, Latencies, ScenarioResult, Target, scenario
from intake.domain.screening import (
    ScreeningText,
    SimilarityIndex,
    duplicate_findings,
    splitting_findings,
)

ROOT = Path(__file__).resolve().parents[2]
QUALITY_TEST = ROOT / "services" / "intake" / "tests" / "unit" / "test_screening_quality.py"
INDEXED = 10_000
TEMPLATED_QUERIES = 500
ORGS = 400
P95_LIMIT_MS = 50.0
SPLIT_THRESHOLD = Decimal("1000000")  # a pack amount stands in; the module knows none
CITATIONS = ["bench"]
MB = 2**20


def load_data_module() -> ModuleType:
    """The quality test module: hand-written data loaders and the background generator."""
    spec = importlib.util.spec_from_file_location("screening_quality_data", QUALITY_TEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def corpus(data: ModuleType) -> tuple[list[ScreeningText], list[ScreeningText], list[ScreeningText]]:
    """(10,000 to index, hand-written queries, templated queries), dated within the last year."""
    pairs = data.load_pairs("duplicate_pairs.yaml") + data.load_pairs("hard_negatives.yaml")
    today = date(2025, 12, 31)
    handwritten = [data.to_text(f"{p['id']}/a", p["a"], today - timedelta(days=200)) for p in pairs]
    background = data.background(INDEXED - len(handwritten), seed=20261124)
    indexed = [
        replace(t, org_id=f"{t.org_id}-{i % ORGS:03d}", submitted_at=today - timedelta(days=i % 365))
        for i, t in enumerate([*background, *handwritten])
    ]
    queries = [data.to_text(f"{p['id']}/b", p["b"], today) for p in pairs]
    templated = [
        replace(t, id=f"new-{t.id}", org_id=f"{t.org_id}-{i % ORGS:03d}", submitted_at=today)
        for i, t in enumerate(data.background(TEMPLATED_QUERIES, seed=99))
    ]
    return indexed, queries, templated


def screen_all(
    index: SimilarityIndex, by_org: dict[str, list[ScreeningText]], queries: list[ScreeningText]
) -> tuple[Latencies, Latencies, int, int]:
    """Screen then index each query; (screen latencies, duplicate-query-only latencies, flags)."""
    screen, dup_only = Latencies(), Latencies()
    duplicates = splits = 0
    for text in queries:
        peers = by_org.setdefault(text.org_id, [])
        started = time.perf_counter()
        found = duplicate_findings(text, index, citations=CITATIONS)
        middle = time.perf_counter()
        split = splitting_findings(text, peers, SPLIT_THRESHOLD, citations=CITATIONS, index=index)
        index.add(text)
        screen.samples.append(time.perf_counter() - started)
        dup_only.samples.append(middle - started)
        peers.append(text)
        duplicates += len(found)
        splits += len(split)
    return screen, dup_only, duplicates, splits


@scenario("screening", "duplicate + splitting screening against 10,000 declarations (in process)")
async def screening(ctx: BenchContext) -> ScenarioResult:
    """Build, memory, then screen the hand-written and the templated submissions."""
    data = load_data_module()
    indexed, handwritten, templated = corpus(data)
    gc.collect()
    started = time.perf_counter()
    index = SimilarityIndex()
    index.build(indexed)
    build_s = time.perf_counter() - started
    stats = index.stats()
    gc.collect()
    tracemalloc.start()
    measured = SimilarityIndex()
    measured.build(indexed)
    memory_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del measured
    by_org: dict[str, list[ScreeningText]] = {}
    for t in indexed:
        by_org.setdefault(t.org_id, []).append(t)
    hand, hand_dup, hand_flags, hand_splits = screen_all(index, by_org, handwritten)
    tmpl, tmpl_dup, tmpl_flags, tmpl_splits = screen_all(index, by_org, templated)
    both = Latencies(samples=hand.samples + tmpl.samples)
    summary = both.summary()
    metrics: dict[str, Any] = {
        "indexed": stats,
        "build_seconds": round(build_s, 2),
        "index_memory_mb": round(memory_bytes / MB, 1),
        "screen_all": summary,
        "screen_handwritten": hand.summary(),
        "screen_templated": tmpl.summary(),
        "duplicate_query_handwritten": hand_dup.summary(),
        "duplicate_query_templated": tmpl_dup.summary(),
        "flags": {
            "handwritten_duplicates": hand_flags,
            "handwritten_splitting": hand_splits,
            "templated_duplicates": tmpl_flags,
            "templated_splitting": tmpl_splits,
        },
        "method": (
            "in process; screen = duplicate_findings + splitting_findings over the org's last 12 "
            "months (threshold 100万) + index.add; memory = tracemalloc of a second build"
        ),
    }
    targets = [Target("screening p95 at 10,000 declarations", summary["p95_ms"], P95_LIMIT_MS, "ms", False)]

    def pct(s: dict[str, float]) -> str:
        return f"{s['p50_ms']:.1f}/{s['p95_ms']:.1f}/{s['p99_ms']:.1f} ms"

    table = [
        ("index build (10,000)", f"{build_s:.1f} s", ""),
        ("index memory", f"{memory_bytes / MB:.1f} MB", f"{stats['terms']} terms"),
        ("screen p50/p95/p99 handwritten", pct(hand.summary()), f"{hand_flags} dup flags"),
        ("screen p50/p95/p99 templated", pct(tmpl.summary()), f"{tmpl_flags} dup flags"),
    ]
    return ScenarioResult(metrics=metrics, targets=targets, table=table)
