"""Reading the event streams from their first message (the portfolio rebuild's source)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from govkit.events import Envelope
from govkit.events.nats import stream_name


def _parse(raw: bytes) -> Envelope | None:
    """A malformed message was dead-lettered live too; a rebuild skips it the same way."""
    try:
        return Envelope.from_json(raw)
    except ValueError:
        return None


async def stream_sizes(js: JetStreamContext, contexts: Sequence[str]) -> dict[str, int]:
    """The last sequence of each stream now (what a replay reads up to); 0 for a missing stream."""
    out = {}
    for context in contexts:
        try:
            info = await js.stream_info(stream_name(context))
            out[context] = int(info.state.last_seq)
        except NotFoundError:
            out[context] = 0
    return out


async def replay(
    js: JetStreamContext, contexts: Sequence[str], *, upto: dict[str, int], batch: int = 500
) -> AsyncIterator[Envelope]:
    """Every event of the streams from the first to ``upto`` (an ephemeral consumer per stream,
    nothing acknowledged: the services' durable consumers are untouched)."""
    for context in contexts:
        last = upto.get(context, 0)
        if last == 0:
            continue
        name = f"evaluation-rebuild-{uuid.uuid4().hex[:8]}"
        sub = await js.pull_subscribe(
            f"govproj.{context}.v1.>",
            stream=stream_name(context),
            config=ConsumerConfig(
                name=name,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=60.0,
                max_ack_pending=-1,
            ),
        )
        try:
            done = False
            while not done:
                messages = await sub.fetch(batch, timeout=5)
                for msg in messages:
                    seq = msg.metadata.sequence.stream
                    if seq > last:
                        done = True
                        break
                    envelope = _parse(msg.data)
                    if envelope is not None:
                        yield envelope
                    if seq >= last:
                        done = True
                        break
        finally:
            await sub.unsubscribe()
            # The ephemeral consumer also expires by itself after its inactive threshold.
            with contextlib.suppress(Exception):
                await js.delete_consumer(stream_name(context), name)
