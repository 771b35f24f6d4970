"""Which pack governs a tenant on a date, and delegation of technical review."""

from __future__ import annotations

from datetime import date

import pytest

from govkit.policy import (
    PolicyRegistry,
    PolicyResolutionError,
    get_tenant,
    may_review,
    resolve,
    resolve_pack,
    reviewing_tenant,
)


@pytest.mark.parametrize(
    ("tenant", "on", "pack"),
    [
        ("city", date(2024, 9, 9), "shuangyashan-2024"),
        ("city", date(2026, 1, 1), "shuangyashan-2024"),
        ("county-a", date(2023, 11, 25), "wuxing-2023"),
        ("county-b", date(2022, 6, 14), "qiaokou-2022"),
    ],
)
def test_tenant_on_date(registry: PolicyRegistry, tenant: str, on: date, pack: str) -> None:
    assert resolve_pack(tenant, on, registry=registry).id == pack


@pytest.mark.parametrize(
    ("tenant", "on"),
    [("city", date(2024, 9, 8)), ("county-a", date(2023, 11, 24)), ("county-b", date(2020, 1, 1))],
)
def test_uncovered_date_is_a_clear_error(registry: PolicyRegistry, tenant: str, on: date) -> None:
    with pytest.raises(PolicyResolutionError) as info:
        resolve_pack(tenant, on, registry=registry)
    message = str(info.value)
    assert f"tenant {tenant!r}" in message
    assert on.isoformat() in message


def test_unknown_tenant(registry: PolicyRegistry) -> None:
    with pytest.raises(PolicyResolutionError, match="unknown tenant 'county-z'"):
        resolve_pack("county-z", date(2025, 1, 1), registry=registry)


def test_tenants_data(registry: PolicyRegistry) -> None:
    city = get_tenant("city", registry=registry)
    assert (city.name, city.region_code, city.level) == ("示范市本级", "230500", "city")
    codes = {t: get_tenant(t, registry=registry).region_code for t in ("city", "county-a", "county-b")}
    assert all(len(c) == 6 and c.isdigit() for c in codes.values())
    assert get_tenant("county-a", registry=registry).parent == "city"


def test_delegation_to_city(registry: PolicyRegistry) -> None:
    res = resolve("county-b", date(2025, 3, 1), registry=registry)
    assert res.pack.id == "qiaokou-2022"
    assert res.reviewing_tenant_id == "city"
    assert res.delegation_cite == ["shuangyashan-2024 §40"]
    # Before the city's measures took effect there was nothing to delegate to.
    assert reviewing_tenant("county-b", date(2024, 9, 8), registry=registry) == ("county-b", [])
    # A county without delegation reviews its own cases.
    assert reviewing_tenant("county-a", date(2025, 3, 1), registry=registry) == ("county-a", [])
    assert may_review("county-b", "city", "city")
    assert may_review("county-b", "city", "county-b")
    assert not may_review("county-b", "city", "county-a")


def test_supersedes_and_end_dates(made_up: PolicyRegistry) -> None:
    # testland-2030 has no end date; testland-2035 supersedes it from 2035 and ends 2039-12-31.
    assert resolve_pack("spoke", date(2034, 12, 31), registry=made_up).id == "testland-2030"
    assert resolve_pack("spoke", date(2035, 1, 1), registry=made_up).id == "testland-2035"
    assert resolve_pack("spoke", date(2039, 12, 31), registry=made_up).id == "testland-2035"
    # Supersession repeals: when the newer pack ends, the old one does not come back.
    with pytest.raises(PolicyResolutionError, match=r"tenant 'spoke' on 2040-01-01"):
        resolve_pack("spoke", date(2040, 1, 1), registry=made_up)
    with pytest.raises(PolicyResolutionError, match=r"tenant 'spoke' on 2029-12-31"):
        resolve_pack("spoke", date(2029, 12, 31), registry=made_up)


def test_two_unrelated_packs_are_ambiguous(made_up: PolicyRegistry) -> None:
    assert resolve_pack("muddle", date(2030, 6, 1), registry=made_up).id == "testland-2030"
    with pytest.raises(PolicyResolutionError, match=r"several packs govern tenant 'muddle' on 2031-06-01"):
        resolve_pack("muddle", date(2031, 6, 1), registry=made_up)


def test_delegation_window(made_up: PolicyRegistry) -> None:
    assert reviewing_tenant("spoke", date(2030, 12, 31), registry=made_up) == ("spoke", [])
    assert reviewing_tenant("spoke", date(2031, 1, 1), registry=made_up) == ("hub", ["testland-2030 §6"])
    assert reviewing_tenant("spoke", date(2037, 1, 1), registry=made_up) == ("spoke", [])
