"""An admin adds the first exchange rates: the page warns about currencies without one until each has a rate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Account
from accounts.tests.factories import AccountFactory
from tests.support import failures_of, login, screenshot
from users.tests.factories import AdminFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_rates_and_the_missing_rate_warning_goes_away(page, live_server):
    AdminFactory(username="ada", first_name="Ada", last_name="Admin")
    pounds = AccountFactory(name="Northwind Traders", arr=Decimal("100000"), currency="GBP")
    AccountFactory(name="Rio Foods", arr=Decimal("50000"), currency="BRL")
    failures = failures_of(page)

    login(page, live_server, "ada")
    page.get_by_role("button", name="Settings").click()
    page.get_by_role("link", name="Exchange rates", exact=True).click()
    expect(page.locator("h1")).to_have_text("Exchange rates")
    expect(page.locator("#missing-rates")).to_contain_text("No exchange rate for BRL, GBP.")
    page.get_by_label("Currency").fill("gbp")
    page.get_by_label("Rate").fill("1.27")
    page.get_by_label("In force from").fill("2026-01-01")
    page.get_by_role("button", name="Add rate").click()
    expect(page.get_by_role("alert").first).to_contain_text("GBP at 1.27")
    expect(page.locator("#missing-rates")).to_contain_text("No exchange rate for BRL.")
    assert Account.objects.get(pk=pounds.pk).arr_reporting == Decimal("127000.00")
    screenshot(page, "exchange-rates-1-one-missing")

    # The account list sorts on converted ARR, the amount as written beside it, the unconverted last.
    page.get_by_role("link", name="All accounts").click()
    page.goto(f"{page.url.split('?')[0]}?sort=-arr")
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("USD 127,000")
    expect(rows.first).to_contain_text("GBP 100,000")
    expect(rows.last).to_contain_text("no BRL rate")
    screenshot(page, "exchange-rates-2-account-list")
    assert failures == []
