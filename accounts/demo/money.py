"""The demo's exchange rates: a year of monthly rates for the currencies the book is sold in.

Rates are configuration, so an install that already has a currency's rate for a day keeps it.
Each batch's accounts are converted set-based as they are created, so the health recompute
(a finisher) reads converted ARR.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from accounts.models import ExchangeRate
from accounts.money.refresh import converted_arr_refresh

from .book import add_months
from .core import DemoBatch, DemoCompany, demo_seeder
from .words import REGION_CURRENCIES

# Roughly what one unit was worth in US dollars; the months drift around it.
USD_VALUE = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "AUD": 0.66, "SGD": 0.74, "BRL": 0.2}
MONTHS = 12


def seed_rates(company: DemoCompany) -> None:
    reporting = settings.BATON_REPORTING_CURRENCY
    currencies = sorted({currency for options in REGION_CURRENCIES.values() for currency in options} - {reporting})
    if reporting not in USD_VALUE:
        return  # no story for an unknown reporting currency: the pages warn about every currency instead
    rng = company.rng("exchange rates")
    first = add_months(company.today.replace(day=1), -MONTHS)
    rates = []
    for currency in currencies:
        for month in range(MONTHS + 1):
            drift = rng.uniform(0.97, 1.03)
            value = USD_VALUE[currency] / USD_VALUE[reporting] * drift
            rates.append(
                ExchangeRate(
                    currency=currency,
                    rate_to_reporting=Decimal(f"{value:.6f}"),
                    effective_on=add_months(first, month),
                )
            )
    ExchangeRate.objects.bulk_create(rates, ignore_conflicts=True)
    company.rows[ExchangeRate._meta.label] += len(rates)


@demo_seeder("exchange rates", order=5, setup=seed_rates)
def convert_arr(company: DemoCompany, batch: DemoBatch) -> None:
    converted_arr_refresh(account_ids=[account.pk for account in batch.accounts])
