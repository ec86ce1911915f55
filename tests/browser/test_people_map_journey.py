"""A CSM reads an account's org chart on the Account 360, opens a person from it and changes who they report to."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Contact
from accounts.tests.factories import AccountFactory, ContactFactory
from tests.support import login, screenshot
from users.tests.factories import CSMFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_csm_moves_a_person_under_a_new_manager_from_the_org_chart(page, live_server):
    team = TeamFactory(name="Mid-market East")
    csm = CSMFactory(username="casey", first_name="Casey", last_name="Rivera", team=team)
    account = AccountFactory(name="Northwind Traders", owner=csm)
    verified = {"account": account, "last_verified_at": timezone.now()}
    ceo = ContactFactory(
        first_name="Morgan",
        last_name="Lee",
        title="Chief Executive",
        deal_role="economic_buyer",
        influence="high",
        sentiment="positive",
        **verified,
    )
    vp = ContactFactory(
        first_name="Priya", last_name="Shah", title="VP Customer Ops", deal_role="champion", reports_to=ceo, **verified
    )
    ContactFactory(
        account=account, first_name="Sam", last_name="Ortiz", title="Support Lead", deal_role="user", reports_to=vp
    )
    ContactFactory(first_name="Jo", last_name="Park", title="CFO", reports_to=ceo, departed=True, **verified)
    alex = ContactFactory(
        first_name="Alex", last_name="Kim", title="Ops Analyst", sentiment="negative", influence="low", **verified
    )
    responses: list[tuple[int, str]] = []
    page.on("response", lambda response: responses.append((response.status, response.url)))
    login(page, live_server, "casey")

    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    chart = page.locator("#people-chart")
    expect(chart).to_be_visible()
    expect(page.locator("#people-chart-scroll-hint")).to_have_count(0)  # it all fits
    expect(page.locator("#org-chart")).to_be_hidden()  # the indented list waits behind "List"
    alex_box = chart.locator(f'[data-contact="{alex.pk}"]')
    expect(alex_box).to_have_attribute("data-manager", "")
    top_before = alex_box.bounding_box()["y"]
    screenshot(page, "people-map-1-the-chart")

    # The list is one click away, and says the same.
    page.get_by_text("List", exact=True).click()
    expect(page.locator("#org-chart")).to_be_visible()
    expect(chart).to_be_hidden()
    expect(page.locator("#org-chart")).to_contain_text("Sam Ortiz")
    page.get_by_text("Chart", exact=True).click()
    expect(chart).to_be_visible()

    # Morgan cannot report to someone under them: the form says so and nothing changes.
    chart.get_by_role("link", name="Edit Morgan Lee").click()
    expect(page.get_by_role("heading", name="Edit Morgan Lee")).to_be_visible()
    page.get_by_label("Reports to").select_option(label="Sam Ortiz")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_reports_to").locator("xpath=..")).to_contain_text("go round in a circle")
    screenshot(page, "people-map-2-a-circle-refused")
    ceo.refresh_from_db()
    assert ceo.reports_to is None

    # Alex, on their own, now reports to Priya.
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    chart.get_by_role("link", name="Edit Alex Kim").click()
    expect(page.get_by_label("Reports to")).to_have_value("")
    page.get_by_label("Reports to").select_option(label="Priya Shah")
    screenshot(page, "people-map-3-pick-a-manager")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Alex Kim saved.")).to_be_visible()
    expect(alex_box).to_have_attribute("data-manager", str(vp.pk))
    expect(chart.locator(f'path[data-manager="{vp.pk}"][data-report="{alex.pk}"]')).to_have_count(1)
    assert alex_box.bounding_box()["y"] > top_before  # drawn a level down, under Priya
    screenshot(page, "people-map-4-redrawn")
    assert Contact.objects.get(pk=alex.pk).reports_to_id == vp.pk

    failed = [(status, url) for status, url in responses if status >= 400]
    assert failed == [(422, f"{live_server.url}/accounts/{account.pk}/contacts/{ceo.pk}/edit/")]


def test_a_wide_org_chart_scrolls_inside_its_panel_and_the_list_says_the_same(page, live_server):
    csm = CSMFactory(username="casey", team=TeamFactory(name="Enterprise"))
    account = AccountFactory(name="Globex", owner=csm)
    boss = ContactFactory(account=account, first_name="Dana", last_name="Boss", title="COO", deal_role="decision_maker")
    for n in range(9):
        ContactFactory(account=account, first_name=f"Report{n}", last_name="Wide", reports_to=boss)
    ContactFactory(account=account, first_name="Lone", last_name="Adviser", title="Board adviser")
    login(page, live_server, "casey")

    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    scroller = page.locator("#people-chart")
    expect(scroller).to_be_visible()
    sizes = scroller.evaluate(
        "el => [el.scrollWidth, el.clientWidth, document.documentElement.scrollWidth, innerWidth]"
    )
    chart_width, panel_width, page_width, window_width = sizes
    assert chart_width > panel_width  # the chart is wider than its panel and scrolls there...
    assert page_width <= window_width  # ...while the page itself does not
    expect(page.locator("#people-chart-scroll-hint")).to_be_visible()
    screenshot(page, "people-map-5-wide-chart")

    page.get_by_text("List", exact=True).click()
    expect(page.locator("#org-chart")).to_contain_text("Report8 Wide")
    screenshot(page, "people-map-6-the-list")
