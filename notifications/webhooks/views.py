"""/settings/webhooks/: admins register endpoints, see every delivery and attempt, pause, resume and retry.

A secret is shown once, on the page that answers its creation or rotation; it is never shown again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import add_service_errors, form_status
from users.models import User
from users.permissions import can_configure

from . import services
from .forms import WebhookEndpointForm
from .models import WebhookDelivery, WebhookEndpoint
from .selectors import deliveries_of, endpoints_with_latest

PAGE_SIZE = 25


def _admin(request: HttpRequest) -> User:
    user = cast(User, request.user)  # every page here is behind the login middleware
    if not can_configure(user):
        raise PermissionDenied("Only admins manage webhooks.")
    return user


def _endpoint(request: HttpRequest, pk: int) -> tuple[User, WebhookEndpoint]:
    return _admin(request), get_object_or_404(WebhookEndpoint, pk=pk)


def _secret_page(request: HttpRequest, endpoint: WebhookEndpoint, *, created: bool) -> HttpResponse:
    # Rendered in answer to the POST, never stored in a message or session: this is the one time it is shown.
    response = render(
        request, "notifications/webhooks/endpoint_secret.html", {"endpoint": endpoint, "created": created}
    )
    response["Cache-Control"] = "no-store"
    return response


def endpoint_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    return render(request, "notifications/webhooks/endpoint_list.html", {"endpoints": endpoints_with_latest()})


def endpoint_create(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(actor=actor, fields=form.service_fields())
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            return _secret_page(request, endpoint, created=True)
    return render(
        request, "notifications/webhooks/endpoint_form.html", {"form": form, "endpoint": None}, status=form_status(form)
    )


def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor, endpoint = _endpoint(request, pk)
    form = WebhookEndpointForm(request.POST or None, instance=WebhookEndpoint.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_update(actor=actor, endpoint=endpoint, fields=form.service_fields())
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Webhook saved.")
            return redirect("webhook-detail", pk=pk)
    return render(
        request,
        "notifications/webhooks/endpoint_form.html",
        {"form": form, "endpoint": endpoint},
        status=form_status(form),
    )


def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _, endpoint = _endpoint(request, pk)
    page = Paginator(deliveries_of(endpoint), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "page": page,
            "max_attempts": services.MAX_ATTEMPTS,
            "pause_after": services.PAUSE_AFTER_FAILURES,
        },
    )


def _act(request: HttpRequest, pk: int, action: Callable[..., Any], done: str) -> HttpResponse:
    actor, endpoint = _endpoint(request, pk)
    try:
        result = action(actor=actor, endpoint=endpoint)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done.format(result=result))
    return redirect("webhook-detail", pk=pk)


@require_POST
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.webhook_test_send, "Test event sent: its outcome is the newest delivery below.")


@require_POST
def endpoint_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.webhook_endpoint_pause, "Paused: deliveries wait until you resume.")


@require_POST
def endpoint_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.webhook_endpoint_resume, "Resumed: {result} waiting deliveries are being sent.")


@require_POST
def endpoint_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    actor, endpoint = _endpoint(request, pk)
    return _secret_page(request, services.webhook_secret_rotate(actor=actor, endpoint=endpoint), created=False)


@require_POST
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor, endpoint = _endpoint(request, pk)
    services.webhook_endpoint_delete(actor=actor, endpoint=endpoint)
    messages.success(request, f"Webhook to {endpoint.host} deleted.")
    return redirect("webhook-list")


@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    try:
        services.webhook_delivery_retry(actor=actor, delivery=delivery)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Delivery sent again: its newest attempt is below.")
    return redirect("webhook-detail", pk=delivery.endpoint_id)
