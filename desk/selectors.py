"""Reads that put several apps' data together for the desk's pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter, methodcaller
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts import selectors as account_selectors
from accounts.filters import AccountFilter
from accounts.models import Account
from core.csv_export import Column
from lifecycle.flags.selectors import COCKPIT_FLAG_LIMIT, flags_for_cockpit
from lifecycle.health.filters import AccountHealthFilter
from lifecycle.models import AccountHealth
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


# Renewal within this many days is flagged on the list (amber), as the renewal filter's nearest choice.
RENEWAL_SOON_DAYS = 60


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One row of the account table, its cells worked out beforehand.

    The template then only places values: per-row filters, `{% url %}` and the ARR inclusion tag
    were most of the cockpit's rendering time (tens of template lookups and a sub-template per row).
    Amounts are whole units with thousands separators, as `floatformat:0|intcomma` wrote them.
    """

    account: Account
    health: AccountHealth | None
    href: str
    score: str | None  # whole points; None when never scored or scored without enough data
    band_label: str
    stage_label: str
    tier_label: str
    days_in_stage: int
    arr: str  # as written in the contract, in its own currency
    arr_reporting: str | None  # converted; None while the currency has no rate
    renewal: str  # "" when there is no renewal date
    days_to_renewal: int | None
    industry_label: str
    region_label: str
    covered_by: str

    @property
    def renewal_overdue(self) -> bool:
        return self.days_to_renewal is not None and self.days_to_renewal < 0

    @property
    def renewal_soon(self) -> bool:
        return self.days_to_renewal is not None and 0 <= self.days_to_renewal <= RENEWAL_SOON_DAYS

    @property
    def days_since_renewal(self) -> int | None:
        return None if self.days_to_renewal is None else -self.days_to_renewal


def _whole(amount: Decimal | None) -> str | None:
    """Rounded half up to a whole number with thousands separators, as `floatformat:0|intcomma` shows it."""
    if amount is None:
        return None
    return f"{Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"


def account_table_rows(accounts: Iterable[Account]) -> list[AccountRow]:
    """The account table's rows for a page of accounts fetched `with_list_columns()` (no further queries)."""
    today = timezone.localdate()
    now = timezone.now()
    rows = []
    for account in accounts:
        # The reverse one-to-one raises for an account never scored, though with_list_columns selected it.
        health: AccountHealth | None = getattr(account, "health", None)
        score = None if health is None else health.score
        renewal = account.renewal_date
        rows.append(
            AccountRow(
                account=account,
                health=health,
                href=reverse("account-detail", args=[account.pk]),
                score=_whole(score),
                band_label="" if health is None or score is None else health.get_band_display(),
                stage_label=account.get_stage_display(),
                tier_label=account.get_tier_display(),
                days_in_stage=(now - account.stage_entered_at).days,
                arr=_whole(account.arr) or "",
                arr_reporting=_whole(account.arr_reporting),
                renewal=date_format(renewal, "j M Y") if renewal else "",
                days_to_renewal=None if renewal is None else (renewal - today).days,
                industry_label=account.get_industry_display(),
                region_label=account.get_region_display(),
                covered_by=account.covered_by_label,
            )
        )
    return rows
