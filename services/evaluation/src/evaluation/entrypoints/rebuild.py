"""``python -m evaluation.entrypoints.rebuild [--check]``: rebuild the portfolio from the event
streams, from their first message up to where they are now, with a progress bar.

``--check`` folds the streams in memory and reports where they differ from the live rows without
writing; without it each tenant's rows are replaced in one transaction per tenant.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from tqdm import tqdm

from evaluation.adapters.streams import replay, stream_sizes
from evaluation.bootstrap import evaluation_deps
from evaluation.service import portfolio as portfolio_service
from evaluation.settings import EvaluationSettings
from govkit.bootstrap import build_infrastructure
from govkit.runtime import configure_logging


async def rebuild(settings: EvaluationSettings, *, check: bool) -> int:
    """Rebuild (or check) the portfolio; the exit status (1: the check found differences)."""
    from evaluation.adapters.orm import events, metadata

    infra = build_infrastructure(settings, events, metadata)
    deps = evaluation_deps(settings, infra)
    try:
        js = await infra.nats.jetstream(timeout=30)
        sizes = await stream_sizes(js, portfolio_service.CONTEXTS)
        started = time.perf_counter()
        with tqdm(total=sum(sizes.values()), unit="event", desc="portfolio", file=sys.stderr) as bar:
            folded = await portfolio_service.fold_stream(
                deps, replay(js, portfolio_service.CONTEXTS, upto=sizes), progress=bar.update
            )
        seconds = time.perf_counter() - started
        rate = folded.events / seconds if seconds else 0.0
        tenants = sorted({*deps.configured_tenants(), *folded.rows})
        if check:
            problems = []
            for tenant in tenants:
                problems += portfolio_service.differences(
                    await portfolio_service.live_rows(deps, tenant), folded.rows.get(tenant, {})
                )
            for line in problems[:50]:
                print(line)  # noqa: T201 - the command's report
            print(f"{folded.events} events, {rate:.0f}/s, {len(problems)} differences")  # noqa: T201
            return 1 if problems else 0
        written = await portfolio_service.replace_rows(deps, folded, tenants=tenants)
        total = time.perf_counter() - started
        overall = folded.events / total if total else 0.0
        print(  # noqa: T201 - the command's report
            f"{folded.events} events, {rate:.0f}/s folded, {overall:.0f}/s with the writes, "
            f"{written} projects written"
        )
        return 0
    finally:
        await infra.nats.close()
        await infra.engine.dispose()


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the live rows, write nothing")
    args = parser.parse_args()
    settings = EvaluationSettings()
    configure_logging(settings.log_level)
    sys.exit(asyncio.run(rebuild(settings, check=args.check)))


if __name__ == "__main__":
    main()
