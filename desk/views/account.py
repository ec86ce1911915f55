"""The Account 360, and the forms on it whose errors re-render the whole page.

A plain (non-htmx) POST of a note, a touchpoint, an outcome or a stage change
that does not validate answers 422 with the 360 again, the typed values kept;
that is why these views live here, with the page, rather than in the app whose
service they call.

Forms hidden when the page loads (the touchpoint tab, the pulse tab, the outcome form's disclosure) are not
rendered with it: the page's forms were a large part of its rendering time, whether or not anyone opened them.
Their tab or disclosure fetches the form when it is opened, from a GET of the URL the form posts to
(desk/partials/form_on_open.html); a form sent back with errors is rendered in place, as before.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.access import account_for_edit
from accounts.forms import NoteForm, StageChangeForm, TouchpointForm
from accounts.models import Account, OutcomeSource
from accounts.org_chart import org_chart_layout
from accounts.outcomes.forms import OutcomeForm
from accounts.outcomes.selectors import account_outcomes
from accounts.outcomes.services import outcome_record
from accounts.products.selectors import account_entitlements
from core.forms import INVALID, add_service_errors, form_status
from lifecycle.flags.selectors import open_flags_for_account
from lifecycle.health.forms import ScoreOverrideForm
from lifecycle.health.selectors import account_health_panel
from lifecycle.signals.selectors import signals_context
from lifecycle.stages.selectors import stage_history_with_durations
from lifecycle.stages.services import account_stage_change
from plans.selectors import account_plans
from transitions.selectors import account_readiness, account_runs
from users.permissions import (
    can_edit_account,
    can_import_outcomes,
    can_manage_transition,
    can_override_health,
    can_reassign_account,
)

from ..http import DeskRequest

OUTCOME_PREFIX = "oc"


def account_detail_response(request: DeskRequest, account: Account, *, status: int = 200, **forms: Any) -> HttpResponse:
    """The Account 360 page; `forms` replaces a blank form with a bound one whose errors should show."""
    user = request.user
    # One query for everyone; archived contacts are listed apart, to be restored, and left off the map.
    everyone = list(account.contacts.all())
    contacts = [contact for contact in everyone if contact.archived_at is None]
    archived_contacts = [contact for contact in everyone if contact.archived_at is not None]
    org_trees = account_selectors.account_org_chart(contacts, archived=archived_contacts)
    can_edit = can_edit_account(user, account)
    can_override = can_override_health(user, account)
    outcomes = account_outcomes(account)
    runs = account_runs(account)
    context: dict[str, Any] = {
        "account": account,
        "can_edit": can_edit,
        "can_reassign": can_reassign_account(user, account),
        "contacts": contacts,
        "archived_contacts": archived_contacts,
        "org_chart": account_selectors.org_chart_rows(org_trees),
        "org_chart_layout": org_chart_layout(org_trees),
        **account_selectors.timeline_window(account),
        "stage_history": stage_history_with_durations(account),
        "fiscal_year_start": calendar.month_name[account.fiscal_year_start_month],
        "note_form": NoteForm() if can_edit else None,
        # Behind its tab: fetched when opened, unless a POST sent it back with errors (`forms`).
        "touchpoint_form": None,
        "stage_form": StageChangeForm(account=account) if can_edit else None,
        "health": account_health_panel(account),
        "flags": open_flags_for_account(account),
        "snooze_default": timezone.localdate() + dt.timedelta(days=7),
        "plans": account_plans(account),
        "active_transition": runs.handover,
        "save_plays": runs.save_plays,
        "can_manage_transition": can_manage_transition(user, account),
        "readiness": account_readiness(account),
        "can_override_health": can_override,
        "override_form": ScoreOverrideForm() if can_override else None,
        "outcomes": outcomes,
        # Behind "Record outcome": fetched when opened, unless a POST sent it back with errors (`forms`).
        "outcome_form": None,
        "can_import_outcomes": can_import_outcomes(user),
        "entitlements": account_entitlements(account),
    }
    context.update(signals_context(user, account))
    # The pulse sits behind its tab: fetched when opened (the pulse view answers htmx with the partial).
    context["pulse_form"] = None
    context["pulse_on_open"] = can_edit
    context.update(forms)
    return render(request, "desk/account_detail.html", context, status=status)


def account_detail(request: DeskRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.with_list_columns().prefetch_related("tags"), pk=pk)
    return account_detail_response(request, account)


@require_POST
def stage_change(request: DeskRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    form = StageChangeForm(request.POST, account=account)
    if form.is_valid():
        try:
            change = account_stage_change(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"Stage changed to {change.get_to_stage_display()}.")
            return redirect("account-detail", pk=account.pk)
    # The 360 page again, with the reason the stage did not change shown on the form.
    return account_detail_response(request, account, status=INVALID, stage_form=form)


def _timeline_response(request: DeskRequest, account: Account, form: BaseForm, form_name: str) -> HttpResponse:
    """After adding to the timeline: htmx gets the form and the refreshed timeline; a plain POST
    gets redirected on success, or the whole page again with the errors on the form."""
    if not request.htmx:
        if form.is_bound and form.errors:
            return account_detail_response(request, account, status=INVALID, **{form_name: form})
        return redirect("account-detail", pk=account.pk)
    context = {"account": account, **account_selectors.timeline_window(account), form_name: form, "can_edit": True}
    template = f"accounts/partials/timeline_with_{form_name}.html"
    return render(request, template, context, status=form_status(form))


@require_POST
def note_add(request: DeskRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            account_services.timeline_note_add(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            form = NoteForm()
            if not request.htmx:
                messages.success(request, "Note added.")
    return _timeline_response(request, account, form, "note_form")


def _form_response(
    request: DeskRequest,
    account: Account,
    form: BaseForm,
    form_name: str,
    *,
    heading: str,
    template: str | None = None,
) -> HttpResponse:
    """A blank form of the 360 when its tab is opened: the form alone to htmx, else a page of its own."""
    template = template or f"accounts/partials/{form_name}.html"
    context = {"account": account, form_name: form}
    if request.htmx:
        return render(request, template, context)
    page_context = {**context, "heading": heading, "form_template": template, "own_page": True}
    return render(request, "desk/account_form_page.html", page_context)


@require_http_methods(["GET", "POST"])
def touchpoint_add(request: DeskRequest, pk: int) -> HttpResponse:
    """GET: the blank touchpoint form (the 360's tab fetches it when opened). POST: log a touchpoint."""
    account = account_for_edit(request.user, pk)
    if request.method == "GET":
        form = TouchpointForm(account=account, prefix="tp")
        return _form_response(request, account, form, "touchpoint_form", heading="Log a touchpoint")
    form = TouchpointForm(request.POST, account=account, prefix="tp")
    if form.is_valid():
        try:
            account_services.touchpoint_log(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            form = TouchpointForm(account=account, prefix="tp")
            if not request.htmx:
                messages.success(request, "Touchpoint logged.")
    return _timeline_response(request, account, form, "touchpoint_form")


@require_http_methods(["GET", "POST"])
def outcome_add(request: DeskRequest, pk: int) -> HttpResponse:
    """GET: the blank outcome form (the 360's "Record outcome" fetches it when opened).
    POST: record an outcome (or a correction) from the 360's "Renewals and outcomes" panel.

    htmx gets the panel back: refreshed with a blank form (closed, ready for the next one), or at 422
    with the form as typed; a plain POST is redirected to the 360, or gets the whole page at 422.
    """
    account = account_for_edit(request.user, pk)
    outcomes = account_outcomes(account)
    if request.method == "GET":
        form = OutcomeForm(account=account, outcomes=outcomes, prefix=OUTCOME_PREFIX)
        template = "accounts/outcomes/partials/outcome_form.html"
        return _form_response(request, account, form, "outcome_form", heading="Record an outcome", template=template)
    form = OutcomeForm(request.POST, account=account, outcomes=outcomes, prefix=OUTCOME_PREFIX)
    recorded = None
    if form.is_valid():
        try:
            recorded = outcome_record(
                actor=request.user, account=account, source=OutcomeSource.PAGE, **form.service_kwargs()
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            if not request.htmx:
                messages.success(request, f"{recorded.get_kind_display()} recorded.")
                return redirect("account-detail", pk=account.pk)
            outcomes = account_outcomes(account)
            form = OutcomeForm(account=account, outcomes=outcomes, prefix=OUTCOME_PREFIX)
    if not request.htmx:
        return account_detail_response(request, account, status=INVALID, outcome_form=form)
    context = {
        "account": account,
        "outcomes": outcomes,
        "outcome_form": form,
        "can_edit": True,
        "can_import_outcomes": can_import_outcomes(request.user),
        "just_recorded": recorded,
    }
    response = render(request, "accounts/outcomes/partials/outcomes_panel.html", context, status=form_status(form))
    if recorded is not None:
        # The timeline listens for this to show the outcome's system event.
        response["HX-Trigger"] = "timeline-changed"
    return response
