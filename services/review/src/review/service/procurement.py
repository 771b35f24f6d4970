"""procurement's ``procurement.started``: the approval stops expiring.

qiaokou-2022 §22 (and the validity rules of the other packs) let an approval lapse only when the
project neither started construction nor procurement within its validity; once procurement tells
review that a procurement began, the sweep no longer expires the approval.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from govkit.audit import record_audit
from govkit.events import Envelope
from govproj.procurement.events.v1 import events_pb2
from review.adapters import repository
from review.adapters.orm import audit
from review.service._common import ReviewDeps

SYSTEM_ACTOR = "system:review"


async def record_procurement_started(session: AsyncSession, envelope: Envelope, *, deps: ReviewDeps) -> None:
    """Mark the approval's procurement start (first start wins); an unknown approval changes nothing."""
    payload = envelope.payload_as(events_pb2.ProcurementStarted)
    try:
        uuid.UUID(payload.approval_id)
    except ValueError:
        return  # names no approval of review's
    approval = await repository.get_approval(session, payload.approval_id, lock=True)
    if approval is None or approval.procurement_started_on is not None:
        return
    try:
        started_on = date.fromisoformat(payload.started_on)
    except ValueError:
        started_on = deps.today()
    stored = await repository.save_approval(session, replace(approval, procurement_started_on=started_on))
    await record_audit(
        session,
        audit,
        tenant_id=approval.tenant_id,
        actor=SYSTEM_ACTOR,
        action="approval.procurement_started",
        entity_type="approval",
        entity_id=approval.id,
        from_state=approval.status.value,
        to_state=stored.status.value,
        citations=[c.ref for c in payload.citations],
        details={"procurement_id": payload.procurement_id, "started_on": started_on.isoformat()},
    )
