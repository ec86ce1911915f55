"""Thin Celery tasks for large imports: take the job's id, call the service, leave the job failed if it raises."""

from __future__ import annotations

from celery import shared_task

from . import sweep
from .models import ImportStatus
from .services import import_dry_run, import_execute, import_fail


@shared_task(acks_late=True)
def import_dry_run_task(job_id: int, then_import: bool = False) -> None:
    """The dry run; with `then_import` (the bulk API without dry_run) the import follows when it passed."""
    try:
        job = import_dry_run(job_id=job_id)
        if then_import and job.status == ImportStatus.VALIDATED:
            import_execute(job_id=job_id)
    except Exception as error:
        import_fail(job_id=job_id, error=error)
        raise


@shared_task(acks_late=True)
def import_execute_task(job_id: int) -> None:
    """Running it again after it finished changes nothing (import_execute returns a done job as it is)."""
    try:
        import_execute(job_id=job_id)
    except Exception as error:
        import_fail(job_id=job_id, error=error)
        raise


@shared_task(acks_late=True)
def import_jobs_sweep() -> int:
    """Beat: jobs left in progress by a worker that vanished are failed with the reason (accounts.imports.sweep)."""
    return sweep.import_jobs_sweep()
