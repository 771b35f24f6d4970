"""The background sweep, tenant by tenant: contracts not filed in time (filing.overdue), serious
delays, old webhook nonces."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from procurement.service import construction, procurements, trading
from procurement.service._common import ProcurementDeps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    filings_overdue: int = 0
    serious_delays: int = 0
    nonces_dropped: int = 0

    def __add__(self, other: SweepReport) -> SweepReport:
        return SweepReport(
            self.filings_overdue + other.filings_overdue,
            self.serious_delays + other.serious_delays,
            self.nonces_dropped + other.nonces_dropped,
        )


def configured_tenants(deps: ProcurementDeps) -> list[str]:
    """The tenants of tenants.yaml (RLS: each is swept in its own transactions)."""
    if deps.policies.tenants is None:
        return []
    return sorted(deps.policies.tenants.tenants)


async def sweep_tenant(deps: ProcurementDeps, tenant: str) -> SweepReport:
    """One tenant's sweep."""
    return SweepReport(
        filings_overdue=await procurements.report_overdue(deps, tenant),
        serious_delays=await construction.sweep_delays(deps, tenant),
        nonces_dropped=await trading.forget_nonces(deps, tenant),
    )


async def sweep(deps: ProcurementDeps, tenants: Iterable[str] | None = None) -> SweepReport:
    """Sweep every tenant; one tenant's failure is logged and does not stop the others."""
    report = SweepReport()
    for tenant in tenants if tenants is not None else configured_tenants(deps):
        try:
            report = report + await sweep_tenant(deps, tenant)
        except Exception:
            log.exception("procurement sweep of tenant %s failed", tenant)
    return report


@dataclass
class SweepWorker:
    """The worker loop in the service process: a sweep every ``interval_seconds``."""

    deps: ProcurementDeps
    interval_seconds: float = 300.0
    tenants: Callable[[], list[str]] | None = None

    async def run(self) -> None:
        """Sweep until cancelled."""
        while True:
            try:
                report = await sweep(self.deps, self.tenants() if self.tenants else None)
                if report != SweepReport():
                    log.info("procurement sweep: %s", report)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("procurement sweep failed")
            await asyncio.sleep(self.interval_seconds)
