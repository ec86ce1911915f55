"""Thin tasks: take ids, call a service. Retries live in the Delivery rows, not in Celery,
so a lost worker or a restarted broker loses nothing (the sweep picks pending rows up)."""

from __future__ import annotations

from celery import shared_task

from . import services
from .webhooks.tasks import webhook_deliver, webhook_deliveries_send_due  # noqa: F401 - found by autodiscovery here


@shared_task(acks_late=True)
def flags_notify(flag_ids: list[int]) -> list[int]:
    return services.flags_notify(flag_ids=flag_ids)


@shared_task(acks_late=True)
def delivery_send(delivery_id: int) -> str | None:
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True)
def deliveries_retry_due() -> dict[str, int]:
    return services.deliveries_retry_due()


@shared_task(acks_late=True)
def digests_send() -> list[int]:
    return services.digests_queue()
