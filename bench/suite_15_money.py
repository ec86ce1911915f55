"""Money at scale: reconverting the book's ARR after exchange rates change.

Every figure is measured with rates that really change, so every account in a foreign currency
gets a new converted ARR and is rewritten (the refresh skips the accounts whose value stays; the
reporting currency's never moves).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Account, ExchangeRate
from accounts.money.refresh import converted_arr_refresh
from accounts.money.selectors import reporting_currency
from accounts.money.services import exchange_rate_update
from bench.core import Result, at_most
from users.models import User

RECONVERT_BOOK_SECONDS = 5
# Every rate in force moves up by 1%, then back: two whole-book changes a run.
MOVES = ("1.01", "1")
RUNS = 2
T = TypeVar("T")


def _timed(work: Callable[[], T]) -> tuple[float, T]:
    """Seconds `work` takes inside its transaction, and what it returns; what it queues after commit is the worker's."""
    with transaction.atomic():
        started = time.perf_counter()
        outcome = work()
        return time.perf_counter() - started, outcome


def _rates_in_force() -> list[ExchangeRate]:
    """Each foreign currency's rate in force today (the latest one effective on or before it)."""
    today = timezone.localdate()
    rates = ExchangeRate.objects.filter(effective_on__lte=today).order_by("currency", "-effective_on")
    return list(rates.distinct("currency"))


def _book_after_every_rate_moves(rates: list[ExchangeRate], factor: str) -> Callable[[], int]:
    """Write each rate in force at `factor` times its original value, then reconvert the whole book.

    The rates are written directly rather than through the rate services, whose after-commit recompute
    of every foreign-currency account is the worker's and would not be timed anyway.
    """

    def work() -> int:
        for rate, original in rates_and_originals:
            ExchangeRate.objects.filter(pk=rate.pk).update(
                rate_to_reporting=(original * Decimal(factor)).quantize(Decimal("0.00000001"))
            )
        return converted_arr_refresh()

    rates_and_originals = [(rate, rate.rate_to_reporting) for rate in rates]
    return work


def run() -> list[Result]:
    accounts = Account.objects.count()
    admin = User.objects.filter(role=User.Role.ADMIN).order_by("pk").first()
    rates = _rates_in_force()
    book_timings, book_written = [], []
    for _ in range(RUNS):
        for factor in MOVES:
            seconds, written = _timed(_book_after_every_rate_moves(rates, factor))
            book_timings.append(seconds)
            book_written.append(written)
    foreign = Account.objects.exclude(currency=reporting_currency()).count()
    results = [
        at_most(
            statistics.median(book_timings),
            RECONVERT_BOOK_SECONDS,
            "s",
            f"every rate moves 1%: reconvert the book ({accounts:,} accounts, "
            f"{min(book_written):,} to {max(book_written):,} of the {foreign:,} foreign ones rewritten)",
        )
    ]
    # The most used foreign currency's latest rate: what an admin correcting a rate would touch.
    currency = (
        Account.objects.exclude(currency=reporting_currency())
        .values("currency")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("currency", flat=True)
        .first()
    )
    rate = ExchangeRate.objects.filter(currency=currency).order_by("-effective_on").first()
    if rate is not None:
        in_currency = Account.objects.filter(currency=currency).count()
        original = rate.rate_to_reporting
        timings = []
        for factor in MOVES:
            value = (original * Decimal(factor)).quantize(Decimal("0.00000001"))
            seconds, _ = _timed(
                lambda value=value: exchange_rate_update(
                    actor=admin, rate=rate, rate_to_reporting=value, effective_on=rate.effective_on
                )
            )
            timings.append(seconds)
        results.append(
            at_most(
                max(timings),
                RECONVERT_BOOK_SECONDS,
                "s",
                f"edit the {currency} rate: audit and reconvert its {in_currency:,} accounts",
            )
        )
    return results
