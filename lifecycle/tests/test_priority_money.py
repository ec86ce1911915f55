"""Next-best priority sizes an account by its ARR in the reporting currency, on both recompute paths.

While an account's currency has no rate, its size falls back to the amount as written: a missing
rate must not make a large customer look small (the pages that sum money warn about it instead).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import ExchangeRate
from accounts.money.refresh import converted_arr_refresh
from accounts.tests.factories import AccountFactory
from lifecycle.health.facts_query import AccountScope, facts_for

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.fixture
def book() -> dict[str, int]:
    ExchangeRate.objects.create(
        currency="GBP", rate_to_reporting=Decimal("1.27"), effective_on=TODAY - dt.timedelta(days=3)
    )
    accounts = {
        # 200k pounds are 254k in the reporting currency: the top size band, which 200k as written is not.
        "pounds": AccountFactory(arr=Decimal("200000"), currency="GBP"),
        "dollars": AccountFactory(arr=Decimal("200000"), currency="USD"),
        "reais": AccountFactory(arr=Decimal("300000"), currency="BRL"),  # no rate
    }
    converted_arr_refresh()
    return {name: account.pk for name, account in accounts.items()}


def test_the_facts_read_converted_arr_and_fall_back_to_the_amount_as_written(book):
    facts = facts_for(day=TODAY, scope=AccountScope.of(book.values()))
    assert {name: facts[pk].arr for name, pk in book.items()} == {
        "pounds": 254000.0,
        "dollars": 200000.0,
        "reais": 300000.0,
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the recompute inside the database is PostgreSQL's")
def test_both_recompute_paths_size_accounts_by_converted_arr(book):
    from lifecycle.tests.test_recompute_sql import assert_paths_agree

    results = assert_paths_agree(day=TODAY, scope=AccountScope.of(book.values()))
    priority = {row["account_id"]: row["priority"] for row in results["health"]}
    # Same score, renewal and stage: only size differs, 20 points for 254k against 12 for 200k.
    assert priority[book["pounds"]] - priority[book["dollars"]] == 8
    assert priority[book["reais"]] == priority[book["pounds"]]  # 300k as written, no rate
