"""Thin Celery tasks: ids in, a service call, the service owns the rules."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def bulk_handover_run(bulk_id: int) -> str:
    return services.bulk_handover_run(bulk_id=bulk_id).status


@shared_task(acks_late=True)
def bulk_handovers_sweep() -> dict[str, int]:
    """Beat: runs whose worker died are failed with the reason; runs whose task was lost are sent again."""
    return services.bulk_handovers_sweep()


@shared_task(acks_late=True)
def outbound_emails_sweep() -> dict[str, int]:
    """Beat: customer emails never stay "queued" or "sending" for good (transitions.services.customer_emails)."""
    return services.outbound_emails_sweep()
