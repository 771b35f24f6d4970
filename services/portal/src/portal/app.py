"""The portal web app. So far: a status page of the platform's services (zh-CN), health probes.

The working pages (todo lists, project library, forms) arrive with the portal issue; until then
the portal says truthfully what runs and where.
"""

from __future__ import annotations

import asyncio
from html import escape

import httpx
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from portal.settings import PortalSettings

SERVICE_LABELS = {
    "intake": "项目申报",
    "review": "联审与审批",
    "procurement": "采购与建设",
    "acceptance": "验收",
    "evaluation": "绩效评价与运维经费",
}
PROBE_TIMEOUT_SECONDS = 1.0


async def _probe(client: httpx.AsyncClient, base_url: str) -> bool:
    try:
        response = await client.get(f"{base_url}/readyz", timeout=PROBE_TIMEOUT_SECONDS)
    except httpx.HTTPError:
        return False
    return response.is_success


def create_app(settings: PortalSettings) -> FastAPI:
    """The portal application."""
    app = FastAPI(title="govproj 门户", docs_url=None, redoc_url=None)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, bool]:
        return {"ready": True}

    @app.get("/", response_class=HTMLResponse)
    async def status_page() -> str:
        async with httpx.AsyncClient() as client:
            results = await asyncio.gather(*(_probe(client, url) for url in settings.services.values()))
        rows = "".join(
            f"<tr><td>{escape(SERVICE_LABELS.get(name, name))}</td><td>{escape(name)}</td>"
            f'<td><a href="{escape(url)}/docs">{escape(url)}</a></td>'
            f"<td>{'运行中' if ok else '不可用'}</td></tr>"
            for (name, url), ok in zip(settings.services.items(), results, strict=True)
        )
        return (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            "<title>govproj 政务信息化项目管理平台 — 服务状态</title></head><body>"
            "<h1>政务信息化项目管理平台</h1><h2>服务状态</h2>"
            "<table><thead><tr><th>服务</th><th>名称</th><th>接口地址</th><th>状态</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f'<p>统一身份认证：<a href="{escape(settings.oidc_server_url)}/realms/govproj">'
            f"{escape(settings.oidc_server_url)}/realms/govproj</a></p>"
            "</body></html>"
        )

    return app
