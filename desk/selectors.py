"""Reads that put several apps' data together for the desk's pages."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from accounts import selectors as account_selectors
from accounts.models import Account, AccountQuerySet
from lifecycle.flags.selectors import COCKPIT_FLAG_LIMIT, flags_for_cockpit
from transitions.selectors import tasks_for_cockpit
from users.models import User

from .filters import AccountHealthFilter


def account_list(
    *, user: User, params: QueryDict, scope: str = "all"
) -> tuple[AccountHealthFilter, AccountQuerySet, str]:
    """Filtered, sorted accounts for a list page or export, the health band among the filters.

    `scope="mine"` is the cockpit: the accounts on the user's desk. The same
    as accounts.selectors.account_list but for the filter, which knows
    lifecycle's health bands and so cannot live in accounts.
    """
    base = Account.objects.with_list_columns()
    if scope == "mine":
        base = base.covered_by(user)
    account_filter = AccountHealthFilter(params, queryset=base)
    default = account_selectors.DEFAULT_COCKPIT_SORT if scope == "mine" else account_selectors.DEFAULT_ACCOUNT_SORT
    sort, order_by = account_selectors.account_ordering(params.get("sort"), default=default)
    return account_filter, account_filter.qs.order_by(*order_by), sort


def cockpit_panels(user: User) -> dict[str, Any]:
    """The cockpit's cards above the list: my flags to act on (2 queries) and my tasks (2 queries)."""
    flags = flags_for_cockpit(user)
    return {
        "cockpit_tasks": tasks_for_cockpit(user),
        "cockpit_flags": flags[:COCKPIT_FLAG_LIMIT],
        "more_flags": len(flags) > COCKPIT_FLAG_LIMIT,
    }
