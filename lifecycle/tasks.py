"""Thin Celery tasks: take ids, call a recompute service, own retries."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from lifecycle.health import backfill, recompute

RECOMPUTE_DEBOUNCE_SECONDS = 5


@shared_task(acks_late=True)
def recompute_daily() -> int:
    run = recompute.health_recompute_start(day=timezone.localdate())
    return run.pk


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def recompute_chunk(chunk_id: int) -> bool:
    return recompute.health_recompute_chunk(chunk_id=chunk_id)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def recompute_pending_accounts() -> int:
    done = recompute.health_recompute_pending()
    if done == recompute.DEFAULT_CHUNK_SIZE:
        recompute_pending_accounts.delay()
    return done


@shared_task(acks_late=True)
def recompute_resume_stalled() -> int:
    return recompute.health_recompute_resume_stalled()


@shared_task(acks_late=True)
def health_backfill(backfill_id: int) -> None:
    # A day per task, each queueing the next. No automatic retry: a failure is recorded on the
    # request for the admin to read. A redelivery after a lost worker redoes at most one day.
    if backfill.health_backfill_step(backfill_id=backfill_id):
        health_backfill.delay(backfill_id)


@shared_task(acks_late=True)
def backtest_run(backtest_id: int) -> None:
    # One task for the whole run (its progress is written as it goes): at 10,000 outcomes a horizon takes
    # seconds, far inside the time limit. No automatic retry: a failure is recorded on the backtest.
    # A redelivery after a lost worker runs it again from the start; a finished one is left alone.
    # Imported here so that importing the tasks (every worker, every request that queues one) stays light.
    from lifecycle.health.backtest.services import backtest_run as run

    run(backtest_id=backtest_id)
