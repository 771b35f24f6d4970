"""Approval document numbers (文号): each tenant's pattern in tenants.yaml, checked when it loads."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from govkit.policy import (
    DocumentNumberError,
    PackLoadError,
    PolicyRegistry,
    format_document_number,
    get_tenant,
)


@pytest.mark.parametrize(
    ("tenant", "year", "seq", "number"),
    [
        ("city", 2025, 7, "示数审〔2025〕7号"),
        ("county-a", 2026, 1, "甲数审〔2026〕1号"),
        ("county-b", 2025, 123, "乙数审〔2025〕123号"),
    ],
)
def test_every_shipped_tenant_numbers_its_approvals(
    registry: PolicyRegistry, tenant: str, year: int, seq: int, number: str
) -> None:
    assert get_tenant(tenant, registry=registry).document_number(year=year, seq=seq) == number


def test_shipped_numbers_follow_gbt_9704(registry: PolicyRegistry) -> None:
    """Year in full in 〔〕, sequence without padding, 号 at the end; tenants' numbers never collide."""
    numbers = {
        t: get_tenant(t, registry=registry).document_number(year=2025, seq=1)
        for t in ("city", "county-a", "county-b")
    }
    assert all(n.endswith("〔2025〕1号") for n in numbers.values())
    assert len(set(numbers.values())) == len(numbers)


def test_placeholders_with_format_specs() -> None:
    pattern = "{region}审〔{year}〕{seq:03d}号"
    assert format_document_number(pattern, year=2025, seq=7, region="230500") == "230500审〔2025〕007号"
    assert format_document_number("双数审〔{year}〕{seq}号", year=2024, seq=39, region="230500") == (
        "双数审〔2024〕39号"
    )
    # Literal braces are text, not placeholders.
    assert format_document_number("{{审}}〔{year}〕{seq}号", year=2025, seq=2, region="230500") == (
        "{审}〔2025〕2号"
    )


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("示数审〔{yaer}〕{seq}号", "unknown placeholder {yaer}"),
        ("示数审〔{year}〕{}号", "unknown placeholder {}"),
        ("示数审〔{year}〕{0}号", "unknown placeholder {0}"),
        ("示数审〔{year}〕{seq.real}号", "unknown placeholder"),
        ("示数审〔{year}〕{seq!r}号", "too clever"),
        ("示数审〔{year}〕号", "needs {seq}"),
        ("示数审〔2025〕{seq}号", "needs {year}"),
        ("示数审〔{year}〕{seq:q}号", "Unknown format code"),
        ("示数审〔{year}〕{seq号", "bad document number pattern"),
    ],
)
def test_bad_patterns_are_refused(pattern: str, why: str) -> None:
    with pytest.raises(DocumentNumberError, match=why.replace("{", r"\{").replace("}", r"\}")):
        format_document_number(pattern, year=2025, seq=1, region="230500")


@pytest.mark.parametrize(
    ("year", "seq", "region"),
    [(25, 1, "230500"), (2025, 0, "230500"), (2025, -3, "230500"), (2025, 1, "2305")],
)
def test_bad_arguments_are_refused(year: int, seq: int, region: str) -> None:
    with pytest.raises(DocumentNumberError):
        format_document_number("示数审〔{year}〕{seq}号", year=year, seq=seq, region=region)


def test_a_tenant_without_a_pattern_says_so(made_up: PolicyRegistry) -> None:
    hub = get_tenant("hub", registry=made_up)
    assert hub.approval_number is None
    with pytest.raises(DocumentNumberError, match="no approval_number"):
        hub.document_number(year=2030, seq=1)


def test_unknown_placeholder_is_a_load_error_with_the_line(made_up_dir: Path, tmp_path: Path) -> None:
    """A typo in tenants.yaml stops the registry from loading; it is not found when the first
    approval is issued."""
    policies = tmp_path / "policies"
    shutil.copytree(made_up_dir, policies)
    tenants = policies / "tenants.yaml"
    text = tenants.read_text(encoding="utf-8")
    text = text.replace(
        "    packs: [testland-2030]\n",
        '    packs: [testland-2030]\n    approval_number: "测数审〔{year}〕{number}号"\n',
        1,
    )
    tenants.write_text(text, encoding="utf-8")
    with pytest.raises(PackLoadError) as info:
        PolicyRegistry.load(policies)
    message = str(info.value)
    assert re.search(r"tenants\.yaml:\d+: tenants\.hub\.approval_number", message), message
    assert "unknown placeholder {number}" in message


def test_a_good_pattern_in_a_made_up_tenants_file_loads(made_up_dir: Path, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(made_up_dir, policies)
    tenants = policies / "tenants.yaml"
    text = tenants.read_text(encoding="utf-8").replace(
        "    packs: [testland-2030]\n",
        '    packs: [testland-2030]\n    approval_number: "测数审〔{year}〕{seq}号"\n',
        1,
    )
    tenants.write_text(text, encoding="utf-8")
    registry = PolicyRegistry.load(policies)
    assert get_tenant("hub", registry=registry).document_number(year=2030, seq=12) == "测数审〔2030〕12号"
