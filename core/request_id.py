"""A request id on every request: taken from the proxy's `X-Request-ID` when it is sane, otherwise made here.

The id is on `request.request_id`, on every log line written while the
request is served (`core.logging.ContextFilter`), and in the response's
`X-Request-ID` header, so a user's report, the proxy's access log and the
application's log lines can be matched. An incoming id is kept only if it is
1 to 128 characters of letters, digits and `-_.:@`; anything else (empty,
too long, spaces, control characters, markup) is replaced by a fresh one
rather than written into logs and headers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from core.logging import request_id_var

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
_SANE = re.compile(r"[A-Za-z0-9\-_.:@]{1,128}")


def request_id_from(value: str | None) -> str:
    """The caller's id when it is sane, else a new random one."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so every later middleware's log lines carry the id too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.META.get(_META_KEY))
        request.request_id = request_id  # type: ignore[attr-defined]
        # Not reset on the way out: Django logs a 4xx or 5xx answer after the middleware has returned it.
        # The id is forgotten when the response is closed (request_finished).
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _forget_request_id(**kwargs: object) -> None:
    request_id_var.set("")


request_finished.connect(_forget_request_id, dispatch_uid="core.request_id.forget")
