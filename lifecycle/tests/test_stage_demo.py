"""The demo company's stage history reads like the timeline the stage service writes."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.utils import timezone

from accounts.demo.core import AccountPlan, DemoBatch, DemoCompany
from accounts.models import Stage, TimelineEntry
from accounts.tests.factories import AccountFactory
from lifecycle.stages.demo import seed_stage_history

pytestmark = pytest.mark.django_db


def test_each_stage_change_counts_the_days_before_it_in_english():
    now = timezone.now()
    signed = now - dt.timedelta(days=10)
    account = AccountFactory()
    path = [
        (Stage.ONBOARDING, signed),
        (Stage.ADOPTION, signed + dt.timedelta(days=1)),
        (Stage.SUCCESS, signed + dt.timedelta(days=3)),
    ]
    batch = DemoBatch(index=0, seed=1, accounts=[account], plans={account.pk: AccountPlan(signed.date(), path)})

    seed_stage_history(DemoCompany(seed=1, size=1, now=now, stdout=StringIO()), batch)

    summaries = TimelineEntry.objects.filter(account=account, event="stage_changed").order_by("occurred_at")
    assert [entry.summary for entry in summaries] == [
        "Stage changed from Onboarding to Adoption after 1 day",
        "Stage changed from Adoption to Success after 2 days",
    ]
