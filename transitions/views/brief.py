from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.models import Account

from ..selectors import handover_brief


def brief(request: HttpRequest, pk: int) -> HttpResponse:
    """One printable page per account with everything the incoming CSM needs."""
    account = get_object_or_404(Account.objects.with_list_columns().prefetch_related("tags"), pk=pk)
    return render(request, "transitions/brief.html", handover_brief(account))
