"""acceptance's composition root: wiring only. The service boots, migrates its schema, serves
/healthz, /readyz, /metrics and gRPC health, and has no use cases yet."""

from __future__ import annotations

from pathlib import Path

from acceptance.adapters.orm import events, metadata
from acceptance.settings import AcceptanceSettings
from govkit.bootstrap import ServiceSpec, build_process, infrastructure_only_spec
from govkit.runtime import ServiceProcess

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec() -> ServiceSpec:
    """What the acceptance service consists of so far."""
    return infrastructure_only_spec(
        name="acceptance",
        title="govproj acceptance 验收",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
    )


def build(settings: AcceptanceSettings | None = None) -> ServiceProcess:
    """The acceptance process, from settings read from the environment."""
    return build_process(settings or AcceptanceSettings(), spec())
