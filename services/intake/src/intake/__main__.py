"""`python -m intake`: run the intake service (REST, gRPC, relay) in one process."""

from __future__ import annotations

from govkit.runtime import configure_logging, run, serve
from intake.bootstrap import build
from intake.settings import IntakeSettings


def main() -> None:
    """Read settings from the environment and serve until Ctrl-C / SIGTERM."""
    settings = IntakeSettings()
    configure_logging(settings.log_level)
    run(serve(build(settings)))


if __name__ == "__main__":
    main()
