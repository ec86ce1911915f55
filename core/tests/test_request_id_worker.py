"""A real worker (prefork, on Redis) writes the id of the request that queued a task on that task's log lines."""

from __future__ import annotations

import json

import pytest
from django.core.signals import request_finished
from django.http import HttpResponse
from django.test import RequestFactory

from core.request_id import RequestIdMiddleware
from csm.celery import app
from tests.support import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def json_logs(monkeypatch):
    """The worker started after this writes JSON lines (it inherits the environment)."""
    monkeypatch.setenv("DJANGO_LOG_FORMAT", "json")


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_task_queued_during_a_request_is_logged_by_the_worker_with_the_requests_id(json_logs, celery_worker_process):
    queued = {}

    def view(request):
        queued["during"] = app.tasks["celery.accumulate"].delay(4, 2).id
        return HttpResponse("queued")

    RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="req-to-worker"))
    request_finished.send(sender=None)
    queued["outside"] = app.tasks["celery.accumulate"].delay(1, 1).id

    def finished(task_id: str) -> dict | None:
        lines = _json_lines(celery_worker_process.log_path.read_text())
        return next((line for line in lines if line.get("task_id") == task_id and "succeeded" in line["message"]), None)

    for task_id in queued.values():
        wait_until(lambda task_id=task_id: finished(task_id), timeout=30, message=celery_worker_process.log_tail())
    assert finished(queued["during"])["request_id"] == "req-to-worker"
    assert "request_id" not in finished(queued["outside"])
