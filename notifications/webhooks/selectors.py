"""Reads for the webhook pages and API: endpoints with their latest delivery, deliveries with their attempts."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from .models import UNFINISHED, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoints_with_latest() -> QuerySet[WebhookEndpoint]:
    """Every endpoint with its latest delivery's status and time and how many deliveries wait. One query."""
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-pk")
    return WebhookEndpoint.objects.annotate(
        last_status=Subquery(latest.values("status")[:1]),
        last_delivery_at=Subquery(latest.values("created_at")[:1]),
        waiting=Count("deliveries", filter=Q(deliveries__status__in=UNFINISHED)),
    ).order_by("pk")


def deliveries_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, each with its attempts (one more query per page)."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .prefetch_related(Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number")))
        .order_by("-created_at", "-pk")
    )
