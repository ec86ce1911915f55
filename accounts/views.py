"""Accounts' own pages: create, edit and reassign an account, its contacts, and older timeline entries.

The pages that compose other apps' panels (the cockpit, all accounts, the
Account 360, and the note and touchpoint forms that re-render it) live in desk.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import add_service_errors, form_status
from users.models import User
from users.permissions import can_create_account, can_reassign_account

from . import selectors, services
from .access import account_for_edit
from .forms import AccountForm, ContactArchiveForm, ContactForm, CoverageForm, ReassignForm
from .models import Account, Contact
from .segments.rules import tier_by_rules

# The timeline shows this many entries at a time: on the Account 360 (desk) and in each older page here.


def account_create(request: HttpRequest) -> HttpResponse:
    if not can_create_account(request.user):
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
        {"form": form, "account": account, "title": f"Edit {account}", "tier_decision": tier_by_rules(account.pk)},
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


def contact_archive(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    """Take a contact off the people map, saying why; their history stays (contacts are never deleted)."""
    actor = cast(User, request.user)  # the login middleware let only a signed-in user here
    account = account_for_edit(actor, pk)
    contact = get_object_or_404(Contact.objects.active(), pk=contact_pk, account=account)
    form = ContactArchiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.contact_archive(actor=actor, contact=contact, reason=form.cleaned_data["reason"])
        messages.success(request, f"{contact} archived. Restore them from the people map's archived list.")
        return redirect("account-detail", pk=account.pk)
    return render(
        request,
        "accounts/contact_archive.html",
        {"form": form, "account": account, "contact": contact},
        status=form_status(form),
    )


@require_POST
def contact_restore(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    actor = cast(User, request.user)  # the login middleware let only a signed-in user here
    account = account_for_edit(actor, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, account=account)
    services.contact_restore(actor=actor, contact=contact)
    messages.success(request, f"{contact} is back on the people map.")
    return redirect("account-detail", pk=account.pk)


def timeline_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Older timeline entries, loaded in place below the first page."""
    account = get_object_or_404(Account, pk=pk)
    try:
        offset = max(int(request.GET.get("offset", selectors.TIMELINE_PAGE_SIZE)), 0)
    except ValueError:
        offset = selectors.TIMELINE_PAGE_SIZE
    context = {"account": account, **selectors.timeline_window(account, offset=offset)}
    return render(request, "accounts/partials/timeline_entries.html", context)
