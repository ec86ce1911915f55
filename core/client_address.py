"""The caller's address behind a known number of reverse proxies (`BATON_TRUSTED_PROXY_COUNT`).

With no trusted proxy (the default) the address is the connection's,
REMOTE_ADDR, and `X-Forwarded-For` is ignored: anyone can write that
header. Behind N proxies that each append the address they were connected
from, the N-th entry from the right of `X-Forwarded-For` was written by the
outermost trusted proxy and is the client's; entries further left came from
the caller and are not trusted.

django-axes asks `client_ip` (AXES_CLIENT_IP_CALLABLE) and DRF's throttles
count by the same rule (its NUM_PROXIES, set from the same setting), so the
sign-in lock-out and the API rate limits key on the client, not the proxy.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str | None:
    """The client's IP address as a string; REMOTE_ADDR when the forwarded one is missing or not an address."""
    remote_addr = request.META.get("REMOTE_ADDR")
    proxies = int(getattr(settings, "BATON_TRUSTED_PROXY_COUNT", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",")]
    # As DRF's throttles count (NUM_PROXIES): with fewer hops than proxies, the leftmost is the one there is.
    candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # Axes stores the address in an IP column; something that is not one falls back to the connection's.
        return remote_addr
