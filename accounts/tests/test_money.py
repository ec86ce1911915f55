"""Money: ARR converted to the reporting currency at the rate in force, and the rates that say so."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.demo.core import DemoBatch
from accounts.demo.money import convert_arr, seed_rates
from accounts.models import Account, AuditAction, AuditEvent, ExchangeRate
from accounts.money.refresh import converted_arr_refresh
from accounts.money.selectors import convert, missing_rate_currencies
from accounts.money.services import (
    exchange_rate_create,
    exchange_rate_delete,
    exchange_rate_update,
    exchange_rates_import,
)
from accounts.services import account_create, account_update
from accounts.tests.factories import AccountFactory
from users.models import User

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
D = Decimal


def rate(currency: str, value: str, days_ago: int = 30) -> ExchangeRate:
    return ExchangeRate.objects.create(
        currency=currency, rate_to_reporting=D(value), effective_on=TODAY - dt.timedelta(days=days_ago)
    )


def test_conversion_uses_the_rate_in_force_on_the_day_asked_about() -> None:
    rate("EUR", "1.10", days_ago=60)
    rate("EUR", "1.20", days_ago=10)  # the rate changed later
    assert convert(D("1000"), "EUR", on=TODAY - dt.timedelta(days=30)) == D("1100.00")
    assert convert(D("1000"), "EUR", on=TODAY - dt.timedelta(days=10)) == D("1200.00")
    assert convert(D("1000"), "EUR") == D("1200.00")


def test_before_a_currencys_first_rate_there_is_no_conversion_not_a_zero() -> None:
    rate("EUR", "1.10", days_ago=5)
    assert convert(D("1000"), "EUR", on=TODAY - dt.timedelta(days=6)) is None
    assert convert(D("1000"), "JPY") is None


def test_the_reporting_currency_converts_at_one() -> None:
    assert convert(D("1234.56"), "USD") == D("1234.56")


def test_a_rate_that_takes_effect_in_future_does_not_convert_today() -> None:
    rate("GBP", "1.25", days_ago=30)
    rate("GBP", "2.00", days_ago=-5)
    account = AccountFactory(arr=D("1000"), currency="GBP")
    converted_arr_refresh()
    account.refresh_from_db()
    assert account.arr_reporting == D("1250.00")


def test_an_account_whose_currency_has_no_rate_has_no_converted_arr_and_is_named_missing() -> None:
    rate("EUR", "1.10")
    AccountFactory(arr=D("1000"), currency="EUR")
    AccountFactory(arr=D("1000"), currency="USD")
    brl = AccountFactory(arr=D("1000"), currency="BRL")
    AccountFactory(arr=D("5"), currency="JPY")
    converted_arr_refresh()
    brl.refresh_from_db()
    assert brl.arr_reporting is None
    assert missing_rate_currencies() == ["BRL", "JPY"]
    assert missing_rate_currencies(Account.objects.filter(currency__in=["EUR", "BRL"])) == ["BRL"]


def test_sorting_by_converted_arr_puts_gbp_100k_above_usd_110k_when_the_rate_says_so() -> None:
    rate("GBP", "1.27")
    gbp = AccountFactory(name="Pounds", arr=D("100000"), currency="GBP")
    usd = AccountFactory(name="Dollars", arr=D("110000"), currency="USD")
    unknown = AccountFactory(name="Reais", arr=D("900000"), currency="BRL")
    converted_arr_refresh()
    ordered = Account.objects.order_by(F("arr_reporting").desc(nulls_last=True), "id")
    assert list(ordered) == [gbp, usd, unknown]


def test_the_refresh_is_one_update_whatever_the_number_of_accounts(django_assert_num_queries) -> None:
    rate("EUR", "1.10")
    rate("GBP", "1.27")
    for currency in ["EUR", "GBP", "USD", "BRL"] * 10:
        AccountFactory(arr=D("1000"), currency=currency)
    with django_assert_num_queries(1):
        # The USD accounts already hold their ARR and the BRL ones still have no rate: neither is rewritten.
        assert converted_arr_refresh() == 20
    converted = dict(Account.objects.values_list("currency", "arr_reporting").distinct())
    assert converted == {"EUR": D("1100.00"), "GBP": D("1270.00"), "USD": D("1000.00"), "BRL": None}


def test_a_refresh_rewrites_only_the_accounts_whose_converted_arr_changes() -> None:
    eur_rate = rate("EUR", "1.10")
    rate("GBP", "1.27")
    eur = AccountFactory(arr=D("1000"), currency="EUR")
    gbp = AccountFactory(arr=D("1000"), currency="GBP")
    AccountFactory(arr=D("1000"), currency="USD")
    assert converted_arr_refresh() == 2
    assert converted_arr_refresh() == 0
    eur_rate.rate_to_reporting = D("1.20")
    eur_rate.save()
    assert converted_arr_refresh() == 1
    eur.refresh_from_db()
    gbp.refresh_from_db()
    assert (eur.arr_reporting, gbp.arr_reporting) == (D("1200.00"), D("1270.00"))
    eur_rate.delete()
    assert converted_arr_refresh() == 1
    eur.refresh_from_db()
    assert eur.arr_reporting is None


def test_a_refresh_limited_to_accounts_or_currencies_leaves_the_others_stale(django_assert_num_queries) -> None:
    rate("EUR", "1.10")
    rate("GBP", "1.27")
    first, second = AccountFactory(arr=D("1000"), currency="EUR"), AccountFactory(arr=D("1000"), currency="EUR")
    pounds = AccountFactory(arr=D("1000"), currency="GBP")
    assert converted_arr_refresh(account_ids=[first.pk]) == 1
    assert converted_arr_refresh(currencies=["GBP"]) == 1
    second.refresh_from_db()
    assert second.arr_reporting is None
    assert converted_arr_refresh(account_ids=[second.pk, pounds.pk], currencies=["EUR"]) == 1
    with django_assert_num_queries(0):
        assert converted_arr_refresh(account_ids=[]) == 0
    assert dict(Account.objects.values_list("pk", "arr_reporting")) == {
        first.pk: D("1100.00"),
        second.pk: D("1100.00"),
        pounds.pk: D("1270.00"),
    }


def test_adding_changing_and_deleting_a_rate_reconverts_that_currencys_accounts(admin: User) -> None:
    eur = AccountFactory(arr=D("1000"), currency="EUR")
    new = exchange_rate_create(actor=admin, currency="eur", rate_to_reporting=D("1.1"), effective_on=TODAY)
    eur.refresh_from_db()
    assert (new.currency, eur.arr_reporting) == ("EUR", D("1100.00"))

    exchange_rate_update(actor=admin, rate=new, rate_to_reporting=D("1.2"), effective_on=TODAY)
    eur.refresh_from_db()
    assert eur.arr_reporting == D("1200.00")

    exchange_rate_delete(actor=admin, rate=new)
    eur.refresh_from_db()
    assert eur.arr_reporting is None
    assert list(AuditEvent.objects.filter(subject_type="exchangerate").values_list("action", flat=True)) == [
        AuditAction.EXCHANGE_RATE_DELETED,
        AuditAction.EXCHANGE_RATE_UPDATED,
        AuditAction.EXCHANGE_RATE_CREATED,
    ]


def test_changing_an_accounts_arr_or_currency_reconverts_it(admin: User) -> None:
    rate("GBP", "1.27")
    account = account_create(
        actor=admin,
        fields={"name": "Fresh", "industry": "software", "region": "emea", "arr": D("1000"), "currency": "GBP"},
        owner=admin,
    )
    account.refresh_from_db()
    assert account.arr_reporting == D("1270.00")
    account_update(actor=admin, account=account, fields={"currency": "USD"})
    account.refresh_from_db()
    assert account.arr_reporting == D("1000.00")
    account_update(actor=admin, account=account, fields={"arr": D("2000"), "currency": "BRL"})
    account.refresh_from_db()
    assert account.arr_reporting is None


@pytest.mark.parametrize(
    ("currency", "value", "field"),
    [
        ("EU", "1.1", "currency"),
        ("E1R", "1.1", "currency"),
        ("USD", "1.1", "currency"),
        ("EUR", "0", "rate_to_reporting"),
        ("EUR", "-2", "rate_to_reporting"),
    ],
)
def test_a_bad_rate_is_refused_with_a_reason(admin: User, currency: str, value: str, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        exchange_rate_create(actor=admin, currency=currency, rate_to_reporting=D(value), effective_on=TODAY)
    assert field in error.value.message_dict
    assert not ExchangeRate.objects.exists()


def test_a_currency_has_one_rate_a_day(admin: User) -> None:
    exchange_rate_create(actor=admin, currency="EUR", rate_to_reporting=D("1.1"), effective_on=TODAY)
    with pytest.raises(ValidationError):
        exchange_rate_create(actor=admin, currency="EUR", rate_to_reporting=D("1.2"), effective_on=TODAY)


def test_the_database_refuses_a_rate_at_or_below_zero_and_a_malformed_currency() -> None:
    for currency, value in [("EUR", "0"), ("eur", "1")]:
        with pytest.raises(IntegrityError), transaction.atomic():
            ExchangeRate.objects.create(currency=currency, rate_to_reporting=D(value), effective_on=TODAY)


CSV = "currency,rate,effective_on\nEUR,1.08,2026-01-01\nGBP,1.27,2026-01-01\nEUR,1.10,2026-06-01\n"


def test_a_csv_dry_run_says_what_would_change_and_writes_nothing(admin: User) -> None:
    result = exchange_rates_import(actor=admin, text=CSV, dry_run=True)
    assert (result.created, result.updated, result.errors) == (3, 0, [])
    assert not ExchangeRate.objects.exists()


def test_a_csv_import_adds_new_rates_changes_existing_ones_and_reconverts(admin: User) -> None:
    rate("GBP", "1.20", days_ago=(TODAY - dt.date(2026, 1, 1)).days)
    account = AccountFactory(arr=D("1000"), currency="GBP")
    result = exchange_rates_import(actor=admin, text=CSV)
    assert (result.created, result.updated, result.unchanged) == (2, 1, 0)
    account.refresh_from_db()
    assert account.arr_reporting == D("1270.00")
    assert AuditEvent.objects.filter(subject_type="exchangerate").count() == 3
    again = exchange_rates_import(actor=admin, text=CSV)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_a_csv_with_a_bad_row_writes_nothing_and_names_each_row(admin: User) -> None:
    text = "currency,rate,effective_on\nEUR,1.08,2026-01-01\nXX,1,2026-01-01\nGBP,abc,2026-01-01\nGBP,1.2,01/02/2026\nEUR,1.09,2026-01-01\n"
    result = exchange_rates_import(actor=admin, text=text)
    assert [(e.index, e.field) for e in result.errors] == [
        (1, "currency"),
        (2, "rate"),
        (3, "effective_on"),
        (4, "effective_on"),
    ]
    assert not ExchangeRate.objects.exists()


def test_a_csv_without_the_columns_is_refused_as_a_whole(admin: User) -> None:
    result = exchange_rates_import(actor=admin, text="code,value\nEUR,1\n")
    assert [(e.index, e.field) for e in result.errors] == [(-1, "file")]


class _Company:
    """What the rate seeder reads of a demo company."""

    today = TODAY
    rows: Counter = Counter()

    def rng(self, part: str) -> random.Random:
        return random.Random(part)


def test_the_demo_seeds_rates_for_its_currencies_so_every_account_has_converted_arr(django_assert_num_queries) -> None:
    accounts = [
        AccountFactory(currency=currency, arr_reporting=None) for currency in ["USD", "EUR", "GBP", "AUD", "SGD", "BRL"]
    ]
    rate("EUR", "9.99", days_ago=0)  # an admin's rate is kept
    with django_assert_num_queries(1):
        seed_rates(_Company())
    assert set(ExchangeRate.objects.values_list("currency", flat=True)) == {"EUR", "GBP", "AUD", "SGD", "BRL"}
    assert ExchangeRate.objects.get(currency="EUR", effective_on=TODAY).rate_to_reporting == D("9.99")
    with django_assert_num_queries(1):
        convert_arr(_Company(), DemoBatch(index=0, seed=1, accounts=accounts, plans={}))
    assert missing_rate_currencies() == []


def test_a_rate_dated_ahead_takes_over_on_its_day_with_the_nightly_refresh() -> None:
    import time_machine

    from accounts.tasks import converted_arr_refresh_daily

    rate("EUR", "1.10", days_ago=10)
    rate("EUR", "1.30", days_ago=-1)  # in force from tomorrow
    account = AccountFactory(arr=D("1000"), currency="EUR")
    converted_arr_refresh_daily()
    account.refresh_from_db()
    assert account.arr_reporting == D("1100.00")
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        converted_arr_refresh_daily()
    account.refresh_from_db()
    assert account.arr_reporting == D("1300.00")
