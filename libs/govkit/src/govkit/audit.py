"""Append-only, hash-chained audit log: who did what, when, from which state to which, and why.

Every service keeps an ``audit_log`` table in its own schema (:func:`audit_table`). Records of one
tenant form a chain: record *n* stores the hash of record *n-1* (``prev_hash``; the first one 64
zeros) and its own ``hash``, a SHA-256 over a canonical JSON of all its fields except ``hash`` and
the surrogate ``id``. Changing, inserting or deleting a record in the middle breaks the chain,
which :func:`verify_audit_chain` reports.

A record is written by :func:`record_audit` in the business transaction *unsealed* (no seq, no
hashes), so concurrent writers of one tenant never wait for each other; the :class:`AuditSealer`
of the service then links committed records into the chain in the order it finds them, within
moments (docs/adr/0009-audit-sealing.md). Until then a record is counted as unsealed by
:func:`verify_audit_chain`.

The database backs it up (:func:`audit_grants_sql`, run from each service's migration): the
application role may only SELECT and INSERT its own tenant's rows, and a trigger refuses UPDATE,
DELETE and TRUNCATE even to the owner. Only a superuser can get around that, and the chain then
shows it. See docs/adr/0005-audit-chain.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

TABLE_NAME = "audit_log"
GENESIS_HASH = "0" * 64
SEALER_SETTING = "app.audit_sealer"
"""The transaction setting under which the sealer may read and seal every tenant's records."""
_WROTE_AUDIT = "govkit.audit.wrote"
CONTENT_COLUMNS = (
    "tenant_id",
    "occurred_at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "from_state",
    "to_state",
    "citations",
    "details",
)
"""The columns a record is written with (the rest are the chain's, filled in by the sealer)."""
HASH_VERSION = 1
"""Bumped if the canonical form ever changes; part of every hashed document."""

log = logging.getLogger(__name__)
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# The fields covered by the hash, in the order of the table (the JSON itself is key-sorted).
HASHED_FIELDS = (
    "tenant_id",
    "seq",
    "occurred_at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "from_state",
    "to_state",
    "citations",
    "details",
    "prev_hash",
)


def audit_table(metadata: MetaData, *, schema: str) -> Table:
    """The ``<schema>.audit_log`` table, added to ``metadata`` (for the service's Alembic models)."""
    _check_identifier(schema)
    return Table(
        TABLE_NAME,
        metadata,
        # Surrogate key only; the chain is ordered by (tenant_id, seq), so id is not hashed.
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("tenant_id", Text, nullable=False),
        Column("seq", BigInteger, nullable=True),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("actor", Text, nullable=False),
        Column("action", Text, nullable=False),
        Column("entity_type", Text, nullable=False),
        Column("entity_id", Text, nullable=False),
        Column("from_state", Text, nullable=True),
        Column("to_state", Text, nullable=True),
        Column("citations", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
        Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        # Null until the sealer links the record into its tenant's chain.
        Column("prev_hash", Text, nullable=True),
        Column("hash", Text, nullable=True),
        Column("sealed_at", DateTime(timezone=True), nullable=True),
        UniqueConstraint("tenant_id", "seq", name=f"uq_{TABLE_NAME}_tenant_seq"),
        CheckConstraint("seq >= 1", name=f"ck_{TABLE_NAME}_seq_positive"),
        CheckConstraint("hash ~ '^[0-9a-f]{64}$'", name=f"ck_{TABLE_NAME}_hash_hex"),
        CheckConstraint("prev_hash ~ '^[0-9a-f]{64}$'", name=f"ck_{TABLE_NAME}_prev_hash_hex"),
        CheckConstraint(
            "(seq IS NULL AND prev_hash IS NULL AND hash IS NULL AND sealed_at IS NULL)"
            " OR (seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL AND sealed_at IS NOT NULL)",
            name=f"ck_{TABLE_NAME}_sealed_whole",
        ),
        Index(f"ix_{TABLE_NAME}_unsealed", "id", postgresql_where=text("hash IS NULL")),
        schema=schema,
    )


@dataclass(frozen=True)
class AuditRecord:
    """One stored audit record (``seq``, ``prev_hash`` and ``hash`` are None until it is sealed)."""

    id: int
    tenant_id: str
    seq: int | None
    occurred_at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    from_state: str | None
    to_state: str | None
    citations: list[str]
    details: dict[str, Any]
    prev_hash: str | None
    hash: str | None


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of :func:`verify_audit_chain`."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    tenant_id: str | None = None
    """The tenant whose chain is broken (None when ok)."""
    tenants: list[str] = field(default_factory=list)
    """The tenants whose chains were checked."""
    unsealed: int = 0
    """Committed records the sealer has not linked yet (normal for a moment after a write)."""


# --- canonical form --------------------------------------------------------------------------


def _normalize(value: Any) -> Any:
    """JSON-safe value that survives a JSONB round trip unchanged (so the hash can be recomputed)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("audit details cannot hold NaN or infinity")
        # JSONB prints an integral number such as 1e20 without exponent, which reads back as int.
        return int(value) if value.is_integer() else value
    if isinstance(value, Decimal):
        return str(value)  # money keeps its exact digits (and stays out of float)
    if isinstance(value, datetime):
        return _timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return _normalize(value.value)
    if isinstance(value, Mapping):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_normalize(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot store {type(value).__name__} in an audit record")


def _timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The canonical JSON document a record's hash is computed over."""
    document = {name: fields[name] for name in HASHED_FIELDS}
    document["occurred_at"] = _timestamp(fields["occurred_at"])
    document["citations"] = _normalize(list(fields["citations"]))
    document["details"] = _normalize(dict(fields["details"]))
    document["v"] = HASH_VERSION
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def compute_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    """What one audit record says, before it is written (for :func:`record_audits`)."""

    actor: str
    action: str
    entity_type: str
    entity_id: str
    from_state: str | None
    to_state: str | None
    citations: Sequence[str] = ()
    details: Mapping[str, Any] | None = None
    occurred_at: datetime | None = None


def audit_row(tenant_id: str, entry: AuditEntry) -> dict[str, Any]:
    """The content columns of an unsealed record, normalised as they are hashed and checked.

    For a caller that inserts the record inside one of its own statements (e.g. in the same round
    trip as the write it records); it must then call :func:`note_audit_written` on the session.
    """
    if not tenant_id:
        raise ValueError("tenant_id is required")
    if isinstance(entry.citations, str):
        raise TypeError("citations is a list of strings, not a string")
    when = entry.occurred_at or datetime.now(UTC)
    _timestamp(when)  # refuse naive datetimes before anything is written
    fields: dict[str, Any] = {
        "tenant_id": tenant_id,
        "occurred_at": when,
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "from_state": entry.from_state,
        "to_state": entry.to_state,
        # Stored exactly as hashed, so sealing and verification compute the same document.
        "citations": [str(c) for c in entry.citations],
        "details": _normalize(dict(entry.details or {})),
    }
    # Fail here, in the business transaction, rather than in the sealer later.
    canonical_json({**fields, "seq": 0, "prev_hash": GENESIS_HASH})
    return fields


async def record_audits(
    session: AsyncSession, table: Table, *, tenant_id: str, entries: Sequence[AuditEntry]
) -> list[AuditRecord]:
    """Append several unsealed audit records of one tenant in one statement (never commits).

    The same as calling :func:`record_audit` for each entry, in order (their ids, and so their
    places in the chain, follow ``entries``), with one round trip instead of one per record.
    """
    rows = [audit_row(tenant_id, entry) for entry in entries]
    if not rows:
        return []
    # Bound parameters, not .values(**row): the statement's compiled form is cached once, where
    # inlined values would be traversed for a cache key on every call.
    result = await session.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    ids = [int(row_id) for row_id in result.scalars().all()]
    session.info[_WROTE_AUDIT] = True
    return [
        AuditRecord(id=row_id, seq=None, prev_hash=None, hash=None, **fields)
        for row_id, fields in zip(ids, rows, strict=True)
    ]


async def record_audit(
    session: AsyncSession,
    table: Table,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    from_state: str | None,
    to_state: str | None,
    citations: Sequence[str] = (),
    details: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditRecord:
    """Append an unsealed audit record inside the caller's transaction (never commits).

    No lock is taken: the record joins its tenant's chain when the service's :class:`AuditSealer`
    seals it after the commit. The session must already be bound to ``tenant_id`` (row-level
    security).
    """
    entry = AuditEntry(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        from_state=from_state,
        to_state=to_state,
        citations=citations,
        details=details,
        occurred_at=occurred_at,
    )
    fields = audit_row(tenant_id, entry)
    row_id = (await session.execute(table.insert().returning(table.c.id), fields)).scalar_one()
    session.info[_WROTE_AUDIT] = True
    return AuditRecord(id=int(row_id), seq=None, prev_hash=None, hash=None, **fields)


def note_audit_written(session: AsyncSession) -> None:
    """Mark the session as having written audit records (the sealer is woken after its commit)."""
    session.info[_WROTE_AUDIT] = True


def wrote_audit(session: AsyncSession) -> bool:
    """Whether this session wrote audit records since it began (so the sealer has work)."""
    return bool(session.info.get(_WROTE_AUDIT))


# --- sealing ---------------------------------------------------------------------------------


async def seal_audit_log(session: AsyncSession, table: Table, *, batch: int = 500) -> int:
    """Link up to ``batch`` committed unsealed records into their tenants' chains; returns how many.

    Runs in the caller's transaction (commit it afterwards). One sealer per table works at a time
    (a transaction-scoped try-lock); a second one returns 0 at once. Records are sealed in ``id``
    order as far as they are visible: one committed later with a smaller id is sealed in a later
    round, after the ones already sealed, so the chain's order is the order of sealing.
    """
    lock_key = f"{table.schema}.{table.name}:sealer"
    if not await session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtext(lock_key)))):
        return 0
    # The sealer reads and seals every tenant's records (RLS policy audit_log_sealer).
    await session.execute(select(func.set_config(SEALER_SETTING, "on", True)))
    rows = (
        (
            await session.execute(
                select(table)
                .where(table.c.hash.is_(None))
                .order_by(table.c.id)
                .limit(batch)
                .with_for_update()
            )
        )
        .mappings()
        .all()
    )
    if not rows:
        return 0
    heads: dict[str, tuple[int, str]] = {}
    for tenant in sorted({str(row["tenant_id"]) for row in rows}):
        last = (
            await session.execute(
                select(table.c.seq, table.c.hash)
                .where(table.c.tenant_id == tenant, table.c.hash.is_not(None))
                .order_by(table.c.seq.desc())
                .limit(1)
            )
        ).first()
        heads[tenant] = (0, GENESIS_HASH) if last is None else (int(last.seq), str(last.hash))
    sealed_at = datetime.now(UTC)
    updates = []
    for row in rows:
        tenant = str(row["tenant_id"])
        seq, prev_hash = heads[tenant][0] + 1, heads[tenant][1]
        digest = compute_hash({**row, "seq": seq, "prev_hash": prev_hash})
        heads[tenant] = (seq, digest)
        updates.append({"b_id": row["id"], "seq": seq, "prev_hash": prev_hash, "hash": digest})
    # One UPDATE joined to the new links as arrays, instead of one per record (a batch is hundreds
    # of records under load: PostgreSQL then plans and runs one statement, not hundreds).
    links = (
        func.unnest(
            bindparam("ids", type_=ARRAY(BigInteger)),
            bindparam("seqs", type_=ARRAY(BigInteger)),
            bindparam("prev_hashes", type_=ARRAY(Text)),
            bindparam("hashes", type_=ARRAY(Text)),
        )
        .table_valued("id", "seq", "prev_hash", "hash")
        .render_derived(name="links")
    )
    await session.execute(
        update(table)
        .where(table.c.id == links.c.id)
        .values(seq=links.c.seq, prev_hash=links.c.prev_hash, hash=links.c.hash, sealed_at=sealed_at),
        {
            "ids": [u["b_id"] for u in updates],
            "seqs": [u["seq"] for u in updates],
            "prev_hashes": [u["prev_hash"] for u in updates],
            "hashes": [u["hash"] for u in updates],
        },
    )
    return len(updates)


@dataclass
class AuditSealer:
    """Background loop sealing a service's audit log: woken after commits, polling as a safety net."""

    engine: AsyncEngine
    table: Table
    batch: int = 500
    poll_interval: float = 1.0
    # Sealing is not urgent: waiting a moment after a wake-up batches the commits of a busy period
    # into one round and keeps the sealer out of the way of the requests and the outbox relay.
    settle: float = 0.1
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def wake(self) -> None:
        """Ask for a sealing round soon (called after a commit that wrote audit records)."""
        self._wakeup.set()

    async def seal_pending(self) -> int:
        """Seal until nothing is left (or another sealer holds the lock); returns how many."""
        total = 0
        while True:
            async with self.engine.begin() as conn:
                session = AsyncSession(bind=conn)
                sealed = await seal_audit_log(session, self.table, batch=self.batch)
            total += sealed
            if sealed < self.batch:
                return total

    async def run(self) -> None:
        """Seal until cancelled; survives database outages."""
        while True:
            try:
                await self.seal_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retry on the next round
                log.warning("audit sealing round failed (%s); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_interval)
                await asyncio.sleep(self.settle)
            self._wakeup.clear()


# --- verifying -------------------------------------------------------------------------------


async def verify_audit_chain(
    session: AsyncSession, table: Table, *, tenant_id: str | None = None
) -> AuditVerification:
    """Recompute every hash and link of one tenant's chain (or of every chain the session sees).

    Only sealed records form the chain; committed records not sealed yet are counted in
    ``unsealed`` (seal first, e.g. with :func:`seal_audit_log`, for a complete answer).

    Stops at the first broken record. A superuser connection checks all tenants; the application
    role sees (and so checks) only the tenant its session is bound to. Deleting the newest
    records cannot be seen from the chain alone: compare with an exported last hash for that.
    """
    stmt = select(table).where(table.c.hash.is_not(None)).order_by(table.c.tenant_id, table.c.seq)
    pending = select(func.count()).select_from(table).where(table.c.hash.is_(None))
    if tenant_id is not None:
        stmt = stmt.where(table.c.tenant_id == tenant_id)
        pending = pending.where(table.c.tenant_id == tenant_id)
    unsealed = int(await session.scalar(pending) or 0)

    checked = 0
    tenants: list[str] = []
    current: str | None = None
    expected_seq, expected_prev = 1, GENESIS_HASH
    result = await session.stream(stmt.execution_options(yield_per=1000))
    async for row in result.mappings():
        if row["tenant_id"] != current:
            current = str(row["tenant_id"])
            tenants.append(current)
            expected_seq, expected_prev = 1, GENESIS_HASH
        checked += 1
        seq = int(row["seq"])
        reason: str | None = None
        if seq != expected_seq:
            reason = f"expected seq {expected_seq}, found {seq} (records missing or inserted)"
        elif row["prev_hash"] != expected_prev:
            reason = "prev_hash does not match the previous record's hash"
        elif compute_hash(dict(row)) != row["hash"]:
            reason = "hash does not match the record's content (record altered)"
        if reason is not None:
            await result.close()
            return AuditVerification(
                ok=False,
                checked=checked,
                first_broken_seq=seq,
                reason=reason,
                tenant_id=current,
                tenants=tenants,
                unsealed=unsealed,
            )
        expected_seq, expected_prev = seq + 1, str(row["hash"])
    return AuditVerification(ok=True, checked=checked, tenants=tenants, unsealed=unsealed)


# --- database privileges ---------------------------------------------------------------------


def _check_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain lower-case SQL identifier: {name!r}")
    return f'"{name}"'


def audit_grants_sql(*, schema: str, app_role: str) -> list[str]:
    """DDL for a service migration: RLS, append-only privileges and triggers on the audit table.

    Run after the table exists (and after any blanket grants on the schema's tables, because the
    REVOKE here must come last). Idempotent, so it can be re-run by later migrations.
    """
    s = _check_identifier(schema)
    role = _check_identifier(app_role)
    tbl = f"{s}.{TABLE_NAME}"
    tenant = "tenant_id = current_setting('app.tenant_id', true)"
    forbid = f"{s}.{TABLE_NAME}_forbid_change"
    unchanged = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in ("id", *CONTENT_COLUMNS))
    sealer = f"current_setting('{SEALER_SETTING}', true) = 'on'"
    return [
        f"ALTER TABLE {tbl} ENABLE ROW LEVEL SECURITY",
        # FORCE: the table owner (the migration role) is held to the policies too.
        f"ALTER TABLE {tbl} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {TABLE_NAME}_tenant_select ON {tbl}",
        f"CREATE POLICY {TABLE_NAME}_tenant_select ON {tbl} FOR SELECT USING ({tenant})",
        f"DROP POLICY IF EXISTS {TABLE_NAME}_tenant_insert ON {tbl}",
        # Records are born unsealed; only the sealer links them.
        f"CREATE POLICY {TABLE_NAME}_tenant_insert ON {tbl} FOR INSERT "
        f"WITH CHECK ({tenant} AND seq IS NULL AND prev_hash IS NULL AND hash IS NULL)",
        f"DROP POLICY IF EXISTS {TABLE_NAME}_sealer_select ON {tbl}",
        f"CREATE POLICY {TABLE_NAME}_sealer_select ON {tbl} FOR SELECT USING ({sealer})",
        f"DROP POLICY IF EXISTS {TABLE_NAME}_sealer_update ON {tbl}",
        f"CREATE POLICY {TABLE_NAME}_sealer_update ON {tbl} FOR UPDATE "
        f"USING ({sealer} AND hash IS NULL) WITH CHECK ({sealer})",
        f"GRANT USAGE ON SCHEMA {s} TO {role}",
        f"REVOKE ALL ON {tbl} FROM PUBLIC",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {tbl} FROM {role}",
        f"GRANT SELECT, INSERT ON {tbl} TO {role}",
        # Column privilege: the sealer may fill in the chain columns and nothing else.
        f"GRANT UPDATE (seq, prev_hash, hash, sealed_at) ON {tbl} TO {role}",
        f"GRANT USAGE ON SEQUENCE {s}.{TABLE_NAME}_id_seq TO {role}",
        # Defence in depth: even the owner cannot edit silently. The one update allowed is sealing
        # (an unsealed record gets its chain columns, its content untouched); only a superuser
        # disabling the trigger can do more, and verify_audit_chain then finds the edit.
        f"""CREATE OR REPLACE FUNCTION {forbid}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND NEW.hash IS NOT NULL AND {unchanged} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$fn$""",
        f"DROP TRIGGER IF EXISTS {TABLE_NAME}_append_only ON {tbl}",
        f"CREATE TRIGGER {TABLE_NAME}_append_only BEFORE UPDATE OR DELETE ON {tbl} "
        f"FOR EACH ROW EXECUTE FUNCTION {forbid}()",
        f"DROP TRIGGER IF EXISTS {TABLE_NAME}_no_truncate ON {tbl}",
        f"CREATE TRIGGER {TABLE_NAME}_no_truncate BEFORE TRUNCATE ON {tbl} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {forbid}()",
    ]
