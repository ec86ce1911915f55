"""Request ids on requests, responses and log lines; task ids on task log lines; JSON logs when asked for."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from celery import shared_task, signals

from core.logging import ContextFilter, JsonFormatter
from core.request_id import request_id_from

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
