"""The realm JSON Keycloak imports and the dev overlay: everything DESIGN.md and the demo logins need."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.issuer.mappers import MapperContext, apply_mappers, resolve_user_attribute
from devstack.issuer.paths import default_realm_files
from devstack.issuer.realm import RealmConfigError, build_realm, load_realm, merge_overlay

ROLES = [
    "applicant",
    "unit_head",
    "tech_center",
    "bureau_reviewer",
    "bureau_head",
    "finance",
    "cyberspace",
    "crypto",
    "police",
    "reform",
    "ndrc",
    "archives",
    "expert",
    "evaluator",
    "auditor",
    "tenant_admin",
    "platform_admin",
]
TENANTS = ["city", "county-a", "county-b"]
ORGS = [
    "bureau",
    "techcenter",
    "finance",
    "cyberspace",
    "crypto",
    "police",
    "reform",
    "ndrc",
    "archives",
    "audit",
    "unit-1",
    "unit-2",
]
ROLE_ORG = {
    "applicant": "unit-1",
    "unit_head": "unit-1",
    "tech_center": "techcenter",
    "bureau_reviewer": "bureau",
    "bureau_head": "bureau",
    "finance": "finance",
    "cyberspace": "cyberspace",
    "crypto": "crypto",
    "police": "police",
    "reform": "reform",
    "ndrc": "ndrc",
    "archives": "archives",
    "expert": None,
    "evaluator": None,
    "auditor": "audit",
    "tenant_admin": "bureau",
    "platform_admin": "techcenter",
}
# Demo users in two memberships (org/tenant switching): username → their groups, default first.
MULTI_MEMBERSHIP = {
    "bureau_reviewer.multi": ["/county-a/bureau", "/city/bureau"],
    "expert.multi": ["/county-a", "/city"],
}
SERVICES = [
    "govproj-intake",
    "govproj-review",
    "govproj-procurement",
    "govproj-acceptance",
    "govproj-evaluation",
]


@pytest.fixture(scope="module")
def realm_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(default_realm_files()[0].read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def overlay_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(default_realm_files()[1].read_text(encoding="utf-8"))
    return data


def _clients(rep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["clientId"]: c for c in rep.get("clients", [])}


def test_realm_roles_are_designs_plus_service(realm_json: dict[str, Any]) -> None:
    names = {r["name"] for r in realm_json["roles"]["realm"]}
    assert names == {*ROLES, "service"}


def test_groups_per_tenant_and_org_carry_the_claim_attributes(realm_json: dict[str, Any]) -> None:
    tenants = {g["name"]: g for g in realm_json["groups"]}
    assert set(tenants) == set(TENANTS)
    for tenant, group in tenants.items():
        assert group["path"] == f"/{tenant}"
        assert group["attributes"]["tenant"] == [tenant]
        orgs = {g["name"]: g for g in group["subGroups"]}
        assert set(orgs) == set(ORGS)
        for org, sub in orgs.items():
            assert sub["path"] == f"/{tenant}/{org}"
            assert sub["attributes"]["org"] == [org]
            # tenant is inherited from the parent group, as Keycloak's attribute mapper does.
            assert "tenant" not in sub["attributes"]


def test_clients_portal_and_one_confidential_client_per_service(realm_json: dict[str, Any]) -> None:
    clients = _clients(realm_json)
    assert set(clients) == {*SERVICES, "govproj-portal"}
    for cid in SERVICES:
        c = clients[cid]
        assert c["publicClient"] is False and c["serviceAccountsEnabled"] is True
        assert c["standardFlowEnabled"] is False and c["directAccessGrantsEnabled"] is False
    portal = clients["govproj-portal"]
    assert portal["publicClient"] is False and portal["standardFlowEnabled"] is True
    assert portal["serviceAccountsEnabled"] is False and portal["directAccessGrantsEnabled"] is False
    # Exactly the callback, under the portal's public URL from the environment (dev default below).
    assert portal["redirectUris"] == ["${GOVPROJ_PORTAL_PUBLIC_URL:http://127.0.0.1:8000}/auth/callback"]
    assert portal["attributes"]["pkce.code.challenge.method"] == "S256"
    for c in clients.values():
        assert {"basic", "profile", "govproj-claims", "govproj-audience"} <= set(c["defaultClientScopes"])


def test_government_portal_is_brokered_from_env_and_off_by_default(realm_json: dict[str, Any]) -> None:
    (idp,) = realm_json["identityProviders"]
    assert idp["alias"] == "gov-portal" and idp["providerId"] == "oidc"
    assert idp["enabled"] == "${GOVPROJ_GOV_IDP_ENABLED:false}"
    for key in ("issuer", "authorizationUrl", "tokenUrl", "jwksUrl", "clientId", "clientSecret"):
        assert idp["config"][key].startswith("${GOVPROJ_GOV_IDP_"), key
    assert idp["config"]["pkceEnabled"] == "true" and idp["config"]["pkceMethod"] == "S256"


def test_production_realm_has_no_secrets_no_demo_users_no_cli(realm_json: dict[str, Any]) -> None:
    clients = _clients(realm_json)
    assert "govproj-cli" not in clients
    for c in clients.values():
        # Keycloak's --import-realm resolves ${ENV} placeholders; the value itself is never in git.
        assert c["secret"].startswith("${GOVPROJ_") and c["secret"].endswith("_CLIENT_SECRET}")
    assert "govproj-dev" not in json.dumps(realm_json)
    for user in realm_json["users"]:
        assert user["serviceAccountClientId"] in SERVICES
        assert user["username"] == f"service-account-{user['serviceAccountClientId']}"
        assert user["realmRoles"] == ["service"] and not user.get("credentials")
    assert {u["serviceAccountClientId"] for u in realm_json["users"]} == set(SERVICES)


def test_claim_mappers(realm_json: dict[str, Any]) -> None:
    scopes = {s["name"]: s for s in realm_json["clientScopes"]}
    claims = {m["name"]: m for m in scopes["govproj-claims"]["protocolMappers"]}
    for name in ("tenant", "org"):
        m = claims[name]
        assert m["protocolMapper"] == "oidc-usermodel-attribute-mapper"
        assert m["config"]["user.attribute"] == name and m["config"]["claim.name"] == name
        assert m["config"]["multivalued"] == "false" and m["config"]["access.token.claim"] == "true"
    memberships = claims["memberships"]
    assert memberships["protocolMapper"] == "oidc-group-membership-mapper"
    assert memberships["config"]["claim.name"] == "memberships"
    assert memberships["config"]["full.path"] == "true"  # /tenant/org, what govkit parses
    assert memberships["config"]["access.token.claim"] == "true"
    roles = claims["roles"]
    assert roles["protocolMapper"] == "oidc-usermodel-realm-role-mapper"
    assert roles["config"]["claim.name"] == "roles" and roles["config"]["multivalued"] == "true"
    basic = {m["protocolMapper"] for m in scopes["basic"]["protocolMappers"]}
    assert "oidc-sub-mapper" in basic  # Keycloak 25+ puts sub only through this mapper


def test_one_audience_mapper_per_service(realm_json: dict[str, Any]) -> None:
    scopes = {s["name"]: s for s in realm_json["clientScopes"]}
    mappers = scopes["govproj-audience"]["protocolMappers"]
    assert all(m["protocolMapper"] == "oidc-audience-mapper" for m in mappers)
    audiences = {m["config"]["included.client.audience"] for m in mappers}
    assert audiences == {*SERVICES, "govproj-portal"}
    assert all(m["config"]["access.token.claim"] == "true" for m in mappers)


def test_dev_overlay_demo_users(overlay_json: dict[str, Any]) -> None:
    assert set(overlay_json) <= {"realm", "clients", "users"}
    users = {u["username"]: u for u in overlay_json["users"]}
    assert len(users) == len(TENANTS) * (len(ROLES) + 2) + len(MULTI_MEMBERSHIP)
    for username, groups in MULTI_MEMBERSHIP.items():
        assert users[username]["groups"] == groups
        assert users[username]["credentials"] == [
            {"type": "password", "value": "govproj-dev", "temporary": False}
        ]
    for tenant in TENANTS:
        for role in ROLES:
            user = users[f"{role}.{tenant}"]
            assert user["realmRoles"] == [role]
            org = ROLE_ORG[role]
            assert user["groups"] == [f"/{tenant}/{org}" if org else f"/{tenant}"]
            assert user["credentials"] == [{"type": "password", "value": "govproj-dev", "temporary": False}]
        assert users[f"applicant2.{tenant}"]["groups"] == [f"/{tenant}/unit-2"]
        assert users[f"applicant2.{tenant}"]["realmRoles"] == ["applicant"]
        assert users[f"unit_head2.{tenant}"]["groups"] == [f"/{tenant}/unit-2"]
        assert users[f"unit_head2.{tenant}"]["realmRoles"] == ["unit_head"]


def test_dev_overlay_cli_client_and_dev_secrets(overlay_json: dict[str, Any]) -> None:
    clients = _clients(overlay_json)
    cli = clients["govproj-cli"]
    assert cli["publicClient"] is True and cli["directAccessGrantsEnabled"] is True
    assert cli["standardFlowEnabled"] is False and cli["serviceAccountsEnabled"] is False
    for cid in [*SERVICES, "govproj-portal"]:
        assert clients[cid] == {"clientId": cid, "secret": "govproj-dev-secret"}


def test_merged_realm_resolves_tenant_and_org_through_group_inheritance() -> None:
    realm = load_realm(*default_realm_files(), environ={})
    user = realm.users["bureau_head.county-b"]
    assert resolve_user_attribute(realm, user, "tenant", aggregate=False) == ["county-b"]
    assert resolve_user_attribute(realm, user, "org", aggregate=False) == ["bureau"]
    expert = realm.users["expert.city"]
    assert resolve_user_attribute(realm, expert, "tenant", aggregate=False) == ["city"]
    assert resolve_user_attribute(realm, expert, "org", aggregate=False) == []
    # Two memberships: the single-valued claims take the first group, as Keycloak's mapper does.
    multi = realm.users["bureau_reviewer.multi"]
    assert resolve_user_attribute(realm, multi, "tenant", aggregate=False) == ["county-a"]
    assert resolve_user_attribute(realm, multi, "org", aggregate=False) == ["bureau"]
    # Unset ${ENV} secret in production realm without the overlay: the client cannot authenticate.
    prod_only = load_realm(default_realm_files()[0], None, environ={})
    assert prod_only.clients["govproj-intake"].secret is None
    with_env = load_realm(default_realm_files()[0], None, environ={"GOVPROJ_INTAKE_CLIENT_SECRET": "s3"})
    assert with_env.clients["govproj-intake"].secret == "s3"


def _tiny_realm(mappers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "realm": "t",
        "roles": {"realm": [{"name": "a"}, {"name": "b", "composite": True, "composites": {"realm": ["a"]}}]},
        "groups": [
            {
                "name": "x",
                "attributes": {"tenant": ["x"], "k": ["1"]},
                "subGroups": [
                    {"name": "y", "attributes": {"org": ["y"], "k": ["2"]}, "realmRoles": ["a"]},
                ],
            },
        ],
        "clientScopes": [{"name": "s", "protocol": "openid-connect", "protocolMappers": mappers}],
        "clients": [{"clientId": "c", "publicClient": True, "defaultClientScopes": ["s"]}],
        "users": [{"username": "u", "realmRoles": ["b"], "groups": ["/x/y"], "attributes": {"k": ["0"]}}],
    }


def _mapper(kind: str, **config: str) -> dict[str, Any]:
    return {"name": kind, "protocolMapper": kind, "config": {"access.token.claim": "true", **config}}


def test_mapper_semantics_follow_keycloak() -> None:
    realm = build_realm(
        _tiny_realm(
            [
                _mapper("oidc-usermodel-attribute-mapper", **{"user.attribute": "k", "claim.name": "own"}),
                _mapper(
                    "oidc-usermodel-attribute-mapper",
                    **{
                        "user.attribute": "k",
                        "claim.name": "all",
                        "aggregate.attrs": "true",
                        "multivalued": "true",
                    },
                ),
                _mapper("oidc-usermodel-attribute-mapper", **{"user.attribute": "tenant", "claim.name": "t"}),
                _mapper(
                    "oidc-usermodel-realm-role-mapper",
                    **{"claim.name": "realm_access.roles", "multivalued": "true"},
                ),
                _mapper("oidc-group-membership-mapper", **{"claim.name": "groups", "full.path": "true"}),
                _mapper("oidc-audience-mapper", **{"included.custom.audience": "svc"}),
                {**_mapper("oidc-audience-mapper", **{"included.client.audience": "hidden"}), "config": {}},
            ]
        )
    )
    ctx = MapperContext(realm=realm, user=realm.users["u"], client=realm.clients["c"], session_notes={})
    claims = apply_mappers(ctx, "access", {})
    assert claims["own"] == "0"  # the user's own value wins without aggregation
    assert sorted(claims["all"]) == ["0", "1", "2"]  # user + group + inherited parent
    assert claims["t"] == "x"  # inherited from the parent group
    assert sorted(claims["realm_access"]["roles"]) == ["a", "b"]  # composite and group roles
    assert claims["groups"] == ["/x/y"]
    assert claims["aud"] == "svc"  # single audience as a string; the unflagged mapper adds nothing


def test_unknown_mapper_type_is_refused() -> None:
    with pytest.raises(RealmConfigError, match="does not emulate"):
        build_realm(_tiny_realm([_mapper("oidc-script-based-protocol-mapper")]))


def test_overlay_cannot_redefine_users_or_add_other_sections(realm_json: dict[str, Any]) -> None:
    with pytest.raises(RealmConfigError):
        merge_overlay(realm_json, {"users": [{"username": "service-account-govproj-intake"}]})
    with pytest.raises(RealmConfigError):
        merge_overlay(realm_json, {"roles": {}})


def test_realm_files_are_where_the_chart_and_issuer_expect_them() -> None:
    realm, overlay = default_realm_files()
    assert realm.parts[-3:] == ("deploy", "keycloak", "realm-govproj.json")
    assert overlay == realm.with_name("realm-govproj.dev.json")
    assert Path(realm).is_file() and Path(overlay).is_file()
