"""An import whose worker vanished does not show "dry run in progress" or "importing" for good."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from accounts.imports.models import ImportJob, ImportStatus
from accounts.imports.sweep import import_jobs_sweep
from accounts.imports.tasks import import_jobs_sweep as import_jobs_sweep_task
from users.tests.factories import ManagerFactory

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 6, 2, 12, 0, tzinfo=dt.UTC)


def job(owner, status: str, *, last_sign_of_life: dt.datetime) -> ImportJob:
    created = ImportJob.objects.create(
        kind="accounts", status=status, file="imports/book.csv", filename="book.csv", created_by=owner
    )
    # auto_now: the progress writes move it; set as the last of them left it.
    ImportJob.objects.filter(pk=created.pk).update(updated_at=last_sign_of_life)
    return created


def test_jobs_in_progress_with_no_sign_of_life_for_longer_than_a_task_may_run_are_failed_with_the_reason(
    client, settings
):
    settings.BATON_ABANDONED_JOB_MINUTES = 35
    owner = ManagerFactory()
    quiet = NOON - dt.timedelta(minutes=35)
    importing = job(owner, ImportStatus.RUNNING, last_sign_of_life=quiet)
    checking = job(owner, ImportStatus.VALIDATING, last_sign_of_life=quiet)
    still_moving = job(owner, ImportStatus.RUNNING, last_sign_of_life=quiet + dt.timedelta(seconds=1))
    finished = job(owner, ImportStatus.DONE, last_sign_of_life=quiet - dt.timedelta(days=1))
    waiting_for_its_mapping = job(owner, ImportStatus.UPLOADED, last_sign_of_life=quiet - dt.timedelta(days=1))

    with time_machine.travel(NOON, tick=False):
        assert import_jobs_sweep() == 2

    for each in (importing, checking, still_moving, finished, waiting_for_its_mapping):
        each.refresh_from_db()
    assert (importing.status, checking.status) == (ImportStatus.FAILED, ImportStatus.FAILED)
    assert importing.message == (
        "The import stopped: its worker made no progress for 35 minutes and nothing was written. Run the dry run again."
    )
    assert checking.message.startswith("The dry run stopped: its worker made no progress for 35 minutes")
    assert importing.finished_at == NOON
    assert (still_moving.status, finished.status, waiting_for_its_mapping.status) == (
        ImportStatus.RUNNING,
        ImportStatus.DONE,
        ImportStatus.UPLOADED,
    )

    client.force_login(owner)
    page = client.get(reverse("import-detail", args=[importing.pk])).content.decode()
    assert "Nothing was imported." in page and "The import stopped: its worker made no progress" in page
    progress = client.get(
        reverse("import-detail", args=[importing.pk]), {"progress": 1}, headers={"HX-Request": "true"}
    )
    assert "hx-get" not in progress.content.decode()  # the bar stops polling


def test_the_beat_task_runs_the_sweep(settings):
    owner = ManagerFactory()
    job(owner, ImportStatus.RUNNING, last_sign_of_life=NOON)
    with time_machine.travel(NOON + dt.timedelta(minutes=settings.BATON_ABANDONED_JOB_MINUTES), tick=False):
        assert import_jobs_sweep_task.delay().get() == 1
    assert settings.CELERY_BEAT_SCHEDULE["accounts-import-jobs-sweep"]["task"] == import_jobs_sweep_task.name


def test_an_import_started_long_after_its_dry_run_is_not_taken_for_abandoned_before_its_worker_starts(
    client, monkeypatch, settings
):
    owner = ManagerFactory()
    checked = job(owner, ImportStatus.VALIDATED, last_sign_of_life=NOON - dt.timedelta(days=1))
    monkeypatch.setattr("accounts.imports.views.runs_in_background", lambda job: True)
    client.force_login(owner)

    with time_machine.travel(NOON, tick=False):
        client.post(reverse("import-run", args=[checked.pk]))  # queued for a worker, which has not started yet
        assert import_jobs_sweep() == 0

    checked.refresh_from_db()
    assert (checked.status, checked.updated_at) == (ImportStatus.RUNNING, NOON)
