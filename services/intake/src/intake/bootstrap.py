"""intake's composition root: wiring only."""

from __future__ import annotations

from pathlib import Path

from govkit.bootstrap import Infrastructure, ServiceSpec, build_process
from govkit.runtime import ServiceProcess
from govproj.intake.v1 import intake_pb2_grpc
from intake.adapters.orm import events, metadata
from intake.entrypoints import rest
from intake.entrypoints.grpc import SERVICE_NAME, DeclarationServicer
from intake.settings import IntakeSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec() -> ServiceSpec:
    """What the intake service consists of."""
    return ServiceSpec(
        name="intake",
        title="govproj intake 项目申报",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
        routers=[rest.router],
        grpc_service_names=[SERVICE_NAME],
        grpc_servicers=lambda infra: [
            (intake_pb2_grpc.add_DeclarationServiceServicer_to_server, DeclarationServicer(infra.uow))
        ],
        publishes_to=["intake"],
    )


def build(settings: IntakeSettings | None = None) -> ServiceProcess:
    """The intake process, from settings read from the environment."""
    return build_process(settings or IntakeSettings(), spec())


__all__ = ["Infrastructure", "build", "spec"]
