"""The event envelope: what travels on NATS."""

import json

import pytest

from govkit.events import Envelope, new_event
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2


def test_round_trip_keeps_identity_tenant_trace_and_payload() -> None:
    event = new_event(
        event_type="govproj.intake.v1.declaration.submitted",
        tenant="county-a",
        payload=events_pb2.DeclarationSubmitted(
            declaration_id="d-1", amount=common_pb2.Money(amount="10.50")
        ),
        trace_context={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    )
    parsed = Envelope.from_json(event.to_json())
    assert parsed == event
    assert parsed.subject == "govproj.intake.v1.declaration.submitted"
    decoded = parsed.payload_as(events_pb2.DeclarationSubmitted)
    assert decoded.declaration_id == "d-1" and decoded.amount.amount == "10.50"


def test_unknown_payload_fields_are_ignored_so_producers_can_add_fields() -> None:
    event = new_event(event_type="x", tenant="t", payload=events_pb2.DeclarationSubmitted(name="甲"))
    body = json.loads(event.to_json())
    body["payload"]["added_in_v2"] = 1
    parsed = Envelope.from_json(json.dumps(body).encode())
    assert parsed.payload_as(events_pb2.DeclarationSubmitted).name == "甲"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{}",
        b'{"id": "nope", "type": "x", "version": 1, "tenant": "t", '
        b'"occurred_at": "2026-01-01T00:00:00+00:00", "payload": {}}',
    ],
)
def test_malformed_envelopes_are_rejected(raw: bytes) -> None:
    with pytest.raises(ValueError, match="malformed"):
        Envelope.from_json(raw)
