"""Thin webhook tasks: take ids, call a service. Retries live in the delivery rows (next_attempt_at), not in
Celery, so a lost worker or a restarted broker loses nothing: the sweep every minute sends what is due."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def webhook_deliver(delivery_id: int) -> str | None:
    return services.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True)
def webhook_deliveries_send_due(endpoint_id: int | None = None) -> dict[str, int]:
    return services.webhook_deliveries_sweep(endpoint_id=endpoint_id)
