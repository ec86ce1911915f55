"""A bulk handover run never stays "running": an error fails it with its reason, a vanished worker's run is swept,
a lost task is sent again, and no run leaves a half-started handover behind."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, TimelineEntry
from accounts.tests.factories import AccountFactory
from transitions import services
from transitions.models import BulkHandover, BulkHandoverStatus, Transition, TransitionReason, TransitionTask
from transitions.services import bulk as bulk_module

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 6, 2, 12, 0, tzinfo=dt.UTC)


def record(manager, outgoing, incoming, playbook, dates, *, accounts: int = 3) -> BulkHandover:
    book = [AccountFactory(owner=outgoing) for _ in range(accounts)]
    return services.bulk_handover_create(
        actor=manager,
        assignments=[(a.pk, incoming.pk) for a in book],
        playbook=playbook,
        reason=TransitionReason.PROMOTION,
        **dates,
    )


def nothing_started() -> bool:
    return not (
        Transition.objects.exists()
        or TransitionTask.objects.exists()
        or TimelineEntry.objects.filter(event="transition_started").exists()
        or AuditEvent.objects.filter(subject_type="transition").exists()
    )


def breaks_after_the_handovers(error: Exception):
    """The real start, then a failure before the run can finish: every handover was written, then the error."""
    real = bulk_module.transition_bulk_start

    def start(**kwargs):
        real(**kwargs)
        assert Transition.objects.count() == len(kwargs["assignments"])  # they were there...
        raise error

    return start


def test_an_unexpected_error_fails_the_run_with_its_reason_and_leaves_no_half_started_handover(
    monkeypatch, manager, outgoing, incoming, playbook, dates
):
    bulk = record(manager, outgoing, incoming, playbook, dates)
    monkeypatch.setattr(bulk_module, "transition_bulk_start", breaks_after_the_handovers(KeyError("owner")))

    bulk = services.bulk_handover_run(bulk_id=bulk.pk)

    assert bulk.status == BulkHandoverStatus.FAILED and bulk.finished_at is not None
    assert bulk.error.startswith("The run stopped on an unexpected error (KeyError); no handover was started.")
    assert bulk.processed == 0
    assert nothing_started()  # ...and went with the run's transaction


def test_a_database_that_stays_locked_fails_the_run_with_a_reason_that_says_so(
    monkeypatch, manager, outgoing, incoming, playbook, dates
):
    bulk = record(manager, outgoing, incoming, playbook, dates)
    monkeypatch.setattr(
        bulk_module, "transition_bulk_start", breaks_after_the_handovers(OperationalError("database is locked"))
    )

    bulk = services.bulk_handover_run(bulk_id=bulk.pk)

    assert bulk.status == BulkHandoverStatus.FAILED
    assert bulk.error.startswith("The database stayed locked by other work for too long; no handover was started.")
    assert nothing_started()


@pytest.mark.django_db(transaction=True)
def test_a_run_that_found_the_database_locked_once_is_run_again_and_starts_every_handover_once(
    monkeypatch, manager, outgoing, incoming, playbook, dates
):
    monkeypatch.setattr("core.db_retry.time.sleep", lambda seconds: None)
    bulk = record(manager, outgoing, incoming, playbook, dates)
    real = bulk_module.transition_bulk_start
    calls = []

    def locked_once(**kwargs):
        calls.append(1)
        real(**kwargs)
        if len(calls) == 1:
            raise OperationalError("database is locked")

    monkeypatch.setattr(bulk_module, "transition_bulk_start", locked_once)

    bulk = services.bulk_handover_run(bulk_id=bulk.pk)

    assert len(calls) == 2
    assert (bulk.status, bulk.processed, bulk.error) == (BulkHandoverStatus.DONE, 3, "")
    assert Transition.objects.filter(bulk=bulk).count() == 3
    assert TimelineEntry.objects.filter(event="transition_started").count() == 3


def test_the_failed_runs_page_stops_polling_and_shows_the_reason(
    client, monkeypatch, manager, outgoing, incoming, playbook, dates
):
    bulk = record(manager, outgoing, incoming, playbook, dates)
    running = client_for(client, manager).get(
        reverse("bulk-handover-detail", args=[bulk.pk]), headers={"HX-Request": "true"}
    )
    assert 'hx-trigger="every 1s"' in running.content.decode()
    monkeypatch.setattr(bulk_module, "transition_bulk_start", breaks_after_the_handovers(KeyError("owner")))
    services.bulk_handover_run(bulk_id=bulk.pk)

    response = client.get(reverse("bulk-handover-detail", args=[bulk.pk]), headers={"HX-Request": "true"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "hx-get" not in page and "Failed" in page
    assert "The run stopped on an unexpected error (KeyError); no handover was started." in page


def client_for(client, user):
    client.force_login(user)
    return client


def test_a_run_whose_worker_vanished_is_failed_by_the_sweep_once_it_shows_no_sign_of_life(
    manager, outgoing, incoming, playbook, dates, settings
):
    settings.BATON_ABANDONED_JOB_MINUTES = 35
    with time_machine.travel(NOON, tick=False):
        abandoned = record(manager, outgoing, incoming, playbook, dates)
        assert bulk_module._claim(abandoned.pk)  # a worker took it, then died: nothing else was written
    with time_machine.travel(NOON + dt.timedelta(minutes=20), tick=False):
        alive = record(manager, outgoing, incoming, playbook, dates)
        assert bulk_module._claim(alive.pk)

    with time_machine.travel(NOON + dt.timedelta(minutes=34), tick=False):
        assert services.bulk_handovers_sweep()[BulkHandoverStatus.FAILED] == 0
    with time_machine.travel(NOON + dt.timedelta(minutes=35), tick=False):
        swept = services.bulk_handovers_sweep()

    assert swept[BulkHandoverStatus.FAILED] == 1
    abandoned.refresh_from_db()
    alive.refresh_from_db()
    assert abandoned.status == BulkHandoverStatus.FAILED and alive.status == BulkHandoverStatus.RUNNING
    assert abandoned.error == (
        "The worker running it stopped: no progress for 35 minutes, and no handover was started. "
        "Start the bulk handover again."
    )
    assert abandoned.finished_at == NOON + dt.timedelta(minutes=35)
    assert nothing_started()


def test_a_run_whose_task_never_arrived_is_sent_again_by_the_sweep(
    manager, outgoing, incoming, playbook, dates, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOON, tick=False):
        lost = record(manager, outgoing, incoming, playbook, dates)  # the broker was down when it was sent
    with time_machine.travel(NOON + bulk_module.QUEUED_RESEND_AFTER - dt.timedelta(seconds=1), tick=False):
        just_queued = record(manager, outgoing, incoming, playbook, dates)

    with (
        time_machine.travel(NOON + bulk_module.QUEUED_RESEND_AFTER, tick=False),
        django_capture_on_commit_callbacks(execute=True),  # the test settings run tasks eagerly
    ):
        assert services.bulk_handovers_sweep()[BulkHandoverStatus.QUEUED] == 1

    lost.refresh_from_db()
    just_queued.refresh_from_db()
    assert (lost.status, just_queued.status) == (BulkHandoverStatus.DONE, BulkHandoverStatus.QUEUED)
    assert Transition.objects.filter(bulk=lost).count() == 3


def test_a_run_whose_handovers_committed_but_not_its_status_is_swept_as_done(
    manager, outgoing, incoming, playbook, dates, settings
):
    """A run of an earlier version wrote its "done" after its handovers; the sweep does not call it failed."""
    with time_machine.travel(NOON, tick=False):
        bulk = record(manager, outgoing, incoming, playbook, dates)
        services.bulk_handover_run(bulk_id=bulk.pk)
        BulkHandover.objects.filter(pk=bulk.pk).update(status=BulkHandoverStatus.RUNNING, processed=0)
    with time_machine.travel(NOON + dt.timedelta(minutes=settings.BATON_ABANDONED_JOB_MINUTES), tick=False):
        assert services.bulk_handovers_sweep()[BulkHandoverStatus.DONE] == 1
    bulk.refresh_from_db()
    assert (bulk.status, bulk.processed) == (BulkHandoverStatus.DONE, 3)


def test_a_finished_run_is_left_alone_by_the_sweep(manager, outgoing, incoming, playbook, dates, settings):
    with time_machine.travel(NOON, tick=False):
        done = services.bulk_handover_run(bulk_id=record(manager, outgoing, incoming, playbook, dates).pk)
    with time_machine.travel(NOON + dt.timedelta(days=2), tick=False):
        assert services.bulk_handovers_sweep() == {"failed": 0, "done": 0, "queued": 0}
    done.refresh_from_db()
    assert done.status == BulkHandoverStatus.DONE and done.finished_at < timezone.now()
