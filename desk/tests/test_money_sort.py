"""The account list sorts "by ARR" on ARR converted to the reporting currency, unconverted accounts last."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ExchangeRate
from accounts.money.refresh import converted_arr_refresh
from accounts.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_sorting_by_arr_puts_gbp_100k_above_usd_110k_when_the_rate_says_so(client, csm):
    ExchangeRate.objects.create(
        currency="GBP", rate_to_reporting=Decimal("1.27"), effective_on=timezone.localdate() - dt.timedelta(days=1)
    )
    AccountFactory(owner=csm, name="Dollars", arr=Decimal("110000"), currency="USD")
    AccountFactory(owner=csm, name="Pounds", arr=Decimal("100000"), currency="GBP")
    AccountFactory(owner=csm, name="Reais", arr=Decimal("900000"), currency="BRL")  # no rate
    converted_arr_refresh()
    client.force_login(csm)
    largest_first = client.get(reverse("account-list"), {"sort": "-arr"})
    assert [a.name for a in largest_first.context["page"].object_list] == ["Pounds", "Dollars", "Reais"]
    smallest_first = client.get(reverse("account-list"), {"sort": "arr"})
    assert [a.name for a in smallest_first.context["page"].object_list] == ["Dollars", "Pounds", "Reais"]


def test_sorted_by_arr_the_list_says_which_currencies_have_no_rate_and_sort_last(client, csm):
    AccountFactory(owner=csm, name="Dollars", arr=Decimal("110000"), currency="USD")
    AccountFactory(owner=csm, name="Reais", arr=Decimal("900000"), currency="BRL")  # no rate
    converted_arr_refresh()
    client.force_login(csm)
    for page in ("account-list", "cockpit"):
        by_arr = client.get(reverse(page), {"sort": "-arr"}).content.decode()
        assert "No exchange rate for BRL." in by_arr and "sort last by ARR" in by_arr
        # Sorted another way, the row's own "no BRL rate" says enough.
        assert "No exchange rate for" not in client.get(reverse(page), {"sort": "name"}).content.decode()


def test_the_list_and_the_360_show_converted_arr_with_the_amount_as_written_beside_it(client, csm):
    ExchangeRate.objects.create(
        currency="GBP", rate_to_reporting=Decimal("1.27"), effective_on=timezone.localdate() - dt.timedelta(days=1)
    )
    pounds = AccountFactory(owner=csm, name="Pounds", arr=Decimal("100000"), currency="GBP")
    reais = AccountFactory(owner=csm, name="Reais", arr=Decimal("900000"), currency="BRL")  # no rate
    converted_arr_refresh()
    client.force_login(csm)
    listed = client.get(reverse("account-list")).content.decode()
    assert "USD 127,000" in listed and "GBP 100,000" in listed
    assert "BRL 900,000" in listed and "no BRL rate" in listed
    detail = client.get(reverse("account-detail", args=[pounds.pk])).content.decode()
    assert "USD 127,000" in detail and "GBP 100,000" in detail
    assert "no BRL rate" in client.get(reverse("account-detail", args=[reais.pk])).content.decode()
