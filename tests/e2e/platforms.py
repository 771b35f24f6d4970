"""Throw-away platforms for the e2e and browser tests whose tenants run under other measures than
the shipped tenant map gives them (the city under lhasa, county-a under heze-2021 ...)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from devstack.stack import REPO_ROOT, Stack, StackPorts


@dataclass
class PolicyFolderStack(Stack):
    """The platform reading its policy packs and tenant map from ``policies_dir``."""

    policies_dir: Path = REPO_ROOT / "policies"

    def service_env(self, service: str) -> dict[str, str]:
        """The usual environment with the policy folder replaced."""
        env = super().service_env(service)
        env[f"GOVPROJ_{service.upper()}_POLICIES_DIR"] = str(self.policies_dir)
        return env


def policies_with(folder: Path, packs: Mapping[str, str]) -> Path:
    """A copy of the shipped packs in ``folder`` with each tenant named in ``packs`` moved to that
    pack (``{"city": "lhasa"}``); the folder."""
    folder.mkdir(parents=True)
    for pack in (REPO_ROOT / "policies").glob("*.yaml"):
        if pack.name != "tenants.yaml":
            shutil.copy(pack, folder / pack.name)
    tenants = yaml.safe_load((REPO_ROOT / "policies" / "tenants.yaml").read_text(encoding="utf-8"))
    for tenant, pack_id in packs.items():
        tenants["tenants"][tenant]["packs"] = [pack_id]
    (folder / "tenants.yaml").write_text(yaml.safe_dump(tenants, allow_unicode=True), encoding="utf-8")
    return folder


def policy_stack(
    root: Path, packs: Mapping[str, str], *, services: Sequence[str], with_portal: bool
) -> Stack:
    """A platform under ``root`` on free ports with these tenants moved (not started yet)."""
    return PolicyFolderStack(
        root=root,
        ports=StackPorts.free(),
        durable=False,
        services=tuple(services),
        with_portal=with_portal,
        policies_dir=policies_with(root / "policies", packs),
    )


@contextmanager
def running_policy_stack(
    prefix: str, packs: Mapping[str, str], *, services: Sequence[str], with_portal: bool
) -> Iterator[Stack]:
    """:func:`policy_stack` in a fresh temporary folder, started, then stopped and removed."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    stack = policy_stack(root, packs, services=services, with_portal=with_portal)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
