"""`python -m bench`: run the registered scenarios against a throw-away stack."""

from __future__ import annotations

import sys

from bench.harness import main

if __name__ == "__main__":
    sys.exit(main())
