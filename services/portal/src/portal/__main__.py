"""`python -m portal`: serve the portal."""

from __future__ import annotations

import logging

import uvicorn

from portal.app import create_app
from portal.settings import PortalSettings


def main() -> None:
    """Read settings from the environment and serve until Ctrl-C / SIGTERM."""
    settings = PortalSettings()
    logging.basicConfig(level=settings.log_level)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_level="warning")


if __name__ == "__main__":
    main()
