from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Account

from .models import ExchangeRate

CENT = Decimal("0.01")


def reporting_currency() -> str:
    return settings.BATON_REPORTING_CURRENCY


def rate_in_force(currency: str, *, on: dt.date | None = None) -> Decimal | None:
    """The rate of `currency` to the reporting currency on a day: the latest one effective on or before it."""
    if currency == reporting_currency():
        return Decimal(1)
    on = on or timezone.localdate()
    return (
        ExchangeRate.objects.filter(currency=currency, effective_on__lte=on)
        .order_by("-effective_on")
        .values_list("rate_to_reporting", flat=True)
        .first()
    )


def convert(amount: Decimal, currency: str, *, on: dt.date | None = None) -> Decimal | None:
    """`amount` of `currency` in the reporting currency at the rate in force on `on` (today); None without a rate."""
    rate = rate_in_force(currency, on=on)
    if rate is None:
        return None
    return (amount * rate).quantize(CENT)


def rate_in_force_subquery(*, currency_ref: str = "currency", on: dt.date | None = None) -> Subquery:
    """The rate in force on a day for the currency in the outer query's `currency_ref` column."""
    on = on or timezone.localdate()
    return Subquery(
        ExchangeRate.objects.filter(currency=OuterRef(currency_ref), effective_on__lte=on)
        .order_by("-effective_on")
        .values("rate_to_reporting")[:1]
    )


def missing_rate_currencies(accounts: QuerySet[Account] | None = None) -> list[str]:
    """The currencies of `accounts` (all accounts) that have no converted ARR, because no rate is in force for them."""
    accounts = Account.objects.all() if accounts is None else accounts
    return sorted(accounts.filter(arr_reporting__isnull=True).order_by().values_list("currency", flat=True).distinct())


def exchange_rates() -> QuerySet[ExchangeRate]:
    return ExchangeRate.objects.select_related("created_by").order_by("currency", "-effective_on")
