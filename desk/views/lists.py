"""The cockpit (my desk) and all accounts: one list page with health columns, filters, paging and CSV."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from accounts.money.selectors import missing_rate_currencies, reporting_currency
from accounts.selectors import account_csv_rows, accounts_for_paging, show_churned
from core.csv_export import csv_response
from users.permissions import can_create_account, oversight

from .. import selectors
from ..http import DeskRequest

PAGE_SIZE = 50


def _account_list_page(
    request: DeskRequest, *, scope: str, template: str, title: str
) -> HttpResponse | StreamingHttpResponse:
    account_filter, queryset, sort = selectors.account_list(user=request.user, params=request.GET, scope=scope)
    if request.GET.get("format") == "csv":
        # The page's filters, sort and scope; every matching account, not just this page of them.
        columns = selectors.account_export_columns()
        return csv_response(f"accounts-{scope}", [c.label for c in columns], account_csv_rows(queryset, columns))
    # For "next best first" this pages a NextBestAccounts: not a sequence, but all a Paginator asks is count() and slices.
    rows = accounts_for_paging(queryset, sort)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))  # type: ignore[arg-type]
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    context: dict[str, Any] = {
        "title": title,
        "scope": scope,
        "filter": account_filter,
        "page": page,
        "sort": sort,
        "query_string": params.urlencode(),
        "sort_query_string": sort_params.urlencode(),
        "show_churned": show_churned(request.GET),
    }
    if sort.lstrip("-") == "arr":
        # Sorted by money, accounts whose currency has no rate sort last: say why, in one more query.
        context["missing"] = missing_rate_currencies(queryset)
        context["reporting_currency"] = reporting_currency()
    if request.htmx and request.htmx.target == "account-table":
        return render(request, "desk/partials/account_table.html", context)
    context["can_create_account"] = can_create_account(request.user)
    if scope == "mine":
        context["oversight"] = oversight(request.user)
        context.update(selectors.cockpit_panels(request.user))
    return render(request, template, context)


def cockpit(request: DeskRequest) -> HttpResponse | StreamingHttpResponse:
    return _account_list_page(request, scope="mine", template="desk/cockpit.html", title="My accounts")


def account_list(request: DeskRequest) -> HttpResponse | StreamingHttpResponse:
    return _account_list_page(request, scope="all", template="desk/account_list.html", title="All accounts")
