"""Project codes in the national investment-project code layout (全国投资项目在线审批监管平台).

``YYYY-RRRRRR-DD-TT-NNNNNN`` — 24 characters with the hyphens:

* ``YYYY``   the year the code is issued (first submission);
* ``RRRRRR`` the tenant's 6-digit administrative division code (GB/T 2260);
* ``DD``     the declaring department's 2-digit code (from the org registry);
* ``TT``     the 2-digit project type (from the construction type, see ``PROJECT_TYPE_CODES``);
* ``NNNNNN`` a 6-digit serial, per tenant and year, never reused.

The code issued by the provincial online approval platform (shuangyashan-2024 §18) has the same
layout and is validated with the same function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from govkit.errors import AppError, ErrorKind
from intake.domain.declaration import ConstructionType

CODE_LENGTH = 24
_CODE_RE = re.compile(
    r"^(?P<year>\d{4})-(?P<region>\d{6})-(?P<dept>\d{2})-(?P<type>\d{2})-(?P<serial>\d{6})$"
)
_REGION_RE = re.compile(r"^\d{6}$")
_DEPT_RE = re.compile(r"^\d{2}$")
# The code book of project types (a layout convention of this platform, not a policy rule).
PROJECT_TYPE_CODES: dict[ConstructionType, str] = {
    ConstructionType.NEW: "01",
    ConstructionType.UPGRADE: "02",
    ConstructionType.EXPANSION: "03",
    ConstructionType.OM: "04",
}
FIRST_YEAR, LAST_YEAR = 2000, 2099
MAX_SERIAL = 999_999


@dataclass(frozen=True)
class ProjectCode:
    """A parsed project code."""

    year: int
    region_code: str
    department: str
    project_type: str
    serial: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.region_code}-{self.department}-{self.project_type}-{self.serial:06d}"


def _invalid(field: str, value: str, reason: str) -> AppError:
    return AppError(
        code="PROJECT_CODE_INVALID",
        message=(
            f"项目代码格式不正确：{reason}。应为“年份-6位行政区划代码-2位部门代码-2位项目类型-6位流水号”，"
            "共24位，例如 2026-230521-01-01-000001。"
        ),
        kind=ErrorKind.INVALID,
        details={"fields": [{"field": field, "message": reason}], "value": value[:64]},
    )


def parse_project_code(value: str, *, field: str = "project_code") -> ProjectCode:
    """Parse and validate a code given by anyone (API input, events); AppError when it is not one."""
    text = value.strip()
    if len(text) != CODE_LENGTH:
        raise _invalid(field, value, f"长度应为24位（当前{len(text)}位）")
    match = _CODE_RE.match(text)
    if match is None:
        raise _invalid(field, value, "各段应为数字，并以“-”分隔")
    year = int(match["year"])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise _invalid(field, value, "年份不在有效范围内")
    if match["region"] == "000000":
        raise _invalid(field, value, "行政区划代码无效")
    serial = int(match["serial"])
    if serial == 0:
        raise _invalid(field, value, "流水号不能为000000")
    return ProjectCode(
        year=year,
        region_code=match["region"],
        department=match["dept"],
        project_type=match["type"],
        serial=serial,
    )


def project_type_code(construction_type: ConstructionType) -> str:
    """The 2-digit project type of a construction type."""
    return PROJECT_TYPE_CODES[construction_type]


def make_project_code(
    *, year: int, region_code: str, department: str, construction_type: ConstructionType, serial: int
) -> ProjectCode:
    """A new code from its parts; refuses parts that would not make a valid code."""
    if not _REGION_RE.match(region_code) or region_code == "000000":
        raise AppError(
            code="TENANT_REGION_CODE_INVALID",
            message="本地区的行政区划代码未正确登记（应为6位数字），无法生成项目代码，请联系系统管理员。",
            kind=ErrorKind.PRECONDITION,
            details={"region_code": region_code},
        )
    if not _DEPT_RE.match(department):
        raise AppError(
            code="ORG_DEPT_CODE_INVALID",
            message="本单位的部门代码未正确登记（应为2位数字），无法生成项目代码，请联系系统管理员。",
            kind=ErrorKind.PRECONDITION,
            details={"dept_code": department},
        )
    if not 1 <= serial <= MAX_SERIAL:
        raise AppError(
            code="PROJECT_CODE_SERIAL_EXHAUSTED",
            message="本年度项目代码流水号已用完，请联系系统管理员。",
            kind=ErrorKind.UNAVAILABLE,
            details={"serial": serial},
        )
    code = ProjectCode(
        year=year,
        region_code=region_code,
        department=department,
        project_type=project_type_code(construction_type),
        serial=serial,
    )
    parse_project_code(str(code))  # the same check every input gets
    return code
