from __future__ import annotations

from django.contrib import admin, messages

from . import services
from .models import Delivery, DeliveryStatus, Notification, Subscription
from .webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "title", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    list_select_related = ["recipient"]
    search_fields = ["title", "recipient__username"]
    date_hierarchy = "created_at"
    raw_id_fields = ["recipient", "flag"]
    show_full_result_count = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "channel",
        "target_label",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["target", "subject", "last_error"]
    date_hierarchy = "created_at"
    raw_id_fields = ["notification", "flag"]
    readonly_fields = ["key", "attempts", "sent_at", "created_at"]
    actions = ["retry_failed"]
    show_full_result_count = False

    @admin.action(description="Retry the selected failed deliveries")
    def retry_failed(self, request, queryset) -> None:
        retried = 0
        for delivery in queryset.filter(status=DeliveryStatus.FAILED):
            services.delivery_retry(actor=request.user, delivery=delivery)
            retried += 1
        messages.success(request, f"{retried} deliver{'y' if retried == 1 else 'ies'} queued again.")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "scope", "tier", "min_severity", "email_each_flag", "daily_digest"]
    list_filter = ["scope", "min_severity", "daily_digest"]
    list_select_related = ["user"]
    filter_horizontal = ["rules"]


class _ReadOnly(admin.ModelAdmin):
    """Webhooks are changed at /settings/webhooks/, where URLs are checked; the admin only looks."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_ReadOnly):
    list_display = ["host", "state", "consecutive_failures", "paused_at", "created_at"]
    list_filter = ["state"]
    exclude = ["secret"]  # shown once, to the admin who made or rotated it


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly):
    list_display = ["created_at", "endpoint", "event_type", "status", "attempt_count", "last_status_code"]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint"]
    search_fields = ["event_id", "last_error"]
    date_hierarchy = "created_at"
    show_full_result_count = False
