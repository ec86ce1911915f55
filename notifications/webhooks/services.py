"""Writes for outbound webhooks: endpoints, queueing events, sending with retries, pausing and resuming.

An event becomes one WebhookDelivery per subscribed endpoint in one insert;
sending happens after commit, one delivery at a time, each try a
WebhookAttempt row. A failure is retried with backoff until MAX_ATTEMPTS; an
endpoint that fails PAUSE_AFTER_FAILURES times in a row, or whose delivery
gives up, is paused and the admins are told under the bell. A paused endpoint
still gets its deliveries written (pending); resuming it sends them.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from users.models import User
from users.permissions import can_configure

from ..models import Notification, NotificationKind
from .addresses import UnsafeURL, check_url
from .models import (
    SUBSCRIBABLE_EVENTS,
    UNFINISHED,
    EndpointState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
)
from .posting import Response, post
from .signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, body_bytes, new_secret, signature

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... failed attempt (plus up to 10% jitter, so a receiver that
# comes back is not hit by every waiting delivery in the same second); the 8th failure gives up.
BACKOFF_SECONDS = (60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600, 6 * 3600, 6 * 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
# Failed attempts in a row, across an endpoint's deliveries, after which the endpoint is paused.
PAUSE_AFTER_FAILURES = 10
# A claimed delivery is not tried again for this long: a worker that died mid-post is picked up after it.
CLAIM_SECONDS = 5 * 60
SWEEP_BATCH = 100
ENDPOINT_FIELDS = ("url", "description", "events")


def _require_admin(actor: User) -> None:
    if not can_configure(actor):
        raise PermissionDenied("Only admins manage webhooks.")


def backoff(attempt: int) -> dt.timedelta:
    """How long to wait after failed attempt number `attempt` (1-based), jitter included."""
    base = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1]
    return dt.timedelta(seconds=base + random.uniform(0, base / 10))  # noqa: S311 - jitter, not a secret


# --- endpoints ------------------------------------------------------------------


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    url = str(fields.get("url") or "").strip()
    if not url:
        errors["url"] = "Give the URL to post to."
    elif len(url) > 500:
        errors["url"] = "The URL is longer than 500 characters."
    else:
        try:
            check_url(url)
        except UnsafeURL as error:
            errors["url"] = str(error)
    events = fields.get("events")
    chosen: set[str] = set()
    if not isinstance(events, list | tuple) or not events:
        errors["events"] = "Choose at least one event."
    else:
        chosen = {str(e) for e in events}
        unknown = sorted(chosen - set(SUBSCRIBABLE_EVENTS))
        if unknown:
            errors["events"] = f"Unknown events: {', '.join(unknown)}."
    description = str(fields.get("description") or "").strip()
    if len(description) > 200:
        errors["description"] = "Keep the description under 200 characters."
    if errors:
        raise ValidationError(errors)
    # Stored in the catalogue's order, once each.
    return {"url": url, "description": description, "events": [e.value for e in SUBSCRIBABLE_EVENTS if e in chosen]}


@transaction.atomic
def webhook_endpoint_create(*, actor: User, fields: dict[str, Any]) -> WebhookEndpoint:
    """Register an endpoint with a new secret; the caller shows `endpoint.secret` this once."""
    _require_admin(actor)
    return WebhookEndpoint.objects.create(**_clean(fields), secret=new_secret(), created_by=actor)


@transaction.atomic
def webhook_endpoint_update(*, actor: User, endpoint: WebhookEndpoint, fields: dict[str, Any]) -> WebhookEndpoint:
    _require_admin(actor)
    merged = {name: getattr(endpoint, name) for name in ENDPOINT_FIELDS} | {
        name: value for name, value in fields.items() if name in ENDPOINT_FIELDS
    }
    for name, value in _clean(merged).items():
        setattr(endpoint, name, value)
    endpoint.save(update_fields=list(ENDPOINT_FIELDS))
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor: User, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its deliveries and attempts: nothing is sent to it any more."""
    _require_admin(actor)
    endpoint.delete()


@transaction.atomic
def webhook_secret_rotate(*, actor: User, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret, in force at once: every delivery from now on (retries included) is signed with it."""
    _require_admin(actor)
    endpoint.secret = new_secret()
    endpoint.secret_rotated_at = timezone.now()
    endpoint.save(update_fields=["secret", "secret_rotated_at"])
    return endpoint


def _pause(endpoint_id: int, *, reason: str, at: dt.datetime) -> bool:
    """Pause an active endpoint and tell every active admin under the bell; False if it was not active."""
    paused = WebhookEndpoint.objects.filter(pk=endpoint_id, state=EndpointState.ACTIVE).update(
        state=EndpointState.PAUSED, paused_at=at, paused_reason=reason[:300]
    )
    if not paused:
        return False
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    url = reverse("webhook-detail", args=[endpoint_id])
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=admin,
                kind=NotificationKind.WEBHOOK_PAUSED,
                title=f"Webhook to {endpoint.host} paused"[:200],
                body=f"{reason} Deliveries wait until an admin resumes it.",
                url=url,
                key=f"webhook_paused:{endpoint_id}:{int(at.timestamp())}",
            )
            for admin in User.objects.filter(is_active=True, role=User.Role.ADMIN)
        ],
        ignore_conflicts=True,
    )
    logger.warning("Webhook endpoint %s paused: %s", endpoint_id, reason)
    return True


@transaction.atomic
def webhook_endpoint_pause(*, actor: User, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """An admin pauses an endpoint by hand (e.g. while its receiver is down for maintenance)."""
    _require_admin(actor)
    if not _pause(endpoint.pk, reason=f"Paused by {actor}.", at=timezone.now()):
        raise ValidationError("This endpoint is already paused.")
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def webhook_endpoint_resume(*, actor: User, endpoint: WebhookEndpoint) -> int:
    """Resume a paused endpoint and send what waited for it, oldest first; returns how many are queued.

    Deliveries that gave up stay as they are: each has "Retry now".
    """
    _require_admin(actor)
    resumed = WebhookEndpoint.objects.filter(pk=endpoint.pk, state=EndpointState.PAUSED).update(
        state=EndpointState.ACTIVE, paused_at=None, paused_reason="", consecutive_failures=0
    )
    if not resumed:
        raise ValidationError("This endpoint is not paused.")
    queued = WebhookDelivery.objects.filter(endpoint=endpoint, status__in=UNFINISHED).update(
        next_attempt_at=timezone.now()
    )
    if queued:
        from .tasks import webhook_deliveries_send_due

        endpoint_id = endpoint.pk
        transaction.on_commit(lambda: webhook_deliveries_send_due.delay(endpoint_id))
    endpoint.refresh_from_db()
    return queued


# --- events ---------------------------------------------------------------------


def webhook_endpoints_for(event_type: str) -> list[WebhookEndpoint]:
    """Every endpoint subscribed to `event_type`, paused ones included (their deliveries wait). One query."""
    return [endpoint for endpoint in WebhookEndpoint.objects.all() if event_type in endpoint.events]


def _send_after_commit(deliveries: list[WebhookDelivery], endpoints: Iterable[WebhookEndpoint]) -> None:
    active = {endpoint.pk for endpoint in endpoints if endpoint.state == EndpointState.ACTIVE}
    ids = [d.pk for d in deliveries if d.endpoint_id in active or d.event_type == WebhookEvent.TEST]
    if ids:
        from .tasks import webhook_deliver

        transaction.on_commit(lambda: [webhook_deliver.delay(pk) for pk in ids])


@transaction.atomic
def webhook_events_queue(
    *, event_type: str, datas: list[dict[str, Any]], endpoints: list[WebhookEndpoint] | None = None
) -> list[int]:
    """One delivery per event in `datas` and subscribed endpoint, sent after commit; returns their ids.

    Each event gets one id, shared by its deliveries to every endpoint and kept across retries.
    """
    if endpoints is None:
        endpoints = webhook_endpoints_for(event_type)
    if not endpoints or not datas:
        return []
    now = timezone.now()
    deliveries = []
    for data in datas:
        event_id = uuid.uuid4()
        payload = {"id": str(event_id), "type": event_type, "created_at": now.isoformat(), "data": data}
        deliveries += [
            WebhookDelivery(
                endpoint=endpoint,
                event_type=event_type,
                event_id=event_id,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint in endpoints
        ]
    created = WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    _send_after_commit(created, endpoints)
    return [d.pk for d in created]


@transaction.atomic
def webhook_test_send(*, actor: User, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Post a test event to this endpoint now, paused or not, so an admin can check a receiver before resuming."""
    _require_admin(actor)
    data = {"message": "A test event from Baton.", "endpoint_id": endpoint.pk, "sent_by": {"id": actor.pk}}
    (pk,) = webhook_events_queue(event_type=WebhookEvent.TEST, datas=[data], endpoints=[endpoint])
    return WebhookDelivery.objects.get(pk=pk)


@transaction.atomic
def webhook_delivery_retry(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Try a failed or given-up delivery again now. One that gave up gets one more attempt."""
    _require_admin(actor)
    if delivery.status not in (WebhookDeliveryStatus.FAILED, WebhookDeliveryStatus.GAVE_UP):
        raise ValidationError("Only failed deliveries can be retried.")
    if delivery.endpoint.is_paused and delivery.event_type != WebhookEvent.TEST:
        raise ValidationError("The endpoint is paused: resume it to send its deliveries.")
    WebhookDelivery.objects.filter(pk=delivery.pk, status=delivery.status).update(
        status=WebhookDeliveryStatus.FAILED, next_attempt_at=timezone.now()
    )
    from .tasks import webhook_deliver

    delivery_id = delivery.pk
    transaction.on_commit(lambda: webhook_deliver.delay(delivery_id))
    delivery.refresh_from_db()
    return delivery


# --- sending ----------------------------------------------------------------------


def _post(delivery: WebhookDelivery) -> Response:
    endpoint = delivery.endpoint
    try:
        # Again at send time: what the name resolves to may have changed since it was saved.
        target = check_url(endpoint.url)
    except UnsafeURL as error:
        return Response(status_code=None, error=f"Refused: {error}", duration_ms=0)
    body = body_bytes(delivery.payload)
    headers = {
        SIGNATURE_HEADER: signature(endpoint.secret, body, timestamp=int(time.time())),
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.event_id),
    }
    return post(target, body=body, headers=headers, timeout=settings.BATON_WEBHOOKS_TIMEOUT)


def _record(delivery: WebhookDelivery, response: Response) -> str:
    """Write the attempt and the delivery's new state; count the endpoint's failures and pause it if due."""
    finished = timezone.now()
    number = delivery.attempt_count
    error = response.error[:500]
    with transaction.atomic():
        if not WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).exists():
            return WebhookDeliveryStatus.GAVE_UP  # its endpoint was deleted while the post was under way
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=finished,
            succeeded=response.ok,
            status_code=response.status_code,
            duration_ms=response.duration_ms,
            error=error,
        )
        unfinished = WebhookDelivery.objects.filter(pk=delivery.pk, status__in=UNFINISHED)
        endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
        common = {"last_status_code": response.status_code, "last_error": error, "last_attempt_at": finished}
        if response.ok:
            unfinished.update(
                status=WebhookDeliveryStatus.SUCCEEDED, next_attempt_at=None, delivered_at=finished, **common
            )
            endpoints.update(consecutive_failures=0)
            return WebhookDeliveryStatus.SUCCEEDED
        gave_up = number >= MAX_ATTEMPTS
        status = WebhookDeliveryStatus.GAVE_UP if gave_up else WebhookDeliveryStatus.FAILED
        unfinished.update(status=status, next_attempt_at=None if gave_up else finished + backoff(number), **common)
        endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
        failures = endpoints.values_list("consecutive_failures", flat=True).first() or 0
        # Only the first time a delivery gives up: a failed "Retry now" of one that gave up does not pause again.
        if gave_up and number == MAX_ATTEMPTS:
            _pause(
                delivery.endpoint_id,
                reason=f"A {delivery.event_type} delivery gave up after {number} attempts (last: {error}).",
                at=finished,
            )
        elif failures >= PAUSE_AFTER_FAILURES:
            _pause(delivery.endpoint_id, reason=f"{failures} failed attempts in a row (last: {error}).", at=finished)
    logger.warning("Webhook delivery %s attempt %s failed: %s", delivery.pk, number, error)
    return status


def webhook_delivery_attempt(*, delivery_id: int) -> str | None:
    """Try one due delivery; returns its new status, or None if it was not due (done, waiting, paused or taken).

    The claim is a conditional update, so two workers never post the same
    delivery at once, and no transaction is open while the receiver is slow.
    """
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.due(at=now)
        .filter(pk=delivery_id)
        .update(attempt_count=F("attempt_count") + 1, next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS))
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    return _record(delivery, _post(delivery))


def webhook_deliveries_sweep(*, endpoint_id: int | None = None, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Try up to `limit` due deliveries, oldest due first; the rest wait for the next sweep."""
    due = WebhookDelivery.objects.due()
    if endpoint_id is not None:
        due = due.filter(endpoint_id=endpoint_id)
    outcome: dict[str, int] = {}
    for pk in due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]:
        status = webhook_delivery_attempt(delivery_id=pk)
        if status is not None:
            outcome[status] = outcome.get(status, 0) + 1
    return outcome
