"""Money at scale: reconverting the whole book's ARR after an exchange rate changes."""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

from django.db import transaction
from django.db.models import Count

from accounts.models import Account, ExchangeRate
from accounts.money.refresh import converted_arr_refresh
from accounts.money.selectors import reporting_currency
from accounts.money.services import exchange_rate_update
from bench.core import Result, at_most
from users.models import User

RECONVERT_BOOK_SECONDS = 5
RUNS = 3


def _timed(work) -> float:
    """Seconds `work` takes inside its transaction; what it queues after commit (the recompute) is the worker's."""
    with transaction.atomic():
        started = time.perf_counter()
        work()
        return time.perf_counter() - started


def run() -> list[Result]:
    accounts = Account.objects.count()
    admin = User.objects.filter(role=User.Role.ADMIN).order_by("pk").first()
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
    book = statistics.median(_timed(converted_arr_refresh) for _ in range(RUNS))
    results = [at_most(book, RECONVERT_BOOK_SECONDS, "s", f"reconvert every account's ARR ({accounts:,} accounts)")]
    if rate is not None:
        in_currency = Account.objects.filter(currency=currency).count()
        original = rate.rate_to_reporting
        timings = []
        for factor in ("1.01", "1"):
            value = (original * Decimal(factor)).quantize(Decimal("0.00000001"))
            timings.append(
                _timed(
                    lambda value=value: exchange_rate_update(
                        actor=admin, rate=rate, rate_to_reporting=value, effective_on=rate.effective_on
                    )
                )
            )
        results.append(
            at_most(
                max(timings),
                RECONVERT_BOOK_SECONDS,
                "s",
                f"edit the {currency} rate: audit and reconvert its {in_currency:,} accounts",
            )
        )
    return results
