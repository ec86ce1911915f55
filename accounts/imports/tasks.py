"""Thin Celery tasks for large imports: take the job's id, call the service, leave the job failed if it raises."""

from __future__ import annotations

from celery import shared_task

from .services import import_dry_run, import_execute, import_fail


@shared_task(acks_late=True)
def import_dry_run_task(job_id: int) -> None:
    try:
        import_dry_run(job_id=job_id)
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
