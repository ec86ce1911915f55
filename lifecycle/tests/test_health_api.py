"""Health's API pieces on their own: the serializers (lifecycle.health.api) and the score and day filters.

The endpoints that serve them are desk's (desk/tests/test_health_api.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Account
from accounts.tests.factories import AccountFactory
from lifecycle.health.api import AccountHealthSerializer, HealthScoreSerializer
from lifecycle.health.filters import AccountHealthFilter, HealthScoreFilter
from lifecycle.models import AccountHealth, HealthScore, Scorecard

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 31)


def test_the_current_health_reads_as_the_issue_lists_it():
    card = Scorecard.objects.create(name="Strategic", tier="high")
    health = AccountHealth.objects.create(
        account=AccountFactory(),
        day=TODAY,
        computed_score=Decimal("38.0"),
        computed_band="red",
        score=Decimal("75.0"),
        band="green",
        delta_7d=Decimal("4.5"),
        delta_30d=Decimal("-12.0"),
        overridden=True,
        open_flags=1,
        scorecard=card,
    )

    assert AccountHealthSerializer(health).data == {
        "score": "75.0",
        "band": "green",
        "computed_score": "38.0",
        "overridden": True,
        "delta_7d": "4.5",
        "delta_30d": "-12.0",
        "open_flags": 1,
        "scored_on": "2026-03-31",
        "scorecard": {"id": card.pk, "name": "Strategic", "version": 1},
    }


def test_a_snapshot_keeps_its_breakdown_even_after_its_scorecard_is_deleted():
    card = Scorecard.objects.create(name="Retired", tier="low")
    snapshot = HealthScore.objects.create(
        account=AccountFactory(),
        day=TODAY,
        scorecard=card,
        score=Decimal("64.0"),
        band="yellow",
        measures={"support_burden": {"raw": 3.0, "score": 64.0, "weight": 1.0, "status": "ok"}},
    )
    card.delete()
    snapshot.refresh_from_db()

    data = HealthScoreSerializer(snapshot).data

    assert data["scorecard"] is None
    assert data["measures"] == {"support_burden": {"raw": 3.0, "score": 64.0, "weight": 1.0, "status": "ok"}}


def test_a_snapshot_without_data_has_a_null_score_and_blank_band():
    snapshot = HealthScore.objects.create(account=AccountFactory(), day=TODAY, score=None, band="", measures={})

    data = HealthScoreSerializer(snapshot).data

    assert (data["score"], data["band"], data["measures"]) == (None, "", {})


# Filters (shared by the account pages and the API) -------------------------------------------------------


def scored(name: str, score: str | None) -> Account:
    account = AccountFactory(name=name)
    if score is not None:
        AccountHealth.objects.create(account=account, day=TODAY, score=Decimal(score), band="yellow")
    return account


def test_a_score_range_leaves_out_accounts_without_a_score():
    scored("Forty", "40")
    scored("Sixty", "60")
    scored("Unscored", None)

    found = AccountHealthFilter({"score_min": "40", "score_max": "59.9"}, queryset=Account.objects.all())

    assert [a.name for a in found.qs] == ["Forty"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"score_min": "abc"}, "score_min"),
        ({"score_max": "-0.1"}, "score_max"),
        ({"score_min": "101"}, "score_min"),
        ({"score_min": "70", "score_max": "30"}, "score_max"),
    ],
)
def test_a_bad_score_range_is_a_form_error_on_its_field(params, field):
    found = AccountHealthFilter(params, queryset=Account.objects.all())

    assert not found.is_valid()
    assert list(found.errors) == [field]


def test_snapshots_filter_by_day_both_ends_included():
    account = AccountFactory()
    HealthScore.objects.bulk_create(
        HealthScore(account=account, day=TODAY - dt.timedelta(days=ago), score=Decimal(50)) for ago in range(5)
    )

    found = HealthScoreFilter(
        {"since": "2026-03-28", "until": "2026-03-30"}, queryset=HealthScore.objects.order_by("-day")
    )

    assert [s.day.isoformat() for s in found.qs] == ["2026-03-30", "2026-03-29", "2026-03-28"]
