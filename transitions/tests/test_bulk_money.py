"""Bulk handover balances, orders and totals ARR in the reporting currency, and says which currencies have no rate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ExchangeRate
from accounts.money.refresh import converted_arr_refresh
from accounts.tests.factories import AccountFactory
from transitions.selectors import csm_loads
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pound_at_127():
    ExchangeRate.objects.create(
        currency="GBP", rate_to_reporting=Decimal("1.27"), effective_on=timezone.localdate() - dt.timedelta(days=1)
    )


def preview(client, manager, outgoing, playbook, dates, incoming):
    client.force_login(manager)
    return client.post(
        reverse("bulk-handover-preview"),
        {
            "incoming": [user.pk for user in incoming],
            "strategy": "arr",
            "reason": "promotion",
            "playbook": playbook.pk,
            "start_date": dates["start_date"].isoformat(),
            "target_date": dates["target_date"].isoformat(),
            "note": "",
            "account_query": f"owner={outgoing.pk}",
        },
    )


def test_balanced_by_arr_splits_on_converted_arr_largest_first(
    client, manager, outgoing, playbook, dates, pound_at_127
):
    pounds = AccountFactory(owner=outgoing, name="Pounds", arr=Decimal("100000"), currency="GBP")
    dollars = AccountFactory(owner=outgoing, name="Dollars", arr=Decimal("110000"), currency="USD")
    small = AccountFactory(owner=outgoing, name="Small", arr=Decimal("20000"), currency="USD")
    euros = AccountFactory(owner=outgoing, name="Euros", arr=Decimal("500000"), currency="EUR")  # no EUR rate
    converted_arr_refresh()
    a, b = CSMFactory(team=manager.team), CSMFactory(team=manager.team)

    response = preview(client, manager, outgoing, playbook, dates, [a, b])

    assert response.status_code == 200
    rows = response.context["rows"]
    # GBP 100k is worth 127k: it comes first, above USD 110k; the unconverted account last.
    assert [row["account"] for row in rows] == [pounds, dollars, small, euros]
    to = {row["account"].pk: row["to"] for row in rows}
    assert to[pounds.pk] != to[dollars.pk] and to[small.pk] == to[dollars.pk]
    assert {t["arr"] for t in response.context["totals"]} == {Decimal("127000"), Decimal("130000")}
    assert response.context["total_arr"] == Decimal("257000")
    page = response.content.decode()
    assert "No exchange rate for EUR." in page
    assert "GBP 100,000" in page  # the original amount beside the converted one


def test_a_csms_current_load_counts_converted_arr(manager, pound_at_127):
    csm = CSMFactory(team=manager.team)
    AccountFactory(owner=csm, arr=Decimal("1000"), currency="GBP")
    AccountFactory(owner=csm, arr=Decimal("1000"), currency="USD")
    AccountFactory(owner=csm, arr=Decimal("1000"), currency="BRL")  # no rate: not counted
    converted_arr_refresh()
    load = csm_loads([csm.pk])[csm.pk]
    assert (load.accounts, load.arr) == (3, Decimal("2270"))
