"""The dev-only guard, importable without FastAPI so a refusal is immediate and reads nothing else."""

from __future__ import annotations

import os
from collections.abc import Mapping

ENV_VAR = "GOVPROJ_ENV"


class DevIssuerRefused(RuntimeError):
    """Raised when something tries to build the dev issuer outside a development environment."""


def ensure_dev_environment(environ: Mapping[str, str] | None = None) -> None:
    """Refuse unless GOVPROJ_ENV=dev: the issuer hands out tokens for fixed demo passwords."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR)
    if value != "dev":
        raise DevIssuerRefused(
            f"the dev OIDC issuer only runs with {ENV_VAR}=dev (got {value!r}); "
            "it signs tokens for demo users with well-known passwords and must never serve production"
        )
