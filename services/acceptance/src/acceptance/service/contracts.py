"""Learning contracts from procurement's ``contract.filed``: acceptance's own read model.

The first contract of a declaration opens its acceptance project under the pack governing the
tenant on the signing day; later contracts (a second lot, the supervision contract) are added to
it. A redelivered event changes nothing (the inbox, and the contract id as primary key).
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal, InvalidOperation

from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncSession

from acceptance.adapters import repository
from acceptance.domain.project import AcceptanceProject, Contract, add_contract
from acceptance.service._common import SYSTEM_ACTOR, AcceptanceDeps, audit_change, new_id
from govkit.events import Envelope
from govproj.procurement.events.v1 import events_pb2

CONTRACT_FILED = "govproj.procurement.v1.contract.filed"
log = logging.getLogger(__name__)


def _money(value: str) -> Decimal:
    try:
        amount = Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)
    return amount if amount.is_finite() else Decimal(0)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


async def learn_contract(session: AsyncSession, envelope: Envelope, *, deps: AcceptanceDeps) -> None:
    """``contract.filed`` → the contract stored, the project opened or extended (consumer's transaction)."""
    filed = envelope.payload_as(events_pb2.ContractFiled)
    signed_on = _day(filed.signed_on)
    if not filed.contract_id or not filed.declaration_id or signed_on is None:
        # A malformed event is a publisher's bug: logged and skipped (it would fail every retry).
        log.error("contract.filed %s without contract id, declaration or signing date; skipped", envelope.id)
        return
    tenant = envelope.tenant
    contract = Contract(
        id=filed.contract_id,
        tenant_id=tenant,
        declaration_id=filed.declaration_id,
        role=filed.role or "construction",
        amount=_money(filed.contract_amount.amount),
        signed_on=signed_on,
        period_end=_day(filed.period_end),
        supplier_name=filed.supplier_name,
    )
    new = await repository.add_contract(
        session,
        contract,
        project_code=filed.project_code,
        credit_code=filed.supplier_credit_code,
        filed_at=filed.filed_at,
        payload=json_format.MessageToDict(filed, preserving_proto_field_name=True),
    )
    if not new:
        return
    project = await repository.project_by_declaration(session, filed.declaration_id, lock=True)
    if project is None:
        facts = filed.facts
        pack = deps.pack_for(tenant, signed_on)
        opened = AcceptanceProject(
            id=new_id(),
            tenant_id=tenant,
            declaration_id=filed.declaration_id,
            project_code=filed.project_code,
            project_name=facts.project_name,
            org_id=facts.org_id,
            pack_id=pack.id,
            approved_amount=_money(facts.amount.amount) or contract.amount,
            contract_amount=Decimal(0),
            contract_ids=(),
            public_facing=facts.public_facing if filed.HasField("facts") else None,
            category=facts.category or None,
        )
        stored = add_contract(opened, contract)
        await repository.add_project(session, stored, at=deps.now())
        action, before, after = "project.opened", None, stored.status.value
    else:
        stored = add_contract(project, contract)
        saved = await repository.save_project(
            session, stored, expected_version=project.version, at=deps.now()
        )
        stored = saved or stored
        action, before, after = "project.contract_added", project.status.value, stored.status.value
    await audit_change(
        session,
        deps,
        tenant_id=tenant,
        actor=SYSTEM_ACTOR,
        action=action,
        entity_type="project",
        entity_id=stored.id,
        from_state=before,
        to_state=after,
        citations=[c.ref for c in filed.citations],
        details={
            "contract_id": contract.id,
            "role": contract.role,
            "amount": str(contract.amount),
            "pack_id": stored.pack_id,
            "event_id": envelope.id,
        },
    )
