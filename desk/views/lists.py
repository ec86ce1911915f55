"""The cockpit (my desk) and all accounts: one list page with health columns, filters, paging and CSV."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.functional import cached_property

from accounts.models import Account
from accounts.money.selectors import missing_rate_currencies, reporting_currency
from accounts.selectors import NextBestAccounts, account_csv_rows, accounts_for_paging, show_churned
from core.csv_export import csv_response
from users.permissions import can_create_account, oversight

from .. import selectors
from ..http import DeskRequest

PAGE_SIZE = 50
# Pages counted, from the one asked for on. Counting a whole desk read every account on it (100,000 index
# entries for an admin) on every view; past this the first page says "1,000+ accounts" and "Last" counts them all.
PAGES_COUNTED = 20
LAST_PAGE = "last"


class CountedAheadPaginator(Paginator):
    """Counts the matching accounts only as far as `PAGES_COUNTED` pages from the page asked for.

    `bounded` says the count stopped there and there are more: the page shows "1,000+ accounts", "of 20+".
    `exact=True` (the "Last" link) counts them all, as a plain Paginator does.
    """

    def __init__(self, accounts: QuerySet[Account] | NextBestAccounts, *, page: str | None, exact: bool) -> None:
        super().__init__(accounts, PAGE_SIZE)  # type: ignore[arg-type]
        self._accounts = accounts.accounts if isinstance(accounts, NextBestAccounts) else accounts.order_by()
        self._limit = None if exact else (_page_number(page) - 1 + PAGES_COUNTED) * PAGE_SIZE

    @cached_property
    def count(self) -> int:
        if self._limit is None:
            return self._accounts.count()
        # One row past the limit tells "exactly the limit" from "more than that".
        return self._accounts[: self._limit + 1].count()

    @property
    def bounded(self) -> bool:
        return self._limit is not None and self.count > self._limit

    @property
    def counted_to(self) -> int | None:
        """How far the count went: "this many, and more" when `bounded`."""
        return self._limit

    @cached_property
    def num_pages(self) -> int:
        if self.bounded:
            return self._limit // PAGE_SIZE  # type: ignore[operator]
        return super().num_pages


# A page number past any real list (50 million accounts): beyond it the count's LIMIT would overflow a bigint.
LAST_PLAUSIBLE_PAGE = 1_000_000


def _page_number(page: str | None) -> int:
    try:
        return min(max(int(page or 1), 1), LAST_PLAUSIBLE_PAGE)
    except ValueError:
        return 1


def _account_page(accounts: QuerySet[Account] | NextBestAccounts, page: str | None) -> Page:
    """The page asked for; "last" (the Last link) counts every matching account to find it."""
    if page == LAST_PAGE:
        paginator = CountedAheadPaginator(accounts, page=None, exact=True)
        return paginator.page(paginator.num_pages)
    return CountedAheadPaginator(accounts, page=page, exact=False).get_page(page)


def _account_list_page(
    request: DeskRequest, *, scope: str, template: str, title: str
) -> HttpResponse | StreamingHttpResponse:
    account_filter, queryset, sort = selectors.account_list(user=request.user, params=request.GET, scope=scope)
    if request.GET.get("format") == "csv":
        # The page's filters, sort and scope; every matching account, not just this page of them.
        columns = selectors.account_export_columns()
        return csv_response(f"accounts-{scope}", [c.label for c in columns], account_csv_rows(queryset, columns))
    # For "next best first" this pages a NextBestAccounts: not a sequence, but all a Paginator asks is count() and slices.
    page = _account_page(accounts_for_paging(queryset, sort), request.GET.get("page"))
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
        "rows": selectors.account_table_rows(page.object_list),
        "reporting_currency": reporting_currency(),
    }
    if sort.lstrip("-") == "arr":
        # Sorted by money, accounts whose currency has no rate sort last: say why, in one more query.
        context["missing"] = missing_rate_currencies(queryset)
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
