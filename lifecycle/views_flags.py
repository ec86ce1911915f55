"""The alerts inbox and the in-place flag actions (acknowledge, snooze, resolve)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.form_errors import INVALID

from . import flag_services, selectors_flags
from .forms_flags import ResolveForm, SnoozeForm
from .models import RedFlag

PAGE_SIZE = 50
SCOPE_LABELS = [("mine", "Mine"), ("team", "My team"), ("all", "All")]
LAYOUTS = {"row": "lifecycle/flags/partials/flag_row.html", "card": "lifecycle/flags/partials/flag_card.html"}


def alerts(request: HttpRequest) -> HttpResponse:
    user = request.user
    scope = request.GET.get("scope")
    if scope not in selectors_flags.SCOPES:
        scope = selectors_flags.default_scope(user)
    counts = selectors_flags.scope_counts(user)
    flag_filter, queryset = selectors_flags.flags_inbox(user=user, scope=scope, params=request.GET)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    tab_params = params.copy()
    tab_params.pop("scope", None)
    context = {
        "scope": scope,
        "scopes": [(key, label, counts[key]) for key, label in SCOPE_LABELS],
        "filter": flag_filter,
        "page": page,
        "rows": selectors_flags.flag_rows(user, list(page.object_list)),
        "query_string": params.urlencode(),
        "tab_query_string": tab_params.urlencode(),
        "snooze_default": SnoozeForm.initial_until(),
    }
    return render(request, "lifecycle/flags/alerts.html", context)


def _respond(request: HttpRequest, flag: RedFlag, *, error: str = "", done: str = "") -> HttpResponse:
    """htmx gets the flag re-rendered in place (row or card); a plain POST goes back where it came from."""
    if request.htmx:
        layout = LAYOUTS.get(request.POST.get("layout", "row"), LAYOUTS["row"])
        context = {
            "flag": flag,
            "can_act": True,
            "error": error,
            "done": done,
            "snooze_default": SnoozeForm.initial_until(),
        }
        return render(request, layout, context, status=INVALID if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "alerts"
    return redirect(target)


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
