"""Demo signals go back two years at demo sizes (the churn model's history) and 90 days at benchmark sizes."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min
from django.utils import timezone

from accounts.demo import core
from accounts.models import Outcome, OutcomeKind, Stage
from lifecycle.demo import SIGNAL_HISTORY_DAYS, STORY_DAYS
from lifecycle.models import Backtest, CheckIn, SupportTicket, SurveyResponse, UsageDaily

pytestmark = pytest.mark.django_db


def seed(accounts: int, seed_value: int = 4) -> None:
    call_command("seed_demo", seed=seed_value, accounts=accounts, stdout=StringIO())


def usage_spans() -> dict[int, tuple[dt.date, dt.date, int]]:
    rows = UsageDaily.objects.values("account_id").annotate(first=Min("day"), last=Max("day"), n=Count("pk"))
    return {row["account_id"]: (row["first"], row["last"], row["n"]) for row in rows}


def test_a_demo_sized_company_has_two_years_of_signals_without_gaps_and_none_after_a_churn():
    seed(accounts=60)
    today = timezone.localdate()
    spans = usage_spans()
    assert min(first for first, _, _ in spans.values()) == today - dt.timedelta(days=SIGNAL_HISTORY_DAYS)
    # The history and the 90-day story meet without a gap or an overlap (one row per day is a constraint).
    assert all(n == (last - first).days + 1 for first, last, n in spans.values())
    churned_on = dict(Outcome.objects.filter(kind=OutcomeKind.CHURNED).values_list("account_id", "occurred_on"))
    assert churned_on
    for account_id, (_, last, _) in spans.items():
        if account_id in churned_on:
            assert last == churned_on[account_id] - dt.timedelta(days=1)
        else:
            assert last == today - dt.timedelta(days=1)
    assert not SupportTicket.objects.filter(
        account__stage=Stage.CHURNED, opened_at__date__gte=today - dt.timedelta(days=5)
    ).exists()
    # Tickets, surveys and check-in calls from before the story's 90 days.
    long_ago = today - dt.timedelta(days=365)
    assert SupportTicket.objects.filter(opened_at__date__lt=long_ago).exists()
    assert SurveyResponse.objects.filter(kind="nps", responded_at__date__lt=long_ago).exists()
    calls = CheckIn.objects.filter(held_at__date__lt=long_ago).select_related("timeline_entry")
    assert calls and all(call.timeline_entry.summary == "Check-in call" for call in calls)


def test_a_benchmark_sized_company_keeps_90_days_of_signals(monkeypatch):
    monkeypatch.setattr(core, "FULL_DETAIL_ACCOUNTS", 10)
    seed(accounts=40)
    today = timezone.localdate()
    spans = usage_spans()
    assert min(first for first, _, _ in spans.values()) >= today - dt.timedelta(days=STORY_DAYS)
    assert not SurveyResponse.objects.filter(responded_at__date__lt=today - dt.timedelta(days=STORY_DAYS + 1)).exists()
    assert not Backtest.objects.exists()  # the benchmark times its own
    # A churned customer's usage still stops when it left.
    for account_id, day in Outcome.objects.filter(kind=OutcomeKind.CHURNED).values_list("account_id", "occurred_on"):
        assert not UsageDaily.objects.filter(account_id=account_id, day__gte=day).exists()
