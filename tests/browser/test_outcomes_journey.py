"""A CSM records a renewal with expansion on the Account 360, in place, and sees it listed with its movement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Outcome
from accounts.tests.factories import AccountFactory
from tests.support import ARTIFACTS_DIR, failures_of, login, screenshot
from users.tests.factories import CSMFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_csm_records_a_renewal_with_expansion_on_the_360_and_sees_it_listed(page, live_server):
    team = TeamFactory(name="Mid-market East")
    csm = CSMFactory(username="casey", first_name="Casey", last_name="Rivera", team=team)
    today = timezone.localdate()
    account = AccountFactory(
        name="Northwind Traders",
        owner=csm,
        arr=Decimal("48000"),
        contract_start=today - dt.timedelta(days=365),
        renewal_date=today,
    )
    failures = failures_of(page)
    login(page, live_server, "casey")
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    panel = page.locator("#outcomes")
    expect(panel).to_contain_text("Renewals and outcomes")
    expect(panel).to_contain_text("No renewal or churn recorded yet.")

    panel.get_by_role("button", name="Record outcome").click()
    form = page.locator("#outcome-form")
    expect(form).to_be_visible()
    # Pre-filled with the term that ends today and the ARR it was sold at; a renewal asks for no reason.
    expect(form.get_by_label("Term end")).to_have_value(today.isoformat())
    expect(form.get_by_label("ARR before")).to_have_value("48000.00")
    expect(form.get_by_label("Reason")).to_be_hidden()
    # Churned asks for a reason instead of a new ARR; back to renewed.
    form.get_by_text("Churned", exact=True).click()
    expect(form.get_by_label("Reason")).to_be_visible()
    expect(form.get_by_label("New ARR")).to_be_hidden()
    form.get_by_text("Renewed", exact=True).click()
    expect(form.get_by_label("New ARR")).to_be_visible()

    page.evaluate("window.stillThisPage = true")
    form.get_by_label("New ARR").fill("60000")
    form.get_by_label("Note").fill("Renewed for two more regions after the QBR.")
    screenshot(page, "outcomes-1-record-a-renewal")
    form.get_by_role("button", name="Record").click()

    expect(panel.get_by_role("status")).to_have_text("Renewed recorded.")
    listed = panel.locator("#outcome-list li").first
    expect(listed).to_contain_text("Renewed")
    expect(listed).to_contain_text("Expansion")
    expect(listed).to_contain_text("USD 48,000 → 60,000 (+25%)")
    expect(listed).to_contain_text("(annual)")
    expect(listed).to_contain_text("Renewed for two more regions after the QBR.")
    expect(listed).to_contain_text("Recorded by Casey Rivera via Account 360")
    # The form closed again, and the timeline picked up the system event without a reload.
    expect(page.locator("#outcome-form")).to_be_hidden()
    expect(page.locator("#timeline")).to_contain_text("Outcome: Renewed, expansion: USD 48,000 → 60,000")
    assert page.evaluate("window.stillThisPage") is True
    screenshot(page, "outcomes-2-renewal-listed")
    panel.screenshot(path=str(ARTIFACTS_DIR / "outcomes-3-panel.png"))

    outcome = Outcome.objects.get()
    assert (outcome.kind, outcome.arr_before, outcome.arr_after, outcome.movement) == (
        "renewed",
        Decimal("48000"),
        Decimal("60000"),
        "expansion",
    )
    assert (outcome.term_start, outcome.term_end, outcome.recorded_by, outcome.source) == (
        today - dt.timedelta(days=365),
        today,
        csm,
        "page",
    )
    assert failures == []
