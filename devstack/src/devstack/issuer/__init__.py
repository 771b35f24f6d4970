"""Development OIDC issuer: serves Keycloak's endpoints for realm govproj from the realm JSON files.

Run it with ``GOVPROJ_ENV=dev python -m devstack.issuer``; tests use :mod:`devstack.issuer.testing`.
The public names are loaded lazily so that ``python -m devstack.issuer`` can refuse to start
(outside GOVPROJ_ENV=dev) before importing FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devstack.issuer.guard import DevIssuerRefused, ensure_dev_environment

if TYPE_CHECKING:
    from devstack.issuer.app import IssuerState, create_app
    from devstack.issuer.paths import default_data_dir, default_realm_files

_LAZY = {
    "IssuerState": "devstack.issuer.app",
    "create_app": "devstack.issuer.app",
    "default_data_dir": "devstack.issuer.paths",
    "default_realm_files": "devstack.issuer.paths",
}


def __getattr__(name: str) -> Any:
    """Import the app's names on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DevIssuerRefused",
    "IssuerState",
    "create_app",
    "default_data_dir",
    "default_realm_files",
    "ensure_dev_environment",
]
