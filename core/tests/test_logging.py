"""Request ids on requests, responses and log lines; task ids, and the id of the request that queued the task, on
task log lines; JSON logs when asked for."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from celery import Celery, shared_task, signals
from celery.worker.request import Request
from django.core.signals import request_finished
from django.http import HttpResponse
from django.test import RequestFactory

from core.logging import ContextFilter, JsonFormatter
from core.request_id import RequestIdMiddleware, request_id_from

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def json_lines():
    """Root log records written as JSON into a buffer, through the project's filter and formatter."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_a_request_without_an_id_gets_a_new_one_in_its_response(client):
    first = client.get("/health/live")["X-Request-ID"]
    second = client.get("/health/live")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_a_sane_incoming_id_is_kept_and_echoed(client):
    response = client.get("/health/live", HTTP_X_REQUEST_ID="edge-7f3a.2026:01@lb")
    assert response["X-Request-ID"] == "edge-7f3a.2026:01@lb"


@pytest.mark.parametrize(
    "incoming",
    ["", "x" * 129, "two words", "line\nbreak", '<script>"', "caf\u00e9", "a,b"],
)
def test_an_insane_incoming_id_is_replaced(incoming):
    assert re.fullmatch(r"[0-9a-f]{32}", request_id_from(incoming))


@pytest.mark.django_db
def test_log_lines_written_while_serving_a_request_carry_its_id(client, json_lines):
    client.force_login(_user())
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-43")
    assert response.status_code == 404 and response["X-Request-ID"] == "req-43"
    not_found = [line for line in json_lines() if line["logger"] == "django.request"]
    assert not_found and not_found[-1]["request_id"] == "req-43"
    assert not_found[-1]["level"] == "WARNING" and "/no-such-page/" in not_found[-1]["message"]
    # Django logs the 404 after the middleware returned; once the response is closed there is no id.
    logging.getLogger("baton.test").warning("between requests")
    assert "request_id" not in json_lines()[-1]


def _user():
    from users.tests.factories import CSMFactory

    return CSMFactory()


@shared_task
def _task_that_logs(word: str) -> str:
    logging.getLogger("baton.test").info("task says %s", word, extra={"word_length": len(word)})
    return word


def test_log_lines_written_by_a_task_carry_its_id_and_name(json_lines, caplog):
    caplog.set_level(logging.INFO, logger="baton.test")
    result = _task_that_logs.delay("hello")  # eager in tests: runs here, as a worker runs it
    line = next(line for line in json_lines() if line["message"] == "task says hello")
    assert line["task_id"] == result.id
    assert line["task_name"].endswith("_task_that_logs")
    assert line["word_length"] == 5  # `extra=` fields are kept
    assert line["level"] == "INFO" and line["logger"] == "baton.test"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


def test_an_exception_is_written_with_its_traceback(json_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("baton.test").exception("it failed")
    line = json_lines()[-1]
    assert line["message"] == "it failed"
    assert "Traceback" in line["exception"] and "ValueError: boom" in line["exception"]


def test_a_celery_workers_handlers_take_the_configured_format(settings):
    logger = logging.getLogger("baton.test.worker")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        settings.LOG_FORMAT = "plain"
        signals.after_setup_logger.send(
            sender=None, logger=logger, loglevel=20, logfile=None, format="", colorize=False
        )
        assert not isinstance(handler.formatter, JsonFormatter)
        assert sum(isinstance(f, ContextFilter) for f in handler.filters) == 1
        settings.LOG_FORMAT = "json"
        signals.after_setup_task_logger.send(
            sender=None, logger=logger, loglevel=20, logfile=None, format="", colorize=False
        )
        assert isinstance(handler.formatter, JsonFormatter)
        assert sum(isinstance(f, ContextFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)


def _run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "csm.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_json_logs_are_switched_on_by_the_environment_and_plain_text_is_the_default():
    code = "import logging; logging.getLogger('baton.test').warning('hello %s', 'world')"
    as_json = _run_django(code, DJANGO_LOG_FORMAT="json")
    assert as_json.returncode == 0, as_json.stderr
    line = json.loads(as_json.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello world" and line["level"] == "WARNING" and line["logger"] == "baton.test"
    plain = _run_django(code)
    assert plain.returncode == 0, plain.stderr
    assert re.search(r"WARNING baton\.test hello world$", plain.stderr.strip())


def test_an_unknown_log_format_refuses_to_start():
    result = _run_django("", DJANGO_LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "DJANGO_LOG_FORMAT must be plain or json" in result.stderr


# --- A task names the request that queued it ---------------------------------------------------------------------


def _probe_app() -> Celery:
    """A Celery app of its own on an in-memory broker: tasks are really published, then run as a worker runs them.

    Celery's signals are process-wide, so the handlers `csm/celery.py` connects see this app's tasks too.
    """
    app = Celery("request-id-probe", broker="memory://", set_as_current=False)
    # A queue per test: the in-memory broker's queues live as long as the process.
    app.conf.update(task_default_queue=f"request-id-probe-{uuid.uuid4().hex}", task_always_eager=False)

    @app.task(name="probe.logs_a_line")
    def logs_a_line(word: str) -> None:
        logging.getLogger("baton.test").warning("task says %s", word)

    return app


def _publish_then_work(app: Celery, queue_it: Callable[[], None]) -> None:
    """Run `queue_it`, take the message it published off the broker, and execute it through the worker's Request."""
    queue_it()
    with app.connection_for_read() as connection, connection.SimpleQueue(app.conf.task_default_queue) as queue:
        message = queue.get(timeout=5)
        request = Request(message, app=app, task=app.tasks[message.headers["task"]])
        request.execute()
        message.ack()


def _request_through_the_middleware(request_id: str, during: Callable[[], None]) -> None:
    def view(request):
        during()
        return HttpResponse("queued")

    RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID=request_id))
    request_finished.send(sender=None)


@pytest.mark.django_db  # the end of a request closes stale database connections
def test_a_task_queued_during_a_request_logs_that_requests_id_in_the_worker(json_lines):
    app = _probe_app()
    queue_it = lambda: app.tasks["probe.logs_a_line"].delay("from a request")  # noqa: E731
    _publish_then_work(app, lambda: _request_through_the_middleware("req-77", queue_it))
    line = next(line for line in json_lines() if line["message"] == "task says from a request")
    assert line["request_id"] == "req-77"
    assert line["task_name"] == "probe.logs_a_line" and line["task_id"]
    # Once the task has ended, the worker's next lines name no request.
    logging.getLogger("baton.test").warning("worker idle")
    assert "request_id" not in json_lines()[-1]


def test_a_task_queued_outside_a_request_logs_no_request_id(json_lines):
    app = _probe_app()
    _publish_then_work(app, lambda: app.tasks["probe.logs_a_line"].delay("from beat"))
    line = next(line for line in json_lines() if line["message"] == "task says from beat")
    assert "request_id" not in line and line["task_name"] == "probe.logs_a_line"


def test_a_malformed_request_id_in_a_message_is_not_logged(json_lines):
    app = _probe_app()
    task = app.tasks["probe.logs_a_line"]
    _publish_then_work(app, lambda: task.apply_async(("forged",), headers={"baton_request_id": "two words\n"}))
    line = next(line for line in json_lines() if line["message"] == "task says forged")
    assert "request_id" not in line


@pytest.mark.django_db
def test_a_task_run_eagerly_during_a_request_logs_the_requests_id(json_lines, caplog):
    caplog.set_level(logging.INFO, logger="baton.test")
    # Eager in tests: the task runs inside the request, as `CELERY_TASK_ALWAYS_EAGER=1` runs it.
    _request_through_the_middleware("req-eager", lambda: _task_that_logs.delay("eagerly"))
    line = next(line for line in json_lines() if line["message"] == "task says eagerly")
    assert line["request_id"] == "req-eager" and line["task_name"].endswith("_task_that_logs")
