"""Reads that put several apps' data together for the desk's pages."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter, methodcaller
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict

from accounts import selectors as account_selectors
from accounts.filters import AccountFilter
from accounts.models import Account
from core.csv_export import Column
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


def _from_health(read: Callable[[Any], Any], *, unscored: Any = None) -> Callable[[Account], Any]:
    """A cell read from the account's current health; `unscored` for an account never scored (blank by default)."""

    def cell(account: Account) -> Any:
        # The reverse one-to-one raises for an account never scored, though with_list_columns selected it.
        health = getattr(account, "health", None)
        return unscored if health is None else read(health)

    return cell


def account_export_columns() -> list[Column[Account]]:
    """The account list's export: the account's own columns, then its health as the page shows it."""
    return [
        *account_selectors.account_export_columns(),
        Column("Health", _from_health(attrgetter("score"))),
        Column("Health band", _from_health(methodcaller("get_band_display"))),
        Column("Trend (7 days)", _from_health(attrgetter("delta_7d"))),
        Column("Open flags", _from_health(attrgetter("open_flags"), unscored=0)),
    ]
