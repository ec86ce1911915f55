"""The alerts inbox: red flags with their accounts, owners and pools, in scope tabs with counts; above them,
for admins and managers, the flood guard's warnings. `?format=csv` exports the tab and filters on screen.

The flag actions on each row (acknowledge, snooze, resolve) stay with the flags,
in lifecycle.flags.views.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from core.csv_export import CHUNK_SIZE, columns_response
from lifecycle.flags import selectors as flag_selectors
from lifecycle.flags.forms import SnoozeForm
from users.permissions import can_configure

from ..http import DeskRequest

PAGE_SIZE = 50


def alerts(request: DeskRequest) -> HttpResponse | StreamingHttpResponse:
    if request.GET.get("format") == "csv":
        # The tab and filters on screen, every flag they match rather than this page of them.
        scope = flag_selectors.inbox_scope(request.user, request.GET)
        _, flags = flag_selectors.flags_inbox(user=request.user, scope=scope, params=request.GET)
        return columns_response(
            f"alerts-{scope}", flag_selectors.flag_export_columns(), flags.iterator(chunk_size=CHUNK_SIZE)
        )
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
