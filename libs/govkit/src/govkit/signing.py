"""HMAC-SHA256 signatures of webhook pushes, with a timestamp and a nonce against replays.

The sender signs ``"<timestamp>.<nonce>.<body>"`` with the shared secret and sends the three
headers below; the receiver recomputes the signature (constant-time compare), refuses a timestamp
outside its tolerance and remembers the nonce for at least that long, refusing it a second time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Govproj-Signature"
TIMESTAMP_HEADER = "X-Govproj-Timestamp"
NONCE_HEADER = "X-Govproj-Nonce"
PREFIX = "sha256="
NONCE_BYTES = 16


def signature(secret: str, *, timestamp: str, nonce: str, body: bytes) -> str:
    """``sha256=<hex>`` of the signed string."""
    message = timestamp.encode() + b"." + nonce.encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: bytes, *, now: float | None = None, nonce: str | None = None
) -> dict[str, str]:
    """The headers a sender attaches to ``body``."""
    timestamp = str(int(now if now is not None else time.time()))
    nonce = nonce or secrets.token_hex(NONCE_BYTES)
    return {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, timestamp=timestamp, nonce=nonce, body=body),
    }


def verify(
    secret: str, *, timestamp: str, nonce: str, body: bytes, given: str, now: float, tolerance: int
) -> str | None:
    """None when the signature is right and the timestamp fresh; otherwise the reason (a code)."""
    if not secret:
        return "WEBHOOK_NOT_CONFIGURED"
    if not timestamp.isdigit() or not nonce or len(nonce) > 200:  # noqa: PLR2004 - header hygiene
        return "WEBHOOK_BAD_HEADERS"
    if abs(now - int(timestamp)) > tolerance:
        return "WEBHOOK_STALE_TIMESTAMP"
    expected = signature(secret, timestamp=timestamp, nonce=nonce, body=body)
    if not hmac.compare_digest(expected, given or ""):
        return "WEBHOOK_BAD_SIGNATURE"
    return None
