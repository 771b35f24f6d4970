"""Development OIDC issuer: serves Keycloak's endpoints for realm govproj from the realm JSON files.

Run it with ``GOVPROJ_ENV=dev python -m devstack.issuer``; tests use :mod:`devstack.issuer.testing`.
"""

from devstack.issuer.app import DevIssuerRefused, IssuerState, create_app, ensure_dev_environment
from devstack.issuer.paths import default_data_dir, default_realm_files

__all__ = [
    "DevIssuerRefused",
    "IssuerState",
    "create_app",
    "default_data_dir",
    "default_realm_files",
    "ensure_dev_environment",
]
