"""The `celery_worker_process` fixture gives integration tests a real worker they can crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

from csm.celery import app
from tests.support import live_pids_in_group, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _worker_environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_the_worker_answers_a_ping_and_uses_the_test_database_and_broker(
    celery_worker_process,
):
    assert celery_worker_process.ping()

    environment = _worker_environment(celery_worker_process.pid)
    assert environment["DATABASE_URL"].endswith("/" + connection.settings_dict["NAME"])
    assert connection.settings_dict["NAME"].startswith("test_")
    (worker_conf,) = app.control.inspect([celery_worker_process.nodename], timeout=5).conf(with_defaults=True).values()
    assert worker_conf["task_always_eager"] is False
    assert worker_conf["broker_url"].split("@")[-1] == app.conf.broker_url.split("@")[-1]


def test_tasks_sent_from_the_test_are_run_by_the_worker_not_eagerly(
    celery_worker_process,
):
    assert app.conf.task_always_eager is False

    # A task Celery itself registers: domain tasks arrive with their features.
    result = app.tasks["celery.accumulate"].delay(4, 2)

    wait_until(
        lambda: f"celery.accumulate[{result.id}] succeeded" in celery_worker_process.log_path.read_text(),
        timeout=30,
        message=f"the worker never ran the task\n{celery_worker_process.log_tail()}",
    )


def test_a_worker_killed_with_sigkill_is_gone_with_its_pool_and_can_be_restarted(
    celery_worker_process,
):
    old_pid = celery_worker_process.pid
    wait_until(
        lambda: len(live_pids_in_group(old_pid)) == 3,
        timeout=15,
        message="main process and two pool children",
    )

    celery_worker_process.kill()

    assert not celery_worker_process.is_running
    assert live_pids_in_group(old_pid) == set()
    with pytest.raises(ProcessLookupError):
        os.kill(old_pid, 0)
    assert not celery_worker_process.ping(timeout=0.5)

    celery_worker_process.restart()

    assert celery_worker_process.pid != old_pid
    assert celery_worker_process.ping()
    result = app.tasks["celery.accumulate"].delay("after", "restart")
    wait_until(
        lambda: f"celery.accumulate[{result.id}] succeeded" in celery_worker_process.log_path.read_text(),
        timeout=30,
        message=f"the restarted worker never ran the task\n{celery_worker_process.log_tail()}",
    )
