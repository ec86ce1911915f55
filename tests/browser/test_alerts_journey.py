"""A CSM works the red-flag alerts inbox in Chromium: acknowledge, snooze and resolve, each in place."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

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


def test_a_manager_reads_and_acknowledges_a_flood_warning_and_an_admin_sets_the_share(page, live_server):
    """A night when one rule flagged half the book: every flag is there, and the inbox says so first."""
    from lifecycle.flags.models import AlertSettings, FloodWarning
    from lifecycle.health.recompute import health_recompute_all_inline
    from lifecycle.tests.test_flood_guard import silent_book
    from users.tests.factories import AdminFactory, ManagerFactory

    team = TeamFactory(name="Enterprise")
    ManagerFactory(username="maria", first_name="Maria", last_name="Berg", team=team)
    AdminFactory(username="ada", first_name="Ada", last_name="Admin")
    rule = silent_book(accounts=10, silent=5)
    health_recompute_all_inline(day=timezone.localdate(), notify=False)
    warning = FloodWarning.objects.get(rule=rule)
    failed_requests = failures_of(page)

    login(page, live_server, "maria")
    page.goto(f"{live_server.url}/alerts/?scope=all")
    banner = page.locator("#flood-warnings")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("heading")).to_have_text("Flood guard: a rule flagged much of the book in one night")
    expect(banner).to_contain_text("No touchpoint in 30 days raised 5 new flags")
    expect(banner).to_contain_text("50% of the book (10 accounts), above the 20% limit.")
    expect(banner).to_contain_text("Every flag was raised: none was held back.")
    # The banner comes before the inbox and its flags, which are all there.
    assert banner.bounding_box()["y"] < page.locator("#alert-scopes").bounding_box()["y"]
    _result_count(page, 5)
    screenshot(page, "alerts-5-flood-warning")

    banner.get_by_role("link", name="See its flags").click()
    expect(page).to_have_url(re.compile(rf"[?&]rule={rule.pk}\b"))
    _result_count(page, 5)

    # Acknowledged in place, the banner goes and the flags stay.
    page.locator(f"#flood-warning-{warning.pk}").get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f"#flood-warning-{warning.pk}")).to_have_count(0)
    expect(page.locator("#flood-warnings")).to_be_empty()
    _result_count(page, 5)
    screenshot(page, "alerts-6-flood-warning-acknowledged")

    # An admin sets the share on its page: nonsense is refused with the reason, a share is kept.
    page.get_by_role("button", name="Log out").click()
    login(page, live_server, "ada")
    page.goto(f"{live_server.url}/alerts/")
    page.get_by_role("link", name="Flood guard").click()
    expect(page.get_by_role("heading", name="Flood guard", exact=True)).to_be_visible()
    expect(page.locator("#flood-warning-history")).to_contain_text("by Maria Berg")
    share = page.get_by_label("Flood share")
    share.fill("1.5")
    page.locator("#flood-guard-form").get_by_role("button", name="Save").click()
    expect(page.locator("#flood-guard-form .invalid-feedback")).to_contain_text("less than or equal to 1")
    screenshot(page, "alerts-7-flood-share-refused")
    page.get_by_label("Flood share").fill("0.3")
    page.locator("#flood-guard-form").get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Flood share set to 0.3.")
    assert AlertSettings.objects.current().flood_share == Decimal("0.3")
    # The refused form answered 422; nothing else failed.
    assert [url for url in failed_requests if not url.endswith("/alerts/flood-guard/")] == []
