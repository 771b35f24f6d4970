"""`python -m evaluation`: run the evaluation service in one process."""

from __future__ import annotations

from evaluation.bootstrap import build
from evaluation.settings import EvaluationSettings
from govkit.runtime import configure_logging, run, serve


def main() -> None:
    """Read settings from the environment and serve until Ctrl-C / SIGTERM."""
    settings = EvaluationSettings()
    configure_logging(settings.log_level)
    run(serve(build(settings)))


if __name__ == "__main__":
    main()
