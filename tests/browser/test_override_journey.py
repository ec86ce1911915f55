"""A manager overrides a health score from the Account 360, has a mistake explained, and sees the override stick."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import AccountFactory
from lifecycle.health.facts_query import AccountScope
from lifecycle.health.recompute import health_recompute_scope
from lifecycle.models import ScoreOverride
from tests.support import failures_of, login, screenshot
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_overrides_a_score_after_fixing_an_expiry_too_far_ahead(page, live_server):
    team = TeamFactory(name="Enterprise")
    ManagerFactory(username="maria", first_name="Maria", last_name="Berg", team=team)
    csm = CSMFactory(username="alex", team=team)
    account = AccountFactory(name="Northwind Traders", owner=csm)
    health_recompute_scope(day=timezone.localdate(), scope=AccountScope.of([account.pk]), notify=False)
    failures = failures_of(page)
    login(page, live_server, "maria")
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    page.get_by_text("Override the score").click()
    form = page.locator("#override-form")
    form.get_by_label("Score").fill("72")
    form.get_by_label("Expires on").fill((timezone.localdate() + dt.timedelta(days=400)).isoformat())
    form.get_by_label("Reason").fill("Exec sponsor re-engaged after the QBR")
    form.get_by_role("button", name="Set override").click()

    expect(page.get_by_role("heading", name="Override the health score")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("at most 180 days")
    form = page.locator("#override-form")
    expect(form.get_by_label("Score")).to_have_value("72")
    expect(form.get_by_label("Reason")).to_have_value("Exec sponsor re-engaged after the QBR")
    screenshot(page, "override-1-fix-the-expiry")

    form.get_by_label("Expires on").fill((timezone.localdate() + dt.timedelta(days=30)).isoformat())
    form.get_by_role("button", name="Set override").click()
    expect(page.get_by_text("Health score overridden.")).to_be_visible()
    expect(page.get_by_text("Overridden by Maria Berg")).to_be_visible()
    screenshot(page, "override-2-in-force")

    override = ScoreOverride.objects.get(account=account)
    assert override.score == 72 and override.set_by.username == "maria"
    # The one answer at or above 400 is the 422 that sent the form back; no other error, no script error.
    assert failures == [f"{live_server.url}/accounts/{account.pk}/health/override/"]
