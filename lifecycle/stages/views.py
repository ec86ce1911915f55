from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.access import account_for_edit
from accounts.forms import StageChangeForm
from accounts.views import INVALID, account_detail_response
from lifecycle.stages.services import account_stage_change


@require_POST
def stage_change(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    form = StageChangeForm(request.POST, account=account)
    if form.is_valid():
        try:
            change = account_stage_change(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("to_stage", error.messages)
        else:
            messages.success(request, f"Stage changed to {change.get_to_stage_display()}.")
            return redirect("account-detail", pk=account.pk)
    # The 360 page again, with the reason the stage did not change shown on the form.
    return account_detail_response(request, account, status=INVALID, stage_form=form)
