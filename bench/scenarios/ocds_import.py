"""The trading center's bulk import (issue 6): a 10,000-release OCDS package file imported with
``govproj procurement import-ocds`` through procurement's signed webhook, streamed in batches.

Measured: wall time and releases per second; the peak RSS of the CLI process and the procurement
service's RSS growth while it imports (sampled every 50 ms with psutil). Target: the CLI stays
within 200 MB RSS (issue 6: bounded memory, streamed). The releases name made-up project codes, so
they are recorded and reported as unmatched: the run measures validation, recording and matching,
not the filings (which need approved projects).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import psutil

from bench.harness import BenchContext, ScenarioResult, Target, scenario
from devstack.stack import DEV_TRADING_WEBHOOK_SECRET

MB = 2**20
CLI_RSS_LIMIT_MB = 200.0
TENANT = "county-b"
SAMPLE_SECONDS = 0.05


def release(n: int) -> dict[str, Any]:
    """One realistic award+contract release of a made-up county procurement."""
    code = f"91230522MA{n:07d}"
    return {
        "ocid": f"ocds-213czf-230522-bench-{n:06d}",
        "id": f"ocds-213czf-230522-bench-{n:06d}-contract-01",
        "date": "2025-03-04T10:00:00+08:00",
        "tag": ["award", "contract"],
        "initiationType": "tender",
        "planning": {"budget": {"projectID": f"2025-230522-65-01-{n:06d}", "project": f"乙县信息化项目{n}"}},
        "tender": {
            "id": f"YXZC-2025-{n:06d}",
            "title": f"乙县信息化项目{n}（第{n % 7 + 1}包）",
            "procurementMethod": "open",
            "procurementMethodDetails": "公开招标",
            "value": {"amount": 500000 + n, "currency": "CNY"},
        },
        "parties": [
            {
                "id": f"S-{n}",
                "name": f"示范市第{n}信息技术有限公司",
                "identifier": {"scheme": "CN-USCC", "id": code},
                "roles": ["supplier"],
            }
        ],
        "awards": [
            {
                "id": f"A-{n}",
                "status": "active",
                "date": "2025-03-03T15:00:00+08:00",
                "value": {"amount": 480000 + n, "currency": "CNY"},
                "suppliers": [{"id": f"S-{n}", "name": f"示范市第{n}信息技术有限公司"}],
            }
        ],
        "contracts": [
            {
                "id": f"HT-{n}",
                "awardID": f"A-{n}",
                "status": "active",
                "value": {"amount": 480000 + n, "currency": "CNY"},
                "dateSigned": "2025-03-03T16:00:00+08:00",
                "period": {"startDate": "2025-03-10T00:00:00+08:00", "endDate": "2025-12-31T00:00:00+08:00"},
            }
        ],
    }


def write_package(fp: IO[str], count: int) -> None:
    """Write a release package of ``count`` releases, one release at a time (never all in memory)."""
    meta = {
        "uri": "https://ggzy.example.gov.cn/ocds/bench.json",
        "version": "1.1",
        "publishedDate": "2025-03-05T08:00:00+08:00",
        "publisher": {"name": "示范市公共资源交易中心"},
    }
    fp.write(json.dumps(meta, ensure_ascii=False)[:-1] + ', "releases": [\n')
    for n in range(count):
        fp.write(("," if n else "") + json.dumps(release(n), ensure_ascii=False) + "\n")
    fp.write("]}\n")


async def _watch(pid: int, peak: dict[str, int], key: str, done: asyncio.Event) -> None:
    try:
        proc = psutil.Process(pid)
        while not done.is_set():
            peak[key] = max(peak.get(key, 0), proc.memory_info().rss)
            await asyncio.sleep(SAMPLE_SECONDS)
    except psutil.NoSuchProcess:
        return


@scenario("ocds_import", "a 10,000-release OCDS package through govproj procurement import-ocds (RSS, time)")
async def ocds_import(ctx: BenchContext) -> ScenarioResult:
    """Import the package with the CLI; sample the CLI's and the service's memory meanwhile."""
    count = ctx.config.ocds_releases
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "package.json"
        with path.open("w", encoding="utf-8") as fp:
            write_package(fp, count)
        size_mb = path.stat().st_size / MB
        service = ctx.stack.processes["procurement"]
        before = psutil.Process(service.pid).memory_info().rss
        env = {**os.environ, "GOVPROJ_PROCUREMENT_TRADING_WEBHOOK_SECRET": DEV_TRADING_WEBHOOK_SECRET}
        command = [
            str(Path(sys.executable).parent / "govproj"),
            "procurement",
            "import-ocds",
            str(path),
            "--tenant",
            TENANT,
            "--url",
            ctx.stack.http_url("procurement"),
            "--quiet",
        ]
        started = time.perf_counter()
        cli = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        peak: dict[str, int] = {}
        done = asyncio.Event()
        watchers = [
            asyncio.create_task(_watch(cli.pid, peak, "cli", done)),
            asyncio.create_task(_watch(service.pid, peak, "service", done)),
        ]
        out, err = await cli.communicate()
        seconds = time.perf_counter() - started
        done.set()
        await asyncio.gather(*watchers)
    if cli.returncode != 0:
        raise RuntimeError(f"import-ocds failed ({cli.returncode}): {err.decode()[-500:]}")
    summary = json.loads(out)
    cli_mb = peak.get("cli", 0) / MB
    growth_mb = (peak.get("service", before) - before) / MB
    metrics = {
        "releases": count,
        "file_mb": round(size_mb, 1),
        "seconds": round(seconds, 2),
        "releases_per_second": round(count / seconds, 1),
        "cli_peak_rss_mb": round(cli_mb, 1),
        "service_rss_growth_mb": round(growth_mb, 1),
        "summary": {k: v for k, v in summary.items() if k != "errors"},
    }
    table = [
        (f"import {count} releases ({size_mb:.0f} MB)", f"{seconds:.1f} s, {count / seconds:.0f}/s", ""),
        ("import-ocds peak RSS", f"{cli_mb:.0f} MB", ""),
        ("procurement RSS growth", f"{growth_mb:.0f} MB", ""),
    ]
    targets = [Target("import-ocds peak RSS", cli_mb, CLI_RSS_LIMIT_MB, "MB", False)]
    return ScenarioResult(metrics=metrics, targets=targets, table=table)
