"""The portal web app: `create_app` lives in bootstrap (wiring); this module keeps the old import path."""

from __future__ import annotations

from portal.bootstrap import create_app

__all__ = ["create_app"]
