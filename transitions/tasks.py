"""Thin Celery tasks: ids in, a service call, the service owns the rules."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def bulk_handover_run(bulk_id: int) -> str:
    return services.bulk_handover_run(bulk_id=bulk_id).status
