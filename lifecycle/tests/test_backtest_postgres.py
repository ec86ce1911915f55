"""A backtest asked for over the API is run by a real worker on PostgreSQL, its progress and report read back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import OutcomeKind
from accounts.tests.factories import AccountFactory, OutcomeFactory
from lifecycle.models import AccountHealth, Backtest, HealthScore, Measure, Scorecard, SurveyKind, SurveyResponse
from tests.support import wait_until
from users.tests.factories import AdminFactory

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def postgresql() -> None:
    assert connection.vendor == "postgresql", "run with BATON_INTEGRATION=1 and a PostgreSQL DATABASE_URL"


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_an_api_backtest_of_a_draft_and_keeps_its_report(celery_worker_process):
    today = timezone.localdate()
    outcome_day = today - dt.timedelta(days=20)
    card = Scorecard.objects.create(name="NPS only")  # a draft that never ran
    Measure.objects.create(scorecard=card, kind="nps", weight=1, zero_at=0, full_at=10, validity_days=365)
    asked = timezone.now() - dt.timedelta(days=60)
    for n, (score, churned) in enumerate([(1, True), (4, True), (6, False), (9, False), (8, False)]):
        account = AccountFactory()
        SurveyResponse.objects.create(
            account=account, kind=SurveyKind.NPS, score=score, responded_at=asked, external_id=n
        )
        # Answered after the day 30 days ahead of the outcome: must not count.
        SurveyResponse.objects.create(
            account=account, kind=SurveyKind.NPS, score=10 - score, responded_at=timezone.now(), external_id=f"{n}-late"
        )
        if churned:
            OutcomeFactory(
                account=account, kind=OutcomeKind.CHURNED, occurred_on=outcome_day, reason="price", arr_after=0
            )
        else:
            OutcomeFactory(account=account, occurred_on=outcome_day)
    client = APIClient()
    client.force_authenticate(AdminFactory())

    response = client.post(
        "/api/health/backtests/",
        {"scorecard": card.pk, "first_day": (today - dt.timedelta(days=40)).isoformat(), "horizons": [30, 10]},
        format="json",
    )
    assert response.status_code == 202, response.data

    def finished() -> dict | None:
        data = client.get(f"/api/health/backtests/{response.data['id']}/").data
        return data if data["finished_at"] else None

    result = wait_until(finished, timeout=60, message=f"never finished\n{celery_worker_process.log_tail()}")
    assert result["state"] == "finished", result["error"]
    assert result["percent_done"] == 100 and result["steps_done"] == result["steps_total"] == 3
    at_10, at_30 = result["report"]["horizons"]
    assert (at_10["days"], at_30["days"]) == (10, 30)
    assert at_30["cards"][0]["auc"] == at_10["cards"][0]["auc"] == 1.0
    assert at_30["cards"][0]["outcomes"] == 5
    assert not HealthScore.objects.exists() and not AccountHealth.objects.exists()
    assert Backtest.objects.get().started_at is not None
    card.refresh_from_db()
    assert card.is_draft
