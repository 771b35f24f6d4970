"""The FastAPI application factory every service uses: one error shape, health, readiness, metrics."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from govkit.db import UnitOfWorkFactory
from govkit.errors import AppError, ErrorKind

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]

_FIELD_MESSAGES_ZH = {
    "missing": "必填项未填写",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "decimal_parsing": "请填写有效的金额",
    "decimal_max_places": "金额最多保留两位小数",
    "greater_than": "数值必须大于下限",
    "greater_than_equal": "数值不能小于下限",
    "less_than_equal": "数值超过上限",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "extra_forbidden": "不允许的字段",
    "uuid_parsing": "编号格式不正确",
    "int_parsing": "请填写整数",
    "json_invalid": "请求内容不是有效的 JSON",
}


def validation_error(exc: RequestValidationError) -> AppError:
    """Turn FastAPI/pydantic validation errors into the platform's error with per-field messages."""
    fields: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path", "header")]
        fields.append(
            {
                "field": ".".join(loc),
                "type": err.get("type"),
                "message": _FIELD_MESSAGES_ZH.get(str(err.get("type")), "填写内容不符合要求"),
                "detail": err.get("msg"),
            }
        )
    return AppError(
        code="VALIDATION_FAILED",
        message="提交的内容有误，请按提示修改后重试。",
        kind=ErrorKind.INVALID,
        details={"fields": fields},
    )


def error_response(error: AppError) -> JSONResponse:
    """The JSON response for an AppError."""
    return JSONResponse(status_code=error.http_status, content=error.to_body())


def create_app(
    *,
    title: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    readiness: list[ReadinessCheck] | None = None,
) -> FastAPI:
    """A FastAPI app with the platform's error handlers, /healthz, /readyz and /metrics."""
    app = FastAPI(title=title, lifespan=lifespan)
    checks = list(readiness or [])
    app.state.readiness_checks = checks

    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {404: ErrorKind.NOT_FOUND, 405: ErrorKind.INVALID, 401: ErrorKind.UNAUTHENTICATED}
        return error_response(
            AppError(
                code="HTTP_" + str(exc.status_code),
                message="请求的地址或方法不存在。" if exc.status_code in (404, 405) else "请求无法处理。",
                kind=kinds.get(exc.status_code, ErrorKind.INVALID),
                details={"detail": str(exc.detail)},
            )
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            status_code=500,
            content={
                "error": {
                    "code": "INTERNAL",
                    "message": "系统内部错误，请稍后重试。",
                    "details": {},
                    "cite": [],
                }
            },
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results = []
        for check in app.state.readiness_checks:
            try:
                results.append(await check())
            except Exception:  # noqa: BLE001 - a failing check means "not ready", never a 500
                results.append(False)
        ready = all(results)
        return JSONResponse(status_code=200 if ready else 503, content={"ready": ready})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

    return app


async def unit_of_work(request: Request) -> UnitOfWorkFactory:
    """The service's unit-of-work factory (set on app.state by the composition root)."""
    uow: UnitOfWorkFactory = request.app.state.uow
    return uow


UnitOfWorkDep = Annotated[UnitOfWorkFactory, Depends(unit_of_work)]
