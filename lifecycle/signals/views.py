"""Pages for signals people enter: check-in calls, the CSM pulse, CSV import and export.

The check-in and pulse forms are htmx partials the Account 360 embeds (see
`lifecycle.signals.selectors.signals_context`); their own pages serve a plain
browser and deep links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import IntegerField, Model, QuerySet, Value
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.access import account_for_edit
from core.csv_export import CHUNK_SIZE, csv_response
from core.forms import INVALID, add_service_errors, form_status
from lifecycle.models import ProductUsageDaily, PulseRating, UsageDaily
from lifecycle.signals import services as ingest
from lifecycle.signals.filters import FILTERS, ProductUsageDailyFilter
from lifecycle.signals.forms import CheckInForm, PulseForm, SignalImportConfirmForm, SignalImportForm
from lifecycle.signals.selectors import CHECKIN_PREFIX, PULSE_PREFIX, active_questions, last_checkin

RECENT = 10
PREVIEW_ERRORS = 200  # a file with thousands of bad lines shows the first ones and a count


# --- Check-in ------------------------------------------------------------------------------------


def checkin(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the check-in page. POST: log a check-in (htmx gets the partial back)."""
    account = account_for_edit(request.user, pk)
    questions = active_questions()
    form = CheckInForm(request.POST or None, questions=questions, prefix=CHECKIN_PREFIX)
    logged = None
    if request.method == "POST" and form.is_valid():
        try:
            logged = ingest.checkin_log(actor=request.user, account=account, **form.service_kwargs())
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            if not request.htmx:
                messages.success(request, "Check-in logged and added to the timeline.")
                return redirect("account-detail", pk=account.pk)
            form = CheckInForm(questions=questions, prefix=CHECKIN_PREFIX)
    status = form_status(form)
    context = {"account": account, "checkin_form": form, "just_logged": logged, "last_checkin": last_checkin(account)}
    if request.htmx:
        response = render(request, "lifecycle/signals/partials/checkin_form.html", context, status=status)
        if logged:
            # The Account 360 listens for this to reload its timeline.
            response["HX-Trigger"] = "timeline-changed"
        return response
    context["recent"] = (
        account.check_ins.select_related("conducted_by")
        .prefetch_related("answers__question")
        .order_by("-held_at", "-pk")[:RECENT]
    )
    return render(request, "lifecycle/signals/checkin_page.html", context, status=status)


# --- Pulse ----------------------------------------------------------------------------------------


def pulse(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the pulse page with past ratings. POST: rate (htmx gets the partial back)."""
    account = account_for_edit(request.user, pk)
    form = PulseForm(request.POST or None, prefix=PULSE_PREFIX)
    rated = None
    if request.method == "POST" and form.is_valid():
        try:
            rated = ingest.pulse_rate(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            if not request.htmx:
                messages.success(request, f"Pulse set to {ingest.PULSE_LABELS[rated.rating]}.")
                return redirect("account-detail", pk=account.pk)
            form = PulseForm(prefix=PULSE_PREFIX)
    status = form_status(form)
    context = {"account": account, "pulse_form": form, "pulse": ingest.pulse_latest(account), "just_rated": rated}
    if request.htmx:
        return render(request, "lifecycle/signals/partials/pulse_form.html", context, status=status)
    now = timezone.now()
    context["history"] = [
        ingest.PulseView(rating=rating, expired=rating.expires_at <= now)
        for rating in PulseRating.objects.filter(account=account).select_related("rated_by")[:RECENT]
    ]
    return render(request, "lifecycle/signals/pulse_page.html", context, status=status)


# --- CSV import ----------------------------------------------------------------------------------


def signal_import(request: HttpRequest) -> HttpResponse:
    """Upload → preview (a dry run: row-level errors, or what would change) → import.

    Nothing is written unless every line of the file is valid; the import
    step re-checks the previewed text, since data may have changed meanwhile.
    """
    upload_form = SignalImportForm()
    confirm_form = None
    result = None
    if request.method == "POST" and "content" in request.POST:
        confirm = SignalImportConfirmForm(request.POST)
        if not confirm.is_valid():
            messages.error(request, "The previewed file did not come back intact; upload it again.")
            return redirect("signal-import")
        kind, text = confirm.cleaned_data["kind"], confirm.cleaned_data["content"]
        result = ingest.csv_import(kind=kind, text=text, actor=request.user, dry_run=False)
        if result.ok:
            messages.success(
                request,
                f"Imported {result.accepted:,} {ingest.SignalKind(kind).label.lower()} rows: {result.created:,} new, "
                f"{result.updated:,} updated, {result.unchanged:,} unchanged.",
            )
            return redirect("signal-import")
        upload_form = SignalImportForm(initial={"kind": kind})
    elif request.method == "POST":
        upload_form = SignalImportForm(request.POST, request.FILES)
        if upload_form.is_valid():
            kind, text = upload_form.cleaned_data["kind"], upload_form.cleaned_data["file"]
            result = ingest.csv_import(kind=kind, text=text, actor=request.user, dry_run=True)
            if result.ok and result.accepted:
                confirm_form = SignalImportConfirmForm(initial={"kind": kind, "content": text})
            upload_form = SignalImportForm(initial={"kind": kind})
    status = INVALID if (upload_form.is_bound and upload_form.errors) or (result and not result.ok) else 200
    context = {
        "upload_form": upload_form,
        "confirm_form": confirm_form,
        "result": result,
        "errors": result.errors[:PREVIEW_ERRORS] if result else [],
        "column_help": [
            (label, [(column, column in ingest.REQUIRED_COLUMNS[kind]) for column in ingest.SPECS[kind].columns])
            for kind, label in ingest.SignalKind.choices
        ],
        "kinds": ingest.SignalKind.choices,
    }
    return render(request, "lifecycle/signals/import.html", context, status=status)


# --- CSV export ----------------------------------------------------------------------------------


def _export_columns(kind: str, model: type[Model]) -> list[str]:
    """Model columns for the import's columns: the account as its id, a survey's contact as their email,
    a usage row's product as its key (blank on a row for the whole account)."""
    replace = {"account": "account_id", "contact_email": "contact__email"}
    if model is ProductUsageDaily:
        replace["product"] = "product__key"
    elif model is UsageDaily:
        replace["product"] = "no_product"
    return [replace.get(column, column) for column in ingest.SPECS[kind].columns]


def _export_rows(kind: str, querysets: list[QuerySet]) -> Iterator[list[Any]]:
    # A moment is written in full (ISO 8601 with its offset), as the import reads it back, not to the minute.
    for queryset in querysets:
        for row in queryset.values_list(*_export_columns(kind, queryset.model)).iterator(chunk_size=CHUNK_SIZE):
            yield [value.isoformat() if isinstance(value, dt.datetime) else value for value in row]


def _usage_exports(request: HttpRequest, usage: QuerySet) -> list[QuerySet]:
    """The usage rows a feed sent, as the import reads them: whole-account rows, then per-product rows.

    Rows Baton added up from the product rows are left out: importing the file adds them up again.
    """
    account_rows = usage.filter(from_products=False).annotate(no_product=Value("")).order_by("account_id", "day")
    products = ProductUsageDailyFilter(request.GET, queryset=ProductUsageDaily.objects.all()).qs
    product_rows = products.annotate(
        licences_used=Value(None, IntegerField()), licences_owned=Value(None, IntegerField())
    ).order_by("account_id", "product__key", "day")
    return [account_rows, product_rows]


def signal_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Signals as CSV in the import's columns: ?kind=usage|tickets|surveys|invoices, filtered like the
    API list (&account=&since=&until=)."""
    kind = request.GET.get("kind", "")
    if kind not in ingest.SignalKind.values:
        raise Http404("Say which signals to export: ?kind=usage, tickets, surveys or invoices.")
    spec = ingest.SPECS[kind]
    key = ("day",) if spec.model is UsageDaily else spec.key
    signal_filter = FILTERS[kind](request.GET, queryset=spec.model.objects.order_by("account_id", *key))
    if not signal_filter.is_valid():
        return HttpResponse(
            "; ".join(f"{field}: {' '.join(errors)}" for field, errors in signal_filter.errors.items()),
            status=400,
            content_type="text/plain",
        )
    account = signal_filter.form.cleaned_data.get("account")
    scope = f"account-{account.pk}" if account else "all"
    querysets = _usage_exports(request, signal_filter.qs) if spec.model is UsageDaily else [signal_filter.qs]
    # The import's column names rather than labels, so the file goes back in as it came out (the shared
    # writer's byte-order mark is skipped by the upload; a text cell it neutralised keeps its apostrophe).
    return csv_response(f"{kind}-{scope}", ingest.SPECS[kind].columns, _export_rows(kind, querysets))
