"""One POST to a checked webhook target: connect to the checked address, no redirects, a short timeout.

The connection goes to the address `core.net.check_url` approved, with the
host name kept for the Host header and TLS (certificate and SNI), so a name
cannot be re-pointed at a private address between the check and the post.
Only the first few hundred bytes of the answer are read.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from core.net import Target

RESPONSE_BYTES = 500
# What is kept of a receiver's error body: its printable text, on one line, this long at most.
EXCERPT_CHARS = 200


def _excerpt(raw: bytes) -> str:
    """A short, printable, one-line excerpt of what a receiver answered; the rest is not stored."""
    text = "".join(c if c.isprintable() else " " for c in raw.decode(errors="replace"))
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


@dataclass(frozen=True)
class Response:
    status_code: int | None  # None when nothing came back
    error: str  # empty on a 2xx
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST `body` to `target`; any outcome is a Response, never an exception.

    `timeout` bounds the connection and each read; a redirect is an answer
    like any other non-2xx (the Location is not followed).
    """
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": "Baton-Webhooks/1", **headers},
        )
        response = connection.getresponse()
        detail = _excerpt(response.read(RESPONSE_BYTES))
    except TimeoutError:
        return Response(status_code=None, error=f"Timed out after {timeout:g} s.", duration_ms=elapsed())
    except ssl.SSLError as error:
        return Response(status_code=None, error=f"TLS failed: {error}", duration_ms=elapsed())
    except (OSError, http.client.HTTPException) as error:
        return Response(
            status_code=None, error=f"Could not connect: {error or type(error).__name__}", duration_ms=elapsed()
        )
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return Response(status_code=response.status, error="", duration_ms=elapsed())
    message = f"HTTP {response.status} {response.reason}"
    if 300 <= response.status < 400:
        message += f" (redirects are not followed: {_excerpt(response.getheader('Location', '').encode())})"
    elif detail:
        message += f": {detail}"
    return Response(status_code=response.status, error=message[:RESPONSE_BYTES], duration_ms=elapsed())
