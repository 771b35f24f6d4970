"""Org/tenant switching: a token grants memberships, the request picks the one it acts for.

The choice travels as ``x-govproj-active-org`` (REST header, gRPC metadata); every service takes
its Principal from govkit, so these checks are the ones every service applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import grpc.aio
import pytest
from fastapi.testclient import TestClient

from devstack.issuer.testing import RunningIssuer, get_service_token, get_token
from govkit.auth import ACTIVE_ORG_HEADER, Membership, Principal
from govkit.errors import AppError
from govkit.grpckit import error_from_rpc_error

from .test_grpc import auth, call, channel  # noqa: F401 - the fixture is used by name
from .test_rest import build_app

MULTI = "bureau_reviewer.multi"  # /county-a/bureau and /city/bureau in the dev realm


def _claims(**overrides: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "sub": "u1",
        "preferred_username": "reviewer",
        "tenant": "county-a",
        "org": "bureau",
        "roles": ["bureau_reviewer"],
        "memberships": ["/county-a/bureau", "/city/bureau"],
    }
    claims.update(overrides)
    return claims


# --- the Principal ------------------------------------------------------------------------------


def test_memberships_claim_is_parsed_and_the_default_is_the_tenant_org_claims() -> None:
    p = Principal.from_claims(_claims())
    assert p.memberships == (Membership("county-a", "bureau"), Membership("city", "bureau"))
    assert (p.tenant, p.org) == ("county-a", "bureau")
    assert [m.key for m in p.granted] == ["county-a/bureau", "city/bureau"]


def test_acting_as_a_granted_membership_switches_tenant_and_org_only() -> None:
    p = Principal.from_claims(_claims())
    city = p.acting_as("city/bureau")
    assert (city.tenant, city.org) == ("city", "bureau")
    assert city.roles == p.roles and city.username == p.username and city.granted == p.granted
    # Back again, from the switched one: the grants are the token's, not the current choice's.
    assert city.acting_as("county-a/bureau").tenant == "county-a"


def test_acting_as_an_org_not_granted_is_403_with_chinese_message() -> None:
    p = Principal.from_claims(_claims())
    for value in ["county-b/bureau", "city/finance", "city", "county-a"]:
        with pytest.raises(AppError) as info:
            p.acting_as(value)
        assert info.value.code == "ACTIVE_ORG_NOT_GRANTED"
        assert info.value.http_status == 403
        assert "不属于所选的地区或单位" in info.value.message
        assert info.value.details["granted"] == ["county-a/bureau", "city/bureau"]


@pytest.mark.parametrize("value", ["", "   ", "a/b/c", "/", "city/", "/city/ bureau", "x" * 300])
def test_malformed_active_org_is_400(value: str) -> None:
    with pytest.raises(AppError) as info:
        Principal.from_claims(_claims()).acting_as(value)
    assert info.value.code == "ACTIVE_ORG_INVALID" and info.value.http_status == 400


def test_single_membership_tokens_work_unchanged() -> None:
    # No memberships claim at all (older tokens): only the tenant/org claims are granted.
    old = Principal.from_claims(_claims(memberships=None))
    assert old.memberships == () and old.granted == (Membership("county-a", "bureau"),)
    assert old.acting_as("county-a/bureau") == old
    with pytest.raises(AppError):
        old.acting_as("city/bureau")
    # A tenant-only member (an expert) acts for the tenant, named without an org.
    expert = Principal.from_claims(_claims(org=None, memberships=["/city"], tenant="city"))
    assert expert.acting_as("city").tenant == "city"


def test_service_accounts_are_granted_no_membership() -> None:
    service = Principal.from_claims({"sub": "s", "roles": ["service"]})
    assert service.granted == ()
    with pytest.raises(AppError) as info:
        service.acting_as("city/bureau")
    assert info.value.code == "ACTIVE_ORG_NOT_GRANTED"


def test_default_pair_that_no_group_grants_falls_back_to_the_first_membership() -> None:
    # Keycloak's single-valued attribute mappers pick the first group having each attribute:
    # /city (no org) + /county-a/unit-1 gives tenant=city, org=unit-1, which nothing grants.
    p = Principal.from_claims(_claims(tenant="city", org="unit-1", memberships=["/city", "/county-a/unit-1"]))
    assert (p.tenant, p.org) == ("city", None)


@pytest.mark.parametrize("memberships", [[1], "//", ["/a/b/c"], {"a": 1}])
def test_malformed_memberships_claim_is_refused(memberships: object) -> None:
    with pytest.raises(ValueError):
        Principal.from_claims(_claims(memberships=memberships))


# --- REST ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(issuer: RunningIssuer) -> Iterator[TestClient]:
    with TestClient(build_app(issuer)) as c:
        yield c


def _me(client: TestClient, token: str, active: str | None = None) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"}
    if active is not None:
        headers[ACTIVE_ORG_HEADER] = active
    response = client.get("/me", headers=headers)
    return response.status_code, response.json()


def test_rest_switches_among_granted_orgs(client: TestClient, issuer: RunningIssuer) -> None:
    token = get_token(issuer.base_url, MULTI)
    assert _me(client, token)[1]["tenant"] == "county-a"  # the default membership
    status, body = _me(client, token, "city/bureau")
    assert status == 200 and (body["tenant"], body["org"]) == ("city", "bureau")
    status, body = _me(client, token, "county-a/bureau")
    assert status == 200 and body["tenant"] == "county-a"


def test_rest_refuses_an_org_not_granted(client: TestClient, issuer: RunningIssuer) -> None:
    token = get_token(issuer.base_url, MULTI)
    status, body = _me(client, token, "county-b/bureau")
    assert status == 403
    error = body["error"]
    assert isinstance(error, dict) and error["code"] == "ACTIVE_ORG_NOT_GRANTED"
    assert "不属于所选的地区或单位" in error["message"]
    # A single-membership user cannot borrow another org either; its own works as before.
    applicant = get_token(issuer.base_url, "applicant.county-a")
    assert _me(client, applicant, "county-a/unit-2")[0] == 403
    assert _me(client, applicant, "county-a/unit-1")[1]["org"] == "unit-1"
    assert _me(client, get_service_token(issuer.base_url, "govproj-review"), "city/bureau")[0] == 403
    # Two headers are ambiguous: refused, not one of them picked.
    response = client.get(
        "/me",
        headers=[
            ("Authorization", f"Bearer {token}"),
            (ACTIVE_ORG_HEADER, "city/bureau"),
            (ACTIVE_ORG_HEADER, "county-a/bureau"),
        ],
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "ACTIVE_ORG_INVALID"


# --- gRPC ---------------------------------------------------------------------------------------


async def test_grpc_switches_and_refuses(
    channel: grpc.aio.Channel,  # noqa: F811 - the imported fixture
    issuer: RunningIssuer,
) -> None:
    token = get_token(issuer.base_url, MULTI)
    whoami = call(channel, "Whoami")
    default = await whoami({}, metadata=auth(token), timeout=5)
    assert default["tenant"] == "county-a"
    city = await whoami({}, metadata=(*auth(token), (ACTIVE_ORG_HEADER, "city/bureau")), timeout=5)
    assert (city["tenant"], city["org"]) == ("city", "bureau")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await whoami({}, metadata=(*auth(token), (ACTIVE_ORG_HEADER, "county-b/bureau")), timeout=5)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    error = error_from_rpc_error(info.value)
    assert isinstance(error, AppError) and error.code == "ACTIVE_ORG_NOT_GRANTED"
    assert json.loads(json.dumps(error.details))["granted"] == ["county-a/bureau", "city/bureau"]
