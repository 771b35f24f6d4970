"""`python -m acceptance`: run the acceptance service in one process."""

from __future__ import annotations

import asyncio

from acceptance.bootstrap import build
from acceptance.settings import AcceptanceSettings
from govkit.runtime import configure_logging, serve


def main() -> None:
    """Read settings from the environment and serve until Ctrl-C / SIGTERM."""
    settings = AcceptanceSettings()
    configure_logging(settings.log_level)
    asyncio.run(serve(build(settings)))


if __name__ == "__main__":
    main()
