"""Imports whose worker vanished: a job shown "dry run in progress" or "importing" for good is failed with the reason.

A pass writes its progress as it goes (`updated_at` moves with it on PostgreSQL) and its outcome when it ends, and an
import writes all its rows in one transaction, so a worker killed part-way leaves nothing written and the job in
progress for ever. No task outlives the worker's hard time limit: a job in progress with no sign of life for
`settings.BATON_ABANDONED_JOB_MINUTES` (longer than that limit) was abandoned, and the beat sweep fails it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from core.db_retry import retry_when_locked

from .models import ImportJob, ImportStatus


@retry_when_locked
def import_jobs_sweep(*, now: dt.datetime | None = None) -> int:
    """Fail every job in progress with no sign of life for longer than a task may run; returns how many."""
    now = now or timezone.now()
    minutes = settings.BATON_ABANDONED_JOB_MINUTES
    stale = ImportJob.objects.filter(updated_at__lte=now - dt.timedelta(minutes=minutes))
    what = {
        ImportStatus.VALIDATING: "The dry run stopped",
        ImportStatus.RUNNING: "The import stopped",
    }
    failed = 0
    for status, stopped in what.items():
        failed += stale.filter(status=status).update(
            status=ImportStatus.FAILED,
            message=f"{stopped}: its worker made no progress for {minutes} minutes and nothing was written. "
            "Run the dry run again.",
            finished_at=now,
            updated_at=now,
        )
    return failed
