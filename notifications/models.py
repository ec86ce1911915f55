"""Telling people: in-app notifications, outbound deliveries (email, chat webhook, customer email), subscriptions.

Nothing is silently dropped: every email or webhook is a Delivery row first,
sent by a task afterwards; a failure is recorded on the row and retried with
backoff until it succeeds or runs out of attempts, and then it stays visible
to admins as failed. Customer emails written on a handover step
(transitions.OutboundEmail) go the same way, and each outcome is reported back
to their outbox row, which the CSM sees on the task.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Tier
from lifecycle.models import Severity


class NotificationKind(models.TextChoices):
    FLAG_RAISED = "flag_raised", "Red flag raised"
    FLAG_REOPENED = "flag_reopened", "Red flag re-opened"
    FLOOD_WARNING = "flood_warning", "A rule flagged much of the book"
    WEBHOOK_PAUSED = "webhook_paused", "A webhook endpoint was paused"
    HANDOVER_AWAITING = "handover_awaiting", "A handover awaits your confirmation"


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user) -> NotificationQuerySet:
        return self.filter(recipient=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One message for one person, shown under the bell until read."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True, help_text="Where the notification leads, e.g. the account.")
    flag = models.ForeignKey(
        "lifecycle.RedFlag", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    # What this notification is about, once per recipient: a redelivered task cannot notify twice.
    key = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_recipient_key"),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_recipient_unread"),
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient_id}"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Chat webhook"
    CUSTOMER = "customer", "Customer email"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DeliveryQuerySet(models.QuerySet):
    def due(self, *, at: dt.datetime | None = None) -> DeliveryQuerySet:
        return self.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=at or timezone.now())

    def failed(self) -> DeliveryQuerySet:
        return self.filter(status=DeliveryStatus.FAILED)


class Delivery(models.Model):
    """One email or webhook post, with its rendered content, so a retry sends exactly what was meant.

    A customer email (channel "customer") belongs to the transitions outbox row
    it sends; no other channel has one.
    """

    MAX_ATTEMPTS = 6

    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    flag = models.ForeignKey(
        "lifecycle.RedFlag", null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    # Gone with its outbox row: an email nobody can see on a task any more is not sent.
    outbound_email = models.OneToOneField(
        "transitions.OutboundEmail", null=True, blank=True, on_delete=models.CASCADE, related_name="delivery"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    target = models.CharField(max_length=500, help_text="Email address or webhook URL.")
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text="Plain-text email, or the JSON posted to the webhook.")
    html_body = models.TextField(blank=True)
    # Once per purpose (e.g. "flag_raised:12:1719740000:webhook"), so a redelivered task cannot send twice.
    key = models.CharField(max_length=150, unique=True)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=DeliveryStatus.SENT) | Q(sent_at__isnull=False), name="delivery_sent_has_time"
            ),
            models.CheckConstraint(
                condition=Q(channel=Channel.CUSTOMER, outbound_email__isnull=False)
                | (~Q(channel=Channel.CUSTOMER) & Q(outbound_email__isnull=True)),
                name="delivery_customer_email_has_outbox_row",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_status_due")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.target_label} ({self.get_status_display()})"

    @property
    def target_label(self) -> str:
        """Webhook URLs carry a secret in their path: show only the host."""
        if self.channel == Channel.WEBHOOK:
            from urllib.parse import urlsplit

            return f"{urlsplit(self.target).netloc}/…"
        return self.target


class SubscriptionScope(models.TextChoices):
    MINE = "mine", "My accounts"
    TEAM = "team", "My team's accounts"
    ALL = "all", "All accounts"


class Subscription(models.Model):
    """Which red flags a person wants to hear about beyond their own, and how."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    scope = models.CharField(max_length=8, choices=SubscriptionScope.choices, default=SubscriptionScope.MINE)
    rules = models.ManyToManyField(
        "lifecycle.AlertRule", blank=True, related_name="subscriptions", help_text="None selected: every rule."
    )
    tier = models.CharField(max_length=8, choices=Tier.choices, blank=True, help_text="Blank: any tier.")
    min_severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.LOW)
    email_each_flag = models.BooleanField(default=True, help_text="An email for each matching flag as it is raised.")
    daily_digest = models.BooleanField(default=False, help_text="A morning email of new flags and due work.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "pk"]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_scope_display()}"


# Outbound webhooks live in their own sub-package; imported here so Django loads their models with the app's.
from .webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint  # noqa: E402, F401
