"""The trend's past points come from the nightly roll-up of snapshots: it must add up to what the snapshots say."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Count, FloatField, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import Account, Coverage, Stage, Tier
from accounts.tests.factories import AccountFactory
from desk.portfolio import selectors
from desk.portfolio.forms import PortfolioFilters
from desk.portfolio.health import BAND_LABELS, UNSCORED
from lifecycle.health.models import HealthBandDaily, HealthScore
from lifecycle.health.recompute import health_recompute_all_inline
from lifecycle.health.rollup import health_band_daily_backfill, health_band_daily_write

pytestmark = pytest.mark.django_db

BANDS = ["green", "yellow", "red", ""]


@pytest.fixture
def history(csm, teammate, team, other_csm):
    """Accounts of every kind of cover and tier, with snapshots on three weekly points (some without a score)."""
    today = timezone.localdate()
    accounts = [
        AccountFactory(owner=csm, tier=Tier.HIGH_TOUCH),
        AccountFactory(owner=csm, tier=Tier.LOW_TOUCH),
        AccountFactory(owner=teammate, tier=Tier.LOW_TOUCH),
        AccountFactory(coverage=Coverage.POOLED, owner=None, pool=team, tier=Tier.TECH_TOUCH),
        AccountFactory(owner=other_csm, tier=Tier.HIGH_TOUCH),
        AccountFactory(owner=teammate, tier=Tier.HIGH_TOUCH, stage=Stage.CHURNED),
    ]
    for week in (1, 2, 3):
        for index, account in enumerate(accounts):
            score = None if (index + week) % 5 == 0 else Decimal(20 + 13 * index + 7 * week) + Decimal("0.5")
            band = "" if score is None else ("green" if score >= 70 else "yellow" if score >= 40 else "red")
            HealthScore.objects.create(account=account, day=today - dt.timedelta(days=7 * week), score=score, band=band)
    return accounts


def _from_snapshots(accounts, day: dt.date) -> tuple[dict[str, int], float | None]:
    """The trend point as the snapshots of the (not churned) accounts in scope say it, read directly."""
    rows = (
        HealthScore.objects.filter(day=day, account__in=accounts.active().values("pk"))
        .values("band")
        .annotate(n=Count("pk"), scored=Count("score"), total=Sum(Cast("score", FloatField())))
    )
    counts = dict.fromkeys(BAND_LABELS, 0)
    scored, total = 0, 0.0
    for row in rows:
        counts[row["band"] if row["band"] in BAND_LABELS else UNSCORED] += row["n"]
        scored += row["scored"]
        total += row["total"] or 0.0
    return counts, round(total / scored, 1) if scored else None


@pytest.mark.parametrize(
    ("who", "filters"),
    [
        ("manager", {}),
        ("csm", {}),
        ("admin", {}),
        ("manager", {"tiers": ["high", "low"]}),
        ("admin", {"team": "team"}),
        ("admin", {"segment": "Enterprise"}),
    ],
)
def test_the_trend_from_the_rollup_equals_the_snapshots(request, history, who, filters):
    health_band_daily_backfill()
    user = request.getfixturevalue(who)
    if filters.get("team"):
        filters = {**filters, "team": request.getfixturevalue("team")}
    chosen = PortfolioFilters(**{**vars(PortfolioFilters.default()), **filters})
    trend = {point.day: point for point in selectors.portfolio(user, chosen).trend}
    today = timezone.localdate()
    for week in (1, 2, 3):
        day = today - dt.timedelta(days=7 * week)
        counts, average = _from_snapshots(selectors.scoped_accounts(user, chosen), day)
        assert sum(counts.values()) > 0
        assert (trend[day].counts, trend[day].average) == (counts, average)


def test_writing_a_day_replaces_only_that_days_rows(history):
    today = timezone.localdate()
    health_band_daily_backfill()
    two_weeks_ago = list(HealthBandDaily.objects.filter(day=today - dt.timedelta(days=14)).values())
    last_week = today - dt.timedelta(days=7)
    HealthScore.objects.filter(day=last_week).update(band="red")
    health_band_daily_write(day=last_week)
    rolled = HealthBandDaily.objects.filter(day=last_week)
    assert set(rolled.values_list("band", flat=True)) == {"red"}
    # Five accounts not churned: the churned one is left out of every day.
    assert sum(rolled.values_list("accounts", flat=True)) == 5
    assert list(HealthBandDaily.objects.filter(day=today - dt.timedelta(days=14)).values()) == two_weeks_ago


def test_the_nightly_run_rolls_up_its_day(history):
    today = timezone.localdate()
    health_recompute_all_inline(day=today, notify=False)
    snapshots = HealthScore.objects.filter(day=today).exclude(account__stage=Stage.CHURNED)
    rolled = HealthBandDaily.objects.filter(day=today)
    assert sum(rolled.values_list("accounts", flat=True)) == snapshots.count() == Account.objects.active().count()
    assert sum(rolled.values_list("scored", flat=True)) == snapshots.exclude(score=None).count()


def test_a_back_filled_day_is_rolled_up(history):
    from lifecycle.health.backfill import health_backfill_day

    day = timezone.localdate() - dt.timedelta(days=30)
    health_backfill_day(day=day)
    assert sum(HealthBandDaily.objects.filter(day=day).values_list("accounts", flat=True)) == 5
