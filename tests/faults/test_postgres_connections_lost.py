"""PostgreSQL restarted under a nightly recompute (integration run): the run completes on retry, with exactly
what an undisturbed run writes and no duplicate row.

A restart ends every client's connection; `pg_terminate_backend` does the same to the worker's connections while
the worker itself lives on, mid-run. Each chunk's writes commit with its "done" mark, so a chunk cut off rolls
back whole; the chunk task retries itself (autoretry with backoff) on a new connection, and a chunk already done
is skipped. The unique constraints of the outputs (one snapshot per account and day, one unresolved flag per rule
and account) would refuse a duplicate; the test also counts them.

The moment is made rather than waited for, as in tests/integration/test_health_recompute_worker.py: another
connection holds an account of the third chunk, so the worker is part-way through the run, waiting, when its
connections are cut.
"""

from __future__ import annotations

import psycopg2
import pytest
from django.db import connection
from django.db.models import Count

from accounts.models import Account
from lifecycle.health.recompute import health_recompute_start
from lifecycle.models import UNRESOLVED, AccountHealth, HealthScore, RecomputeChunk, RedFlag
from tests.integration.test_health_recompute_worker import (
    DAY,
    build_book,
    chunks_done,
    in_process_results,
    recompute_results,
    wait_for,
    wait_for_notifications,
    wait_for_run,
    wipe_recompute_output,
    worker_waiting_for_a_lock,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def cut_every_connection_but(*keep: int) -> int:
    """What a database restart does to its clients: every other connection to the test database ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)",
            [list(keep)],
        )
        return cursor.fetchone()[0]


def test_connections_cut_mid_run_the_nightly_recompute_completes_on_retry_with_no_duplicates(celery_worker_process):
    build_book(200, seed=13)
    baseline = in_process_results()
    wipe_recompute_output()
    held_account = Account.objects.order_by("pk").values_list("pk", flat=True)[100]
    holder = psycopg2.connect(**connection.get_connection_params())
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1 FROM accounts_account WHERE id = %s FOR UPDATE", [held_account])
        run = health_recompute_start(day=DAY, chunk_size=40)
        assert run.chunks_total == 5
        wait_for(
            lambda: chunks_done(run) >= 2 and worker_waiting_for_a_lock(),
            timeout=60,
            interval=0.05,
            explain=lambda: f"{chunks_done(run)} chunks done; the worker never reached the held account.\n"
            f"{celery_worker_process.log_tail()}",
        )
        assert cut_every_connection_but(holder.get_backend_pid()) >= 1
    finally:
        holder.rollback()
        holder.close()
    assert celery_worker_process.is_running  # the worker lives on; only its connections were cut

    wait_for_run(run, celery_worker_process, timeout=120)
    wait_for_notifications(len(baseline["notifications"]), celery_worker_process)

    log = celery_worker_process.log_path.read_text()
    assert "terminating connection due to administrator command" in log or "server closed the connection" in log
    assert "Retry in" in log  # a chunk was cut off, and retried
    assert RecomputeChunk.objects.filter(run=run, attempts__gt=1).exists()
    assert recompute_results() == baseline
    assert HealthScore.objects.filter(day=DAY).count() == AccountHealth.objects.count() == Account.objects.count()
    assert not HealthScore.objects.values("account_id", "day").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert (
        not RedFlag.objects.filter(status__in=UNRESOLVED)
        .values("rule_id", "account_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
