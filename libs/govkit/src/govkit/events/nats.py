"""A NATS connection that is always there: reconnects forever, even when the first connect fails."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, KeyValueConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)

# Longer than the relay's worst retry gap, so a republished outbox row is still de-duplicated.
DEFAULT_DUPLICATE_WINDOW_SECONDS = 2 * 60 * 60
_CONNECT_RETRY_SECONDS = 0.5


def stream_name(context: str) -> str:
    """The JetStream stream that carries one bounded context's events."""
    return f"GOVPROJ_{context.upper()}"


def stream_subjects(context: str) -> list[str]:
    """Subjects of one context's stream: govproj.<ctx>.v1.<aggregate>.<event>."""
    return [f"govproj.{context}.v1.>"]


def stream_config(
    context: str, *, duplicate_window_seconds: float = DEFAULT_DUPLICATE_WINDOW_SECONDS
) -> StreamConfig:
    """The stream definition shared by the services, `make dev` and the Helm streams Job."""
    return StreamConfig(
        name=stream_name(context),
        subjects=stream_subjects(context),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=duplicate_window_seconds,
    )


async def ensure_key_value(
    js: JetStreamContext, *, bucket: str, ttl_seconds: float, max_bytes: int = -1
) -> KeyValue:
    """Create a key-value bucket keeping one revision per key for ``ttl_seconds`` after its last
    write, or bring an existing one to these limits (idempotent; replicas may race)."""
    config = KeyValueConfig(
        bucket=bucket, history=1, ttl=ttl_seconds, max_bytes=max_bytes, storage=StorageType.FILE
    )
    try:
        return await js.create_key_value(config)
    except BadRequestError:
        # It exists with other limits (a changed idle timeout, say): keep its data, new limits.
        info = await js.stream_info(f"KV_{bucket}")
        await js.update_stream(
            info.config.evolve(
                max_age=ttl_seconds,
                max_bytes=max_bytes,
                duplicate_window=min(info.config.duplicate_window or ttl_seconds, ttl_seconds),
            )
        )
        return await js.key_value(bucket)


async def ensure_stream(js: JetStreamContext, context: str) -> None:
    """Create or update a context's stream (idempotent)."""
    config = stream_config(context)
    try:
        await js.stream_info(config.name or "")
        await js.update_stream(config)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except BadRequestError:
            # Another replica created it between our two calls.
            await js.update_stream(config)


@dataclass
class NatsConnection:
    """Holds one client; `ready()` waits until it is connected, however long NATS is away."""

    url: str
    name: str = "govproj"
    _client: Client | None = field(default=None, init=False)
    _connected: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    def start(self) -> None:
        """Begin connecting in the background (returns at once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._connect_forever(), name=f"nats-connect-{self.name}")

    async def _on_disconnect(self) -> None:
        self._connected.clear()

    async def _on_reconnect(self) -> None:
        self._connected.set()

    async def _connect_forever(self) -> None:
        while True:
            try:
                self._client = await nats.connect(
                    self.url,
                    name=self.name,
                    max_reconnect_attempts=-1,  # the default gives up after ~2 minutes (PITFALLS)
                    reconnect_time_wait=_CONNECT_RETRY_SECONDS,
                    connect_timeout=2,
                    allow_reconnect=True,
                    disconnected_cb=self._on_disconnect,
                    reconnected_cb=self._on_reconnect,
                )
                self._connected.set()
                return
            except Exception as exc:  # noqa: BLE001 - any failure to connect: try again
                log.warning("NATS at %s not reachable yet (%s); retrying", self.url, exc)
                await asyncio.sleep(_CONNECT_RETRY_SECONDS)

    async def ready(self, timeout: float | None = None) -> Client:
        """The connected client, waiting for it when NATS is (still) away."""
        self.start()
        await asyncio.wait_for(self._connected.wait(), timeout)
        assert self._client is not None
        return self._client

    @property
    def is_connected(self) -> bool:
        """True while the client is connected."""
        return self._client is not None and self._client.is_connected

    async def jetstream(self, timeout: float | None = None) -> JetStreamContext:
        """A JetStream context on the connected client."""
        return (await self.ready(timeout)).jetstream()

    async def close(self) -> None:
        """Stop connecting and drain the client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._client is not None and not self._client.is_closed:
            with contextlib.suppress(Exception):
                await self._client.close()
        self._client = None
        self._connected.clear()
