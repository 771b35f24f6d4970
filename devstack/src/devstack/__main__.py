"""`make dev`: the whole platform on loopback, no Docker, no root needed. Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from devstack.stack import REPO_ROOT, SERVICES, Stack, StackPorts

DEMO_PASSWORD = "govproj-dev"


def main() -> int:
    """Start everything, print where it is, wait for Ctrl-C."""
    os.environ.setdefault("GOVPROJ_ENV", "dev")
    root = Path(os.environ.get("GOVPROJ_DEV_DATA", REPO_ROOT / ".devstack"))
    stack = Stack(root=root, ports=StackPorts.dev_defaults(), durable=True)
    started = time.monotonic()
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        print(f"govproj dev: starting PostgreSQL, NATS, the dev issuer and {len(SERVICES)} services ...")
        stack.start()
        elapsed = time.monotonic() - started
        print(f"\ngovproj is ready in {elapsed:.1f}s (data in {root}, logs in {stack.log_dir})\n")
        print(f"  portal           {stack.portal_url}  (sign in with a demo login below)")
        print(f"  dev issuer       {stack.issuer_url}/realms/govproj  (Keycloak paths)")
        for service in SERVICES:
            print(
                f"  {service:<16} REST {stack.http_url(service)}  (OpenAPI {stack.http_url(service)}/docs)"
                f"   gRPC {stack.grpc_target(service)}"
            )
        print(f"  PostgreSQL       127.0.0.1:{stack.ports.postgres}   NATS {stack.nats.url}")
        print(
            f"\nDemo logins (password {DEMO_PASSWORD}): <role>.<tenant>, e.g. applicant.county-a, "
            "unit_head.county-a, bureau_reviewer.city, auditor.county-b; see README.md."
        )
        print(
            "Token for scripts: curl -d grant_type=password -d client_id=govproj-cli "
            f"-d username=applicant.county-a -d password={DEMO_PASSWORD} "
            f"{stack.issuer_url}/realms/govproj/protocol/openid-connect/token"
        )
        print("\nCtrl-C stops everything.")
        while True:
            for name, proc in list(stack.processes.items()):
                if proc.poll() is not None:
                    print(
                        f"{name} exited with {proc.returncode}; its log:\n{stack.tail_log(name)}",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping ...")
        return 0
    except Exception as exc:  # noqa: BLE001 - report why the stack did not come up, then clean up
        print(f"govproj dev failed to start: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
        print("stopped.")


if __name__ == "__main__":
    sys.exit(main())
