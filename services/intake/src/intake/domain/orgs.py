"""Tenants, orgs and registered existing systems: the registries intake keeps for its rules.

A tenant's region code makes its project codes; an org's type and number of budget units feed the
policy facts (shuangyashan-2024 §13: at most as many declarations as budget units); an org's
department code makes the DD part of a project code. Registered existing systems are what
duplicate-construction screening compares new declarations with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden


class OrgType(StrEnum):
    """What kind of bureau or unit an org is."""

    CONSTRUCTION_UNIT = "construction_unit"
    DATA_BUREAU = "data_bureau"
    TECH_CENTER = "tech_center"
    FINANCE = "finance"
    CYBERSPACE = "cyberspace"
    CRYPTO = "crypto"
    POLICE = "police"
    REFORM = "reform"
    NDRC = "ndrc"
    ARCHIVES = "archives"
    AUDIT = "audit"
    OTHER = "other"


class TenantLevel(StrEnum):
    """市本级 or 县(区)."""

    CITY = "city"
    COUNTY = "county"


class SystemStatus(StrEnum):
    """Whether a registered system is still in use."""

    ACTIVE = "active"
    RETIRED = "retired"


REGION_CODE_RE = re.compile(r"^[0-9]{6}$")
DEPT_CODE_RE = re.compile(r"^[0-9]{2}$")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
REGISTRY_ADMINS = frozenset({"tenant_admin", "platform_admin"})
SYSTEM_REGISTRARS = frozenset({"tenant_admin", "bureau_reviewer", "bureau_head"})
MAX_BUDGET_UNITS = 10_000
FIRST_BUILT_YEAR = 1980  # input hygiene: no government IT system is older


@dataclass(frozen=True)
class TenantRecord:
    """A jurisdiction as intake knows it (its region code makes project codes)."""

    id: str
    name: str
    region_code: str
    level: TenantLevel
    parent_id: str | None
    version: int


@dataclass(frozen=True)
class Org:
    """A bureau or unit inside a tenant."""

    tenant_id: str
    id: str
    name: str
    org_type: OrgType
    budget_units: int
    dept_code: str
    active: bool
    version: int


@dataclass(frozen=True)
class ExistingSystem:
    """An information system already built in the tenant (for duplicate screening)."""

    id: str
    tenant_id: str
    org_id: str
    name: str
    description: str
    built_year: int | None
    status: SystemStatus
    version: int
    updated_at: datetime


def _field_error(problems: list[dict[str, str]]) -> AppError:
    return AppError(
        code="VALIDATION_FAILED",
        message="提交的内容有误，请按提示修改后重试。",
        kind=ErrorKind.INVALID,
        details={"fields": problems},
    )


def ensure_registry_admin(principal: Principal, tenant_id: str) -> None:
    """Only the tenant's administrator (or the platform's, in its own tenant) manages tenants and orgs."""
    if not principal.has_role(*REGISTRY_ADMINS) or principal.tenant != tenant_id:
        raise forbidden("registry.write")


def ensure_system_registrar(principal: Principal) -> str:
    """The tenant administrator and the data bureau register existing systems; returns the tenant."""
    if not principal.has_role(*SYSTEM_REGISTRARS) or principal.tenant is None:
        raise forbidden("existing_system.write")
    return principal.tenant


def validate_tenant(record: TenantRecord) -> TenantRecord:
    """Field checks with Chinese messages."""
    problems = []
    if not ID_RE.match(record.id):
        problems.append({"field": "id", "message": "地区标识只能包含小写字母、数字、“-”和“_”"})
    if not record.name.strip():
        problems.append({"field": "name", "message": "请填写地区名称"})
    if not REGION_CODE_RE.match(record.region_code) or record.region_code == "000000":
        problems.append({"field": "region_code", "message": "行政区划代码应为6位数字"})
    if problems:
        raise _field_error(problems)
    return record


def validate_org(org: Org) -> Org:
    """Field checks with Chinese messages."""
    problems = []
    if not ID_RE.match(org.id):
        problems.append({"field": "id", "message": "单位标识只能包含小写字母、数字、“-”和“_”"})
    if not org.name.strip():
        problems.append({"field": "name", "message": "请填写单位名称"})
    if not DEPT_CODE_RE.match(org.dept_code):
        problems.append({"field": "dept_code", "message": "部门代码应为2位数字"})
    if not 0 <= org.budget_units <= MAX_BUDGET_UNITS:
        problems.append({"field": "budget_units", "message": "预算单位数应为不小于0的整数"})
    if problems:
        raise _field_error(problems)
    return org


def validate_system(system: ExistingSystem, *, this_year: int) -> ExistingSystem:
    """Field checks with Chinese messages."""
    problems = []
    if not system.name.strip():
        problems.append({"field": "name", "message": "请填写系统名称"})
    if not system.org_id.strip():
        problems.append({"field": "org_id", "message": "请选择建设单位"})
    if system.built_year is not None and not FIRST_BUILT_YEAR <= system.built_year <= this_year:
        problems.append({"field": "built_year", "message": "建成年份不在有效范围内"})
    if problems:
        raise _field_error(problems)
    return system


def org_not_registered(org_id: str | None) -> AppError:
    """The caller's unit is missing from the registry (the tenant administrator adds it)."""
    return AppError(
        code="ORG_NOT_REGISTERED",
        message="您所在的单位尚未在本平台登记，请联系本地区系统管理员。",
        kind=ErrorKind.PRECONDITION,
        details={"org_id": org_id},
    )


def tenant_not_registered(tenant_id: str) -> AppError:
    """The tenant's record (region code) is missing."""
    return AppError(
        code="TENANT_NOT_REGISTERED",
        message="本地区尚未登记行政区划代码，无法生成项目代码，请联系系统管理员。",
        kind=ErrorKind.PRECONDITION,
        details={"tenant_id": tenant_id},
    )
