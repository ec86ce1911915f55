"""Bulk handover: pick a book, split it, preview, start all at once (or nothing)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Account
from accounts.money.selectors import reporting_currency
from core.forms import INVALID, add_service_errors
from core.text import counted
from lifecycle.health.filters import AccountHealthFilter
from users.models import User
from users.permissions import can_start_bulk_handover

from .. import services
from ..balancing import Candidate, Item, split
from ..forms import BulkSettingsForm
from ..models import BulkHandover, BulkHandoverStatus
from ..selectors import (
    RENEWAL_WARNING_DAYS,
    accounts_with_active_handover,
    csm_loads,
    health_bands,
    intro_email_count,
    readiness_for_accounts,
)

MAX_BULK_ACCOUNTS = 1000
INLINE_LIMIT = 100  # larger runs go to a worker with a progress bar


def _require_manager(request: HttpRequest) -> None:
    if not can_start_bulk_handover(request.user):
        raise PermissionDenied("Only managers and admins start handovers.")


def _selected_accounts(params: QueryDict):
    account_filter = AccountHealthFilter(params, queryset=Account.objects.with_list_columns().order_by("-arr", "pk"))
    return account_filter, account_filter.qs


def bulk_new(request: HttpRequest) -> HttpResponse:
    """Step 1: choose the accounts (a CSM's book or any filter), the incoming CSMs and how to split."""
    _require_manager(request)
    return _step_one(request, request.GET, BulkSettingsForm())


def _step_one(
    request: HttpRequest, params: QueryDict, settings_form: BulkSettingsForm, *, status: int = 200
) -> HttpResponse:
    """The selection from `params` and the settings form; a submission that failed comes back here with 422."""
    account_filter, accounts = _selected_accounts(params)
    filtered = any(params.get(name) for name in account_filter.form.fields)
    count = accounts.count() if filtered else 0
    sample = list(accounts[:10]) if filtered else []
    owner = account_filter.form.cleaned_data.get("owner") if account_filter.is_valid() else None
    if owner is not None:
        # Handing a book to its current owner makes no sense; keep them off the list.
        settings_form.fields["incoming"].queryset = settings_form.fields["incoming"].queryset.exclude(pk=owner.pk)
    return render(
        request,
        "transitions/bulk_new.html",
        {
            "filter": account_filter,
            "filtered": filtered,
            "count": count,
            "sample": sample,
            "too_many": count > MAX_BULK_ACCOUNTS,
            "max_accounts": MAX_BULK_ACCOUNTS,
            "settings_form": settings_form,
            "query_string": params.urlencode(),
        },
        status=status,
    )


def _converted_total(accounts: list[Account]) -> Decimal:
    """ARR in the reporting currency; accounts without a rate are left out (and named on the page)."""
    return sum((a.arr_reporting for a in accounts if a.arr_reporting is not None), Decimal(0))


def _preview_context(
    request: HttpRequest,
    form: BulkSettingsForm,
    account_ids: list[int],
    assignment: dict[int, int],
) -> dict:
    # Largest first by ARR in the reporting currency; accounts in a currency without a rate last.
    accounts = list(
        Account.objects.with_list_columns()
        .filter(pk__in=account_ids)
        .order_by(F("arr_reporting").desc(nulls_last=True), "pk")
    )
    incoming = list(form.cleaned_data["incoming"])
    loads = csm_loads([u.pk for u in incoming])
    bands = health_bands(account_ids)
    readiness = readiness_for_accounts(account_ids)
    busy = accounts_with_active_handover(account_ids)
    today = timezone.localdate()
    rows = []
    for account in accounts:
        warnings = []
        if account.renewal_date and 0 <= (account.renewal_date - today).days <= RENEWAL_WARNING_DAYS:
            warnings.append(f"Renews in {counted((account.renewal_date - today).days, 'day')}")
        if bands.get(account.pk) == "red":
            warnings.append("Red health band")
        if account.pk in busy:
            warnings.append("Handover already under way")
        rows.append(
            {
                "account": account,
                "to": assignment.get(account.pk),
                "band": bands.get(account.pk),
                "readiness": readiness.get(account.pk),
                "warnings": warnings,
                "busy": account.pk in busy,
            }
        )
    totals = []
    for user in incoming:
        mine = [r["account"] for r in rows if r["to"] == user.pk]
        load = loads[user.pk]
        totals.append(
            {
                "user": user,
                "accounts": len(mine),
                "arr": _converted_total(mine),
                "load_accounts": load.accounts + len(mine),
                "load_arr": load.arr + _converted_total(mine),
                "open_tasks": load.open_tasks,
                "current_accounts": load.accounts,
                "current_arr": load.arr,
            }
        )
    return {
        "form": form,
        "rows": rows,
        "incoming": incoming,
        "totals": totals,
        "total_arr": _converted_total(accounts),
        # Accounts whose currency has no rate count as nothing in these totals: said, never silent.
        "missing": sorted({a.currency for a in accounts if a.arr_reporting is None}),
        "reporting_currency": reporting_currency(),
        "warnings_count": sum(1 for r in rows if r["warnings"]),
        "busy_count": len(busy),
        "inline_limit": INLINE_LIMIT,
    }


@require_POST
def bulk_preview(request: HttpRequest) -> HttpResponse:
    """Step 2: the proposed split with totals and warnings; every row can be changed before starting."""
    _require_manager(request)
    form = BulkSettingsForm(request.POST)
    selection = QueryDict(request.POST.get("account_query", ""))
    _, accounts = _selected_accounts(selection)
    account_ids = list(accounts.values_list("pk", flat=True)[: MAX_BULK_ACCOUNTS + 1])
    # An empty or oversized selection is said in place on step 1 (its count), as are the settings' errors.
    if not form.is_valid() or not account_ids or len(account_ids) > MAX_BULK_ACCOUNTS:
        return _step_one(request, selection, form, status=INVALID)
    incoming = list(form.cleaned_data["incoming"])
    loads = csm_loads([u.pk for u in incoming])
    # Balanced on ARR in the reporting currency; an account whose currency has no rate weighs nothing
    # (the preview names its currency).
    arrs = dict(
        Account.objects.filter(pk__in=account_ids).values_list("pk", Coalesce("arr_reporting", Value(Decimal(0))))
    )
    assignment = split(
        [Item(pk, arrs[pk]) for pk in account_ids],
        [Candidate(u.pk, loads[u.pk].accounts, loads[u.pk].arr, loads[u.pk].open_tasks) for u in incoming],
        form.cleaned_data["strategy"],
    )
    context = _preview_context(request, form, account_ids, assignment)
    context["account_query"] = request.POST.get("account_query", "")
    return render(request, "transitions/bulk_preview.html", context)


@require_POST
def bulk_start(request: HttpRequest) -> HttpResponse:
    """Step 3: start every handover in the (edited) split, or none of them."""
    _require_manager(request)
    form = BulkSettingsForm(request.POST)
    if not form.is_valid():
        return _step_one(request, QueryDict(request.POST.get("account_query", "")), form, status=INVALID)
    allowed = {u.pk for u in form.cleaned_data["incoming"]}
    assignments = [
        (int(key.removeprefix("assign-")), int(value))
        for key, value in request.POST.items()
        if key.startswith("assign-") and value
    ]
    if any(user_id not in allowed for _, user_id in assignments):
        return _preview_again(
            request, form, assignments, error="Every account must go to one of the chosen incoming CSMs."
        )
    settings = {name: form.cleaned_data[name] for name in ("playbook", "reason", "start_date", "target_date", "note")}
    try:
        bulk = services.bulk_handover_create(actor=request.user, assignments=assignments, **settings)
    except ValidationError as error:
        add_service_errors(error, form)
        return _preview_again(request, form, assignments, error=" ".join(error.messages))
    if bulk.total <= INLINE_LIMIT:
        bulk = services.bulk_handover_run(bulk_id=bulk.pk)
        if bulk.status == BulkHandoverStatus.FAILED:
            return _preview_again(request, form, assignments, error=bulk.error, conflicts=bulk.conflicts)
        messages.success(request, f"{bulk.total} handovers started.")
        return redirect(f"{reverse('transition-board')}?bulk={bulk.pk}&status=active")
    from ..tasks import bulk_handover_run

    bulk_handover_run.delay(bulk.pk)
    return redirect("bulk-handover-detail", pk=bulk.pk)


def _preview_again(request, form, assignments, *, error: str, conflicts: list[int] | None = None) -> HttpResponse:
    context = _preview_context(request, form, [a for a, _ in assignments], dict(assignments))
    context.update(
        error=error,
        conflicts=set(conflicts or []),
        account_query=request.POST.get("account_query", ""),
    )
    return render(
        request,
        "transitions/bulk_preview.html",
        context,
        status=409 if conflicts else INVALID,
    )


def bulk_detail(request: HttpRequest, pk: int) -> HttpResponse:
    bulk = get_object_or_404(BulkHandover.objects.select_related("created_by", "playbook"), pk=pk)
    partial = bool(request.htmx)
    template = "transitions/partials/bulk_progress.html" if partial else "transitions/bulk_detail.html"
    context: dict[str, Any] = {"bulk": bulk}
    if not partial and bulk.finished:
        context["intro_emails"] = intro_email_count(cast(User, request.user), bulk_id=bulk.pk)
    return render(request, template, context)
