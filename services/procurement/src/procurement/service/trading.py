"""The trading center (公共资源交易中心): OCDS 1.1 releases arrive by the signed webhook or a bulk
import. Each is validated against the official release schema, recorded once per (ocid, release id)
— the same release delivered twice changes nothing — matched to a project by project code or
ocid, used to begin the procurement and prefill its filing, and compared with what the platform
knows; mismatches are reported to the bureau."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from govkit import ocds, signing
from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, not_found
from govkit.events import Envelope
from procurement.adapters import repository
from procurement.domain import procurement as procurement_rules
from procurement.domain import project as project_rules
from procurement.domain import trading as rules
from procurement.domain.procurement import Method, Procurement, ProcurementStatus, Role
from procurement.domain.project import Project
from procurement.service import procurements as procurement_service
from procurement.service._common import (
    SYSTEM_ACTOR,
    ProcurementDeps,
    audit_event,
    cite_of,
    ensure_bureau,
    new_id,
    require_tenant,
    sorted_cite,
)

log = logging.getLogger(__name__)
BATCH = 200
MAX_REPORTED_ERRORS = 50


@dataclass
class ImportReport:
    """What an import or a webhook push did."""

    received: int = 0
    matched: int = 0
    unmatched: int = 0
    duplicates: int = 0
    invalid: int = 0
    refused: int = 0
    mismatches: int = 0
    procurements_started: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: ImportReport) -> None:
        """Fold another report into this one."""
        for name in (
            "received",
            "matched",
            "unmatched",
            "duplicates",
            "invalid",
            "refused",
            "mismatches",
            "procurements_started",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        room = MAX_REPORTED_ERRORS - len(self.errors)
        self.errors.extend(other.errors[: max(room, 0)])

    def error(self, release: Any, messages: list[str]) -> None:
        """Keep the first errors for the caller."""
        if len(self.errors) < MAX_REPORTED_ERRORS:
            ocid = release.get("ocid") if isinstance(release, dict) else None
            rid = release.get("id") if isinstance(release, dict) else None
            self.errors.append({"ocid": ocid, "release_id": rid, "errors": messages})


def _digest(release: Any) -> str:
    canonical = json.dumps(release, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def configured_tenant(deps: ProcurementDeps, tenant: str) -> None:
    """Only tenants of tenants.yaml receive pushes (404 for any other name)."""
    if deps.policies.tenants is None or tenant not in deps.policies.tenants.tenants:
        raise not_found("tenant", tenant, label_zh="地区")


async def _find_procurement(session: AsyncSession, project: Project, ocid: str) -> Procurement | None:
    by_ocid = await repository.procurement_by_ocid(session, ocid, lock=True)
    if by_ocid is not None:
        return by_ocid
    for p in await repository.procurements_of(session, project.declaration_id):
        if p.role is Role.CONSTRUCTION and not p.ocid:
            return await repository.get_procurement(session, p.id, lock=True)
    return None


async def _apply(
    session: AsyncSession, deps: ProcurementDeps, *, tenant: str, release: dict[str, Any], row_id: str
) -> tuple[str, Envelope | None, int]:
    """Match one recorded release; returns its outcome, an event to emit and the mismatches found."""
    try:
        f = rules.facts(release)
    except rules.ReleaseError as exc:
        await repository.settle_release(session, row_id, outcome="invalid", errors=[str(exc)])
        return "invalid", None, 0
    project = None
    by_ocid = await repository.procurement_by_ocid(session, f.ocid)
    if by_ocid is not None:
        project = await repository.get_project(session, by_ocid.declaration_id, lock=True)
    if project is None and f.project_code:
        project = await repository.project_by_code(session, f.project_code, lock=True)
    if project is None:
        await repository.settle_release(session, row_id, outcome="unmatched", errors=[])
        return "unmatched", None, 0
    event = None
    procurement = await _find_procurement(session, project, f.ocid)
    if procurement is None:
        method = f.method or Method.OPEN_TENDER
        try:
            procurement, project, event = await procurement_service.begin(
                session,
                deps,
                project=project,
                role=Role.CONSTRUCTION,
                method=method,
                started_on=min(f.released_at.astimezone(deps.now().tzinfo).date(), deps.today()),
                title=f.tender_title,
                actor=SYSTEM_ACTOR,
                ocid=f.ocid,
                prefill=f.prefill(),
            )
        except AppError as exc:
            await repository.settle_release(
                session,
                row_id,
                outcome="refused",
                declaration_id=project.declaration_id,
                errors=[exc.message],
            )
            return "refused", None, 0
    changed = replace(
        procurement, ocid=procurement.ocid or f.ocid, prefill={**procurement.prefill, **f.prefill()}
    )
    if f.method and procurement.status is ProcurementStatus.STARTED:
        changed = replace(changed, method=f.method)
    signable = (
        f.signed_on is not None and f.signed_on <= deps.today() and f.signed_on >= procurement.started_on
    )
    if signable and procurement.status is ProcurementStatus.STARTED and f.signed_on is not None:
        due = procurement_service.filing_due(deps, project, f.signed_on)
        changed = procurement_rules.signed(changed, on=f.signed_on, due_on=due)
    stored = await repository.save_procurement(session, changed, expected_version=procurement.version)
    filing = await repository.filing_of(session, procurement.id)
    known = rules.Known(
        approved_amount=project.approved_amount,
        approved_on=project.approved_on,
        valid_until=project.valid_until,
        approval_cite=project.approval_cite,
        filed_supplier_name=filing.terms.supplier_name if filing else "",
        filed_credit_code=filing.terms.supplier_credit_code if filing else "",
        filed_amount=filing.terms.amount if filing else None,
        filed_signed_on=filing.terms.signed_on if filing else None,
    )
    amount_cite = sorted_cite(
        project.approval_cite, cite_of(deps.obligations(project, "investment_within_estimate"))
    )
    found = rules.mismatches(f, known, amount_cite=amount_cite)
    await repository.add_mismatches(
        session,
        found,
        ids=[new_id() for _ in found],
        tenant_id=tenant,
        declaration_id=project.declaration_id,
        procurement_id=procurement.id,
        ocid=f.ocid,
        release_id=f.release_id,
        at=deps.now(),
    )
    await repository.settle_release(
        session,
        row_id,
        outcome="matched",
        declaration_id=project.declaration_id,
        procurement_id=procurement.id,
        errors=[],
    )
    await audit_event(
        session,
        tenant_id=tenant,
        actor=SYSTEM_ACTOR,
        action="ocds.release_matched",
        entity_type="procurement",
        entity_id=procurement.id,
        from_state=procurement.status.value,
        to_state=stored.status.value if stored else procurement.status.value,
        citations=sorted_cite(*(m.cite for m in found)),
        details={
            "ocid": f.ocid,
            "release_id": f.release_id,
            "prefill": f.prefill(),
            "mismatches": [{"kind": m.kind, "field": m.path, "message": m.message} for m in found],
        },
    )
    return "matched", event, len(found)


async def import_releases(
    deps: ProcurementDeps, *, tenant: str, releases: Iterable[Any], channel: str
) -> ImportReport:
    """Record and match releases in batches (one transaction per batch, a savepoint per release so
    one bad release does not undo the others); memory stays bounded by the batch."""
    report = ImportReport()
    batch: list[Any] = []
    for release in releases:
        batch.append(release)
        if len(batch) >= BATCH:
            report.add(await _import_batch(deps, tenant=tenant, batch=batch, channel=channel))
            batch = []
    if batch:
        report.add(await _import_batch(deps, tenant=tenant, batch=batch, channel=channel))
    return report


async def _import_batch(
    deps: ProcurementDeps, *, tenant: str, batch: list[Any], channel: str
) -> ImportReport:
    report = ImportReport()
    async with deps.uow(tenant_id=tenant) as tx:
        for release in batch:
            report.received += 1
            errors = ocds.validate_release(release)
            if errors:
                report.invalid += 1
                report.error(release, errors)
                continue
            async with tx.session.begin_nested():
                row_id = await repository.claim_release(
                    tx.session,
                    id=new_id(),
                    tenant_id=tenant,
                    ocid=release["ocid"],
                    release_id=release["id"],
                    sha256=_digest(release),
                    released_at=None,
                    received_at=deps.now(),
                    outcome="received",
                    errors=[],
                    channel=channel,
                )
                if row_id is None:
                    report.duplicates += 1
                    continue
                outcome, event, found = await _apply(
                    tx.session, deps, tenant=tenant, release=release, row_id=row_id
                )
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.mismatches += found
            if event is not None:
                report.procurements_started += 1
                tx.emit(event)
        await tx.commit()
    return report


def _package(body: bytes) -> tuple[dict[str, Any], list[Any]]:
    try:
        data = json.loads(body)
    except ValueError:
        raise AppError(
            code="OCDS_NOT_JSON", message="推送内容不是有效的JSON。", kind=ErrorKind.INVALID
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("releases"), list):
        raise AppError(
            code="OCDS_NOT_A_PACKAGE",
            message="推送内容不是OCDS发布包（缺少releases）。",
            kind=ErrorKind.INVALID,
        )
    releases = data.pop("releases")
    errors = ocds.validate_package_meta(
        data, release_count=len(releases), first_release=releases[0] if releases else None
    )
    if errors:
        raise AppError(
            code="OCDS_PACKAGE_INVALID",
            message="OCDS发布包不符合1.1版发布包规范。",
            kind=ErrorKind.INVALID,
            details={"errors": errors},
        )
    return data, releases


async def receive_webhook(
    *, deps: ProcurementDeps, tenant: str, body: bytes, timestamp: str, nonce: str, given: str
) -> ImportReport:
    """A push of the trading center: HMAC-SHA256 over timestamp, nonce and body; a stale timestamp
    or a nonce seen before is refused (replay), then the package is imported."""
    configured_tenant(deps, tenant)
    problem = signing.verify(
        deps.webhook_secret,
        timestamp=timestamp,
        nonce=nonce,
        body=body,
        given=given,
        now=deps.wall_now().timestamp(),
        tolerance=deps.webhook_tolerance_seconds,
    )
    if problem == "WEBHOOK_NOT_CONFIGURED":
        raise AppError(code=problem, message="交易中心推送接口尚未配置密钥。", kind=ErrorKind.UNAVAILABLE)
    if problem is not None:
        raise AppError(code=problem, message="推送签名校验未通过或已过期。", kind=ErrorKind.UNAUTHENTICATED)
    async with deps.uow(tenant_id=tenant) as tx:
        fresh = await repository.claim_nonce(tx.session, tenant_id=tenant, nonce=nonce, at=deps.wall_now())
        await tx.commit()
    if not fresh:
        raise AppError(
            code="WEBHOOK_REPLAYED", message="该推送已接收过（重放请求被拒绝）。", kind=ErrorKind.CONFLICT
        )
    _, releases = _package(body)
    return await import_releases(deps, tenant=tenant, releases=releases, channel="webhook")


async def import_package(*, deps: ProcurementDeps, principal: Principal, body: bytes) -> ImportReport:
    """The bureau uploads a release package (the same checks as a push)."""
    tenant = require_tenant(principal)
    ensure_bureau(principal)
    _, releases = _package(body)
    return await import_releases(deps, tenant=tenant, releases=releases, channel="import")


async def forget_nonces(deps: ProcurementDeps, tenant: str) -> int:
    """The sweep: nonces older than twice the tolerance can go (their timestamps are refused anyway)."""
    from datetime import timedelta

    before = deps.wall_now() - timedelta(seconds=2 * deps.webhook_tolerance_seconds)
    async with deps.uow(tenant_id=tenant) as tx:
        dropped = await repository.forget_nonces(tx.session, before=before)
        await tx.commit()
    return dropped


async def list_mismatches(
    *, deps: ProcurementDeps, principal: Principal, declaration_id: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Mismatches between the trading center and the platform, for the bureau."""
    tenant = require_tenant(principal)
    if not principal.has_role(*project_rules.TENANT_WIDE_READERS):
        from govkit.errors import forbidden

        raise forbidden("procurement.mismatches")
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_mismatches(
            tx.session, declaration_id=declaration_id, limit=limit, offset=offset
        )


async def list_releases(
    *, deps: ProcurementDeps, principal: Principal, ocid: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Releases received from the trading center, for the bureau."""
    tenant = require_tenant(principal)
    if not principal.has_role(*project_rules.TENANT_WIDE_READERS):
        from govkit.errors import forbidden

        raise forbidden("procurement.releases")
    async with deps.uow(tenant_id=tenant) as tx:
        return await repository.list_releases(tx.session, limit=limit, offset=offset, ocid=ocid)
