"""How a delivery is signed, and the check a receiver makes (the README gives the same recipe).

    Baton-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of f"{t}.{raw body}" keyed with the endpoint's secret>

The timestamp is signed with the body, so a captured request cannot be
replayed later than the receiver's tolerance (five minutes in the recipe); the
tests check deliveries with the README's recipe, not with this module.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

SIGNATURE_HEADER = "Baton-Signature"
EVENT_HEADER = "Baton-Event"
DELIVERY_HEADER = "Baton-Delivery"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted: compact JSON, keys sorted, so every retry signs and sends the same body."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def signature(secret: str, body: bytes, *, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
