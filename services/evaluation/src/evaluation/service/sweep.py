"""The background sweep: escalate rectification orders past due, tenant by tenant."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from evaluation.service import rectification
from evaluation.service._common import BUREAU, EvaluationDeps, require, require_tenant
from govkit.auth import Principal

log = logging.getLogger(__name__)


async def sweep(deps: EvaluationDeps, tenants: list[str] | None = None) -> int:
    """Every tenant's sweep; one tenant's failure is logged and does not stop the others."""
    escalated = 0
    for tenant in tenants if tenants is not None else deps.configured_tenants():
        try:
            escalated += await rectification.escalate_overdue(deps, tenant)
        except Exception:
            log.exception("evaluation sweep of tenant %s failed", tenant)
    return escalated


async def run_sweep_now(*, deps: EvaluationDeps, principal: Principal) -> int:
    """The caller's tenant's sweep now (the bureau; the worker runs it on its own schedule)."""
    tenant = require_tenant(principal)
    require(principal, *BUREAU, "tenant_admin", action="sweep.run")
    return await rectification.escalate_overdue(deps, tenant)


@dataclass
class SweepWorker:
    """The worker loop in the service process."""

    deps: EvaluationDeps
    interval_seconds: float = 300.0

    async def run(self) -> None:
        """Sweep until cancelled."""
        while True:
            try:
                count = await sweep(self.deps)
                if count:
                    log.info("evaluation sweep escalated %d rectification orders", count)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("evaluation sweep failed")
            await asyncio.sleep(self.interval_seconds)
