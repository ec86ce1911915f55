"""When the task queue's broker (Redis) cannot be reached, a request that queues work answers 503 and says what
happened, rather than a bare 500.

Pages that only read never touch the broker, so they keep serving. A write commits before it queues its task
(`transaction.on_commit`, or a task sent after the service returned), so what it saved is kept; the work it
queued is picked up again by the beat sweeps where it has one (customer emails and webhooks: their delivery rows;
bulk handovers still queued; health recomputes waiting in PendingRecompute), and otherwise shows as queued or
failed until it is started again. README, "Faults".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery.exceptions import OperationalError as BrokerOperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

MESSAGE = (
    "Baton's task queue cannot be reached just now. What you saved is kept; work it starts in the background "
    "waits until the queue is back, and shows as queued or failed meanwhile. Try again in a few minutes."
)
RETRY_AFTER_SECONDS = 60


def is_broker_unavailable(error: BaseException) -> bool:
    """Celery raises its (kombu's) OperationalError when it cannot publish a task (connection refused, timed out)."""
    return isinstance(error, BrokerOperationalError)


class BrokerUnavailableMiddleware:
    """Answers a request whose view could not queue a task with a 503 naming the cause (JSON under /api/)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_broker_unavailable(exception):
            return None
        logger.error("Could not queue a task for %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": MESSAGE}, status=503)
        else:
            response = HttpResponse(MESSAGE, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
