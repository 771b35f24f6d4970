"""The one event envelope of the platform.

Subject: ``govproj.<ctx>.v1.<aggregate>.<event>``. Body: JSON with id, type, version, tenant,
occurred_at, trace context and the payload (the proto message as JSON, via ``json_format``).
"""

from __future__ import annotations

import builtins
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

MessageT = TypeVar("MessageT", bound=Message)
ENVELOPE_VERSION = 1


@dataclass(frozen=True)
class Envelope:
    """An integration event as it travels: identity, routing, tenant, trace and payload."""

    id: str
    type: str  # e.g. "govproj.intake.v1.declaration.submitted" — also the NATS subject
    tenant: str
    occurred_at: datetime
    payload: dict[str, Any]
    version: int = ENVELOPE_VERSION
    trace_context: dict[str, str] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        """The NATS subject the event is published on."""
        return self.type

    def to_json(self) -> bytes:
        """Serialise for the wire."""
        return json.dumps(
            {
                "id": self.id,
                "type": self.type,
                "version": self.version,
                "tenant": self.tenant,
                "occurred_at": self.occurred_at.isoformat(),
                "trace_context": self.trace_context,
                "payload": self.payload,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Envelope:
        """Parse from the wire; raises ValueError on anything malformed."""
        try:
            data = json.loads(raw)
            return cls(
                id=str(uuid.UUID(data["id"])),
                type=str(data["type"]),
                version=int(data["version"]),
                tenant=str(data["tenant"]),
                occurred_at=datetime.fromisoformat(data["occurred_at"]),
                trace_context=dict(data.get("trace_context") or {}),
                payload=dict(data["payload"]),
            )
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed event envelope: {exc}") from exc

    def payload_as(self, message_type: builtins.type[MessageT]) -> MessageT:
        """Decode the payload into its proto message (unknown fields ignored: additive evolution)."""
        return json_format.ParseDict(self.payload, message_type(), ignore_unknown_fields=True)


def new_event(
    *, event_type: str, tenant: str, payload: Message, trace_context: dict[str, str] | None = None
) -> Envelope:
    """A fresh envelope for a proto payload, stamped now with a new id."""
    return Envelope(
        id=str(uuid.uuid4()),
        type=event_type,
        tenant=tenant,
        occurred_at=datetime.now(UTC),
        payload=json_format.MessageToDict(payload, preserving_proto_field_name=True),
        trace_context=dict(trace_context or {}),
    )
