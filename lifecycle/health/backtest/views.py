"""Backtest pages (admins only): the list, the "New backtest" form, a report with its progress, and a draft from it."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import INVALID, add_service_errors, form_status
from lifecycle.health.backtest.forms import BacktestForm
from lifecycle.health.backtest.selectors import backtest_list as backtests
from lifecycle.health.backtest.selectors import backtest_with_report, report_for_page
from lifecycle.health.backtest.services import backtest_draft_from_suggestion, backtest_request
from lifecycle.models import Backtest
from users.models import User
from users.permissions import can_configure

PAGE_SIZE = 25


def _admin(request: HttpRequest) -> User:
    user = cast(User, request.user)  # signed in: LoginRequiredMiddleware
    if not can_configure(user):
        raise PermissionDenied("Only admins run backtests.")
    return user


def backtest_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    page = Paginator(backtests(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "lifecycle/backtest/list.html", {"page": page, "backtests": page.object_list})


def backtest_new(request: HttpRequest) -> HttpResponse:
    user = _admin(request)
    form = BacktestForm(request.POST or None, initial=_initial(request))
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            backtest = backtest_request(
                requested_by=user,
                scorecard_id=values["scorecard"].pk,
                baseline_id=values["baseline"].pk if values["baseline"] else None,
                first_day=values["first_day"],
                last_day=values["last_day"],
                horizons=values["horizons"],
                bootstrap_seed=values["bootstrap_seed"],
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Backtest requested: its progress, then its figures, show on this page.")
            return redirect("backtest-detail", pk=backtest.pk)
    return render(request, "lifecycle/backtest/new.html", {"form": form}, status=form_status(form))


def _initial(request: HttpRequest) -> dict:
    # "Backtest this version" links from a scorecard pass ?scorecard=<id>.
    scorecard = request.GET.get("scorecard", "")
    return {"scorecard": int(scorecard)} if scorecard.isdigit() and len(scorecard) < 19 else {}


def _detail(request: HttpRequest, backtest: Backtest, *, status: int = 200, error: str = "") -> HttpResponse:
    context = {"backtest": backtest, "horizons": report_for_page(backtest), "draft_error": error}
    return render(request, "lifecycle/backtest/detail.html", context, status=status)


def backtest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    return _detail(request, get_object_or_404(backtest_with_report(), pk=pk))


def backtest_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled by htmx while the backtest runs; once it has finished, the whole page reloads."""
    _admin(request)
    backtest = get_object_or_404(Backtest.objects.defer("report"), pk=pk)
    response = render(request, "lifecycle/backtest/partials/progress.html", {"backtest": backtest})
    if backtest.finished_at is not None:
        response["HX-Refresh"] = "true"
    return response


@require_POST
def backtest_draft(request: HttpRequest, pk: int) -> HttpResponse:
    """A new draft version of the tested scorecard with the suggested weights; the admin reviews and activates it."""
    user = _admin(request)
    backtest = get_object_or_404(backtest_with_report(), pk=pk)
    horizon = request.POST.get("horizon", "")
    try:
        if not horizon.isdigit() or len(horizon) > 4:
            raise ValidationError("Choose the horizon whose weights to use.")
        draft = backtest_draft_from_suggestion(actor=user, backtest=backtest, horizon=int(horizon))
    except ValidationError as error:
        return _detail(request, backtest, status=INVALID, error=" ".join(error.messages))
    messages.success(request, f"{draft.label} created as a draft with the suggested weights. Nothing was activated.")
    return redirect("scorecard-detail", pk=draft.pk)
