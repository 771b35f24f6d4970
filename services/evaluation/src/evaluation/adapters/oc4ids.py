"""The portfolio as an OC4IDS 0.9 project package for open-data publication: one project per
approved project of the tenant, with its contracting processes (one per filed contract: nature,
procurement method, supplier, value, period, payments as transactions), validated against the
official OC4IDS 0.9.3 schemas kept in ``oc4ids_schema/`` (see its README for the source).

What is published is what open-data publication may carry: the project's name, code, category,
performance goals, approved budget, stage and milestone dates, the construction unit (the public
authority) and the contracted suppliers (name and unified social credit code, which award notices
publish anyway). What is not: declarations that were never approved (rejected, withdrawn, still in
review — internal deliberation), internal org and user ids, screening findings and other internal
flags, evaluation scores and O&M decisions, the discredited list, rectification orders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource

from evaluation.domain.portfolio import ProjectRow, Stage

SCHEMA_DIR = Path(__file__).resolve().parent / "oc4ids_schema"
VERSION = "0.9"  # the package's major.minor (the kept schemas are 0.9.3)
# Not a registered OC4IDS prefix: a publisher registers its own with the standard's helpdesk and
# sets it here; the schema asks only for a non-empty, globally unique id.
PROJECT_PREFIX = "oc4ids-govproj-"
OCID_PREFIX = "ocds-govproj"  # the contracting processes' OCIDs, as the OCDS export's
CURRENCY = "CNY"
USCC = "CN-USCC"  # unified social credit code (GB 32100-2015)
MAX_ERRORS = 20

# Unpublished: never approved, or taken back before approval.
_PUBLISHED = {
    Stage.APPROVED,
    Stage.PROCUREMENT,
    Stage.CONSTRUCTION,
    Stage.ACCEPTANCE,
    Stage.OPERATION,
    Stage.TERMINATED,
}
# OC4IDS projectStatus (closed codelist) from the portfolio's stage.
_STATUS = {
    Stage.APPROVED: "preparation",
    Stage.PROCUREMENT: "preparation",
    Stage.CONSTRUCTION: "implementation",
    Stage.ACCEPTANCE: "completion",
    Stage.OPERATION: "completed",
    Stage.TERMINATED: "cancelled",
}
# contractNature (closed): procurement's contract roles that have one ("testing" has none).
_NATURE = {"construction": "construction", "supervision": "supervision"}
# OCDS method (closed) from procurement's methods (政府采购法 §26).
_METHOD = {
    "open_tender": "open",
    "invited_tender": "selective",
    "competitive_negotiation": "limited",
    "competitive_consultation": "limited",
    "inquiry": "limited",
    "single_source": "direct",
}
_ROLE_ZH = {"construction": "建设", "supervision": "监理", "testing": "第三方测试"}


def published(row: ProjectRow) -> bool:
    """Whether the project belongs in the open-data package at all."""
    return row.stage in _PUBLISHED and bool(row.name) and row.approved_on is not None


def _value(amount: Decimal | str | None) -> dict[str, Any]:
    return {"amount": float(Decimal(amount)), "currency": CURRENCY} if amount is not None else {}


def _instant(day: date | str | None) -> str | None:
    if not day:
        return None
    value = date.fromisoformat(day[:10]) if isinstance(day, str) else day
    return datetime.combine(value, time(0), tzinfo=UTC).isoformat()


def _party_id(code: str) -> str:
    return f"{USCC}-{code}"


def _process(row: ProjectRow, contract_id: str, amount: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One filed contract as a contracting process, and its supplier as a party (if known)."""
    details = row.contract_details.get(contract_id, {})
    role = details.get("role", "")
    summary: dict[str, Any] = {
        "ocid": f"{OCID_PREFIX}-{row.declaration_id}",
        "title": f"{row.name}（{_ROLE_ZH.get(role, '合同')}）",
        "status": "closed" if row.stage in (Stage.OPERATION, Stage.TERMINATED) else "active",
        "contractValue": _value(amount),
    }
    if role in _NATURE:
        summary["nature"] = [_NATURE[role]]
    if details.get("method"):
        # The closed OCDS code where there is one (框架协议 and 自行采购 have none); ours beside it.
        method = _METHOD.get(details["method"])
        summary["tender"] = {
            **({"procurementMethod": method} if method else {}),
            "procurementMethodDetails": details["method"],
        }
    period = {
        k: v
        for k, v in (
            ("startDate", _instant(details.get("period_start"))),
            ("endDate", _instant(details.get("period_end"))),
        )
        if v
    }
    if period:
        summary["contractPeriod"] = period
    party = None
    name, code = details.get("supplier_name", ""), details.get("supplier_credit_code", "")
    if name and code:
        summary["suppliers"] = [{"id": _party_id(code), "name": name}]
        party = {
            "id": _party_id(code),
            "name": name,
            "identifier": {"scheme": USCC, "id": code, "legalName": name},
            "roles": ["supplier"],
        }
    if contract_id in row.payments:
        summary["transactions"] = [{"id": f"{contract_id}-paid", "value": _value(row.payments[contract_id])}]
    return {"id": contract_id, "summary": summary}, party


def project_of(row: ProjectRow, *, tenant: str) -> dict[str, Any]:
    """One published project (see the module's docstring for what is left out)."""
    authority_id = f"{tenant}-{row.org_id}"
    authority = {"id": authority_id, "name": row.org_name or row.org_id, "roles": ["publicAuthority"]}
    project: dict[str, Any] = {
        "id": f"{PROJECT_PREFIX}{row.project_code or row.declaration_id}",
        "title": row.name,
        "status": _STATUS[row.stage],
        "language": "zh",
        "publicAuthority": {"id": authority_id, "name": authority["name"]},
        "budget": {
            "description": "批复投资",
            "amount": _value(row.approved_amount or row.planned_amount or row.declared_amount),
            **({"approvalDate": a} if (a := _instant(row.approved_on)) else {}),
        },
    }
    if row.last_event_at is not None:
        project["updated"] = row.last_event_at.astimezone(UTC).isoformat()
    if row.performance_goals:
        project["purpose"] = row.performance_goals
    if row.category:
        project["additionalClassifications"] = [{"scheme": "govproj-category", "id": row.category}]
    parties: dict[str, dict[str, Any]] = {authority_id: authority}
    processes = []
    for contract_id, amount in sorted(row.contracts.items()):
        process, party = _process(row, contract_id, amount)
        processes.append(process)
        if party is not None:
            # One supplier under several contracts is one party (parties must be unique).
            parties.setdefault(party["id"], party)
    if processes:
        project["contractingProcesses"] = processes
    project["parties"] = list(parties.values())
    if row.accepted_on is not None:
        project["completion"] = {
            "endDate": _instant(row.accepted_on),
            **({"finalValue": _value(row.contracted_amount)} if row.contracts else {}),
        }
    return project


def project_package(rows: Sequence[ProjectRow], *, tenant: str, published_at: datetime) -> dict[str, Any]:
    """The tenant's published projects as a project package."""
    return {
        "uri": f"urn:govproj:{tenant}:oc4ids:{published_at.strftime('%Y%m%dT%H%M%S')}",
        "version": VERSION,
        "publishedDate": published_at.astimezone(UTC).isoformat(),
        "publisher": {"name": f"govproj {tenant}"},
        "projects": [project_of(r, tenant=tenant) for r in rows if published(r)],
    }


@cache
def _schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    project = json.loads((SCHEMA_DIR / "project-schema.json").read_text(encoding="utf-8"))
    package = json.loads((SCHEMA_DIR / "project-package-schema.json").read_text(encoding="utf-8"))
    return project, package


@cache
def package_validator() -> Draft4Validator:
    """A validator of a project package (its ``$ref`` to the project schema resolves locally)."""
    project, package = _schemas()
    registry: Registry = Registry().with_resource(project["id"], Resource.from_contents(project))
    return Draft4Validator(package, registry=registry)


def validate(package: dict[str, Any]) -> list[str]:
    """Schema errors of the package (empty: valid)."""
    out = []
    for error in package_validator().iter_errors(package):
        where = "/".join(str(p) for p in error.absolute_path)
        out.append(f"{where or '(root)'}: {error.message}")
        if len(out) >= MAX_ERRORS:
            break
    return out
