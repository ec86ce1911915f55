"""The preview inside PostgreSQL says exactly what the Python reference says, on the demo company."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Max, Min

from accounts.models import Account
from lifecycle.health.facts_query import AccountScope
from lifecycle.health.recompute import health_recompute_all_inline
from lifecycle.health.scorecards import preview as preview_module
from lifecycle.health.scorecards.services import MeasureSpec, scorecard_new_version, scorecard_update_draft
from lifecycle.health.scoring import ScorecardConfig, load_scorecards
from lifecycle.models import HealthScore, Scorecard
from users.tests.factories import AdminFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NOW = dt.datetime(2025, 6, 30, 14, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def postgresql() -> None:
    assert connection.vendor == "postgresql", "run with make test-integration (PostgreSQL)"


@pytest.fixture
def demo_book():
    with time_machine.travel(NOW, tick=True):
        call_command("seed_demo", seed=7, accounts=150, stdout=io.StringIO())
        health_recompute_all_inline(day=NOW.date())
        yield


def _both_paths(draft: Scorecard) -> tuple[preview_module.Preview, preview_module.Preview]:
    current = load_scorecards()
    proposed = [card for card in current if card.id != draft.based_on_id]
    proposed.append(ScorecardConfig.from_model(draft))
    bounds = Account.objects.aggregate(first=Min("id"), last=Max("id"))
    scope = AccountScope.between(bounds["first"], bounds["last"])
    results = []
    for run in (preview_module._preview_in_python, preview_module._preview_in_database):
        result = preview_module.Preview(draft=draft, day=NOW.date())
        run(result, scope=scope, current=current, proposed=proposed, draft_id=draft.pk)
        results.append(result)
    return results[0], results[1]


def test_the_database_preview_agrees_with_the_python_reference(demo_book):
    with time_machine.travel(NOW, tick=True):
        standard = Scorecard.objects.active().get(tier="", stage="")
        draft = scorecard_new_version(actor=AdminFactory(), source=standard)
        measures = [
            MeasureSpec("usage_trend", Decimal(4), Decimal(-40), Decimal(5), 7),
            MeasureSpec("licence_utilisation", Decimal(1), Decimal(30), Decimal(90), 14),
            MeasureSpec("nps", Decimal(2), Decimal(4), Decimal(9), 120, when_missing="worst"),
            MeasureSpec("csm_pulse", Decimal(1), Decimal(1), Decimal(6), 60, when_missing="neutral"),
            MeasureSpec("support_burden", Decimal(1), Decimal(8), Decimal(0), 90),
        ]
        draft = scorecard_update_draft(
            actor=draft.created_by, draft=draft, fields={"green_min": 75, "yellow_min": 50}, measures=measures
        )
        snapshots_before = HealthScore.objects.count()

        python, database = _both_paths(draft)

    assert python.accounts == database.accounts == Account.objects.count()
    assert python.moves == database.moves
    assert python.changed_band > 0, "the draft should move someone, or the comparison proves little"
    assert python.movers == database.movers
    assert python.flags_raised == database.flags_raised
    assert python.flags_spared == database.flags_spared
    assert HealthScore.objects.count() == snapshots_before
