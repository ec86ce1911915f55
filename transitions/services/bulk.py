"""Bulk handovers: a recorded request for many handovers, started all at once (inline or by a worker) with progress.

A run never ends half-way. Its handovers start in one transaction together with the run's "done", so an error or
a worker killed part-way leaves no handover started; an unexpected error fails the run with its reason (the page
stops polling and shows it), and a run whose worker vanished is failed by `bulk_handovers_sweep` (beat) once it
has shown no sign of life for longer than any task may run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from core.db_retry import is_lock_conflict, retry_when_locked
from users.models import User
from users.permissions import can_start_bulk_handover

from ..models import BulkHandover, BulkHandoverStatus, Playbook, Transition
from .transitions import TransitionConflict, _validate_dates, _validate_handover_playbook, transition_bulk_start

logger = logging.getLogger(__name__)

# A run still queued this long after it was recorded lost its task (the broker was unreachable when it was sent,
# or the message was lost): the sweep sends it again. Sending twice is harmless, as only one claim succeeds.
QUEUED_RESEND_AFTER = dt.timedelta(minutes=2)


@transaction.atomic
def bulk_handover_create(
    *,
    actor: User,
    assignments: Sequence[tuple[int, int]],
    playbook: Playbook,
    reason: str,
    start_date: dt.date,
    target_date: dt.date,
    note: str = "",
) -> BulkHandover:
    """Record a bulk handover request; `bulk_handover_run` does the work (inline or in a worker)."""
    if not can_start_bulk_handover(actor):
        raise PermissionDenied("Only managers and admins start handovers.")
    if not assignments:
        raise ValidationError("Choose at least one account to hand over.")
    _validate_dates(start_date, target_date)
    _validate_handover_playbook(playbook)
    return BulkHandover.objects.create(
        created_by=actor,
        playbook=playbook,
        reason=reason,
        note=note,
        start_date=start_date,
        target_date=target_date,
        assignments=[[int(a), int(u)] for a, u in assignments],
        total=len(assignments),
    )


def _progress_writer(
    bulk_id: int,
) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """Progress written on a separate connection, so the poller sees it before the big transaction commits.

    Each write is also the run's sign of life (`progress_at`). Only on PostgreSQL: SQLite allows one writer at
    a time, and there the bar jumps straight to the end.
    """
    from django.db import connections

    if connections["default"].vendor != "postgresql":
        return None, lambda: None
    side = connections.create_connection("default")

    def write(done: int) -> None:
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {BulkHandover._meta.db_table} SET processed = %s, progress_at = %s WHERE id = %s",
                [done, timezone.now(), bulk_id],
            )

    return write, side.close


@retry_when_locked
def _claim(bulk_id: int) -> bool:
    return bool(
        BulkHandover.objects.filter(pk=bulk_id, status=BulkHandoverStatus.QUEUED).update(
            status=BulkHandoverStatus.RUNNING, progress_at=timezone.now()
        )
    )


@retry_when_locked
@transaction.atomic
def _start_all(bulk: BulkHandover, progress: Callable[[int], None] | None) -> None:
    """Every handover of the run, and the run's "done", in one transaction: all of it, or nothing."""
    transition_bulk_start(
        actor=bulk.created_by,
        assignments=[tuple(pair) for pair in bulk.assignments],
        playbook=bulk.playbook,
        reason=bulk.reason,
        start_date=bulk.start_date,
        target_date=bulk.target_date,
        note=bulk.note,
        bulk=bulk,
        progress=progress,
    )
    now = timezone.now()
    BulkHandover.objects.filter(pk=bulk.pk).update(
        status=BulkHandoverStatus.DONE, processed=bulk.total, error="", progress_at=now, finished_at=now
    )


@retry_when_locked
def _fail(bulk_id: int, *, error: str, conflicts: list[int] | None = None) -> None:
    """A running run fails with its reason; nothing else changes (a sweep may have got there first)."""
    BulkHandover.objects.filter(pk=bulk_id, status=BulkHandoverStatus.RUNNING).update(
        status=BulkHandoverStatus.FAILED,
        error=error,
        processed=0,
        conflicts=conflicts or [],
        finished_at=timezone.now(),
    )


def _unexpected(error: Exception) -> str:
    if is_lock_conflict(error):
        return (
            "The database stayed locked by other work for too long; no handover was started. Start the bulk "
            "handover again."
        )
    return (
        f"The run stopped on an unexpected error ({type(error).__name__}); no handover was started. Start the "
        "bulk handover again, or ask an admin to look at the logs."
    )


def bulk_handover_run(*, bulk_id: int) -> BulkHandover:
    """Start a recorded bulk handover. Idempotent: a run already claimed or finished is left as it is.

    It ends done, or failed with a reason the page shows: refused (a conflict, a permission, bad input), or
    stopped by an unexpected error, which is logged and not raised, since the run's row now says what happened.
    """
    claimed = _claim(bulk_id)
    bulk = BulkHandover.objects.select_related("created_by", "playbook").get(pk=bulk_id)
    if not claimed:
        return bulk
    progress, close = _progress_writer(bulk_id)
    try:
        _start_all(bulk, progress)
    except (ValidationError, PermissionDenied) as error:
        _fail(
            bulk_id,
            error=" ".join(error.messages) if isinstance(error, ValidationError) else str(error),
            conflicts=error.account_ids if isinstance(error, TransitionConflict) else [],
        )
    except Exception as error:  # noqa: BLE001 - whatever stopped it, the run must not stay "running"
        logger.exception("Bulk handover %s stopped on an unexpected error", bulk_id)
        _fail(bulk_id, error=_unexpected(error))
    finally:
        close()
    bulk.refresh_from_db()
    return bulk


def abandoned_after() -> dt.timedelta:
    """A run "running" with no sign of life for this long was abandoned: no task outlives the hard time limit."""
    return dt.timedelta(minutes=settings.BATON_ABANDONED_JOB_MINUTES)


@retry_when_locked
@transaction.atomic
def bulk_handovers_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Runs that lost their worker or their task (beat, every few minutes). Returns how many, by what happened.

    - running with no sign of life for longer than `abandoned_after()`: its worker died or was killed, and its
      transaction went with it, so no handover was started: failed with that reason;
    - (a run of an earlier version, whose "done" was written after its handovers, with handovers: done);
    - queued for longer than `QUEUED_RESEND_AFTER`: its task never arrived, and is sent again.
    """
    now = now or timezone.now()
    cutoff = now - abandoned_after()
    stuck = BulkHandover.objects.filter(status=BulkHandoverStatus.RUNNING).filter(
        Q(progress_at__lte=cutoff) | Q(progress_at__isnull=True, created_at__lte=cutoff)
    )
    started = Exists(Transition.objects.filter(bulk=OuterRef("pk")))
    done = stuck.filter(started).update(status=BulkHandoverStatus.DONE, processed=F("total"), finished_at=now)
    minutes = int(abandoned_after().total_seconds() // 60)
    failed = stuck.filter(~started).update(
        status=BulkHandoverStatus.FAILED,
        processed=0,
        finished_at=now,
        error=f"The worker running it stopped: no progress for {minutes} minutes, and no handover was started. "
        "Start the bulk handover again.",
    )
    resend = list(
        BulkHandover.objects.filter(status=BulkHandoverStatus.QUEUED, created_at__lte=now - QUEUED_RESEND_AFTER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if resend:
        from ..tasks import bulk_handover_run as task

        transaction.on_commit(lambda: [task.delay(pk) for pk in resend])
    return {BulkHandoverStatus.FAILED: failed, BulkHandoverStatus.DONE: done, BulkHandoverStatus.QUEUED: len(resend)}
