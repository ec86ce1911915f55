"""The in-place flag actions (acknowledge, snooze, resolve), from the alerts inbox, the cockpit or the Account 360;
the flood guard's page (admins set the flood share) and the acknowledging of its warnings.

The inbox page itself is composed in desk (it shows flags with their accounts
and people); an action taken in it answers with the inbox's fresh counts.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from core.forms import INVALID, add_service_errors, form_status
from lifecycle.flags import selectors as selectors_flags
from lifecycle.flags import services as flag_services
from lifecycle.flags.forms import FloodGuardForm, ResolveForm, SnoozeForm
from lifecycle.models import RedFlag
from users.models import User
from users.permissions import can_configure

# What an in-place action sends back: the flag's card (Account 360, cockpit) or its inbox row.
CARD = "lifecycle/flags/partials/flag_card.html"
ROW_RESPONSE = "lifecycle/flags/partials/flag_row_response.html"


def _inbox_after_action(request: HttpRequest, next_url: str) -> dict | None:
    """Tab and result counts for the inbox the action was taken in (its URL is `next_url`), else None."""
    target = urlsplit(next_url)
    if target.path != reverse("alerts"):
        return None
    # Every page is behind LoginRequiredMiddleware: the user is signed in.
    inbox = selectors_flags.inbox_tabs(cast(User, request.user), QueryDict(target.query))
    inbox["flag_count"] = inbox.pop("flags").count()
    return inbox


def _respond(request: HttpRequest, flag: RedFlag, *, error: str = "", done: str = "") -> HttpResponse:
    """htmx gets the flag re-rendered in place (row or card); a plain POST goes back where it came from.

    A row changed in the inbox also brings the inbox's counts up to date, so
    the tabs never claim flags that were just snoozed or resolved.
    """
    next_url = _safe_next(request)
    if request.htmx:
        layout = request.POST.get("layout", "row")
        context = {
            "flag": flag,
            "can_act": True,
            "error": error,
            "done": done,
            "snooze_default": SnoozeForm.initial_until(),
            # The re-rendered forms go on returning to the page they are on, not to this action.
            "next_url": next_url,
        }
        status = INVALID if error else 200
        if layout == "card":
            return render(request, CARD, context, status=status)
        context["inbox"] = None if error else _inbox_after_action(request, next_url)
        return render(request, ROW_RESPONSE, context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(next_url or "alerts")


def _safe_next(request: HttpRequest) -> str:
    """The page the action was taken on, if it is one of ours; else ""."""
    target = request.POST.get("next", "")
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else ""


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_POST
def flag_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    flag = flag_services.flag_for_action(request.user, pk)
    try:
        flag = flag_services.flag_acknowledge(actor=request.user, flag=flag)
    except ValidationError as error:
        return _respond(request, flag, error=_messages(error))
    return _respond(request, flag, done="Acknowledged.")


@require_POST
def flag_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    flag = flag_services.flag_for_action(request.user, pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return _respond(request, flag, error="Pick the date the flag should come back.")
    try:
        flag = flag_services.flag_snooze(actor=request.user, flag=flag, until=form.cleaned_data["until"])
    except ValidationError as error:
        return _respond(request, flag, error=_messages(error))
    return _respond(request, flag, done=f"Snoozed until {form.cleaned_data['until']:%d %b %Y}.")


@require_POST
def flag_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    flag = flag_services.flag_for_action(request.user, pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _respond(request, flag, error="Say what was done to resolve the flag.")
    try:
        flag = flag_services.flag_resolve(actor=request.user, flag=flag, note=form.cleaned_data["note"])
    except ValidationError as error:
        return _respond(request, flag, error=_messages(error))
    return _respond(request, flag, done="Resolved.")


# --- the flood guard ---------------------------------------------------------------

FLOOD_BANNER = "lifecycle/flags/partials/flood_warnings.html"


class FlagsRequest(HttpRequest):
    """For type checking only: a request behind HtmxMiddleware has `htmx` (lifecycle sits below desk's DeskRequest)."""

    htmx: HtmxDetails


@require_POST
def flood_warning_acknowledge(request: FlagsRequest, pk: int) -> HttpResponse:
    """An admin or a manager has seen it: htmx gets the banner back without it, a plain POST goes back."""
    user = cast(User, request.user)
    warning = flag_services.flood_warning_for_action(user, pk)
    flag_services.flood_warning_acknowledge(actor=user, warning=warning)
    if request.htmx:
        context = {
            "flood_banner": selectors_flags.flood_banner(user),
            "can_configure": can_configure(user),
            # The remaining warnings' forms go on returning to the page they are on.
            "next_url": _safe_next(request),
        }
        return render(request, FLOOD_BANNER, context)
    messages.success(request, f"Flood warning for {warning.rule} on {warning.day:%d %b %Y} acknowledged.")
    return redirect(_safe_next(request) or "alerts")


def flood_guard(request: HttpRequest) -> HttpResponse:
    """The flood share (admins set it) and the latest warnings; a bad share answers 422 with the form's errors."""
    user = cast(User, request.user)
    if not can_configure(user):
        raise PermissionDenied("Only admins configure alert rules.")
    current = selectors_flags.alert_settings()
    form = FloodGuardForm(request.POST or None, initial={"flood_share": current.flood_share})
    if request.method == "POST" and form.is_valid():
        try:
            flag_services.alert_settings_update(actor=user, flood_share=form.cleaned_data["flood_share"])
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"Flood share set to {form.cleaned_data['flood_share']:g}.")
            return redirect("flood-guard")
    context = {"form": form, "settings": current, "warnings": selectors_flags.recent_flood_warnings()}
    return render(request, "lifecycle/flags/flood_guard.html", context, status=form_status(form))
