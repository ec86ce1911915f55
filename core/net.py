"""Which URLs Baton may post to (outbound webhooks, team chat): no loopback, private, link-local or other non-public address.

A URL is checked when it is saved and again right before each attempt (what
a name resolves to can change), and the post then connects to the address
that was checked rather than resolving the name a second time. Admins of an
install whose receivers live on its own network turn the refusal off with
BATON_WEBHOOKS_ALLOW_PRIVATE, which also allows plain http.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeURL(ValueError):
    """The URL may not be posted to; the message says why, for the admin."""


@dataclass(frozen=True)
class Target:
    """A checked URL: what to connect to and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str  # with the query string
    address: str  # the checked IP address the post connects to


def private_allowed() -> bool:
    return bool(getattr(settings, "BATON_WEBHOOKS_ALLOW_PRIVATE", False))


def _refused_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # The most telling name first: Python counts loopback, link-local and unspecified as private too.
    for reason, hit in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if hit:
            return reason
    # Shared address space (100.64.0.0/10) and the like are neither private nor global.
    return None if ip.is_global else "not public"


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeURL(f"The host {host} could not be resolved ({error}).") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeURL(f"The host {host} has no address.")
    return addresses


def check_url(url: str, *, resolve: bool = True) -> Target:
    """The URL's target if Baton may post to it; raises UnsafeURL saying why not.

    Every address the host resolves to must be public, so a name with one
    public and one private address is refused. `resolve=False` checks only
    what the URL says (scheme, and the host when it is an IP literal).
    """
    allow_private = private_allowed()
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UnsafeURL(f"The URL is malformed ({error}).") from error
    if parts.scheme not in ("https", "http"):
        raise UnsafeURL("The URL must start with https://.")
    if parts.scheme == "http" and not allow_private:
        raise UnsafeURL("The URL must use https: payloads carry customer data.")
    host = parts.hostname
    if not host:
        raise UnsafeURL("The URL has no host.")
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    elif resolve:
        addresses = _resolve(host, port)
    else:
        return Target(scheme=parts.scheme, host=host, port=port, path=path, address="")
    if not allow_private:
        for address in addresses:
            reason = _refused_reason(ipaddress.ip_address(address.split("%")[0]))
            if reason:
                raise UnsafeURL(
                    f"{host} resolves to {address}, a {reason} address: webhooks go to public addresses only."
                    if literal is None
                    else f"{address} is a {reason} address: webhooks go to public addresses only."
                )
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])
