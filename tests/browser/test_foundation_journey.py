"""A CSM's first minutes in Baton, driven through Chromium against a live server."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Stage, TimelineEntry, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory
from tests.support import failures_of, login, screenshot
from users.tests.factories import CSMFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def book():
    team = TeamFactory(name="Mid-market East")
    csm = CSMFactory(username="casey", first_name="Casey", last_name="Rivera", team=team)
    accounts = {
        "Northwind Traders": Stage.ADOPTION,
        "Globex Corporation": Stage.AT_RISK,
        "Initech": Stage.ONBOARDING,
        "Umbrella Health": Stage.SUCCESS,
    }
    created = {
        name: AccountFactory(name=name, owner=csm, stage=stage, arr=Decimal(40_000 + 15_000 * index))
        for index, (name, stage) in enumerate(accounts.items())
    }
    ContactFactory(
        account=created["Globex Corporation"],
        first_name="Hank",
        last_name="Scorpio",
        title="CEO",
    )
    # Someone else's account must not show on Casey's cockpit.
    AccountFactory(name="Someone Else's Co", stage=Stage.AT_RISK)
    return csm, created


def _table_rows(page):
    return page.locator("#accounts tbody tr")


def _result_count(page, count: int) -> None:
    noun = "account" if count == 1 else "accounts"
    expect(page.locator("#result-count")).to_have_text(re.compile(rf"^\s*{count} {noun}\b"))


def _choose_filter(page, name: str, value: str) -> None:
    """Pick one filter value the way a person would, whether it is a select or checkboxes."""
    control = page.locator(f"#account-filters select[name={name}]")
    if control.count():
        control.select_option(value)
    else:
        page.locator(f"#account-filters input[name={name}][value={value}]").check()


def test_a_csm_logs_in_filters_the_cockpit_and_adds_a_note_without_reloading(page, live_server, book):
    csm, accounts = book
    failed_requests = failures_of(page)

    login(page, live_server, "casey")

    expect(page.get_by_role("heading", name="Good to see you, Casey")).to_be_visible()
    _result_count(page, 4)
    expect(_table_rows(page)).to_have_count(4)
    screenshot(page, "cockpit")

    # Filtering swaps the table in place: the marker set on this window survives.
    page.evaluate("window.stillThisPage = true")
    _choose_filter(page, "stage", "at_risk")
    _result_count(page, 1)
    expect(_table_rows(page)).to_have_count(1)
    expect(_table_rows(page).first).to_contain_text("Globex Corporation")
    expect(_table_rows(page).first).to_contain_text("Renewal at risk")
    expect(page).to_have_url(re.compile(r"[?&]stage=at_risk"))
    assert page.evaluate("window.stillThisPage") is True
    screenshot(page, "cockpit-filtered")

    page.get_by_role("link", name="Globex Corporation").click()
    globex = accounts["Globex Corporation"]
    expect(page).to_have_url(f"{live_server.url}/accounts/{globex.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Globex Corporation"))).to_be_visible()
    expect(page.locator("#org-chart")).to_contain_text("Hank Scorpio")

    page.evaluate("window.stillThisPage = true")
    note_form = page.locator("#note-form")
    # Field names, not labels: the wording of the form is still settling.
    note_form.locator("[name=summary]").fill("Budget review moved to March")
    note_form.locator("[name=body]").fill("CFO wants a usage report before the QBR.")
    note_form.get_by_role("button", name="Add note").click()

    first_entry = page.locator("#timeline .timeline-entry").first
    expect(first_entry).to_contain_text("Budget review moved to March")
    expect(first_entry).to_contain_text("CFO wants a usage report before the QBR.")
    expect(first_entry).to_contain_text("Casey Rivera")
    # The form came back empty, ready for the next note, on the same page.
    expect(page.locator("#note-form [name=summary]")).to_have_value("")
    assert page.evaluate("window.stillThisPage") is True
    screenshot(page, "account-360")

    note = TimelineEntry.objects.get(account=globex, kind=TimelineKind.NOTE)
    assert (note.summary, note.author) == ("Budget review moved to March", csm)
    assert failed_requests == []
