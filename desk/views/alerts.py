"""The alerts inbox: red flags with their accounts, owners and pools, in scope tabs with counts; above them,
for admins and managers, the flood guard's warnings.

The flag actions on each row (acknowledge, snooze, resolve) stay with the flags,
in lifecycle.flags.views.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from lifecycle.flags import selectors as flag_selectors
from lifecycle.flags.forms import SnoozeForm
from users.permissions import can_configure

from ..http import DeskRequest

PAGE_SIZE = 50


def alerts(request: DeskRequest) -> HttpResponse:
    inbox = flag_selectors.inbox_tabs(request.user, request.GET)
    page = Paginator(inbox.pop("flags"), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        **inbox,
        "page": page,
        "rows": flag_selectors.flag_rows(request.user, list(page.object_list)),
        "query_string": params.urlencode(),
        "snooze_default": SnoozeForm.initial_until(),
        # Admins and managers first see any rule that flagged more than its share of the book last night.
        "flood_banner": flag_selectors.flood_banner(request.user),
        "can_configure": can_configure(request.user),
    }
    return render(request, "desk/alerts.html", context)
