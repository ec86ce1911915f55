"""In Chromium: the Account 360's touchpoint and pulse tabs, and its "Record outcome" disclosure, fetch their forms
when opened, and they work as before."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Outcome, TimelineEntry, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory
from lifecycle.models import PulseRating
from tests.support import ARTIFACTS_DIR, failures_of, login, screenshot
from users.tests.factories import CSMFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_csm_opens_the_touchpoint_and_pulse_tabs_and_uses_the_forms_they_fetch(page, live_server):
    csm = CSMFactory(username="alex", team=TeamFactory(name="SMB"))
    account = AccountFactory(name="Northwind Traders", owner=csm)
    ContactFactory(account=account, first_name="Dana", last_name="Lee")
    failures = failures_of(page)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, live_server, "alex")
    page.goto(f"{live_server.url}/accounts/{account.pk}/")

    # Not on the page until its tab is opened.
    expect(page.locator("#note-form")).to_be_visible()
    expect(page.locator("#touchpoint-form")).to_have_count(0)
    page.get_by_role("tab", name="Log touchpoint").click()
    form = page.locator("#touchpoint-form")
    expect(form).to_be_visible()
    form.locator("[name=tp-channel]").select_option("call")
    form.locator("[name=tp-summary]").fill("Walked through the SSO rollout")
    form.get_by_label("Dana Lee").check()
    form.get_by_role("button", name="Log touchpoint").click()
    expect(page.locator("#timeline")).to_contain_text("Walked through the SSO rollout")
    # The form comes back blank, in place, ready for the next one.
    expect(page.locator("#touchpoint-form [name=tp-summary]")).to_have_value("")

    expect(page.locator("#pulse-form")).to_have_count(0)
    page.get_by_role("tab", name="CSM pulse").click()
    pulse = page.locator("#pulse-form")
    expect(pulse).to_be_visible()
    pulse.locator("label[for=id_pulse-rating_4]").click()
    pulse.get_by_role("button", name="Save pulse").click()
    expect(page.get_by_text("Pulse saved.")).to_be_visible()
    screenshot(page, "forms-on-open-1-touchpoint-and-pulse")

    entry = TimelineEntry.objects.get(kind=TimelineKind.TOUCHPOINT)
    assert entry.summary == "Walked through the SSO rollout" and [c.first_name for c in entry.participants.all()] == [
        "Dana"
    ]
    assert PulseRating.objects.get(account=account).rating == 5
    assert failures == [] and refused == []


def test_a_csm_opens_record_outcome_and_records_a_renewal_with_the_form_it_fetches(page, live_server):
    csm = CSMFactory(username="casey", team=TeamFactory(name="SMB"))
    today = timezone.localdate()
    account = AccountFactory(
        name="Northwind Traders",
        owner=csm,
        arr=Decimal("48000"),
        contract_start=today - dt.timedelta(days=365),
        renewal_date=today,
    )
    failures = failures_of(page)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, live_server, "casey")
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    panel = page.locator("#outcomes")
    expect(panel).to_contain_text("No renewal or churn recorded yet.")

    # Not on the page until the disclosure is opened.
    expect(page.locator("#outcome-form")).to_have_count(0)
    panel.get_by_role("button", name="Record outcome").click()
    form = page.locator("#outcome-form")
    expect(form).to_be_visible()
    expect(form.get_by_label("Term end")).to_have_value(today.isoformat())
    expect(form.get_by_label("ARR before")).to_have_value("48000.00")
    # The 360's rules still apply to the fetched form: a renewal asks for no reason.
    expect(form.get_by_label("Reason")).to_be_hidden()
    form.get_by_label("New ARR").fill("60000")
    panel.screenshot(path=str(ARTIFACTS_DIR / "forms-on-open-2-outcome-form.png"))
    form.get_by_role("button", name="Record").click()

    expect(panel.get_by_role("status")).to_have_text("Renewed recorded.")
    listed = panel.locator("#outcome-list li").first
    expect(listed).to_contain_text("USD 48,000 → 60,000 (+25%)")
    # The panel came back with a blank form behind the closed disclosure; opening it again shows it at once.
    expect(page.locator("#outcome-form")).to_be_hidden()
    panel.get_by_role("button", name="Record outcome").click()
    expect(page.locator("#outcome-form")).to_be_visible()
    expect(page.locator("#outcome-form").get_by_label("New ARR")).to_have_value("")
    screenshot(page, "forms-on-open-3-outcome-recorded")

    outcome = Outcome.objects.get()
    assert (outcome.kind, outcome.arr_before, outcome.arr_after) == ("renewed", Decimal("48000"), Decimal("60000"))
    assert failures == [] and refused == []
