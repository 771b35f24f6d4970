"""The dev seed file of tenants and orgs (deploy/seed/orgs.yaml), read into the use case's shape."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from intake.domain.orgs import OrgType, TenantLevel
from intake.service import SeedOrg, SeedTenant


class _Org(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    org_type: OrgType
    budget_units: Annotated[int, Field(ge=0)] = 1
    dept_code: Annotated[str, Field(pattern=r"^[0-9]{2}$")]


class _Tenant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    region_code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]
    level: Literal["city", "county"]
    parent: str | None = None
    orgs: dict[str, _Org]


class _SeedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenants: dict[str, _Tenant]


def load_seed_file(path: Path) -> list[SeedTenant]:
    """Parse and validate the seed file (a typo is an error, never a silent default)."""
    data = _SeedFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    return [
        SeedTenant(
            id=tid,
            name=t.name,
            region_code=t.region_code,
            level=TenantLevel(t.level),
            parent_id=t.parent,
            orgs=tuple(
                SeedOrg(
                    id=oid,
                    name=o.name,
                    org_type=o.org_type,
                    budget_units=o.budget_units,
                    dept_code=o.dept_code,
                )
                for oid, o in t.orgs.items()
            ),
        )
        for tid, t in data.tenants.items()
    ]
