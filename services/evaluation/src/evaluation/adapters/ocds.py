"""The portfolio as an OCDS 1.1 release package for open-data publication: one compiled release
per project (planning budget, the filed contracts, payments as implementation transactions),
validated against the official schema kept in govkit (``govkit.ocds``, shared with procurement)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from evaluation.domain.portfolio import ProjectRow, Stage

OCID_PREFIX = "ocds-govproj"
CURRENCY = "CNY"


def _value(amount: Decimal | None) -> dict[str, Any]:
    return {"amount": float(amount) if amount is not None else None, "currency": CURRENCY}


def _stamp(day: date | None, fallback: datetime) -> str:
    return datetime.combine(day, time(0), tzinfo=UTC).isoformat() if day else fallback.isoformat()


def release_of(row: ProjectRow, *, published: datetime) -> dict[str, Any]:
    """One project as a compiled release."""
    ocid = f"{OCID_PREFIX}-{row.declaration_id}"
    tags = ["compiled"]
    release: dict[str, Any] = {
        "ocid": ocid,
        "id": f"{ocid}-{(row.last_event_at or published).strftime('%Y%m%dT%H%M%S')}",
        "date": (row.last_event_at or published).isoformat(),
        "tag": tags,
        "initiationType": "tender",
        "language": "zh",
        "buyer": {"id": row.org_id, "name": row.org_name or row.org_id},
        "parties": [{"id": row.org_id, "name": row.org_name or row.org_id, "roles": ["buyer"]}],
        "planning": {
            "rationale": row.name,
            "budget": {
                "id": row.project_code or row.declaration_id,
                "description": row.name,
                "amount": _value(row.approved_amount or row.planned_amount or row.declared_amount),
                "project": row.name,
                "projectID": row.project_code or row.declaration_id,
            },
        },
    }
    if row.contracts:
        release["awards"] = [
            {"id": f"{cid}-award", "status": "active", "value": _value(Decimal(amount))}
            for cid, amount in sorted(row.contracts.items())
        ]
        status = "terminated" if row.stage is Stage.TERMINATED else "active"
        release["contracts"] = [
            {
                "id": cid,
                "awardID": f"{cid}-award",
                "title": row.name,
                "status": status,
                "value": _value(Decimal(amount)),
                "dateSigned": _stamp(row.contracted_on, published),
                **(
                    {
                        "implementation": {
                            "transactions": [
                                {
                                    "id": f"{cid}-paid",
                                    "source": "govproj.procurement.payment.recorded",
                                    "date": _stamp(None, row.last_event_at or published),
                                    "value": _value(Decimal(row.payments[cid])),
                                }
                            ]
                        }
                    }
                    if cid in row.payments
                    else {}
                ),
            }
            for cid, amount in sorted(row.contracts.items())
        ]
    return release


def release_package(rows: Sequence[ProjectRow], *, tenant: str, published: datetime) -> dict[str, Any]:
    """The package of every project of the tenant."""
    return {
        "uri": f"urn:govproj:{tenant}:portfolio:{published.strftime('%Y%m%dT%H%M%S')}",
        "version": "1.1",
        "publishedDate": published.isoformat(),
        "publisher": {"name": f"govproj {tenant}"},
        "releases": [release_of(r, published=published) for r in rows],
    }


def validate(package: dict[str, Any]) -> list[str]:
    """Schema errors of the package and each release (empty: valid)."""
    from govkit.ocds import validate_package_meta, validate_release

    releases = package.get("releases") or []
    meta = {k: v for k, v in package.items() if k != "releases"}
    errors = validate_package_meta(
        meta, release_count=max(len(releases), 1), first_release=releases[0] if releases else None
    )
    for i, release in enumerate(releases):
        errors += [f"releases/{i}/{e}" for e in validate_release(release)]
    return errors
