"""The exchange-rates page: everyone reads the rates and which currencies lack one; admins add, delete and import them."""

from __future__ import annotations

from decimal import Decimal
from operator import attrgetter
from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import ExchangeRate
from core.csv_export import CHUNK_SIZE, Column, columns_response
from core.forms import add_service_errors, form_status
from users.models import User
from users.permissions import can_configure

from . import services
from .forms import ExchangeRateEditForm, ExchangeRateForm, ExchangeRateImportForm
from .selectors import exchange_rates, missing_rate_currencies, reporting_currency

MAX_FILE_BYTES = 2 * 1024 * 1024


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # every page here is behind the login middleware


def _admin(request: HttpRequest) -> User:
    if not can_configure(_user(request)):
        raise PermissionDenied("Only admins change exchange rates.")
    return _user(request)


def _page(
    request: HttpRequest,
    *,
    form: ExchangeRateForm | None = None,
    import_form: ExchangeRateImportForm | None = None,
    result: services.RateImport | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "accounts/money/exchange_rates.html",
        {
            "rates": exchange_rates(),
            "missing": missing_rate_currencies(),
            "reporting_currency": reporting_currency(),
            "can_configure": can_configure(_user(request)),
            "form": form or ExchangeRateForm(),
            "import_form": import_form or ExchangeRateImportForm(),
            "result": result,
        },
        status=status,
    )


# The import's columns first (currency, rate, effective_on), so an export edited in a spreadsheet goes back in.
RATE_EXPORT_COLUMNS: list[Column[ExchangeRate]] = [
    Column("currency", attrgetter("currency")),
    # Without the stored trailing zeros, and never in exponent form (100, not 1E+2).
    Column("rate", lambda rate: Decimal(format(rate.rate_to_reporting.normalize(), "f"))),
    Column("effective_on", attrgetter("effective_on")),
    Column("Added by", lambda rate: str(rate.created_by) if rate.created_by else ""),
    Column("Added", attrgetter("created_at")),
]


def rate_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if request.method != "POST":
        if request.GET.get("format") == "csv":
            rates = exchange_rates().iterator(chunk_size=CHUNK_SIZE)
            return columns_response(f"exchange-rates-to-{reporting_currency()}", RATE_EXPORT_COLUMNS, rates)
        return _page(request)
    actor = _admin(request)
    form = ExchangeRateForm(request.POST)
    if form.is_valid():
        try:
            rate = services.exchange_rate_create(actor=actor, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(
                request, f"{rate.currency} at {rate.rate_to_reporting} from {rate.effective_on:%d %b %Y} added."
            )
            return redirect("exchange-rate-list")
    return _page(request, form=form, status=form_status(form))


@require_POST
def rate_import(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    form = ExchangeRateImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, import_form=form, status=form_status(form))
    upload = form.cleaned_data["file"]
    if upload.size > MAX_FILE_BYTES:
        form.add_error("file", "The file is larger than 2 MB.")
        return _page(request, import_form=form, status=413)
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        form.add_error("file", "The file is not UTF-8 text.")
        return _page(request, import_form=form, status=form_status(form))
    result = services.exchange_rates_import(actor=actor, text=text, dry_run=form.cleaned_data["dry_run"])
    if result.errors:
        return _page(request, import_form=form, result=result, status=422)
    if result.dry_run:
        return _page(request, import_form=form, result=result)
    messages.success(request, f"{result.created} rates added, {result.updated} changed, {result.unchanged} unchanged.")
    return redirect("exchange-rate-list")


def rate_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    rate = get_object_or_404(ExchangeRate, pk=pk)
    form = ExchangeRateEditForm(
        request.POST if request.method == "POST" else None,
        initial={"rate_to_reporting": rate.rate_to_reporting.normalize(), "effective_on": rate.effective_on},
    )
    if form.is_valid():
        try:
            services.exchange_rate_update(actor=actor, rate=rate, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(
                request, f"{rate.currency} at {rate.rate_to_reporting} from {rate.effective_on:%d %b %Y} saved."
            )
            return redirect("exchange-rate-list")
    # Failed saves leave the object as it was read: the heading names the rate being edited.
    rate.refresh_from_db()
    return render(
        request,
        "accounts/money/exchange_rate_edit.html",
        {"rate": rate, "form": form, "reporting_currency": reporting_currency()},
        status=form_status(form) if form.is_bound else 200,
    )


@require_POST
def rate_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    rate = get_object_or_404(ExchangeRate, pk=pk)
    services.exchange_rate_delete(actor=actor, rate=rate)
    messages.success(request, f"{rate.currency} rate from {rate.effective_on:%d %b %Y} deleted.")
    return redirect("exchange-rate-list")
