"""One duplicate-screening index per tenant, in process memory, kept in step with the database.

The index (intake.domain.screening.SimilarityIndex) is a cache: it is built lazily from the
declarations at the bureau and the registered existing systems the first time a tenant screens, and
before every later screening it reads only the rows whose ``screen_seq`` went up since. Writers
bump ``screen_seq`` under the tenant's submission lock, so numbers are handed out in commit order
and a replica that has read up to n has seen every committed change numbered ≤ n. Several replicas
therefore agree without talking to each other.

The refresh runs inside the caller's transaction *before* it writes anything, so an uncommitted
(and possibly rolled-back) change never enters the index.

Concurrent screenings of a tenant share refreshes: a caller needs a refresh that *began* after it
asked (that one saw everything committed before), so callers queued behind a running refresh are
all served by the next one instead of each reading the database in turn.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters import repository
from intake.adapters.repository import ScreeningRow
from intake.domain.screening import ScreeningText, SimilarityIndex, TextKind


@dataclass
class _TenantIndex:
    index: SimilarityIndex = field(default_factory=SimilarityIndex)
    # -1: the first refresh also reads rows never numbered (0), e.g. declarations migrated in.
    declarations_seq: int = -1
    systems_seq: int = -1
    # The screen_seq each indexed id was last applied at (a stale row never overwrites a newer one).
    applied: dict[str, int] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Refreshes begun and completed (a caller is served by any refresh begun after it asked).
    begun: int = 0
    completed: int = 0


def screening_text(row: ScreeningRow, kind: TextKind) -> ScreeningText:
    """What the similarity index knows of a row."""
    return ScreeningText(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        content=row.content,
        goals=row.goals,
        amount=row.amount,
        submitted_at=row.submitted_at,
        kind=kind,
    )


class ScreeningIndexes:
    """The per-tenant similarity indexes of this process."""

    def __init__(self) -> None:
        self._tenants: dict[str, _TenantIndex] = {}

    def _apply(self, entry: _TenantIndex, rows: list[ScreeningRow], kind: TextKind) -> int:
        high = 0
        for row in rows:
            high = max(high, row.seq)
            if entry.applied.get(row.id, -1) >= row.seq:
                continue
            entry.applied[row.id] = row.seq
            if row.indexed:
                entry.index.add(screening_text(row, kind))
            else:
                entry.index.remove(row.id)
        return high

    async def refreshed(self, session: AsyncSession, tenant_id: str) -> SimilarityIndex:
        """The tenant's index, caught up with what is committed (the session is bound to the tenant)."""
        entry = self._tenants.setdefault(tenant_id, _TenantIndex())
        needed = entry.begun + 1
        async with entry.lock:
            if entry.completed >= needed:
                return entry.index
            entry.begun += 1
            rows, systems = await repository.screened_since(
                session, declarations_seq=entry.declarations_seq, systems_seq=entry.systems_seq
            )
            entry.declarations_seq = max(entry.declarations_seq, self._apply(entry, rows, "declaration"))
            entry.systems_seq = max(entry.systems_seq, self._apply(entry, systems, "existing_system"))
            entry.completed = entry.begun
        return entry.index

    def forget(self, tenant_id: str) -> None:
        """Drop a tenant's index (rebuilt on the next screening)."""
        self._tenants.pop(tenant_id, None)
