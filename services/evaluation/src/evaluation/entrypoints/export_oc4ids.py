"""``python -m evaluation.entrypoints.export_oc4ids --tenant T [--out FILE]``: the tenant's approved
projects and their contracting processes as an OC4IDS 0.9 project package for open-data
publication, validated against the official OC4IDS 0.9.3 schema (the same package as
``GET /v1/portfolio/oc4ids``, read from the portfolio under the tenant's RLS binding).

JSON on stdout (or FILE); exit 2 with a one-line message on stderr for a bad input (unknown tenant,
nothing to publish) and 1 when the package would not validate (nothing is written then).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from evaluation.adapters import repository
from evaluation.bootstrap import evaluation_deps
from evaluation.service import portfolio as portfolio_service
from evaluation.settings import EvaluationSettings
from govkit.bootstrap import build_infrastructure
from govkit.errors import AppError, ErrorKind
from govkit.runtime import configure_logging

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


async def export(settings: EvaluationSettings, *, tenant: str) -> tuple[int, dict[str, Any] | None]:
    """The exit status and the package (None when refused)."""
    from evaluation.adapters.orm import events, metadata

    infra = build_infrastructure(settings, events, metadata)
    deps = evaluation_deps(settings, infra)
    try:
        if tenant not in deps.configured_tenants():
            print(f"export-oc4ids: unknown tenant {tenant!r}", file=sys.stderr)  # noqa: T201
            return EXIT_BAD_INPUT, None
        async with deps.uow(tenant_id=tenant) as tx:
            rows = await repository.all_projects(tx.session)
        try:
            package = portfolio_service.oc4ids_package(rows, tenant=tenant, published_at=deps.now())
        except AppError as exc:
            print(f"export-oc4ids: {exc.code}: {exc.message}", file=sys.stderr)  # noqa: T201
            return (EXIT_INVALID if exc.kind is ErrorKind.UNAVAILABLE else EXIT_BAD_INPUT), None
        return 0, package
    finally:
        await infra.engine.dispose()


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", required=True, help="the tenant whose projects are published")
    parser.add_argument("--out", type=Path, help="write the package here instead of stdout")
    args = parser.parse_args()
    settings = EvaluationSettings()
    configure_logging(settings.log_level)
    status, package = asyncio.run(export(settings, tenant=args.tenant))
    if package is not None:
        text = json.dumps(package, ensure_ascii=False, indent=2)
        if args.out is None:
            print(text)  # noqa: T201 - the command's output
        else:
            args.out.write_text(text + "\n", encoding="utf-8")
            print(f"{len(package['projects'])} projects written to {args.out}", file=sys.stderr)  # noqa: T201
    sys.exit(status)


if __name__ == "__main__":
    main()
