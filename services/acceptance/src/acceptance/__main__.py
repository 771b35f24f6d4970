"""`python -m acceptance`: run the acceptance service in one process."""

from __future__ import annotations

from acceptance.bootstrap import build
from acceptance.settings import AcceptanceSettings
from govkit.runtime import configure_logging, run, serve


def main() -> None:
    """Read settings from the environment and serve until Ctrl-C / SIGTERM."""
    settings = AcceptanceSettings()
    configure_logging(settings.log_level)
    run(serve(build(settings)))


if __name__ == "__main__":
    main()
