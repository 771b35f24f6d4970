"""``python -m devstack.issuer --host 127.0.0.1 --port 8080 --data-dir .devstack/issuer``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devstack.issuer.guard import DevIssuerRefused, ensure_dev_environment


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, refuse outside GOVPROJ_ENV=dev, then serve with uvicorn."""
    parser = argparse.ArgumentParser(prog="python -m devstack.issuer", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--data-dir", type=Path, default=None, help="signing key location (.devstack/issuer)")
    parser.add_argument("--realm", type=Path, default=None, help="production realm JSON")
    parser.add_argument("--dev-overlay", type=Path, default=None, help="dev overlay (realm-govproj.dev.json)")
    parser.add_argument("--issuer-base-url", default=None, help="public base URL (default http://HOST:PORT)")
    parser.add_argument("--access-token-lifespan", type=int, default=None, help="seconds (default: realm's)")
    args = parser.parse_args(argv)

    # Checked before anything else is read, so a production box learns nothing but the refusal.
    try:
        ensure_dev_environment()
    except DevIssuerRefused as exc:
        print(f"devstack.issuer: refusing to start: {exc}", file=sys.stderr)
        return 2

    # Imported only now: a refused start stays fast and touches neither FastAPI nor the realm files.
    import uvicorn

    from devstack.issuer.app import create_app
    from devstack.issuer.paths import default_data_dir, default_realm_files

    realm_path, overlay_path = args.realm, args.dev_overlay
    if realm_path is None or overlay_path is None:
        default_realm, default_overlay = default_realm_files()
        realm_path, overlay_path = realm_path or default_realm, overlay_path or default_overlay
    data_dir = args.data_dir or default_data_dir()
    app = create_app(
        realm_path=realm_path,
        dev_overlay_path=overlay_path,
        issuer_base_url=args.issuer_base_url or f"http://{args.host}:{args.port}",
        key_path=data_dir / "signing-key.pem",
        access_token_lifespan=args.access_token_lifespan,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
