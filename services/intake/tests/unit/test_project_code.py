"""Project codes: the national investment-project code layout YYYY-RRRRRR-DD-TT-NNNNNN."""

import pytest

from govkit.errors import AppError, ErrorKind
from intake.domain.declaration import ConstructionType
from intake.domain.project_code import CODE_LENGTH, make_project_code, parse_project_code


def test_a_new_code_has_year_region_department_type_and_serial_in_24_characters() -> None:
    code = make_project_code(
        year=2026, region_code="230521", department="01", construction_type=ConstructionType.UPGRADE, serial=7
    )
    assert str(code) == "2026-230521-01-02-000007"
    assert len(str(code)) == CODE_LENGTH == 24
    assert parse_project_code(str(code)) == code


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-230521-01-01-00001", "长度应为24位（当前23位）"),
        ("2026-230521-01-01-0000001", "长度应为24位（当前25位）"),
        ("2026/230521/01/01/000001", "各段应为数字，并以“-”分隔"),
        ("2026-23052A-01-01-000001", "各段应为数字，并以“-”分隔"),
        ("1899-230521-01-01-000001", "年份不在有效范围内"),
        ("2026-000000-01-01-000001", "行政区划代码无效"),
        ("2026-230521-01-01-000000", "流水号不能为000000"),
    ],
)
def test_every_malformed_code_is_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(AppError) as err:
        parse_project_code(value, field="provincial_code")
    assert err.value.code == "PROJECT_CODE_INVALID" and err.value.kind is ErrorKind.INVALID
    assert err.value.details["fields"] == [{"field": "provincial_code", "message": reason}]


def test_surrounding_spaces_are_tolerated() -> None:
    assert str(parse_project_code(" 2026-230521-01-01-000001 ")) == "2026-230521-01-01-000001"


def test_unregistered_region_or_department_codes_cannot_make_a_code() -> None:
    with pytest.raises(AppError) as err:
        make_project_code(
            year=2026, region_code="2305", department="01", construction_type=ConstructionType.NEW, serial=1
        )
    assert err.value.code == "TENANT_REGION_CODE_INVALID"
    with pytest.raises(AppError) as err:
        make_project_code(
            year=2026, region_code="230521", department="1", construction_type=ConstructionType.NEW, serial=1
        )
    assert err.value.code == "ORG_DEPT_CODE_INVALID"
    with pytest.raises(AppError) as err:
        make_project_code(
            year=2026,
            region_code="230521",
            department="01",
            construction_type=ConstructionType.NEW,
            serial=1_000_000,
        )
    assert err.value.code == "PROJECT_CODE_SERIAL_EXHAUSTED"
