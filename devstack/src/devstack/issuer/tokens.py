"""Minting Keycloak-shaped access, ID and refresh tokens from the realm's mappers."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from devstack.issuer.keys import KeyStore
from devstack.issuer.mappers import MapperContext, apply_mappers
from devstack.issuer.realm import Client, Realm, User


@dataclass(frozen=True)
class Session:
    """What Keycloak keeps in a user session and the dev issuer carries in the refresh token instead."""

    sid: str
    auth_time: int
    notes: dict[str, str]


@dataclass
class TokenSet:
    """A token endpoint response body."""

    access_token: str
    expires_in: int
    refresh_token: str | None
    refresh_expires_in: int
    id_token: str | None
    scope: str
    session_state: str | None

    def to_response(self) -> dict[str, Any]:
        """The JSON Keycloak returns from /token."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "refresh_expires_in": self.refresh_expires_in,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": self.scope,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            body["id_token"] = self.id_token
        if self.session_state is not None:
            body["session_state"] = self.session_state
        return body


class TokenMinter:
    """Builds and signs tokens for one realm and issuer URL."""

    def __init__(self, *, realm: Realm, keys: KeyStore, issuer: str, access_token_lifespan: int) -> None:
        self.realm = realm
        self.keys = keys
        self.issuer = issuer
        self.access_token_lifespan = access_token_lifespan
        self.refresh_token_lifespan = realm.sso_session_idle_timeout

    def new_session(self, *, notes: dict[str, str] | None = None) -> Session:
        """A fresh login session (password or client-credentials grant)."""
        now = int(time.time())
        return Session(sid=str(uuid.uuid4()), auth_time=now, notes={"AUTH_TIME": str(now), **(notes or {})})

    def scope_string(self, client: Client, requested: set[str]) -> str:
        """The ``scope`` claim: openid if asked for, plus default scopes flagged include.in.token.scope."""
        names = ["openid"] if "openid" in requested else []
        names += [s for s in client.default_scopes if self.realm.client_scopes[s].include_in_token_scope]
        return " ".join(names)

    def access_claims(self, user: User, client: Client, session: Session, scope: str) -> dict[str, Any]:
        """The access token's claims: the fixed ones Keycloak always sets, then the mappers' output."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "exp": now + self.access_token_lifespan,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "typ": "Bearer",
            "azp": client.client_id,
            "sid": session.sid,
            "scope": scope,
        }
        ctx = MapperContext(realm=self.realm, user=user, client=client, session_notes=session.notes)
        return apply_mappers(ctx, "access", claims)

    def id_claims(
        self, user: User, client: Client, session: Session, nonce: str | None = None
    ) -> dict[str, Any]:
        """The ID token's claims (returned when the ``openid`` scope is requested).

        ``nonce`` is the authorization request's, echoed so the client can bind the token to it.
        """
        now = int(time.time())
        claims: dict[str, Any] = {
            "exp": now + self.access_token_lifespan,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": client.client_id,
            "sub": user.id,
            "typ": "ID",
            "azp": client.client_id,
            "sid": session.sid,
        }
        if nonce:
            claims["nonce"] = nonce
        ctx = MapperContext(realm=self.realm, user=user, client=client, session_notes=session.notes)
        return apply_mappers(ctx, "id", claims)

    def refresh_claims(self, user: User, client: Client, session: Session, scope: str) -> dict[str, Any]:
        """A refresh token: typ Refresh, audience the issuer itself, like Keycloak's."""
        now = int(time.time())
        return {
            "exp": now + self.refresh_token_lifespan,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": user.id,
            "typ": "Refresh",
            "azp": client.client_id,
            "sid": session.sid,
            "scope": scope,
            # Keycloak keeps the login time in its session store; the stateless dev issuer keeps it here.
            "auth_time": session.auth_time,
        }

    def issue(
        self,
        user: User,
        client: Client,
        session: Session,
        requested: set[str],
        *,
        with_refresh: bool,
        nonce: str | None = None,
    ) -> TokenSet:
        """Sign a full token set for a user (or service account) and client."""
        scope = self.scope_string(client, requested)
        access = self.keys.sign(self.access_claims(user, client, session, scope))
        refresh = self.keys.sign(self.refresh_claims(user, client, session, scope)) if with_refresh else None
        id_token = (
            self.keys.sign(self.id_claims(user, client, session, nonce)) if "openid" in requested else None
        )
        return TokenSet(
            access_token=access,
            expires_in=self.access_token_lifespan,
            refresh_token=refresh,
            refresh_expires_in=self.refresh_token_lifespan if with_refresh else 0,
            id_token=id_token,
            scope=scope,
            session_state=session.sid if with_refresh else None,
        )
