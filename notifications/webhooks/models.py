"""Outbound webhooks: endpoints admins register, one delivery per event and endpoint, one row per attempt.

A delivery is written for every subscribed endpoint, paused or not, so nothing
an endpoint subscribed to is dropped while it is paused; only active endpoints
are sent to, and resuming one sends what waited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookEvent(models.TextChoices):
    FLAG_RAISED = "flag.raised", "Red flag raised or re-opened"
    FLAG_CLEARED = "flag.cleared", "Red flag cleared (its rule stopped firing)"
    FLAG_RESOLVED = "flag.resolved", "Red flag resolved by a person"
    BAND_CHANGED = "band.changed", "Health band changed"
    STAGE_CHANGED = "stage.changed", "Lifecycle stage changed"
    TRANSITION_COMPLETED = "transition.completed", "Handover or playbook completed"
    OUTCOME_RECORDED = "outcome.recorded", "Outcome recorded (renewal, downgrade, churn)"
    # Sent on an admin's "Send test event" to that one endpoint; nobody subscribes to it.
    TEST = "webhook.test", "Test event"


SUBSCRIBABLE_EVENTS = [event for event in WebhookEvent if event != WebhookEvent.TEST]


class EndpointState(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class WebhookEndpoint(models.Model):
    """A URL an admin registered to receive some events, signed with its own secret."""

    url = models.URLField(max_length=500, help_text="Where events are posted (https).")
    description = models.CharField(max_length=200, blank=True)
    # A list of WebhookEvent values (services check it): a handful of endpoints, read whole per event.
    events = models.JSONField(default=list)
    # Kept in the clear: every delivery is signed with it. Shown once, on creation and on rotation.
    secret = models.CharField(max_length=100)
    secret_rotated_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=8, choices=EndpointState.choices, default=EndpointState.ACTIVE)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state=EndpointState.ACTIVE, paused_at__isnull=True, paused_reason="")
                | Q(state=EndpointState.PAUSED, paused_at__isnull=False),
                name="webhookendpoint_paused_has_time",
            ),
            models.CheckConstraint(condition=~Q(secret=""), name="webhookendpoint_has_secret"),
        ]

    def __str__(self) -> str:
        return self.host

    @property
    def host(self) -> str:
        """The URL's host only: receivers often carry a token in the path or query."""
        return urlsplit(self.url).netloc.rpartition("@")[2]

    @property
    def is_paused(self) -> bool:
        return self.state == EndpointState.PAUSED

    def event_labels(self) -> list[str]:
        labels = dict(WebhookEvent.choices)
        return [labels.get(event, event) for event in self.events]


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # not tried yet (or waiting for its paused endpoint)
    FAILED = "failed", "Failed, will retry"
    SUCCEEDED = "succeeded", "Succeeded"
    GAVE_UP = "gave_up", "Gave up"


UNFINISHED = [WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.FAILED]


class WebhookDeliveryQuerySet(models.QuerySet):
    def due(self, *, at: dt.datetime | None = None) -> WebhookDeliveryQuerySet:
        """Unfinished deliveries whose time has come, of active endpoints (a test event goes whatever the state)."""
        return self.filter(status__in=UNFINISHED, next_attempt_at__lte=at or timezone.now()).filter(
            Q(endpoint__state=EndpointState.ACTIVE) | Q(event_type=WebhookEvent.TEST)
        )


class WebhookDelivery(models.Model):
    """One event for one endpoint: the payload, where it stands, and when it is tried next.

    `event_id` names the event, the same for every endpoint and every retry,
    so a receiver can ignore one it has already handled.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=32, choices=WebhookEvent.choices)
    event_id = models.UUIDField(default=uuid.uuid4)
    payload = models.JSONField(help_text="What is posted, as JSON: id, type, created_at and data.")
    status = models.CharField(
        max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhookdelivery_once_per_endpoint"),
            models.CheckConstraint(
                condition=Q(status__in=UNFINISHED, next_attempt_at__isnull=False)
                | (~Q(status__in=UNFINISHED) & Q(next_attempt_at__isnull=True)),
                name="webhookdelivery_unfinished_has_next_attempt",
            ),
            models.CheckConstraint(
                condition=~Q(status=WebhookDeliveryStatus.SUCCEEDED) | Q(delivered_at__isnull=False),
                name="webhookdelivery_succeeded_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhookdelivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One try at posting a delivery: what came back, how long it took, or what went wrong. Append-only."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhookattempt_once_per_number"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.status_code or self.error[:40]}"
