"""Demo signals: repeatable for a seed, and telling the stories the health score and rules look for."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db.models import Avg, Count

from accounts.tests.factories import AccountFactory
from lifecycle.models import CheckIn, Invoice, PulseRating, SupportTicket, SurveyResponse, UsageDaily
from lifecycle.signals.demo import seed_demo_signals

pytestmark = pytest.mark.django_db

TODAY = dt.date(2025, 6, 2)
STAGES = ["onboarding", "adoption", "adoption", "success", "success", "at_risk", "churned"]


@pytest.fixture
def book() -> list[tuple[int, str, str, dt.date]]:
    accounts = [
        AccountFactory(stage=STAGES[i % len(STAGES)], tier=["high", "low", "tech"][i % 3], currency="EUR")
        for i in range(60)
    ]
    return [(a.pk, a.tier, a.stage, TODAY - dt.timedelta(days=400)) for a in accounts]


def usage_snapshot() -> list[tuple]:
    return list(UsageDaily.objects.order_by("account_id", "day").values_list("account_id", "day", "active_users"))


def test_the_same_seed_gives_the_same_signals(book):
    seed_demo_signals(rng=random.Random(7), accounts=book, today=TODAY)
    first = usage_snapshot()
    UsageDaily.objects.all().delete()
    SupportTicket.objects.all().delete()
    SurveyResponse.objects.all().delete()
    Invoice.objects.all().delete()
    CheckIn.objects.all().delete()
    PulseRating.objects.all().delete()
    seed_demo_signals(rng=random.Random(7), accounts=book, today=TODAY)
    assert usage_snapshot() == first


def test_every_account_gets_90_days_of_usage_and_a_varied_book_of_other_signals(book):
    counts = seed_demo_signals(rng=random.Random(1), accounts=book, today=TODAY)
    assert counts["lifecycle.UsageDaily"] == 60 * 90
    days = UsageDaily.objects.values("account").annotate(n=Count("pk")).values_list("n", flat=True)
    assert set(days) == {90}
    assert UsageDaily.objects.filter(day__gte=TODAY).count() == 0
    assert set(SupportTicket.objects.values_list("severity", flat=True)) >= {"low", "medium", "high"}
    nps = list(SurveyResponse.objects.filter(kind="nps").values_list("score", flat=True))
    assert min(nps) <= 6 and max(nps) >= 9  # detractors and promoters
    assert set(Invoice.objects.values_list("currency", flat=True)) == {"EUR"}  # the account's currency
    adoption = {pk for pk, _, stage, _ in book if stage == "adoption"}
    assert set(CheckIn.objects.values_list("account_id", flat=True)) <= adoption
    assert CheckIn.objects.filter(answers__concern=True).exists()
    assert all(c.timeline_entry and c.conducted_by_id for c in CheckIn.objects.select_related("timeline_entry"))
    assert PulseRating.objects.exclude(rated_by=None).count() == PulseRating.objects.count() > 0


def test_some_accounts_decline_and_onboarding_stalls_show_near_zero_usage(book):
    seed_demo_signals(rng=random.Random(3), accounts=book, today=TODAY)
    declining = 0
    for account_id, _, stage, _ in book:
        rows = UsageDaily.objects.filter(account_id=account_id)
        recent = rows.filter(day__gte=TODAY - dt.timedelta(days=14)).aggregate(v=Avg("active_users"))["v"]
        before = rows.filter(day__lt=TODAY - dt.timedelta(days=28), day__gte=TODAY - dt.timedelta(days=56)).aggregate(
            v=Avg("active_users")
        )["v"]
        if before and recent < before * 0.75:
            declining += 1
    assert declining >= 3
    onboarding_max = [
        UsageDaily.objects.filter(account_id=pk).aggregate(v=Avg("active_users"))["v"]
        for pk, _, stage, _ in book
        if stage == "onboarding"
    ]
    assert min(onboarding_max) < 1  # a stalled onboarding
