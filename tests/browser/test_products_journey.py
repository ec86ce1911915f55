"""An admin fills the product catalogue; a CSM records what their account bought on the Account 360, then ends a module."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Entitlement, Product
from accounts.tests.factories import AccountFactory, EntitlementFactory
from tests.support import ARTIFACTS_DIR, failures_of, login, screenshot
from users.tests.factories import AdminFactory, CSMFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_products_and_a_csm_records_and_ends_what_the_account_holds(page, live_server):
    AdminFactory(username="ada", first_name="Ada", last_name="Admin")
    csm = CSMFactory(username="casey", first_name="Casey", last_name="Rivera", team=TeamFactory(name="Mid-market"))
    account = AccountFactory(name="Northwind Traders", owner=csm)
    today = timezone.localdate()
    failures = failures_of(page)

    login(page, live_server, "ada")
    page.get_by_role("button", name="Settings").click()
    page.get_by_role("link", name="Products", exact=True).click()
    expect(page.locator("h1")).to_have_text("Products")
    for key, name, description in [
        ("  Core ", "Core platform", "The shared workspace every customer starts with."),
        ("Reports", "Reports", "Scheduled and ad-hoc reports, dashboards and exports."),
        ("mobile", "Mobile", ""),
    ]:
        page.get_by_role("link", name="New product").click()
        page.get_by_label("Key").fill(key)
        page.get_by_label("Name").fill(name)
        page.get_by_label("Description").fill(description)
        if key == "mobile":
            screenshot(page, "products-1-new-product")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("alert").first).to_contain_text(f"{name} added to the catalogue.")
    # The same key again, in capitals, is refused in words.
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Key").fill("REPORTS")
    page.get_by_label("Name").fill("Reporting")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("The key “reports” is taken by Reports")
    screenshot(page, "products-2-taken-key")
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#products tbody tr")).to_have_count(3)
    assert sorted(Product.objects.values_list("key", flat=True)) == ["core", "mobile", "reports"]
    screenshot(page, "products-3-catalogue")
    page.get_by_role("button", name="Log out").click()

    login(page, live_server, "casey")
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    panel = page.locator("#products")
    expect(panel).to_contain_text("No products recorded yet.")
    panel.get_by_role("link", name="Add product").click()
    page.get_by_label("Product").select_option(label="Core platform")
    page.get_by_label("Seats").fill("250")
    page.get_by_label("From").fill((today - dt.timedelta(days=400)).isoformat())
    screenshot(page, "products-4-add-form")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").first).to_contain_text("Northwind Traders holds Core platform now.")
    core = Entitlement.objects.get()
    EntitlementFactory(account=account, product=Product.objects.get(key="reports"), seats=40, starts_on=today)
    page.reload()
    expect(panel.locator(".entitlement")).to_have_count(2)
    expect(panel.locator(f"#entitlement-{core.pk}")).to_contain_text("250 seats")
    expect(panel.locator(f"#entitlement-{core.pk}")).to_contain_text("In force")
    panel.screenshot(path=str(ARTIFACTS_DIR / "products-5-panel.png"))

    # End core yesterday from the panel's menu: it stays listed, as ended.
    panel.locator(f"#entitlement-{core.pk}").get_by_role("button", name="Change").click()
    menu = panel.locator(f"#entitlement-{core.pk} .dropdown-menu")
    expect(menu).to_be_visible()
    menu.screenshot(path=str(ARTIFACTS_DIR / "products-6-change-menu.png"))
    menu.get_by_label("Last day in force").fill((today - dt.timedelta(days=1)).isoformat())
    menu.get_by_role("button", name="End").click()
    expect(page.get_by_role("alert").first).to_contain_text("Core platform ends on")
    expect(panel.locator(f"#entitlement-{core.pk}")).to_contain_text("Ended")
    core.refresh_from_db()
    assert core.ends_on == today - dt.timedelta(days=1)
    panel.screenshot(path=str(ARTIFACTS_DIR / "products-7-ended.png"))

    # Deleting asks first, and suggests ending instead.
    panel.locator(f"#entitlement-{core.pk}").get_by_role("button", name="Change").click()
    panel.locator(f"#entitlement-{core.pk}").get_by_role("link", name="Delete…").click()
    expect(page.locator("h1")).to_have_text("Delete Core platform")
    screenshot(page, "products-8-delete-entitlement")
    page.get_by_role("link", name="end it").click()
    expect(page.get_by_label("Last day in force")).to_have_value(today.isoformat())
    screenshot(page, "products-9-end-page")
    page.get_by_role("link", name="Cancel").click()
    assert Entitlement.objects.count() == 2
    # The refused key answered 422 (the form again, with the reason); nothing else failed.
    assert failures == [f"{live_server.url}/products/new/"]


def test_an_admin_is_told_why_a_product_in_use_cannot_be_deleted(page, live_server):
    AdminFactory(username="ada")
    entitlement = EntitlementFactory(product__key="reports", product__name="Reports")
    failures = failures_of(page)
    login(page, live_server, "ada")
    page.goto(f"{live_server.url}/products/")
    page.locator(f"#product-{entitlement.product_id}").get_by_role("link", name="Delete").click()
    expect(page.locator("#product-in-use")).to_contain_text(
        "Reports is in use and cannot be deleted: 1 account holds it"
    )
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    screenshot(page, "products-10-in-use")
    assert failures == []
