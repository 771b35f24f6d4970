"""Where the realm files and the issuer's data live in the repository checkout."""

from __future__ import annotations

from pathlib import Path

REALM_FILE = Path("deploy/keycloak/realm-govproj.json")
DEV_OVERLAY_FILE = Path("deploy/keycloak/realm-govproj.dev.json")


def repo_root(start: Path | None = None) -> Path:
    """The nearest directory above ``start`` (default: this package, then the cwd) holding the realm."""
    candidates = [start] if start is not None else [Path(__file__).resolve(), Path.cwd().resolve()]
    for origin in candidates:
        for directory in [origin, *origin.parents]:
            if (directory / REALM_FILE).is_file():
                return directory
    raise FileNotFoundError(f"no {REALM_FILE} found above {candidates}")


def default_realm_files(root: Path | None = None) -> tuple[Path, Path]:
    """(production realm JSON, dev overlay) of the checkout."""
    base = repo_root(root)
    return base / REALM_FILE, base / DEV_OVERLAY_FILE


def default_data_dir(root: Path | None = None) -> Path:
    """.devstack/issuer of the checkout: where the signing key is kept."""
    return repo_root(root) / ".devstack" / "issuer"
