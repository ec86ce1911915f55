from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.forms import StageChangeForm
from accounts.access import account_for_edit

from .services import account_stage_change


@require_POST
def stage_change(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    form = StageChangeForm(request.POST, account=account)
    if form.is_valid():
        try:
            change = account_stage_change(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Stage changed to {change.get_to_stage_display()}.")
    else:
        messages.error(request, "The stage was not changed: " + "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect("account-detail", pk=account.pk)
