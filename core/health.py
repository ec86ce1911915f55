"""Liveness and readiness probes for load balancers, orchestrators and `compose.yaml`.

- `GET /health/live`: the process answers. Touches nothing else, so a
  database outage does not get every web process restarted.
- `GET /health/ready`: this process can serve: the database answers
  `SELECT 1` and the Celery broker accepts a connection, each within a couple
  of seconds (on the embedded folder-on-disk broker, its queue folder is
  there and writable). On PostgreSQL the probe opens a connection of its own
  with a connect timeout and bounds its statement with `SET LOCAL
  statement_timeout`, so a database that stops answering, or a proxy that
  accepts the connection and then says nothing, makes the probe answer 503
  in seconds instead of hanging until the orchestrator gives up. 200 when both hold, 503 otherwise; the JSON names each check
  and what failed (the error's class only: addresses and credentials stay in
  the server's log).

The middleware answers both before anything else runs: no sign-in, no
sign-in lock-out, no host check (a probe calls by IP address or
container name, which ALLOWED_HOSTS rightly does not list), no HTTPS
redirect (probes speak plain HTTP inside the network) and no rate limit.
`python manage.py readiness` runs the same checks for processes that serve
no HTTP (worker, beat).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2  # type: ignore[import-untyped]  # no stubs installed
from celery import current_app
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse

logger = logging.getLogger(__name__)

LIVE_PATHS = frozenset({"/health/live", "/health/live/"})
READY_PATHS = frozenset({"/health/ready", "/health/ready/"})
# A probe waits this long for the broker, and for the database to connect and then to answer; orchestrators
# time a probe out after a few seconds.
BROKER_TIMEOUT_SECONDS = 2.0
DATABASE_TIMEOUT_SECONDS = 2.0


def check_database(timeout: float = DATABASE_TIMEOUT_SECONDS) -> None:
    connection = connections["default"]
    if connection.vendor == "postgresql":
        with bounded_postgresql_cursor(connection.get_connection_params(), timeout) as cursor:
            _select_one(cursor)
        return
    # SQLite is a file beside this process: there is nothing to connect to, and `SELECT 1` waits for no lock.
    with connection.cursor() as cursor:
        _select_one(cursor)


@contextmanager
def bounded_postgresql_cursor(params: Mapping[str, Any], timeout: float) -> Iterator[Any]:
    """A cursor on a connection of its own that gives up connecting, and each statement, after about `timeout`.

    libpq counts its connect timeout in whole seconds and treats anything under
    2 as 2. The statement bound is `SET LOCAL`, so it ends with the probe's
    transaction; the connection is closed either way.
    """
    connection = psycopg2.connect(**{**params, "connect_timeout": max(2, math.ceil(timeout))})
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = %s", [f"{max(1, round(timeout * 1000))}ms"])
            yield cursor
    finally:
        connection.close()


def _select_one(cursor: Any) -> None:
    cursor.execute("SELECT 1")
    if cursor.fetchone() != (1,):
        raise RuntimeError("SELECT 1 did not return 1")


def check_broker(timeout: float = BROKER_TIMEOUT_SECONDS) -> None:
    broker_url = str(settings.CELERY_BROKER_URL)
    if broker_url.startswith("filesystem"):
        # The embedded broker is a folder: tasks can be queued when it exists and this process may write there.
        folders = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out"):
            folder = Path(str(folders[key]))
            if not folder.is_dir():
                raise FileNotFoundError(f"{key} {folder} is missing")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise PermissionError(f"{key} {folder} is not writable")
        return
    # Redis: give up on connecting, and on an answer, after `timeout` rather than the client's default.
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    with current_app.connection_for_write(
        url=broker_url, connect_timeout=timeout, transport_options=options
    ) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "broker": check_broker}


def readiness() -> tuple[bool, dict[str, dict[str, object]]]:
    """(all passed, {check: {"ok": bool, "ms": duration, "error": error class when failed}})."""
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as error:
            logger.warning("Readiness check %s failed: %r", name, error)
            results[name] = {"ok": False, "error": type(error).__name__}
        else:
            results[name] = {"ok": True}
        results[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    return all(result["ok"] for result in results.values()), results


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers the probes ahead of every other middleware but the request id's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if (path in LIVE_PATHS or path in READY_PATHS) and request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if path in LIVE_PATHS:
            return _no_store(JsonResponse({"status": "ok"}))
        if path in READY_PATHS:
            ready, checks = readiness()
            failed = sorted(name for name, result in checks.items() if not result["ok"])
            body = {"status": "ok" if ready else "unavailable", "failed": failed, "checks": checks}
            return _no_store(JsonResponse(body, status=200 if ready else 503))
        return self.get_response(request)
