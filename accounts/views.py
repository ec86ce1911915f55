from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.forms import INVALID, add_service_errors, form_status
from lifecycle.flags.selectors import COCKPIT_FLAG_LIMIT, flags_for_cockpit, open_flags_for_account
from lifecycle.health.forms import ScoreOverrideForm
from lifecycle.health.selectors import account_health_panel
from lifecycle.signals.views import signals_context
from lifecycle.stages.selectors import stage_history_with_durations
from plans.selectors import account_plans
from transitions.selectors import account_active_transition, account_readiness, tasks_for_cockpit
from users.permissions import can_edit_account, can_manage_transition, can_override_health, can_reassign_account

from . import selectors, services
from .access import account_for_edit
from .forms import AccountForm, ContactForm, CoverageForm, NoteForm, ReassignForm, StageChangeForm, TouchpointForm
from .models import Account, Contact

TIMELINE_PAGE_SIZE = 30


def _account_list_page(request: HttpRequest, *, scope: str, template: str, title: str) -> HttpResponse:
    account_filter, queryset, sort = selectors.account_list(user=request.user, params=request.GET, scope=scope)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(selectors.account_csv_rows(queryset), content_type="text/csv")
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="baton-accounts-{scope}-{stamp}.csv"'
        return response
    page = Paginator(selectors.accounts_for_paging(queryset, sort), 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    context = {
        "title": title,
        "scope": scope,
        "filter": account_filter,
        "page": page,
        "sort": sort,
        "query_string": params.urlencode(),
        "sort_query_string": sort_params.urlencode(),
    }
    if request.htmx and request.htmx.target == "account-table":
        return render(request, "accounts/partials/account_table.html", context)
    if scope == "mine":
        flags = flags_for_cockpit(request.user)
        context.update(
            cockpit_tasks=tasks_for_cockpit(request.user),
            cockpit_flags=flags[:COCKPIT_FLAG_LIMIT],
            more_flags=len(flags) > COCKPIT_FLAG_LIMIT,
        )
    return render(request, template, context)


def cockpit(request: HttpRequest) -> HttpResponse:
    return _account_list_page(request, scope="mine", template="accounts/cockpit.html", title="My accounts")


def account_list(request: HttpRequest) -> HttpResponse:
    return _account_list_page(request, scope="all", template="accounts/account_list.html", title="All accounts")


def account_detail_response(request: HttpRequest, account: Account, *, status: int = 200, **forms: Any) -> HttpResponse:
    """The Account 360 page; `forms` replaces a blank form with a bound one whose errors should show."""
    contacts = list(account.contacts.all())
    can_edit = can_edit_account(request.user, account)
    can_override = can_override_health(request.user, account)
    timeline = list(account.timeline.for_display()[: TIMELINE_PAGE_SIZE + 1])
    context = {
        "account": account,
        "can_edit": can_edit,
        "can_reassign": can_reassign_account(request.user, account),
        "contacts": contacts,
        "org_chart": selectors.org_chart_rows(selectors.account_org_chart(contacts)),
        "timeline": timeline[:TIMELINE_PAGE_SIZE],
        "next_offset": TIMELINE_PAGE_SIZE if len(timeline) > TIMELINE_PAGE_SIZE else None,
        "stage_history": stage_history_with_durations(account),
        "fiscal_year_start": calendar.month_name[account.fiscal_year_start_month],
        "note_form": NoteForm() if can_edit else None,
        "touchpoint_form": TouchpointForm(account=account, prefix="tp") if can_edit else None,
        "stage_form": StageChangeForm(account=account) if can_edit else None,
        "health": account_health_panel(account),
        "flags": open_flags_for_account(account),
        "snooze_default": timezone.localdate() + dt.timedelta(days=7),
        "plans": account_plans(account),
        "active_transition": account_active_transition(account),
        "can_manage_transition": can_manage_transition(request.user, account),
        "readiness": account_readiness(account),
        "can_override_health": can_override,
        "override_form": ScoreOverrideForm() if can_override else None,
    }
    context.update(signals_context(request.user, account))
    context.update(forms)
    return render(request, "accounts/account_detail.html", context, status=status)


def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.with_list_columns().prefetch_related("tags"), pk=pk)
    return account_detail_response(request, account)


def account_create(request: HttpRequest) -> HttpResponse:
    if not (request.user.is_manager or request.user.is_admin):
        raise PermissionDenied("Only managers and admins create accounts.")
    form = AccountForm(request.POST or None)
    coverage_form = CoverageForm(request.POST or None, prefix="cov", user=request.user)
    if request.method == "POST" and form.is_valid() and coverage_form.is_valid():
        try:
            account = services.account_create(
                actor=request.user,
                fields=form.service_fields(),
                tags=form.cleaned_data["tags"],
                **coverage_form.cleaned_data,
            )
        except ValidationError as error:
            add_service_errors(error, form, coverage_form)
        else:
            messages.success(request, f"{account} created.")
            return redirect("account-detail", pk=account.pk)
    return render(
        request,
        "accounts/account_form.html",
        {"form": form, "coverage_form": coverage_form, "title": "New account"},
        status=form_status(form, coverage_form),
    )


def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    # The form edits its own copy so the service can still see the old values it audits.
    form = AccountForm(request.POST or None, instance=Account.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(
                actor=request.user, account=account, fields=form.service_fields(), tags=form.cleaned_data["tags"]
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Account saved.")
            return redirect("account-detail", pk=account.pk)
    return render(
        request,
        "accounts/account_form.html",
        {"form": form, "account": account, "title": f"Edit {account}"},
        status=form_status(form),
    )


def account_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    if not can_reassign_account(request.user, account):
        raise PermissionDenied("Only the team's manager or an admin can change who covers an account.")
    initial = {"coverage": account.coverage, "owner": account.owner, "pool": account.pool}
    form = ReassignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_reassign(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Coverage changed.")
            return redirect("account-detail", pk=account.pk)
    return render(
        request, "accounts/account_reassign.html", {"form": form, "account": account}, status=form_status(form)
    )


def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    form = ContactForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(actor=request.user, account=account, fields=form.service_fields())
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"{contact} added.")
            return redirect("account-detail", pk=account.pk)
    return render(
        request,
        "accounts/contact_form.html",
        {"form": form, "account": account, "title": "New contact"},
        status=form_status(form),
    )


def contact_edit(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, account=account)
    form = ContactForm(request.POST or None, instance=Contact.objects.get(pk=contact.pk), account=account)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(actor=request.user, contact=contact, fields=form.service_fields())
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"{contact} saved.")
            return redirect("account-detail", pk=account.pk)
    return render(
        request,
        "accounts/contact_form.html",
        {"form": form, "account": account, "title": f"Edit {contact}"},
        status=form_status(form),
    )


@require_POST
def contact_verify(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, account=account)
    contact = services.contact_verify(actor=request.user, contact=contact)
    if request.htmx:
        return render(
            request, "accounts/partials/contact_row.html", {"contact": contact, "can_edit": True, "account": account}
        )
    messages.success(request, f"{contact}'s details marked as verified.")
    return redirect("account-detail", pk=account.pk)


def _timeline_response(request: HttpRequest, account: Account, form: BaseForm, form_name: str) -> HttpResponse:
    """After adding to the timeline: htmx gets the form and the refreshed timeline; a plain POST
    gets redirected on success, or the whole page again with the errors on the form."""
    if not request.htmx:
        if form.is_bound and form.errors:
            return account_detail_response(request, account, status=INVALID, **{form_name: form})
        return redirect("account-detail", pk=account.pk)
    timeline = list(account.timeline.for_display()[: TIMELINE_PAGE_SIZE + 1])
    context = {
        "account": account,
        "timeline": timeline[:TIMELINE_PAGE_SIZE],
        "next_offset": TIMELINE_PAGE_SIZE if len(timeline) > TIMELINE_PAGE_SIZE else None,
        form_name: form,
        "can_edit": True,
    }
    template = f"accounts/partials/timeline_with_{form_name}.html"
    return render(request, template, context, status=form_status(form))


@require_POST
def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.timeline_note_add(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            form = NoteForm()
            if not request.htmx:
                messages.success(request, "Note added.")
    return _timeline_response(request, account, form, "note_form")


@require_POST
def touchpoint_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    form = TouchpointForm(request.POST, account=account, prefix="tp")
    if form.is_valid():
        try:
            services.touchpoint_log(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            form = TouchpointForm(account=account, prefix="tp")
            if not request.htmx:
                messages.success(request, "Touchpoint logged.")
    return _timeline_response(request, account, form, "touchpoint_form")


def timeline_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Older timeline entries, loaded in place below the first page."""
    account = get_object_or_404(Account, pk=pk)
    try:
        offset = max(int(request.GET.get("offset", TIMELINE_PAGE_SIZE)), 0)
    except ValueError:
        offset = TIMELINE_PAGE_SIZE
    entries = list(account.timeline.for_display()[offset : offset + TIMELINE_PAGE_SIZE + 1])
    return render(
        request,
        "accounts/partials/timeline_entries.html",
        {
            "account": account,
            "timeline": entries[:TIMELINE_PAGE_SIZE],
            "next_offset": offset + TIMELINE_PAGE_SIZE if len(entries) > TIMELINE_PAGE_SIZE else None,
        },
    )
