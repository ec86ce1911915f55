"""The recompute writes one snapshot per account and day, is idempotent and safe to rerun."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Account, DealRole, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory, TimelineEntryFactory
from lifecycle.health.facts_query import AccountScope, facts_for
from lifecycle.health.recompute import (
    chunk_boundaries,
    enqueue_account_recompute,
    health_recompute_all_inline,
    health_recompute_chunk,
    health_recompute_pending,
    health_recompute_scope,
)
from lifecycle.models import AccountHealth, HealthScore, RecomputeChunk, RedFlag, ScoreOverride, UsageDaily

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


def add_usage(account, *, recent: int, previous: int, used=8, owned=10):
    rows = []
    for back in range(35):
        day = TODAY - dt.timedelta(days=back)
        rows.append(
            UsageDaily(
                account=account,
                day=day,
                active_users=recent if back < 7 else previous,
                key_events=recent * 10,
                licences_used=used,
                licences_owned=owned,
            )
        )
    UsageDaily.objects.bulk_create(rows)


@pytest.fixture
def now():
    with time_machine.travel(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC), tick=False):
        yield


def test_facts_are_read_set_based_for_a_range_of_accounts(now, django_assert_max_num_queries):
    accounts = [AccountFactory() for _ in range(3)]
    add_usage(accounts[0], recent=30, previous=60)
    ContactFactory(account=accounts[0], deal_role=DealRole.CHAMPION)
    TimelineEntryFactory(
        account=accounts[0],
        kind=TimelineKind.TOUCHPOINT,
        channel="call",
        occurred_at=timezone.now() - dt.timedelta(days=3),
    )
    with django_assert_max_num_queries(18):
        facts = facts_for(day=TODAY, scope=AccountScope.between(accounts[0].pk, accounts[-1].pk))
    first = facts[accounts[0].pk]
    assert first.active_users_7d == 30 and first.active_users_prev28 == 60
    assert first.licences_used == 8 and first.licences_owned == 10
    assert first.champion_known and not first.decision_maker_known
    assert first.last_touchpoint_at.date() == TODAY - dt.timedelta(days=3)
    assert facts[accounts[1].pk].active_users_7d is None


def test_a_recompute_writes_one_snapshot_and_the_current_health(now):
    account = AccountFactory(tier="low", stage="success")
    add_usage(account, recent=30, previous=60)
    outcome = health_recompute_scope(day=TODAY, scope=AccountScope.of([account.pk]))
    assert outcome.scored == 1
    snapshot = HealthScore.objects.get(account=account, day=TODAY)
    assert snapshot.measures["usage_trend"]["raw"] == -50.0
    assert snapshot.measures["usage_trend"]["score"] == 0.0
    assert snapshot.measures["survey_sentiment"]["status"] == "missing"
    health = AccountHealth.objects.get(account=account)
    assert health.score == snapshot.score and health.band == snapshot.band
    # usage halved: the usage-drop rule fired and the flag count is on the current health
    assert RedFlag.objects.filter(account=account, rule__kind="usage_drop").count() == 1
    assert health.open_flags == RedFlag.objects.filter(account=account).count()


def test_running_the_recompute_twice_on_the_same_day_changes_nothing(now):
    accounts = [AccountFactory() for _ in range(4)]
    for account in accounts:
        add_usage(account, recent=10, previous=40)
    scope = AccountScope.between(accounts[0].pk, accounts[-1].pk)
    health_recompute_scope(day=TODAY, scope=scope)
    before = {
        "snapshots": list(
            HealthScore.objects.order_by("account_id").values("account_id", "score", "band", "measures", "computed_at")
        ),
        "health": list(AccountHealth.objects.order_by("account_id").values()),
        "flags": list(RedFlag.objects.order_by("id").values("id", "rule_id", "account_id", "status", "raised_at")),
    }
    health_recompute_scope(day=TODAY, scope=scope)
    after = {
        "snapshots": list(
            HealthScore.objects.order_by("account_id").values("account_id", "score", "band", "measures", "computed_at")
        ),
        "health": list(AccountHealth.objects.order_by("account_id").values()),
        "flags": list(RedFlag.objects.order_by("id").values("id", "rule_id", "account_id", "status", "raised_at")),
    }
    assert after == before


def test_a_new_day_adds_a_snapshot_and_the_deltas_compare_with_a_week_ago(now):
    account = AccountFactory()
    add_usage(account, recent=50, previous=50)
    week_ago = TODAY - dt.timedelta(days=7)
    HealthScore.objects.create(account=account, day=week_ago, score=90, band="green", measures={})
    health_recompute_scope(day=TODAY, scope=AccountScope.of([account.pk]))
    health = AccountHealth.objects.get(account=account)
    today_score = HealthScore.objects.get(account=account, day=TODAY).score
    assert health.delta_7d == today_score - 90
    assert HealthScore.objects.filter(account=account).count() == 2


def test_an_override_beats_the_computed_score_until_it_expires(now, django_user_model):
    account = AccountFactory()
    add_usage(account, recent=10, previous=40)
    manager = django_user_model.objects.create(username="boss", role="manager")
    ScoreOverride.objects.create(
        account=account,
        score=85,
        reason="Exec sponsor renewed verbally",
        set_by=manager,
        expires_at=timezone.now() + dt.timedelta(days=10),
    )
    health_recompute_scope(day=TODAY, scope=AccountScope.of([account.pk]))
    health = AccountHealth.objects.get(account=account)
    assert health.overridden and health.score == 85 and health.band == "green"
    assert health.computed_score != 85
    with time_machine.travel(dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC), tick=False):
        health_recompute_scope(day=dt.date(2026, 12, 5), scope=AccountScope.of([account.pk]))
    health.refresh_from_db()
    assert not health.overridden and health.score == health.computed_score


def test_the_daily_run_covers_every_account_in_chunks_and_a_redelivered_chunk_is_skipped(now):
    accounts = [AccountFactory() for _ in range(7)]
    run = health_recompute_all_inline(day=TODAY, chunk_size=3)
    assert run.chunks_total == 3 and run.finished_at is not None
    assert HealthScore.objects.filter(day=TODAY).count() == len(accounts)
    chunk = RecomputeChunk.objects.filter(run=run).first()
    assert health_recompute_chunk(chunk_id=chunk.pk) is False
    assert HealthScore.objects.filter(day=TODAY).count() == len(accounts)


def test_chunk_boundaries_cover_every_id_once():
    assert chunk_boundaries([1, 2, 5, 9, 10], 2) == [(1, 2, 2), (5, 9, 2), (10, 10, 1)]
    assert chunk_boundaries([], 5) == []


def test_new_signals_queue_a_recompute_of_just_those_accounts(now, django_capture_on_commit_callbacks):
    touched, untouched = AccountFactory(), AccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_account_recompute([touched.pk, touched.pk])
    assert HealthScore.objects.filter(account=touched, day=TODAY).exists()
    assert not HealthScore.objects.filter(account=untouched).exists()
    assert health_recompute_pending() == 0


def test_a_stalled_run_is_sent_again_and_finishes_with_one_snapshot_per_account(
    now, django_capture_on_commit_callbacks
):
    from lifecycle.health.recompute import health_recompute_resume_stalled, health_recompute_start
    from lifecycle.models import RecomputeRun

    accounts = [AccountFactory() for _ in range(5)]
    run = health_recompute_start(day=TODAY, chunk_size=2)  # its chunk messages "lost": on_commit never ran
    assert HealthScore.objects.count() == 0
    assert health_recompute_resume_stalled(stalled_after=dt.timedelta(hours=1)) == 0  # not stalled yet
    assert health_recompute_resume_stalled(stalled_after=dt.timedelta(0)) == 3
    run.refresh_from_db()
    assert run.finished_at is not None
    assert HealthScore.objects.filter(day=TODAY).count() == len(accounts)
    assert health_recompute_resume_stalled(stalled_after=dt.timedelta(0)) == 0
    assert RecomputeRun.objects.count() == 1


def test_the_health_panel_explains_trend_and_what_moved_the_score(now):
    from lifecycle.health.selectors import account_health_panel

    account = AccountFactory()

    def measures(usage_score):
        return {
            "usage_trend": {"raw": 0, "score": usage_score, "weight": 1, "status": "ok"},
            "nps": {"raw": 9, "score": 100.0, "weight": 1, "status": "ok"},
        }

    for days_back, score, usage in [(80, 90, 80.0), (30, 80, 60.0), (7, 75, 50.0), (0, 55, 10.0)]:
        HealthScore.objects.create(
            account=account,
            day=TODAY - dt.timedelta(days=days_back),
            score=score,
            band="green",
            measures=measures(usage),
        )
    panel = account_health_panel(account, today=TODAY)
    assert (panel.trend_7d, panel.trend_30d, panel.trend_90d) == (-20.0, -25.0, -35.0)
    assert len(panel.trend) == 4
    # usage fell from 50 to 10 points: half the weight, so -20 points of score
    assert panel.biggest_mover.kind == "usage_trend" and panel.biggest_mover.change == -20.0
    assert panel.current is None  # never recomputed: no current-health row yet


def test_a_flag_woken_from_its_snooze_counts_as_open_all_day_so_a_second_run_scores_the_same(now):
    from lifecycle.models import AlertRule, FlagStatus, Measure, Scorecard

    rule = AlertRule.objects.create(
        name="Quiet for 30 days", kind="no_touchpoint", severity="medium", params={"days": 30}
    )
    # The shipped default no longer counts open flags (the rules read the same signals): a card that does.
    flags_card = Scorecard.objects.create(name="Flags", tier="high", status="active", activated_at=timezone.now())
    Measure.objects.create(scorecard=flags_card, kind="open_red_flags", weight=1, zero_at=4, full_at=0, validity_days=1)
    # In Baton and in success for 100 days without a touchpoint: the rule counts from the stage's start.
    entered = timezone.now() - dt.timedelta(days=100)
    account = AccountFactory(tier="high", stage="success", stage_entered_at=entered)
    Account.objects.filter(pk=account.pk).update(created_at=entered)
    earlier = timezone.now() - dt.timedelta(days=3)
    flag = RedFlag.objects.create(
        rule=rule,
        account=account,
        owner=account.owner,
        severity="medium",
        status=FlagStatus.SNOOZED,
        reason="Raised three days ago.",
        raised_at=earlier,
        snoozed_until=timezone.now() - dt.timedelta(hours=1),
    )
    scope = AccountScope.of([account.pk])

    health_recompute_scope(day=TODAY, scope=scope)
    flag.refresh_from_db()
    first = HealthScore.objects.get(account=account, day=TODAY)
    assert flag.status == FlagStatus.OPEN and flag.raised_at > earlier and flag.first_raised_at == earlier
    assert first.measures["open_red_flags"]["raw"] == 1

    health_recompute_scope(day=TODAY, scope=scope)
    second = HealthScore.objects.get(account=account, day=TODAY)
    assert (second.score, second.measures) == (first.score, first.measures)
