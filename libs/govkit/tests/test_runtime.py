"""The service process's HTTP server keeps idle connections longer than clients do, so a client
reusing a connection is never answered with a reset (a clerk's upload lost to a keep-alive race)."""

import asyncio
import contextlib
import socket

from fastapi import FastAPI

from govkit.localinfra import free_port
from govkit.runtime import ServiceProcess, serve


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
    await writer.drain()
    return await asyncio.wait_for(reader.readuntil(b"pong"), timeout=5)


async def test_an_idle_connection_is_still_served_after_the_clients_expiry() -> None:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> str:
        return "pong"

    port = free_port()
    process = ServiceProcess(name="runtime-test", app=app, http_host="127.0.0.1", http_port=port)
    server = asyncio.create_task(serve(process, install_signal_handlers=False))
    try:
        for _ in range(100):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        assert b"200 OK" in await _request(reader, writer)
        # httpx keeps an idle connection for 5 s; uvicorn's default closes it after 5 s too.
        await asyncio.sleep(6)
        assert b"200 OK" in await _request(reader, writer)
        writer.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        writer.close()
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


def test_memory_freed_after_start_up_goes_back_to_the_system() -> None:
    """What start-up allocated and dropped stops counting against the process's RSS."""
    import psutil

    from govkit.runtime import release_startup_memory

    process = psutil.Process()
    # Many C-heap blocks (above pymalloc's 512-byte limit), as imports and migrations leave them.
    blocks = [bytes(2048) + i.to_bytes(4, "little") for i in range(60_000)]
    keep = blocks[-1:]  # one live block at the top of the heap, so free() alone cannot shrink it
    del blocks
    before = process.memory_info().rss
    release_startup_memory()
    after = process.memory_info().rss
    assert keep and before - after > 50 * 2**20
