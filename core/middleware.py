"""A backstop for input no view anticipated: a number the database cannot hold is the caller's 400, not a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DataError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

logger = logging.getLogger(__name__)


class OutOfRangeInputMiddleware:
    """Answers an OverflowError or a database DataError (an id or filter value past 64 bits, reaching the query
    unchecked) with a 400 that says so. The API answers the same through its exception handler (core.throttles)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OverflowError | DataError):
            logger.warning("Refused an out-of-range value on %s: %s", request.path, exception)
            return HttpResponseBadRequest("A number in the request is out of range.", content_type="text/plain")
        return None
