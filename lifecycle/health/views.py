"""Manager overrides of an account's score, set from the health panel of the Account 360.

A valid override goes back to the account; an invalid one answers 422 with a
page of its own showing the form as typed and what is wrong (lifecycle cannot
render the Account 360, which is composed above it).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import account_for_edit
from accounts.models import Account
from core.forms import INVALID, add_service_errors
from lifecycle.health.forms import ScoreOverrideForm
from lifecycle.health.services import score_override_clear, score_override_set
from lifecycle.models import ScoreOverride
from users.permissions import can_override_health


def _account_for_override(request: HttpRequest, pk: int) -> Account:
    account = account_for_edit(request.user, pk)
    if not can_override_health(request.user, account):
        raise PermissionDenied("Only the team's manager or an admin can override a health score.")
    return account


def _override_page(
    request: HttpRequest, account: Account, form: ScoreOverrideForm, *, errors: list[str] | None = None
) -> HttpResponse:
    override = ScoreOverride.objects.in_force().filter(account=account).select_related("set_by").first()
    context = {"account": account, "override_form": form, "override": override, "errors": errors or []}
    return render(request, "lifecycle/health/override_page.html", context, status=INVALID)


@require_POST
def override_set(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_for_override(request, pk)
    form = ScoreOverrideForm(request.POST)
    if form.is_valid():
        try:
            score_override_set(
                actor=request.user,
                account=account,
                score=form.cleaned_data["score"],
                reason=form.cleaned_data["reason"],
                expires_at=form.expires_at(),
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Health score overridden.")
            return redirect("account-detail", pk=account.pk)
    return _override_page(request, account, form)


@require_POST
def override_clear(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_for_override(request, pk)
    try:
        score_override_clear(actor=request.user, account=account, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        return _override_page(request, account, ScoreOverrideForm(), errors=error.messages)
    messages.success(request, "Override cleared; the computed score applies again.")
    return redirect("account-detail", pk=account.pk)
