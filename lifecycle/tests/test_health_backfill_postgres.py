"""Back-filling on PostgreSQL: both recompute paths honour its options, and a real worker does the API's work."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import AccountFactory
from lifecycle.health.backfill import forced_scorecards
from lifecycle.health.facts_query import AccountScope
from lifecycle.health.models import HealthBackfill
from lifecycle.health.recompute import _recompute_scope_in_database, _recompute_scope_in_python
from lifecycle.health.scoring import load_scorecards
from lifecycle.models import AccountHealth, HealthScore, Measure, RedFlag, Scorecard, UsageDaily
from notifications.models import Notification
from tests.support import wait_until
from users.tests.factories import AdminFactory

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def postgresql() -> None:
    assert connection.vendor == "postgresql", "run with BATON_INTEGRATION=1 and a PostgreSQL DATABASE_URL"


def _usage(account, *, last_day: dt.date, recent: int, previous: int) -> None:
    UsageDaily.objects.bulk_create(
        UsageDaily(
            account=account,
            day=last_day - dt.timedelta(days=back),
            active_users=recent if back < 7 else previous,
            licences_used=8,
            licences_owned=10,
        )
        for back in range(35)
    )


def _company(today: dt.date) -> list[int]:
    """Accounts whose usage dropped ten days ago and recovered since, one without signals."""
    accounts = [AccountFactory(tier=tier) for tier in ("low", "high", "tech", "low")]
    for account in accounts[:3]:
        _usage(account, last_day=today - dt.timedelta(days=10), recent=10, previous=40)
        UsageDaily.objects.bulk_create(
            UsageDaily(account=account, day=today - dt.timedelta(days=n), active_users=90) for n in range(10)
        )
    return [account.pk for account in accounts]


def _written(path, *, day: dt.date, scope: AccountScope, scorecards, raise_flags: bool) -> dict[str, Any]:
    with transaction.atomic():
        path(day=day, scope=scope, scorecards=scorecards, notify=False, raise_flags=raise_flags)
        written = {
            "snapshots": list(
                HealthScore.objects.filter(scope.q())
                .order_by("account_id", "day")
                .values("account_id", "day", "scorecard_id", "score", "band", "measures")
            ),
            "health": list(AccountHealth.objects.filter(scope.q()).order_by("account_id").values()),
            "flags": [
                (rule_id, account_id, timezone.localdate(raised_at))
                for rule_id, account_id, raised_at in RedFlag.objects.filter(scope.q())
                .order_by("rule_id", "account_id")
                .values_list("rule_id", "account_id", "raised_at")
            ],
        }
        transaction.set_rollback(True)
    return written


@pytest.mark.django_db
@pytest.mark.parametrize("scorecard", ["applicable", "forced"])
def test_both_paths_backfill_an_earlier_day_alike_without_moving_todays_current_health(scorecard):
    today = timezone.localdate()
    past = today - dt.timedelta(days=10)
    ids = _company(today)
    scope = AccountScope.between(ids[0], ids[-1])
    _recompute_scope_in_python(day=today, scope=scope, scorecards=load_scorecards(), notify=False, raise_flags=False)
    current = list(AccountHealth.objects.order_by("account_id").values())
    if scorecard == "forced":
        card = Scorecard.objects.create(name="Usage only", tier="high")
        Measure.objects.create(scorecard=card, kind="usage_trend", weight=1, zero_at=-50, full_at=0)
        cards = forced_scorecards(card.pk)
    else:
        cards = load_scorecards()

    python = _written(_recompute_scope_in_python, day=past, scope=scope, scorecards=cards, raise_flags=True)
    database = _written(_recompute_scope_in_database, day=past, scope=scope, scorecards=cards, raise_flags=True)

    assert python == database
    assert python["health"] == current
    assert {row["day"] for row in python["snapshots"]} == {past, today}
    assert python["flags"] and {day for _, _, day in python["flags"]} == {past}
    if scorecard == "forced":
        assert {row["scorecard_id"] for row in python["snapshots"] if row["day"] == past} == {card.pk}


@pytest.mark.django_db(transaction=True)
def test_an_api_backfill_is_worked_through_by_a_real_worker(celery_worker_process):
    today = timezone.localdate()
    ids = _company(today)
    client = APIClient()
    client.force_authenticate(AdminFactory())

    response = client.post(
        "/api/health/recompute/",
        {"day": (today - dt.timedelta(days=11)).isoformat(), "until": (today - dt.timedelta(days=9)).isoformat()},
        format="json",
    )
    assert response.status_code == 202, response.data

    def finished() -> dict | None:
        data = client.get(f"/api/health/recompute/{response.data['id']}/").data
        return data if data["finished_at"] else None

    progress = wait_until(finished, timeout=60, message=f"never finished\n{celery_worker_process.log_tail()}")
    assert progress["state"] == "finished", progress["error"]
    assert progress["days_done"] == progress["days_total"] == 3
    assert progress["accounts_scored"] == 3 * len(ids)
    assert HealthScore.objects.filter(account_id__in=ids).count() == 3 * len(ids)
    assert not RedFlag.objects.exists() and not Notification.objects.exists()
    assert HealthBackfill.objects.get().started_at is not None
