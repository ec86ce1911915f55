"""An admin writes tier rules, previews who would move, applies them, and sets one account's tier by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Account, Tier, TierSource
from accounts.tests.factories import AccountFactory
from tests.support import failures_of, login, screenshot
from users.tests.factories import AdminFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_previews_and_applies_tier_rules_then_overrides_one_account(page, live_server):
    AdminFactory(username="ada", first_name="Ada", last_name="Admin")
    big = AccountFactory(name="Northwind Traders", arr=Decimal("250000"), tier=Tier.LOW_TOUCH)
    AccountFactory(name="Tiny Tools", arr=Decimal("3000"), tier=Tier.LOW_TOUCH)
    AccountFactory(name="Yen Corp", arr=Decimal("9000000"), currency="JPY", tier=Tier.LOW_TOUCH)
    failures = failures_of(page)

    login(page, live_server, "ada")
    page.get_by_role("button", name="Settings").click()
    page.get_by_role("link", name="Tier rules", exact=True).click()
    expect(page.locator("h1")).to_have_text("Tier rules")
    for tier, at_least in (("High-touch", "100000"), ("Tech-touch", "")):
        page.locator("#id_tier").select_option(label=tier)
        page.locator("#id_min_arr").fill(at_least)
        page.get_by_role("button", name="Add rule").click()
        expect(page.get_by_role("alert").first).to_contain_text("added")
    expect(page.locator("#tier-rules tbody tr")).to_have_count(2)
    expect(page.locator("#tier-rules")).to_contain_text("ARR at least 100,000")
    screenshot(page, "tier-rules-1-list")

    page.get_by_role("link", name="Preview and apply").click()
    expect(page.locator("#tier-moves")).to_contain_text("2 accounts would move")
    expect(page.locator("#tier-moves")).to_contain_text("Low-touch → High-touch: 1")
    expect(page.locator("#tier-no-rate-count")).to_contain_text("1 account cannot be placed")
    expect(page.locator("#tier-no-rate")).to_contain_text("Yen Corp")
    screenshot(page, "tier-rules-2-preview")
    page.get_by_role("button", name="Move 2 accounts").click()
    expect(page.get_by_role("alert").first).to_contain_text("2 accounts moved")
    expect(page.locator("#tier-moves")).to_contain_text("0 accounts would move")
    assert Account.objects.get(pk=big.pk).tier == Tier.HIGH_TOUCH

    page.goto(f"{live_server.url}/accounts/{big.pk}/edit/")
    expect(page.locator("#tier-source")).to_contain_text("Follows the tier rules")
    page.locator("#id_tier").select_option(label="Low-touch")
    page.locator("#id_tier_reason").fill("Asked for a lighter touch")
    page.get_by_role("button", name="Save").click()
    page.goto(f"{live_server.url}/accounts/{big.pk}/edit/")
    expect(page.locator("#tier-source")).to_contain_text("Set by hand")
    screenshot(page, "tier-rules-3-set-by-hand")
    big.refresh_from_db()
    assert (big.tier, big.tier_source) == (Tier.LOW_TOUCH, TierSource.MANUAL)
    assert failures == []
