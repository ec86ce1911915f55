"""A manager opens the portfolio in Chromium at 1440x900: every chart drawn, no console error, the unhappy
industry called out with its test, the tables and CSVs beside the charts, and the filters narrowing it all."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Account, Industry, Region, Stage, Tier, TimelineEntry, TimelineKind
from accounts.tests.factories import AccountFactory
from lifecycle.flags.models import AlertRule, RedFlag
from lifecycle.health.models import AccountHealth, HealthScore
from tests.support import failures_of, login, screenshot
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = timezone.localdate()
CHARTS = 10


def _band(score: float) -> str:
    return "green" if score >= 70 else "yellow" if score >= 40 else "red"


@pytest.fixture
def team_book():
    """Four CSMs' books, 120 accounts over every industry; retail customers clearly unhappier; 90 days of snapshots."""
    rng = random.Random(16)
    team = TeamFactory(name="Enterprise", segment="Enterprise")
    ManagerFactory(username="maria", first_name="Maria", last_name="Berg", team=team)
    csms = [
        CSMFactory(username=name.lower(), first_name=name, last_name=last, team=team)
        for name, last in (("Alex", "Ward"), ("Sam", "Okafor"), ("Priya", "Raman"), ("Jonas", "Keller"))
    ]
    industries = [Industry.SOFTWARE, Industry.RETAIL, Industry.HEALTHCARE, Industry.FINANCIAL_SERVICES, Industry.MEDIA]
    stages = [Stage.ONBOARDING, Stage.ADOPTION, Stage.ADOPTION, Stage.SUCCESS, Stage.SUCCESS, Stage.AT_RISK]
    accounts = Account.objects.bulk_create(
        AccountFactory.build(
            name=f"{rng.choice(['Northwind', 'Blue Peak', 'Harbor', 'Keystone', 'Summit', 'Cedar'])} {i:03d}",
            owner=csms[i % 4],
            industry=industries[i % 5],
            region=list(Region)[i % 4],
            tier=list(Tier)[i % 3],
            arr=Decimal(rng.choice([8000, 15000, 40000, 90000, 250000])),
            currency="EUR" if i % 29 == 0 else "USD",
            arr_reporting=None if i % 29 == 0 else Decimal(0),
            stage=Stage.CHURNED if i % 31 == 0 else stages[i % 6],
            stage_entered_at=timezone.now() - dt.timedelta(days=rng.randint(3, 200)),
            renewal_date=TODAY + dt.timedelta(days=rng.randint(1, 300)),
        )
        for i in range(120)
    )
    Account.objects.filter(currency="USD").update(arr_reporting=F("arr"))
    health, history = [], []
    for account in accounts:
        base = rng.gauss(45 if account.industry == Industry.RETAIL else 70, 10)
        for week in range(13):
            score = max(0, min(100, base + rng.gauss(0, 4) - (12 - week) * 0.3))
            history.append(
                HealthScore(
                    account=account,
                    day=TODAY - dt.timedelta(days=7 * (12 - week)),
                    score=Decimal(f"{score:.1f}"),
                    band=_band(score),
                )
            )
        health.append(AccountHealth(account=account, day=TODAY, score=Decimal(f"{score:.1f}"), band=_band(score)))
    AccountHealth.objects.bulk_create(health)
    HealthScore.objects.bulk_create(history)
    rules = list(AlertRule.objects.order_by("name")[:4])
    RedFlag.objects.bulk_create(
        RedFlag(
            rule=rules[i % len(rules)],
            account=account,
            owner=account.owner,
            severity="medium",
            reason="demo",
            raised_at=timezone.now() - dt.timedelta(days=rng.randint(0, 85)),
        )
        for i, account in enumerate(accounts[:40])
    )
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            account=account,
            kind=TimelineKind.TOUCHPOINT,
            channel="call",
            summary="Check-in",
            occurred_at=timezone.now() - dt.timedelta(days=rng.randint(0, 29)),
        )
        for account in accounts
        for _ in range(12 if account.arr <= 8000 and account.pk % 3 == 0 else rng.randint(0, 2))
    )


def _charts_drawn(page) -> int:
    """How many chart canvases have a Chart.js chart with something painted on them."""
    page.wait_for_function("() => document.readyState === 'complete' && typeof Chart !== 'undefined'")
    return page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-chart]')].filter((canvas) => {
            const chart = Chart.getChart(canvas);
            if (!chart || canvas.width === 0 || canvas.height === 0) return false;
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
            return false;
        }).length"""
    )


def test_a_manager_reads_the_portfolio_in_charts_with_their_tables(page, live_server, team_book):
    failures = failures_of(page)
    console_errors: list[str] = []
    # Chromium asks every site for /favicon.ico, which Baton does not serve: not an error of this page.
    page.on(
        "console",
        lambda message: console_errors.append(message.text)
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
        else None,
    )

    login(page, live_server, "maria")
    page.get_by_role("link", name="Portfolio", exact=True).click()
    expect(page.locator("h1")).to_have_text("Portfolio")
    expect(page.locator("canvas[data-chart]")).to_have_count(CHARTS)
    assert _charts_drawn(page) == CHARTS
    expect(page.locator("#unhappy-traits")).to_contain_text("Industry: Retail")
    expect(page.locator("#unhappy-traits")).to_contain_text("Welch's t-test, Holm-corrected")
    expect(page.locator("#missing-rates")).to_contain_text("no exchange rate to USD")
    screenshot(page, "portfolio-1-manager")

    # Each chart's table opens beside it; its CSV link carries the page's filters.
    funnel = page.locator("#chart-stage_funnel")
    funnel.locator("summary").click()
    expect(funnel.locator("table")).to_contain_text("Median days in stage")
    href = funnel.get_by_role("link", name="Stage funnel as CSV").get_attribute("href")
    assert "format=csv" in href and "chart=stage_funnel" in href

    # Filtered to high-touch accounts: fewer accounts, every chart still drawn.
    page.get_by_label("High-touch").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".page-header")).to_contain_text("38 active accounts")
    assert _charts_drawn(page) == CHARTS
    assert "tier=high" in page.locator("#chart-workload a").first.get_attribute("href")
    screenshot(page, "portfolio-2-high-touch")

    assert failures == []
    assert console_errors == []
