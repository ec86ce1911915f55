"""Bulk handovers: a recorded request for many handovers, started all at once (inline or by a worker) with progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from users.models import User
from users.permissions import can_start_bulk_handover

from ..models import BulkHandover, BulkHandoverStatus, Playbook
from .transitions import TransitionConflict, _validate_dates, _validate_handover_playbook, transition_bulk_start


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

    Only on PostgreSQL: SQLite allows one writer at a time, and there the bar
    jumps straight to the end.
    """
    from django.db import connections

    if connections["default"].vendor != "postgresql":
        return None, lambda: None
    side = connections.create_connection("default")

    def write(done: int) -> None:
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {BulkHandover._meta.db_table} SET processed = %s WHERE id = %s",
                [done, bulk_id],
            )

    return write, side.close


def bulk_handover_run(*, bulk_id: int) -> BulkHandover:
    """Start a recorded bulk handover. Idempotent: a finished run is left as it is."""
    claimed = BulkHandover.objects.filter(pk=bulk_id, status=BulkHandoverStatus.QUEUED).update(
        status=BulkHandoverStatus.RUNNING
    )
    bulk = BulkHandover.objects.select_related("created_by", "playbook").get(pk=bulk_id)
    if not claimed:
        return bulk
    progress, close = _progress_writer(bulk_id)
    try:
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
    except (ValidationError, PermissionDenied) as error:
        bulk.status = BulkHandoverStatus.FAILED
        bulk.error = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        bulk.processed = 0
        bulk.conflicts = error.account_ids if isinstance(error, TransitionConflict) else []
    else:
        bulk.status = BulkHandoverStatus.DONE
        bulk.processed = bulk.total
    finally:
        close()
    bulk.finished_at = timezone.now()
    bulk.save(update_fields=["status", "error", "processed", "conflicts", "finished_at"])
    return bulk
