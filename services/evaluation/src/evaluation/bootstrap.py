"""evaluation's composition root: wiring only. The service boots, migrates its schema, serves
/healthz, /readyz, /metrics and gRPC health, and has no use cases yet."""

from __future__ import annotations

from pathlib import Path

from evaluation.adapters.orm import events, metadata
from evaluation.settings import EvaluationSettings
from govkit.bootstrap import ServiceSpec, build_process, infrastructure_only_spec
from govkit.runtime import ServiceProcess

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def spec() -> ServiceSpec:
    """What the evaluation service consists of so far."""
    return infrastructure_only_spec(
        name="evaluation",
        title="govproj evaluation 绩效评价与运维经费",
        metadata=metadata,
        tables=events,
        migrations_dir=MIGRATIONS,
    )


def build(settings: EvaluationSettings | None = None) -> ServiceProcess:
    """The evaluation process, from settings read from the environment."""
    return build_process(settings or EvaluationSettings(), spec())
