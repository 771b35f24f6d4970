"""`python -m procurement`: run the procurement service in one process."""

from __future__ import annotations

from govkit.runtime import configure_logging, run, serve
from procurement.bootstrap import build
from procurement.settings import ProcurementSettings


def main() -> None:
    """Read settings from the environment and serve until Ctrl-C / SIGTERM."""
    settings = ProcurementSettings()
    configure_logging(settings.log_level)
    run(serve(build(settings)))


if __name__ == "__main__":
    main()
