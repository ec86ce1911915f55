"""A CSM works the red-flag alerts inbox in Chromium: acknowledge, snooze and resolve, each in place."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import TimelineEntry, TimelineKind
from accounts.tests.factories import AccountFactory
from lifecycle.models import FlagStatus
from notifications.tests.factories import RedFlagFactory, default_rule
from tests.support import failures_of, login, screenshot
from users.tests.factories import CSMFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RESOLUTION_NOTE = "Called the sponsor; new champion identified and a health review booked."


@pytest.fixture
def flagged_book():
    team = TeamFactory(name="Mid-market East")
    csm = CSMFactory(username="casey", first_name="Casey", last_name="Rivera", team=team)
    band_red = RedFlagFactory(
        account=AccountFactory(name="Northwind Traders", owner=csm),
        rule=default_rule("band_red"),
        reason="Health band is red (score 31).",
    )
    detractor = RedFlagFactory(
        account=AccountFactory(name="Globex Corporation", owner=csm),
        rule=default_rule("nps_detractor"),
        reason="NPS 3 from the CEO in the May survey.",
    )
    # Someone else's flag (another CSM on another team) must not show for Casey.
    elsewhere = RedFlagFactory(account=AccountFactory(name="Someone Else's Co"))
    assert (band_red.severity, detractor.severity) == ("high", "medium")
    return csm, band_red, detractor, elsewhere


def _status_cell(row):
    return row.locator("td").nth(3)


def _result_count(page, count: int, *, left: bool = False) -> None:
    noun = "flag" if count == 1 else "flags"
    suffix = " left" if left else ""
    expect(page.locator("#result-count")).to_have_text(re.compile(rf"^\s*{count} {noun}{suffix}\s*$"))


def _mine_tab(page, count: int) -> None:
    expect(page.locator("#alert-scopes .nav-link.active")).to_contain_text("Mine")
    expect(page.locator("#alert-scopes .nav-link.active .badge")).to_have_text(str(count))


def test_a_csm_acknowledges_snoozes_and_resolves_red_flags_in_place(page, live_server, flagged_book):
    csm, band_red, detractor, elsewhere = flagged_book
    week_ahead = timezone.localdate() + dt.timedelta(days=7)
    failed_requests = failures_of(page)

    login(page, live_server, "casey")

    # The cockpit lists both flags, most severe first, and nobody else's.
    cockpit_flags = page.locator("#my-flags .list-group-item")
    expect(cockpit_flags).to_have_count(2)
    expect(cockpit_flags.nth(0)).to_contain_text("High")
    expect(cockpit_flags.nth(0)).to_contain_text("Northwind Traders")
    expect(cockpit_flags.nth(0)).to_contain_text("Health band turned red")
    expect(cockpit_flags.nth(1)).to_contain_text("Medium")
    expect(cockpit_flags.nth(1)).to_contain_text("Globex Corporation")
    expect(cockpit_flags.nth(1)).to_contain_text("NPS detractor")
    expect(page.locator("#my-flags")).not_to_contain_text("Someone Else's Co")

    page.locator("#my-flags").get_by_role("link", name="Alerts inbox").click()
    expect(page).to_have_url(f"{live_server.url}/alerts/")
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    _result_count(page, 2)
    _mine_tab(page, 2)
    rows = page.locator("#alerts tbody tr")
    expect(rows).to_have_count(2)
    northwind = page.locator(f"#flag-{band_red.pk}")
    globex = page.locator(f"#flag-{detractor.pk}")
    expect(rows.nth(0)).to_have_id(f"flag-{band_red.pk}")
    expect(northwind.locator("td").nth(0)).to_have_text("High")
    expect(globex.locator("td").nth(0)).to_have_text("Medium")
    expect(_status_cell(northwind)).to_have_text("Open")
    expect(_status_cell(globex)).to_have_text("Open")
    screenshot(page, "alerts-1-inbox")

    # Acknowledge swaps the row in place: same URL, same window, no reload.
    inbox_url = page.url
    page.evaluate("window.stillThisPage = true")
    northwind.get_by_role("button", name="Acknowledge").click()
    expect(northwind.get_by_role("status")).to_have_text("Acknowledged.")
    expect(_status_cell(northwind)).to_have_text("Acknowledged")
    expect(northwind.get_by_role("button", name="Acknowledge")).to_have_count(0)
    # An acknowledged flag still needs action: the counts stay.
    _mine_tab(page, 2)
    _result_count(page, 2, left=True)
    assert page.url == inbox_url
    assert page.evaluate("window.stillThisPage") is True

    # Snooze the other one for a week, with the date picker the row offers.
    globex.locator("button.dropdown-toggle", has_text="Snooze").click()
    snooze_form = globex.locator("form[action$='/snooze/']")
    expect(snooze_form).to_be_visible()
    until = snooze_form.get_by_label("Quiet until")
    expect(until).to_have_value(week_ahead.isoformat())  # the page proposes a week ahead
    until.fill(week_ahead.isoformat())
    screenshot(page, "alerts-2-snooze-picker")
    # The open menu does not hide inside the table's scroll box (the table would have to scroll to show it).
    assert page.locator(".table-responsive").evaluate("box => box.scrollHeight <= box.clientHeight")
    snooze_button = snooze_form.get_by_role("button", name="Snooze")
    snooze_button.click()
    expect(globex.get_by_role("status")).to_have_text(f"Snoozed until {week_ahead:%d %b %Y}.")
    expect(_status_cell(globex)).to_have_text(f"Snoozed · {week_ahead.day} {week_ahead:%b}")
    expect(globex).to_have_class(re.compile(r"\btext-muted\b"))
    # Snoozed, it no longer needs action: the tab and the count say so at once, the row stays to read.
    _mine_tab(page, 1)
    _result_count(page, 1, left=True)
    expect(rows).to_have_count(2)

    # Resolve the acknowledged one, saying what was done.
    northwind.locator("button.dropdown-toggle", has_text="Resolve").click()
    resolve_form = northwind.locator("form[action$='/resolve/']")
    expect(resolve_form).to_be_visible()
    resolve_form.get_by_label("What was done?").fill(RESOLUTION_NOTE)
    resolve_form.get_by_role("button", name="Resolve").click()
    expect(northwind.get_by_role("status")).to_have_text("Resolved.")
    expect(_status_cell(northwind)).to_have_text("Resolved")
    expect(northwind).to_contain_text("by Casey Rivera")
    expect(northwind.locator("form")).to_have_count(0)
    _mine_tab(page, 0)
    _result_count(page, 0, left=True)
    assert page.url == inbox_url
    assert page.evaluate("window.stillThisPage") is True
    screenshot(page, "alerts-3-after-actions")

    # Loaded afresh, the inbox (needing action by default) has nothing left for Casey.
    page.reload()
    _result_count(page, 0)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Nothing needs you here.")
    screenshot(page, "alerts-4-nothing-needs-action")
    # Asking for any status shows where both went.
    page.select_option("#alert-filters select[name=status]", "any")
    page.locator("#alert-filters").get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]status=any\b"))
    _result_count(page, 2)
    expect(_status_cell(northwind)).to_have_text("Resolved")
    expect(_status_cell(globex)).to_have_text(f"Snoozed · {week_ahead.day} {week_ahead:%b}")

    # Nor does the cockpit: snoozed and resolved flags are not to act on.
    page.get_by_role("navigation").get_by_role("link", name="Cockpit").click()
    expect(page.locator("#my-flags")).to_contain_text("No red flags need you right now.")

    band_red.refresh_from_db()
    detractor.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (band_red.status, band_red.acknowledged_by, band_red.resolved_by) == (FlagStatus.RESOLVED, csm, csm)
    assert band_red.resolution_note == RESOLUTION_NOTE
    assert band_red.resolved_at is not None and band_red.snoozed_until is None
    assert detractor.status == FlagStatus.SNOOZED
    assert timezone.localtime(detractor.snoozed_until).date() == week_ahead
    assert (detractor.resolved_at, detractor.resolution_note) == (None, "")
    assert elsewhere.status == FlagStatus.OPEN

    events = list(
        TimelineEntry.objects.filter(kind=TimelineKind.SYSTEM, event__startswith="flag_")
        .order_by("pk")
        .values_list("account__name", "event", "author__username", "summary", "body")
    )
    assert events == [
        ("Northwind Traders", "flag_acknowledged", "casey", "Red flag acknowledged: Health band turned red", ""),
        (
            "Globex Corporation",
            "flag_snoozed",
            "casey",
            f"Red flag snoozed until {week_ahead:%d %b %Y}: NPS detractor",
            "",
        ),
        ("Northwind Traders", "flag_resolved", "casey", "Red flag resolved: Health band turned red", RESOLUTION_NOTE),
    ]
    assert failed_requests == []
