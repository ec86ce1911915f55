"""A worker killed during a bulk handover (integration run): no half-started handover, and the run, stuck
"running", is swept and shown failed with its reason; the broker's redelivery of the dead worker's task changes
nothing after that.

The moment is made rather than waited for: another connection holds the incoming CSM's user row, so the run
writes every handover and its "done" and then waits at COMMIT, where PostgreSQL checks the (deferred) foreign
keys. The worker is then SIGKILLed with its pool, and its connections end with it, as when a machine is lost.
"""

from __future__ import annotations

import datetime as dt
import time

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, TimelineEntry
from accounts.tests.factories import AccountFactory
from tests.integration.test_health_recompute_worker import worker_transaction_open, worker_waiting_for_a_lock
from tests.support import wait_until
from transitions import services
from transitions.models import BulkHandoverStatus, Transition, TransitionReason, TransitionTask
from transitions.tasks import bulk_handover_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ACCOUNTS = 40


def test_a_worker_killed_mid_run_leaves_no_handover_and_the_stuck_run_is_swept_as_failed(
    celery_worker_process, client, monkeypatch, manager, outgoing, incoming, playbook, dates
):
    book = AccountFactory.create_batch(ACCOUNTS, owner=outgoing)
    bulk = services.bulk_handover_create(
        actor=manager,
        assignments=[(a.pk, incoming.pk) for a in book],
        playbook=playbook,
        reason=TransitionReason.PROMOTION,
        **dates,
    )
    holder = psycopg2.connect(**connection.get_connection_params())
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1 FROM users_user WHERE id = %s FOR UPDATE", [incoming.pk])
        bulk_handover_run.delay(bulk.pk)

        def written_and_waiting_to_commit() -> bool:
            bulk.refresh_from_db()
            return bulk.processed == ACCOUNTS and worker_waiting_for_a_lock()

        wait_until(
            written_and_waiting_to_commit,
            timeout=60,
            interval=0.05,
            message=f"the run never reached its commit\n{celery_worker_process.log_tail()}",
        )
        assert bulk.status == BulkHandoverStatus.RUNNING  # progress is written on a side connection

        celery_worker_process.kill()
        killed_at = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid NOT IN (pg_backend_pid(), %s)",
                [holder.get_backend_pid()],
            )
        wait_until(
            lambda: not worker_transaction_open(exclude=holder.get_backend_pid()),
            timeout=10,
            message="the killed worker's connections did not end",
        )
    finally:
        holder.rollback()
        holder.close()

    # Not one handover, step, history row or timeline line of the run was left behind.
    assert not Transition.objects.exists() and not TransitionTask.objects.exists()
    assert not AuditEvent.objects.filter(subject_type="transition").exists()
    assert not TimelineEntry.objects.filter(event="transition_started").exists()
    bulk.refresh_from_db()
    assert bulk.status == BulkHandoverStatus.RUNNING and bulk.finished_at is None  # stuck, until the sweep

    minutes = settings.BATON_ABANDONED_JOB_MINUTES
    later = timezone.now() + dt.timedelta(minutes=minutes, seconds=1)
    assert services.bulk_handovers_sweep(now=later)[BulkHandoverStatus.FAILED] == 1
    bulk.refresh_from_db()
    assert bulk.status == BulkHandoverStatus.FAILED
    assert bulk.error.startswith(f"The worker running it stopped: no progress for {minutes} minutes")
    client.force_login(manager)
    page = client.get(reverse("bulk-handover-detail", args=[bulk.pk]), headers={"HX-Request": "true"})
    assert "hx-get" not in page.content.decode() and bulk.error in page.content.decode()

    # "An hour later" the broker hands the dead worker's message to a new worker: the run is not started again.
    visibility_timeout = 1
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", str(visibility_timeout))
    time.sleep(max(0.0, visibility_timeout + 0.5 - (time.monotonic() - killed_at)))
    celery_worker_process.restart()

    def redelivered_and_done() -> bool:
        since_restart = celery_worker_process.log_path.read_text().split("=== starting")[-1]
        return any(f"{bulk_handover_run.name}[" in line and "succeeded" in line for line in since_restart.splitlines())

    wait_until(
        redelivered_and_done,
        timeout=30,
        message=f"the message was not delivered again\n{celery_worker_process.log_tail()}",
    )
    bulk.refresh_from_db()
    assert bulk.status == BulkHandoverStatus.FAILED and not Transition.objects.exists()
