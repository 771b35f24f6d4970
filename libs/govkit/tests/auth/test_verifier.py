"""TokenVerifier against a running dev issuer: what it accepts and everything it must refuse."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from jwcrypto import jwk

from devstack.issuer.testing import RunningIssuer, get_service_token, get_token, token_response
from govkit.auth import Principal, ServiceTokenProvider, TokenVerifier
from govkit.errors import AppError, ErrorKind

from .conftest import AUDIENCE, b64url, claims_of, good_claims, launch_issuer, sign_with


async def refused(verifier: TokenVerifier, token: str, code: str = "TOKEN_INVALID") -> AppError:
    with pytest.raises(AppError) as info:
        await verifier.verify(token)
    assert info.value.kind is ErrorKind.UNAUTHENTICATED
    assert info.value.code == code
    assert info.value.http_status == 401
    return info.value


async def test_valid_user_token_gives_principal(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    principal = await verifier.verify(get_token(issuer.base_url, "applicant.county-a"))
    assert isinstance(principal, Principal)
    assert principal.username == "applicant.county-a"
    assert principal.tenant == "county-a" and principal.org == "unit-1"
    assert principal.roles == frozenset({"applicant"})
    assert principal.has_role("applicant", "bureau_head") and not principal.has_role("bureau_head")
    assert not principal.is_service


async def test_user_without_org(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    principal = await verifier.verify(get_token(issuer.base_url, "expert.county-b"))
    assert principal.tenant == "county-b" and principal.org is None and principal.roles == {"expert"}


async def test_service_account_token(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    principal = await verifier.verify(get_service_token(issuer.base_url, "govproj-review"))
    assert principal.is_service and principal.tenant is None and principal.org is None
    assert principal.username == "service-account-govproj-review"


async def test_jwks_fetched_once_and_cached(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    tokens = [get_token(issuer.base_url, u) for u in ("applicant.city", "finance.city", "police.county-a")]
    for token in tokens * 2:
        await verifier.verify(token)
    assert verifier.jwks_fetches == 1


async def test_forged_token_signed_by_another_key_with_the_same_kid(
    issuer: RunningIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.state.keys.active_kid
    forger = jwk.JWK.generate(kty="RSA", size=2048)
    await refused(verifier, sign_with(forger, good_claims(issuer), kid=kid))
    # Same claims signed by the real key pass: only the signature made the difference.
    assert (await verifier.verify(issuer.state.sign(good_claims(issuer)))).tenant == "county-a"


async def test_expired_token(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    now = int(time.time())
    expired = issuer.state.sign(good_claims(issuer, iat=now - 400, exp=now - 100))
    error = await refused(verifier, expired, code="TOKEN_EXPIRED")
    assert error.message == "登录已过期，请重新登录。"


async def test_expired_within_leeway_is_accepted(issuer: RunningIssuer) -> None:
    lenient = TokenVerifier(server_url=issuer.base_url, realm="govproj", audience=AUDIENCE, leeway_seconds=30)
    try:
        token = issuer.state.sign(good_claims(issuer, exp=int(time.time()) - 5))
        assert (await lenient.verify(token)).username == "applicant.county-a"
    finally:
        await lenient.aclose()


async def test_token_for_another_audience(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    await refused(verifier, issuer.state.sign(good_claims(issuer, aud="account")))
    await refused(verifier, issuer.state.sign(good_claims(issuer, aud=["govproj-review"])))
    # A real issuer token, checked by a verifier for a client that is not in its aud.
    other = TokenVerifier(server_url=issuer.base_url, realm="govproj", audience="govproj-unknown")
    try:
        await refused(other, get_token(issuer.base_url, "applicant.city"))
    finally:
        await other.aclose()


async def test_token_from_another_issuer(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    await refused(verifier, issuer.state.sign(good_claims(issuer, iss="http://127.0.0.1:1/realms/govproj")))


async def test_alg_none_token(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    kid = issuer.state.keys.active_kid
    payload = b64url(json.dumps(good_claims(issuer)).encode())
    for alg in ("none", "None", "NONE"):
        header = b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
        error = await refused(verifier, f"{header}.{payload}.")
        assert error.details["reason"] == "algorithm"
    # Taken from a genuine token: same claims, signature stripped.
    genuine = get_token(issuer.base_url, "applicant.city")
    header = b64url(json.dumps({"alg": "none", "kid": kid}).encode())
    await refused(verifier, f"{header}.{genuine.split('.')[1]}.")


async def test_hs256_signed_with_the_public_key(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    kid = issuer.state.keys.active_kid
    public_pem = jwk.JWK(**issuer.state.keys.jwks()["keys"][0]).export_to_pem()
    hmac_key = jwk.JWK(kty="oct", k=b64url(public_pem))
    await refused(verifier, sign_with(hmac_key, good_claims(issuer), kid=kid, alg="HS256"))


@pytest.mark.parametrize(
    "garbage",
    ["", "garbage", "a.b.c", "a.b", "....", "eyJhbGciOiJSUzI1NiJ9.e30.", "\u4e2d\u6587.\u4e2d\u6587.x"],
)
async def test_garbage(verifier: TokenVerifier, garbage: str) -> None:
    code = "UNAUTHENTICATED" if garbage == "" else "TOKEN_INVALID"
    await refused(verifier, garbage, code=code)


async def test_refresh_and_id_tokens_are_not_access_tokens(
    issuer: RunningIssuer, verifier: TokenVerifier
) -> None:
    body = token_response(issuer.base_url, "applicant.city")
    await refused(verifier, body["refresh_token"])
    await refused(verifier, body["id_token"])
    await refused(verifier, issuer.state.sign(good_claims(issuer, typ="Refresh")))


async def test_token_without_sub_or_with_bad_claims(issuer: RunningIssuer, verifier: TokenVerifier) -> None:
    claims = good_claims(issuer)
    del claims["sub"]
    await refused(verifier, issuer.state.sign(claims))
    await refused(verifier, issuer.state.sign(good_claims(issuer, tenant=["a", "b"])))
    await refused(verifier, issuer.state.sign(good_claims(issuer, roles=5)))


async def test_key_rotation_refetches_jwks_exactly_once(tmp_path: Path) -> None:
    running = launch_issuer(tmp_path)
    # A short quiet period between downloads so the test need not wait the default 10 s.
    v = TokenVerifier(
        server_url=running.base_url, realm="govproj", audience=AUDIENCE, jwks_min_refresh_seconds=0.5
    )
    try:
        await v.verify(get_token(running.base_url, "applicant.city"))
        assert v.jwks_fetches == 1
        await asyncio.sleep(0.6)
        old_kid = running.state.keys.active_kid
        new_kid = running.state.keys.rotate()
        assert new_kid != old_kid
        fresh = get_token(running.base_url, "bureau_head.city")
        assert claims_of(fresh)["roles"] == ["bureau_head"]
        assert (await v.verify(fresh)).roles == {"bureau_head"}
        assert v.jwks_fetches == 2  # exactly one refetch for the unknown kid
        await v.verify(get_token(running.base_url, "bureau_head.city"))
        await v.verify(get_token(running.base_url, "applicant.city"))
        assert v.jwks_fetches == 2  # both kids cached now
        # A flood of made-up kids right after a fetch does not hammer the issuer.
        forger = jwk.JWK.generate(kty="RSA", size=2048)
        for i in range(5):
            await refused(v, sign_with(forger, good_claims(running), kid=f"made-up-{i}"))
        assert v.jwks_fetches == 2
    finally:
        await v.aclose()
        running.stop()


async def test_unknown_kid_refetches_after_the_quiet_period(issuer: RunningIssuer) -> None:
    v = TokenVerifier(
        server_url=issuer.base_url, realm="govproj", audience=AUDIENCE, jwks_min_refresh_seconds=0
    )
    try:
        await v.verify(get_token(issuer.base_url, "applicant.city"))
        forger = jwk.JWK.generate(kty="RSA", size=2048)
        await refused(v, sign_with(forger, good_claims(issuer), kid="made-up"))
        assert v.jwks_fetches == 2
    finally:
        await v.aclose()


async def test_unreachable_issuer_is_unavailable_not_unauthenticated(issuer: RunningIssuer) -> None:
    v = TokenVerifier(server_url="http://127.0.0.1:1", realm="govproj", audience=AUDIENCE)
    try:
        with pytest.raises(AppError) as info:
            await v.verify(get_token(issuer.base_url, "applicant.city"))
        assert info.value.kind is ErrorKind.UNAVAILABLE and info.value.code == "AUTH_UNAVAILABLE"
    finally:
        await v.aclose()


async def test_service_token_provider_caches_and_is_accepted(
    issuer: RunningIssuer, verifier: TokenVerifier
) -> None:
    provider = ServiceTokenProvider(
        server_url=issuer.base_url,
        realm="govproj",
        client_id="govproj-review",
        client_secret="govproj-dev-secret",
    )
    try:
        first = await provider()
        assert await provider.token() == first  # cached
        assert await provider.authorization_metadata() == (("authorization", f"Bearer {first}"),)
        principal = await verifier.verify(first)
        assert principal.is_service and principal.username == "service-account-govproj-review"
        provider.invalidate()
        assert await provider.token() != first
    finally:
        await provider.aclose()


async def test_service_token_provider_refreshes_near_expiry(issuer: RunningIssuer) -> None:
    # A margin longer than the token's life: every call fetches anew.
    provider = ServiceTokenProvider(
        server_url=issuer.base_url,
        realm="govproj",
        client_id="govproj-intake",
        client_secret="govproj-dev-secret",
        refresh_margin_seconds=3600,
    )
    try:
        assert await provider.token() != await provider.token()
    finally:
        await provider.aclose()


async def test_service_token_provider_wrong_secret(issuer: RunningIssuer) -> None:
    provider = ServiceTokenProvider(
        server_url=issuer.base_url, realm="govproj", client_id="govproj-review", client_secret="wrong"
    )
    try:
        with pytest.raises(AppError) as info:
            await provider.token()
        assert info.value.code == "SERVICE_TOKEN_UNAVAILABLE"
    finally:
        await provider.aclose()


def test_principal_require_role() -> None:
    p = Principal(sub="s", username="u", tenant="city", org="bureau", roles=frozenset({"bureau_head"}))
    p.require_role("bureau_head")
    p.require_role("applicant", "bureau_head")
    with pytest.raises(AppError) as info:
        p.require_role("applicant")
    assert info.value.kind is ErrorKind.FORBIDDEN and info.value.http_status == 403


async def test_a_verified_token_is_not_checked_again_until_it_expires(issuer: RunningIssuer) -> None:
    verifier = TokenVerifier(server_url=issuer.base_url, realm="govproj", audience=AUDIENCE)
    decoded = 0
    real_decode = verifier._openid.decode_token

    def counting_decode(*args: object, **kwargs: object) -> object:
        nonlocal decoded
        decoded += 1
        return real_decode(*args, **kwargs)  # type: ignore[arg-type]

    verifier._openid.decode_token = counting_decode  # type: ignore[method-assign]
    try:
        token = issuer.state.sign(good_claims(issuer, exp=int(time.time()) + 2))
        for _ in range(5):
            assert (await verifier.verify(token)).username == "applicant.county-a"
        assert decoded == 1  # one RS256 check for five requests
        await asyncio.sleep(2.1)
        # Still refused on time from the cache: the entry never outlives the token.
        await refused(verifier, token, code="TOKEN_EXPIRED")
        await refused(verifier, token, code="TOKEN_EXPIRED")
    finally:
        await verifier.aclose()


async def test_the_verified_token_cache_is_bounded(issuer: RunningIssuer) -> None:
    verifier = TokenVerifier(
        server_url=issuer.base_url, realm="govproj", audience=AUDIENCE, verified_cache_size=2
    )
    try:
        tokens = [
            get_token(issuer.base_url, u) for u in ("applicant.city", "finance.city", "police.county-a")
        ]
        for token in tokens:
            await verifier.verify(token)
        assert len(verifier._verified) == 2
        # The evicted one is simply verified again.
        assert (await verifier.verify(tokens[0])).username == "applicant.city"
    finally:
        await verifier.aclose()
