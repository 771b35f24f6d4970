"""procurement's composition root: wiring only. The service boots, migrates its schema, serves
/healthz, /readyz, /metrics and gRPC health, and has no use cases yet."""

from __future__ import annotations

from pathlib import Path

from govkit.bootstrap import ServiceSpec, build_process, infrastructure_only_spec
from govkit.runtime import ServiceProcess
from procurement.adapters.orm import events, metadata
from procurement.settings import ProcurementSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec() -> ServiceSpec:
    """What the procurement service consists of so far."""
    return infrastructure_only_spec(
        name="procurement",
        title="govproj procurement 采购与建设",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
    )


def build(settings: ProcurementSettings | None = None) -> ServiceProcess:
    """The procurement process, from settings read from the environment."""
    return build_process(settings or ProcurementSettings(), spec())
