"""review's composition root: wiring only."""

from __future__ import annotations

from pathlib import Path

from govkit.bootstrap import ServiceSpec, build_process
from govkit.runtime import ServiceProcess
from govproj.review.v1 import review_pb2_grpc
from review.adapters.orm import events, metadata
from review.entrypoints import consumers, rest
from review.entrypoints.grpc import SERVICE_NAME, ReviewCaseServicer
from review.settings import ReviewSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec() -> ServiceSpec:
    """What the review service consists of."""
    return ServiceSpec(
        name="review",
        title="govproj review 联审与审批",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
        routers=[rest.router],
        grpc_service_names=[SERVICE_NAME],
        grpc_servicers=lambda infra: [
            (review_pb2_grpc.add_ReviewCaseServiceServicer_to_server, ReviewCaseServicer(infra.uow))
        ],
        consumers=consumers.consumers,
        publishes_to=["review"],
        consumes_from=["intake"],
    )


def build(settings: ReviewSettings | None = None) -> ServiceProcess:
    """The review process, from settings read from the environment."""
    return build_process(settings or ReviewSettings(), spec())
