"""acceptance's composition root: wiring only. The service boots, migrates its schema, serves
/healthz, /readyz, /metrics and gRPC health, and has no use cases yet."""

from __future__ import annotations

from pathlib import Path

from acceptance.adapters.orm import events, metadata
from acceptance.settings import AcceptanceSettings
from govkit.bootstrap import ServiceSpec, build_process
from govkit.runtime import ServiceProcess

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec() -> ServiceSpec:
    """What the acceptance service consists of so far."""
    return ServiceSpec(
        name="acceptance",
        title="govproj acceptance 验收",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
        routers=[],
        grpc_service_names=[],
        grpc_servicers=lambda _infra: [],
        publishes_to=["acceptance"],
    )


def build(settings: AcceptanceSettings | None = None) -> ServiceProcess:
    """The acceptance process, from settings read from the environment."""
    return build_process(settings or AcceptanceSettings(), spec())
