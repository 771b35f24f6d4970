"""evaluation's gRPC API (none yet beyond health; REST is the full surface)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluation.service import EvaluationDeps

SERVICE_NAMES: list[str] = []


def servicers(deps: EvaluationDeps) -> Sequence[tuple[Any, Any]]:
    """No servicers yet."""
    return []
