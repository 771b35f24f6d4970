"""The raw baseline: a bare FastAPI endpoint inserting one row through SQLAlchemy 2 + asyncpg.

It runs exactly as a service's REST half does (one uvicorn process, same host, log level warning,
no access log; uvloop/httptools picked the same way) with the same pool size as the services'
defaults, against the same PostgreSQL — but with no auth, no row-level security, no outbox and
no audit. `python -m bench.baseline_app --port P --url postgresql+asyncpg://...`.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, MetaData, Numeric, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import create_async_engine

from govkit.runtime import KEEP_ALIVE_SECONDS
from govkit.settings import ServiceSettings

metadata = MetaData()
rows = Table(
    "bench_rows",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("name", Text, nullable=False),
    Column("amount", Numeric(16, 2), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


class RowCreate(BaseModel):
    """What the endpoint accepts (about the size of a declaration submit)."""

    name: str
    amount: str


def create_app(url: str, pool_size: int, max_overflow: int) -> FastAPI:
    """The app: one pooled engine, one insert per request."""
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=False)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/rows", status_code=201)
    async def insert(body: RowCreate) -> dict[str, str]:
        row_id = str(uuid.uuid4())
        async with engine.begin() as conn:
            await conn.execute(rows.insert().values(id=row_id, name=body.name, amount=body.amount))
        return {"id": row_id}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    """Serve until SIGTERM, with the services' uvicorn settings (see govkit.runtime.serve)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--port", type=int, required=True)
    defaults = ServiceSettings.model_fields  # the services' own pool, so the comparison stays fair
    parser.add_argument("--pool-size", type=int, default=defaults["db_pool_size"].default)
    parser.add_argument("--max-overflow", type=int, default=defaults["db_max_overflow"].default)
    args = parser.parse_args()
    app = create_app(args.url, args.pool_size, args.max_overflow)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


if __name__ == "__main__":
    main()
