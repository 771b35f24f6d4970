"""审计记录 on the project page: every service's audit trail of the project, merged by time.

Each of the five services keeps its own hash-chained audit log and answers AuditTrail for the
records of its part of the project. They are read concurrently with the user's token; a service
that has no part of the project yet (or will not show it to this user) answers NOT_FOUND and adds
nothing; a service that is down is named, and the page shows the rest.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from govkit.errors import AppError, ErrorKind
from govproj.common.v1 import audit_pb2
from portal.adapters.backend import SERVICE_NAMES_ZH, Backend
from portal.service import as_dict

SERVICES = ("intake", "review", "procurement", "acceptance", "evaluation")
# The records are shown in the platform's local time (the deadlines and working days are local).
LOCAL_TIME = ZoneInfo("Asia/Shanghai")
# Pages of one service's trail read at most; a project's trail is far shorter in practice.
_MAX_PAGES = 20
_PAGE_SIZE = 500


@dataclass
class AuditTrail:
    """The merged records (oldest first) and the services whose part could not be read."""

    records: list[dict[str, Any]] = field(default_factory=list)
    unavailable: list[tuple[str, AppError]] = field(default_factory=list)
    """(service's Chinese name, error) of each service that did not answer."""


def _local(occurred_at: str) -> datetime:
    return datetime.fromisoformat(occurred_at).astimezone(LOCAL_TIME)


def merge(parts: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The services' records as one timeline, oldest first (a service's own order kept on ties),
    each with its local time (``when``) and service label (``service_zh``)."""
    merged = []
    for service in SERVICES:
        for position, record in enumerate(parts.get(service, [])):
            at = _local(record["occurred_at"])
            merged.append(
                (
                    at,
                    SERVICES.index(service),
                    position,
                    {
                        **record,
                        "service": service,
                        "service_zh": SERVICE_NAMES_ZH.get(service, service),
                        "when": at.strftime("%Y-%m-%d %H:%M:%S"),
                    },
                )
            )
    merged.sort(key=lambda item: item[:3])
    return [record for *_, record in merged]


async def _service_trail(
    backend: Backend, service: str, token: str, declaration_id: str
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    page_token = ""
    for _ in range(_MAX_PAGES):
        answer = await backend.call(
            service,
            backend.audit_trails[service].ListProjectAudit,
            audit_pb2.ListProjectAuditRequest(
                declaration_id=declaration_id, page_size=_PAGE_SIZE, page_token=page_token
            ),
            token=token,
        )
        records.extend(as_dict(answer).get("records", []))
        page_token = answer.next_page_token
        if not page_token:
            break
    return records


async def audit_trail(*, backend: Backend, token: str, declaration_id: str) -> AuditTrail:
    """The project's audit trail across the five services (read concurrently)."""

    async def part(service: str) -> list[dict[str, Any]] | AppError:
        try:
            return await _service_trail(backend, service, token, declaration_id)
        except AppError as err:
            if err.kind in (ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN):
                return []  # no part of the project there (yet), or none this user may see
            return err

    answers = await asyncio.gather(*(part(s) for s in SERVICES))
    trail = AuditTrail()
    parts: dict[str, list[dict[str, Any]]] = {}
    for service, answer in zip(SERVICES, answers, strict=True):
        if isinstance(answer, AppError):
            trail.unavailable.append((SERVICE_NAMES_ZH.get(service, service), answer))
        else:
            parts[service] = answer
    trail.records = merge(parts)
    return trail
