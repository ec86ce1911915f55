from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.access import account_for_edit
from lifecycle.health.forms import ScoreOverrideForm
from lifecycle.health.services import score_override_clear, score_override_set
from users.permissions import can_override_health


def _account_for_override(request: HttpRequest, pk: int):
    account = account_for_edit(request.user, pk)
    if not can_override_health(request.user, account):
        raise PermissionDenied("Only the team's manager or an admin can override a health score.")
    return account


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
            messages.error(request, "The override was not saved: " + " ".join(error.messages))
        else:
            messages.success(request, "Health score overridden.")
    else:
        messages.error(
            request, "The override was not saved: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        )
    return redirect("account-detail", pk=account.pk)


@require_POST
def override_clear(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account_for_override(request, pk)
    try:
        score_override_clear(actor=request.user, account=account, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Override cleared; the computed score applies again.")
    return redirect("account-detail", pk=account.pk)
