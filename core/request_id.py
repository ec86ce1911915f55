"""A request id on every request: taken from the proxy's `X-Request-ID` when it is sane, otherwise made here.

The id is on `request.request_id`, on every log line written while the
request is served (`core.logging.ContextFilter`), and in the response's
`X-Request-ID` header, so a user's report, the proxy's access log and the
application's log lines can be matched. An incoming id is kept only if it is
1 to 128 characters of letters, digits and `-_.:@`; anything else (empty,
too long, spaces, control characters, markup) is replaced by a fresh one
rather than written into logs and headers.

A task queued while a request is served carries the request's id in its
message headers (`before_task_publish`), and the worker puts it back in the
logging context while the task runs (`task_prerun`, `task_postrun`), so the
task's log lines name the request that caused it; so do the tasks it queues
in turn. A task queued outside a request (beat, a command) has none.
`csm/celery.py` connects the three.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from core.logging import request_id_var

HEADER = "X-Request-ID"
# The task message header that carries the id of the request that queued the task.
TASK_HEADER = "baton_request_id"
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


def request_id_into_task_headers(headers: dict[str, Any] | None) -> None:
    """Before a task message is published: it carries the id of the request (or task) queuing it, if any."""
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers[TASK_HEADER] = request_id


# Task id -> the token that puts the logging context back as it was when that task ends.
_task_tokens: dict[str, contextvars.Token[str]] = {}


def request_id_from_task_headers(task_id: str, task: Any) -> None:
    """As a task starts: its log lines carry the id its message brought, or none.

    A task run eagerly runs inside the caller, whose id it keeps. Anything but a
    sane id in the header is ignored rather than logged.
    """
    carried = getattr(task.request, TASK_HEADER, None)
    if isinstance(carried, str) and _SANE.fullmatch(carried):
        request_id = carried
    else:
        request_id = request_id_var.get() if task.request.is_eager else ""
    _task_tokens[task_id] = request_id_var.set(request_id)


def request_id_forgotten_after_task(task_id: str) -> None:
    """As a task ends: the next task in this worker starts without its id."""
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)
