"""evaluation's use cases: each in one unit of work, the only place that commits."""

from evaluation.service._common import EvaluationDeps

__all__ = ["EvaluationDeps"]
