"""Composition root of the portal: settings → OIDC client, token verifier, gRPC backend → app.

Nothing is built at import time: the lifespan creates the HTTP and gRPC clients on the running
event loop (python-keycloak and grpc.aio both bind to it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from govkit.auth import TokenVerifier
from govkit.errors import AppError, ErrorKind
from govkit.events.nats import NatsConnection
from portal.adapters.backend import Backend
from portal.adapters.oidc import OidcClient
from portal.adapters.session_kv import LOGINS_BUCKET, SESSIONS_BUCKET, SessionBuckets
from portal.adapters.sessions import (
    PENDING_LOGIN_SECONDS,
    TOUCH_SECONDS,
    KeyValueStore,
    MemoryKeyValue,
    Sealer,
    SessionStore,
    new_session_key,
    parse_session_key,
)
from portal.domain import labels
from portal.entrypoints import auth, construction, evaluation_forms, pages
from portal.settings import PortalSettings

log = logging.getLogger(__name__)
_PACKAGE = Path(__file__).resolve().parent
SERVICE_LABELS = {
    "intake": "项目申报",
    "review": "联审与审批",
    "procurement": "采购与建设",
    "acceptance": "验收",
    "evaluation": "绩效评价与运维经费",
}
PROBE_TIMEOUT_SECONDS = 1.0
_STATUS_BY_KIND = {
    ErrorKind.INVALID: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.PRECONDITION: 422,
    ErrorKind.UNAVAILABLE: 503,
}


def build_templates() -> Jinja2Templates:
    """The Jinja2 environment with the label tables as globals (autoescaped HTML)."""
    templates = Jinja2Templates(directory=str(_PACKAGE / "templates"))
    env = templates.env
    env.globals.update(
        {name: getattr(labels, name) for name in dir(labels) if name.isupper()},
        zh=labels.zh,
    )
    return templates


async def _probe(client: httpx.AsyncClient, base_url: str) -> bool:
    try:
        response = await client.get(f"{base_url}/readyz", timeout=PROBE_TIMEOUT_SECONDS)
    except httpx.HTTPError:
        return False
    return response.is_success


def session_store(
    settings: PortalSettings, nats_connection: NatsConnection | None, sealer: Sealer
) -> SessionStore:
    """Sessions in NATS's shared buckets (connecting in the background), or in this process's
    memory when there is no NATS (dev only: create_app refuses it elsewhere)."""
    stores: tuple[KeyValueStore, KeyValueStore]
    if nats_connection is not None:
        nats_connection.start()
        buckets = SessionBuckets(
            nats_connection, idle_seconds=settings.session_idle_seconds, timeout=settings.grpc_timeout_seconds
        )
        stores = (buckets.store(SESSIONS_BUCKET), buckets.store(LOGINS_BUCKET))
    else:
        stores = (
            MemoryKeyValue(ttl_seconds=settings.session_idle_seconds + TOUCH_SECONDS),
            MemoryKeyValue(ttl_seconds=PENDING_LOGIN_SECONDS, max_entries=10_000),
        )
    return SessionStore(
        sessions=stores[0], logins=stores[1], sealer=sealer, idle_seconds=settings.session_idle_seconds
    )


def create_app(settings: PortalSettings) -> FastAPI:
    """The portal application."""
    if not settings.dev and not settings.public_url.startswith("https://"):
        # Secure cookies and the OIDC redirect need HTTPS outside development.
        raise ValueError("GOVPROJ_PORTAL_PUBLIC_URL must be https:// outside GOVPROJ_PORTAL_ENV=dev")
    if not settings.dev and not (settings.nats_url and settings.session_key.get_secret_value()):
        # Replicas share their sessions through NATS; one portal's memory would sign users out
        # whenever the ingress picks another pod.
        raise ValueError(
            "GOVPROJ_PORTAL_NATS_URL and GOVPROJ_PORTAL_SESSION_KEY must be set "
            "outside GOVPROJ_PORTAL_ENV=dev"
        )
    sealer = Sealer(parse_session_key(settings.session_key.get_secret_value() or new_session_key()))
    templates = build_templates()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        oidc = OidcClient(
            server_url=settings.oidc_server_url,
            realm=settings.oidc_realm,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
        )
        verifier = TokenVerifier(
            server_url=settings.oidc_server_url, realm=settings.oidc_realm, audience=settings.oidc_client_id
        )
        backend = Backend(
            intake_target=settings.intake_grpc_target,
            review_target=settings.review_grpc_target,
            evaluation_target=settings.evaluation_grpc_target,
            procurement_target=settings.procurement_grpc_target,
            acceptance_target=settings.acceptance_grpc_target,
            timeout=settings.grpc_timeout_seconds,
        )
        nats_connection = NatsConnection(url=settings.nats_url, name="portal") if settings.nats_url else None
        app.state.auth = auth.AuthDeps(
            settings=settings,
            oidc=oidc,
            verifier=verifier,
            sessions=session_store(settings, nats_connection, sealer),
        )
        app.state.backend = backend
        app.state.nats = nats_connection
        try:
            yield
        finally:
            if nats_connection is not None:
                await nats_connection.close()
            await backend.close()
            await verifier.aclose()
            await oidc.aclose()

    app = FastAPI(title="govproj 门户", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.templates = templates
    app.state.settings = settings
    vendor = settings.vendor_dir / "echarts" / "dist"
    # Mounted before /static, which would otherwise answer (404) for everything below it.
    if vendor.is_dir():
        app.mount("/static/vendor/echarts", StaticFiles(directory=str(vendor)), name="echarts")
    else:
        log.warning("ECharts not found under %s (run `make setup`); the dashboard shows tables only", vendor)
    app.mount("/static", StaticFiles(directory=str(_PACKAGE / "static")), name="static")

    @app.exception_handler(auth.LoginRequired)
    async def login_required(_request: Request, exc: auth.LoginRequired) -> Response:
        return auth.login_redirect(exc.next_path)

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        if exc.kind is ErrorKind.UNAUTHENTICATED and exc.code in (
            "TOKEN_EXPIRED",
            "TOKEN_INVALID",
            "UNAUTHENTICATED",
        ):
            return auth.login_redirect("/")
        session = getattr(request.state, "session", None)
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "session": session,
                "user": session.principal if session else None,
                "title": "无法完成操作",
                "error": exc,
            },
            status_code=_STATUS_BY_KIND.get(exc.kind, 500),
        )

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        # No framing (clickjacking), no MIME sniffing, no referrer leaking ids to other sites,
        # scripts only from the portal itself (ECharts is served from here, no CDN).
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
        )
        if request.url.path not in ("/healthz", "/readyz") and not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        # Without NATS no session can be read or started: take this pod out of the rotation.
        nats_connection: NatsConnection | None = request.app.state.nats
        if nats_connection is not None and not nats_connection.is_connected:
            return JSONResponse({"ready": False, "sessions": "unavailable"}, status_code=503)
        return JSONResponse({"ready": True})

    @app.get("/signed-out", response_class=HTMLResponse, include_in_schema=False)
    async def signed_out(request: Request) -> Response:
        return templates.TemplateResponse(
            request, "signed_out.html", {"session": None, "user": None, "title": "已退出登录"}
        )

    @app.get("/status", response_class=HTMLResponse, include_in_schema=False)
    async def status_page(request: Request) -> Response:
        async with httpx.AsyncClient() as client:
            results = await asyncio.gather(*(_probe(client, url) for url in settings.services.values()))
        rows = [
            {"label": SERVICE_LABELS.get(name, name), "name": name, "url": url, "ok": ok}
            for (name, url), ok in zip(settings.services.items(), results, strict=True)
        ]
        return templates.TemplateResponse(
            request,
            "status.html",
            {
                "session": None,
                "user": None,
                "title": "服务状态",
                "rows": rows,
                "issuer": f"{settings.oidc_server_url.rstrip('/')}/realms/{settings.oidc_realm}",
            },
        )

    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(evaluation_forms.router)
    app.include_router(construction.router)
    return app
