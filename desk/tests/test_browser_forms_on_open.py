"""In Chromium: the Account 360's touchpoint and pulse tabs fetch their forms when opened, and they work as before."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import TimelineEntry, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory
from lifecycle.models import PulseRating
from tests.support import failures_of, login, screenshot
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
