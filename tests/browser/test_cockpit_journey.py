"""A CSM opens the cockpit in Chromium at 1440x900: next best first, churned accounts left out until asked
for, and the accounts table whole on screen, its last column included, on the cockpit and on All accounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import AccountFactory
from lifecycle.health.scoring import account_priority
from lifecycle.models import AccountHealth
from tests.support import failures_of, login, screenshot
from users.tests.factories import CSMFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = timezone.localdate()


def _scored(account, score: int, band: str, delta: str) -> None:
    AccountHealth.objects.create(
        account=account,
        day=TODAY,
        computed_score=Decimal(score),
        computed_band=band,
        score=Decimal(score),
        band=band,
        delta_7d=Decimal(delta),
        priority=account_priority(
            score=score, renewal_date=account.renewal_date, arr=float(account.arr), stage=account.stage, today=TODAY
        ),
    )


@pytest.fixture
def wide_book():
    """A desk whose cells are as wide as the demo's widest: long names and domains, large ARR, a long team name."""
    team = TeamFactory(name="Mid-market North America East")
    csm = CSMFactory(username="robin", first_name="Robin", last_name="Castellano-Whitfield", team=team)
    soon, far = TODAY + dt.timedelta(days=40), TODAY + dt.timedelta(days=300)
    at_risk = AccountFactory(
        name="Keystonemark Library Service Cooperative",
        domain="keystonemarklibraryservicecooperative.com",
        owner=csm,
        stage="at_risk",
        tier="high",
        industry="financial_services",
        arr=Decimal("1379100"),
        currency="USD",
        renewal_date=soon,
    )
    pooled = AccountFactory(
        name="Summitworks Water Board", owner=None, coverage="pooled", pool=team, arr=Decimal("15500"), renewal_date=far
    )
    churned = AccountFactory(
        name="Long Gone Logistics",
        owner=csm,
        stage="churned",
        arr=Decimal("96400"),
        contract_start=TODAY - dt.timedelta(days=900),
        renewal_date=TODAY - dt.timedelta(days=500),
    )
    _scored(at_risk, 31, "red", "-12.0")
    _scored(pooled, 62, "yellow", "-0.4")
    _scored(churned, 100, "green", "0")
    return csm


def _last_column_fits(page) -> None:
    """The last header cell ends inside the 1440-pixel viewport and inside the table's scroll box."""
    viewport = page.viewport_size
    assert viewport is not None and viewport["width"] == 1440
    last = page.locator("#accounts thead th").last.bounding_box()
    box = page.locator("#accounts").locator("xpath=..").bounding_box()
    assert last is not None and box is not None
    right = last["x"] + last["width"]
    assert right <= viewport["width"], f"the last column ends at {right}px"
    assert right <= box["x"] + box["width"] + 0.5, "the table scrolls sideways to show its last column"


def test_the_cockpit_opens_next_best_first_and_fits_a_1440_pixel_screen(page, live_server, wide_book):
    failed_requests = failures_of(page)
    login(page, live_server, "robin")

    rows = page.locator("#accounts tbody tr")
    expect(page.locator("#next-best-note")).to_be_visible()
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Keystonemark Library Service Cooperative")
    expect(rows.nth(0)).to_contain_text("▼ 12")
    # Down less than half a point: steady, not "▼ 0".
    expect(rows.nth(1)).to_contain_text("= 0")
    expect(page.locator("#accounts")).not_to_contain_text("Long Gone Logistics")
    expect(page.locator("#accounts thead th").last).to_be_in_viewport()
    _last_column_fits(page)
    screenshot(page, "cockpit-1-next-best-at-1440")

    page.get_by_label("Show churned").check()
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("Long Gone Logistics")
    assert "churned=1" in page.url

    page.get_by_role("link", name="All accounts").first.click()
    expect(page.get_by_role("heading", name="All accounts")).to_be_visible()
    expect(page.locator("#accounts tbody tr")).to_have_count(3)
    _last_column_fits(page)
    screenshot(page, "cockpit-2-all-accounts-at-1440")
    assert failed_requests == []
