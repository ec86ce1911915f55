"""The bell's pages: my notifications, what I subscribe to, and (admins) deliveries that failed."""

from __future__ import annotations

from operator import attrgetter, methodcaller

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.csv_export import CHUNK_SIZE, Column, columns_response
from core.forms import add_service_errors, form_status
from users.permissions import can_manage_deliveries

from . import services
from .forms import SubscriptionForm
from .models import Delivery, Notification, Subscription

PAGE_SIZE = 30


def notification_list(request: HttpRequest) -> HttpResponse:
    queryset = Notification.objects.for_user(request.user).select_related("flag")
    if request.GET.get("show") == "unread":
        queryset = queryset.unread()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/notification_list.html",
        {
            "page": page,
            "show": request.GET.get("show", "all"),
            "can_manage_deliveries": can_manage_deliveries(request.user),
        },
    )


@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Notification, pk=pk, recipient=request.user)
    notification = services.notification_mark_read(user=request.user, notification_id=pk)
    if request.htmx:
        response = render(request, "notifications/partials/notification_item.html", {"notification": notification})
        # The bell in the navbar refreshes itself on this event.
        response["HX-Trigger"] = "notifications-changed"
        return response
    return redirect(notification.url or "notifications")


@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return redirect("notifications")


def bell(request: HttpRequest) -> HttpResponse:
    """The navbar bell alone, re-fetched by htmx after a notification is read."""
    return render(request, "notifications/partials/bell.html")


def subscription_list(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_create(
                user=request.user, fields=form.service_fields(), rules=form.cleaned_data["rules"]
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Subscription added.")
            return redirect("subscriptions")
    subscriptions = Subscription.objects.filter(user=request.user).prefetch_related("rules")
    return render(
        request,
        "notifications/subscription_list.html",
        {"form": form, "subscriptions": subscriptions},
        status=form_status(form),
    )


def subscription_edit(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk, user=request.user)
    form = SubscriptionForm(request.POST or None, instance=Subscription.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_update(
                subscription=subscription, fields=form.service_fields(), rules=form.cleaned_data["rules"]
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Subscription saved.")
            return redirect("subscriptions")
    return render(
        request,
        "notifications/subscription_form.html",
        {"form": form, "subscription": subscription},
        status=form_status(form),
    )


@require_POST
def subscription_delete(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk, user=request.user)
    subscription.delete()
    messages.success(request, "Subscription removed.")
    return redirect("subscriptions")


def _require_admin(request: HttpRequest) -> None:
    if not can_manage_deliveries(request.user):
        raise PermissionDenied("Only admins see deliveries.")


def _delivery_about(delivery: Delivery) -> str:
    """What the delivery was about, as the page says it: the flag's rule, or a customer email's subject."""
    if delivery.flag:
        return delivery.flag.rule.name
    return delivery.subject


def _delivery_account(delivery: Delivery) -> str:
    if delivery.flag:
        return delivery.flag.account.name
    if delivery.outbound_email:
        return delivery.outbound_email.account.name
    return ""


FAILED_DELIVERY_COLUMNS: list[Column[Delivery]] = [
    Column("ID", attrgetter("pk")),
    Column("Channel", methodcaller("get_channel_display")),
    # Webhook URLs carry a secret in their path: only the host, as on the page.
    Column("To", attrgetter("target_label")),
    Column("Recipient", lambda d: str(d.notification.recipient) if d.notification else ""),
    Column("Account", _delivery_account),
    Column("About", _delivery_about),
    Column("Attempts", attrgetter("attempts")),
    Column("Last error", attrgetter("last_error")),
    Column("Created", attrgetter("created_at")),
]


def delivery_failed_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Admins: deliveries that ran out of attempts, newest first; `?format=csv` exports every one of them."""
    _require_admin(request)
    queryset = Delivery.objects.failed().select_related(
        "flag__account", "flag__rule", "notification__recipient", "outbound_email__account"
    )
    if request.GET.get("format") == "csv":
        return columns_response("failed-deliveries", FAILED_DELIVERY_COLUMNS, queryset.iterator(chunk_size=CHUNK_SIZE))
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/delivery_failed_list.html",
        {"page": page, "pending": Delivery.objects.due().count(), "max_attempts": Delivery.MAX_ATTEMPTS},
    )


@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    delivery = get_object_or_404(Delivery, pk=pk)
    try:
        services.delivery_retry(actor=request.user, delivery=delivery)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Delivery to {delivery.target_label} queued again.")
    return redirect("deliveries-failed")
