"""Reads that put several apps' data together for the desk's pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict

from accounts import selectors as account_selectors
from accounts.filters import AccountFilter
from accounts.models import Account
from lifecycle.flags.selectors import COCKPIT_FLAG_LIMIT, flags_for_cockpit
from lifecycle.health.filters import AccountHealthFilter
from transitions.selectors import tasks_for_cockpit
from users.models import User


def account_list(*, user: User, params: QueryDict, scope: str = "all") -> tuple[AccountFilter, QuerySet[Account], str]:
    """Filtered, sorted accounts for a list page or export, the health band among the filters."""
    return account_selectors.account_list(user=user, params=params, scope=scope, filterset_class=AccountHealthFilter)


def cockpit_panels(user: User) -> dict[str, Any]:
    """The cockpit's cards above the list: my flags to act on (2 queries) and my tasks (2 queries)."""
    flags = flags_for_cockpit(user)
    return {
        "cockpit_tasks": tasks_for_cockpit(user),
        "cockpit_flags": flags[:COCKPIT_FLAG_LIMIT],
        "more_flags": len(flags) > COCKPIT_FLAG_LIMIT,
    }
