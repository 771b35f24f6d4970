"""`python -m review`: run the review service (REST, gRPC, relay, consumers) in one process."""

from __future__ import annotations

import asyncio

from govkit.runtime import configure_logging, serve
from review.bootstrap import build
from review.settings import ReviewSettings


def main() -> None:
    """Read settings from the environment and serve until Ctrl-C / SIGTERM."""
    settings = ReviewSettings()
    configure_logging(settings.log_level)
    asyncio.run(serve(build(settings)))


if __name__ == "__main__":
    main()
