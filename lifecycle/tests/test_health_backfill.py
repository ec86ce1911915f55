"""Back-filling health history: `manage.py health_recompute` and the admins' API action."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import DealRole, Tier
from accounts.tests.factories import AccountFactory, ContactFactory
from lifecycle.health.backfill import health_backfill_step
from lifecycle.health.facts_query import AccountScope, facts_for
from lifecycle.health.models import HealthBackfill
from lifecycle.health.recompute import health_recompute_scope
from lifecycle.models import (
    AccountHealth,
    AlertRule,
    FlagStatus,
    HealthScore,
    Measure,
    RedFlag,
    Scorecard,
    SurveyResponse,
    UsageDaily,
)
from lifecycle.tests.test_flood_guard import silent_book
from notifications.models import Notification
from users.tests.factories import AdminFactory, CSMFactory, ManagerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
PAST = TODAY - dt.timedelta(days=10)


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def add_usage(account, *, last_day: dt.date, recent: int, previous: int, days: int = 35) -> None:
    """`days` days of usage ending on `last_day`: `recent` active users in its last week, `previous` before."""
    UsageDaily.objects.bulk_create(
        UsageDaily(
            account=account,
            day=last_day - dt.timedelta(days=back),
            active_users=recent if back < 7 else previous,
            key_events=10,
            licences_used=8,
            licences_owned=10,
        )
        for back in range(days)
    )


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("health_recompute", *args, stdout=out)
    return out.getvalue()


def snapshot(account, day: dt.date) -> HealthScore:
    return HealthScore.objects.get(account=account, day=day)


def rows() -> dict[str, list]:
    return {
        "snapshots": list(HealthScore.objects.order_by("account_id", "day").values()),
        "health": list(AccountHealth.objects.order_by("account_id").values()),
        "flags": list(RedFlag.objects.order_by("id").values()),
    }


@pytest.fixture
def dropping_account():
    """Usage fell by three quarters in the week to PAST, recovered since; an NPS answer came after PAST."""
    account = AccountFactory(tier=Tier.LOW_TOUCH)
    add_usage(account, last_day=PAST, recent=10, previous=40)
    UsageDaily.objects.bulk_create(
        UsageDaily(
            account=account, day=PAST + dt.timedelta(days=n), active_users=80, licences_used=8, licences_owned=10
        )
        for n in range(1, 11)
    )
    SurveyResponse.objects.create(
        account=account, external_id="nps-1", kind="nps", score=10, responded_at=NOW - dt.timedelta(days=2)
    )
    return account


# --- the command ------------------------------------------------------------------------------------------


def test_a_past_day_is_scored_from_the_signals_as_they_were_that_day(dropping_account):
    output = run("--day", PAST.isoformat())

    measures = snapshot(dropping_account, PAST).measures
    assert measures["usage_trend"]["raw"] == -75.0  # the recovery after PAST is not used
    assert measures["survey_sentiment"]["status"] == "missing"  # the answer came later
    assert f"{PAST}: 1 of 1 account scored in " in output
    assert "1 day, 1 account-day scored." in output


@pytest.mark.parametrize(
    ("accounts", "first_day", "totals"),
    [
        (1, "1 of 1 account scored, 1 flag raised in ", "1 day, 1 account-day scored."),
        (2, "2 of 2 accounts scored, 2 flags raised in ", "2 days, 4 account-days scored."),
    ],
)
def test_the_command_counts_days_accounts_and_flags_in_english(accounts, first_day, totals):
    silent_book(accounts=accounts, silent=accounts)  # one rule, firing on every account
    first = TODAY - dt.timedelta(days=accounts - 1)
    output = run("--day", first.isoformat(), "--until", TODAY.isoformat(), "--raise-flags")
    assert f"{first}: {first_day}" in output
    assert totals in output


def test_without_a_day_today_is_scored(dropping_account):
    run()
    assert list(HealthScore.objects.values_list("day", flat=True)) == [TODAY]
    assert AccountHealth.objects.get(account=dropping_account).day == TODAY


def test_until_scores_every_day_of_the_range_oldest_first(dropping_account):
    output = run("--day", (PAST - dt.timedelta(days=2)).isoformat(), "--until", PAST.isoformat())

    days = [PAST - dt.timedelta(days=n) for n in (2, 1, 0)]
    assert sorted(HealthScore.objects.values_list("day", flat=True)) == days
    lines = [line for line in output.splitlines() if "account scored" in line]
    assert [line.split(":")[0] for line in lines] == [str(day) for day in days]


def test_a_range_oldest_first_gives_the_later_days_their_trend(dropping_account):
    run("--day", (PAST - dt.timedelta(days=7)).isoformat(), "--until", PAST.isoformat())
    run("--day", TODAY.isoformat())
    # The week-old snapshot was there when PAST was scored, and when today was.
    health = AccountHealth.objects.get(account=dropping_account)
    assert health.day == TODAY and health.delta_7d is None  # no snapshot 7 days before today
    assert HealthScore.objects.filter(account=dropping_account).count() == 9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "2026-13-01"], "'2026-13-01' is not a date; give it as YYYY-MM-DD."),
        (["--day", "yesterday"], "'yesterday' is not a date"),
        (["--day", "20261120"], "'20261120' is not a date"),
        (["--day", "2026-W47-1"], "'2026-W47-1' is not a date"),
        (["--day", "2026-11-24"], "2026-11-24 is in the future"),
        (["--day", "2026-11-20", "--until", "2026-11-24"], "2026-11-24 is in the future"),
        (["--day", "2026-11-20", "--until", "2026-11-19"], "2026-11-19 is before the first day 2026-11-20."),
        (["--day", "2026-11-20", "--until", "2026-11-3"], "'2026-11-3' is not a date"),
        (["--day", "2020-01-01"], None),
        (["--scorecard", "999999"], "There is no scorecard with id 999999."),
        (["--scorecard", str(10**30)], f"There is no scorecard with id {10**30}."),
        (["--day", "0001-01-01"], "0001-01-01 is before 1970-01-01, the earliest day that can be scored."),
        (["--chunk-size", "0"], "--chunk-size must be at least 1."),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message_and_nothing_is_written(args, message):
    AccountFactory()
    if message is None:  # a long-ago day is fine on its own...
        run(*args)
        assert HealthScore.objects.count() == 1
        return
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(".", r"\.")):
        run(*args)
    assert not HealthScore.objects.exists()


def test_a_range_longer_than_the_limit_is_refused():
    with pytest.raises(CommandError, match="At most 400 days at a time"):
        run("--day", "2020-01-01", "--until", "2026-01-01")


def test_a_non_numeric_scorecard_is_refused():
    with pytest.raises(CommandError, match="invalid int value"):
        run("--scorecard", "gold")


def test_the_scorecard_option_scores_every_account_with_that_scorecard(dropping_account):
    other = AccountFactory(tier=Tier.HIGH_TOUCH, stage="adoption")
    # Inactive and made for another tier: asked for by id, it still applies to everyone.
    card = Scorecard.objects.create(name="Usage only, v0", tier=Tier.TECH_TOUCH)
    Measure.objects.create(scorecard=card, kind="usage_trend", weight=1, zero_at=-50, full_at=0, validity_days=30)

    run("--day", PAST.isoformat(), "--scorecard", str(card.pk))

    assert set(HealthScore.objects.values_list("account_id", "scorecard_id")) == {
        (dropping_account.pk, card.pk),
        (other.pk, card.pk),
    }
    assert list(snapshot(dropping_account, PAST).measures) == ["usage_trend"]
    assert snapshot(dropping_account, PAST).score == 0  # -75 % is below the zero at -50 %
    assert snapshot(other, PAST).score is None  # no usage at all


def test_a_backfill_raises_no_flags_by_default(dropping_account):
    run("--day", PAST.isoformat())
    assert snapshot(dropping_account, PAST).measures["usage_trend"]["raw"] == -75.0
    assert not RedFlag.objects.exists()


def test_with_raise_flags_a_flag_carries_the_day_it_belongs_to_and_nobody_is_notified(
    dropping_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        output = run("--day", PAST.isoformat(), "--raise-flags")

    flag = RedFlag.objects.get(account=dropping_account, rule__kind="usage_drop")
    assert flag.status == FlagStatus.OPEN
    assert timezone.localdate(flag.raised_at) == PAST
    assert "1 flag raised" in output
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_a_flag_raised_on_a_past_day_counts_towards_the_next_days_open_flags(dropping_account):
    run("--day", PAST.isoformat(), "--raise-flags")
    facts = facts_for(day=PAST + dt.timedelta(days=1), scope=AccountScope.of([dropping_account.pk]))
    assert facts[dropping_account.pk].open_flags == RedFlag.objects.count() > 0
    assert facts_for(day=PAST, scope=AccountScope.of([dropping_account.pk]))[dropping_account.pk].open_flags == 0


def test_backfilling_an_earlier_day_leaves_todays_current_health_alone(dropping_account):
    run()
    today = AccountHealth.objects.filter(account=dropping_account).values().get()

    run("--day", PAST.isoformat())

    assert AccountHealth.objects.filter(account=dropping_account).values().get() == today
    assert snapshot(dropping_account, PAST).score != today["computed_score"]


def test_the_python_path_leaves_a_later_days_current_health_alone_too(dropping_account):
    scope = AccountScope.of([dropping_account.pk])
    health_recompute_scope(day=TODAY, scope=scope, raise_flags=False)
    today = AccountHealth.objects.filter(account=dropping_account).values().get()
    health_recompute_scope(day=PAST, scope=scope, raise_flags=False)
    assert AccountHealth.objects.filter(account=dropping_account).values().get() == today


def test_an_account_without_current_health_gets_it_from_the_latest_day_backfilled(dropping_account):
    run("--day", (PAST - dt.timedelta(days=1)).isoformat(), "--until", PAST.isoformat())
    health = AccountHealth.objects.get(account=dropping_account)
    assert health.day == PAST and health.computed_score == snapshot(dropping_account, PAST).score


def test_running_the_same_backfill_twice_changes_nothing_the_second_time(dropping_account):
    AccountFactory()
    args = ("--day", (PAST - dt.timedelta(days=3)).isoformat(), "--until", TODAY.isoformat(), "--raise-flags")
    run(*args)
    before = rows()
    assert before["flags"]
    run(*args)
    assert rows() == before


# --- facts as the day ended -----------------------------------------------------------------------------


def test_a_champion_who_left_after_the_day_was_still_there_that_day():
    account = AccountFactory()
    ContactFactory(account=account, deal_role=DealRole.CHAMPION, departed=True, departed_at=PAST + dt.timedelta(days=3))
    scope = AccountScope.of([account.pk])

    then = facts_for(day=PAST, scope=scope)[account.pk]
    later = facts_for(day=TODAY, scope=scope)[account.pk]

    assert then.champion_known and then.champion_departed_on is None
    assert not later.champion_known and later.champion_departed_on == PAST + dt.timedelta(days=3)


def test_a_flag_resolved_after_the_day_was_open_that_day():
    account = AccountFactory()
    rule = AlertRule.objects.filter(active=True).first()
    RedFlag.objects.create(
        rule=rule,
        account=account,
        severity=rule.severity,
        status=FlagStatus.RESOLVED,
        reason="back then",
        raised_at=NOW - dt.timedelta(days=20),
        resolved_at=NOW - dt.timedelta(days=5),
    )
    scope = AccountScope.of([account.pk])
    assert facts_for(day=PAST, scope=scope)[account.pk].open_flags == 1
    assert facts_for(day=TODAY - dt.timedelta(days=5), scope=scope)[account.pk].open_flags == 0
    assert facts_for(day=TODAY, scope=scope)[account.pk].open_flags == 0


# --- the API ------------------------------------------------------------------------------------------------


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_admin_backfills_a_range_and_reads_its_progress(dropping_account, django_capture_on_commit_callbacks):
    admin = AdminFactory()
    client = client_for(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/health/recompute/",
            {"day": (PAST - dt.timedelta(days=1)).isoformat(), "until": PAST.isoformat()},
            format="json",
        )
    assert response.status_code == 202, response.data
    assert response.data["state"] == "queued" and response.data["days_total"] == 2

    progress = client.get(f"/api/health/recompute/{response.data['id']}/")

    assert progress.status_code == 200
    assert progress.data["state"] == "finished"
    assert progress.data["days_done"] == progress.data["days_total"] == 2
    assert progress.data["accounts_scored"] == 2
    assert progress.data["started_at"] and progress.data["finished_at"] and progress.data["error"] == ""
    assert progress.data["requested_by"] == admin.pk and progress.data["raise_flags"] is False
    assert HealthScore.objects.filter(account=dropping_account).count() == 2
    assert not RedFlag.objects.exists()
    assert client.get("/api/health/recompute/").data["results"][0]["id"] == response.data["id"]


def test_the_api_takes_a_scorecard_and_raise_flags(dropping_account, django_capture_on_commit_callbacks):
    card = Scorecard.objects.active().first()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(AdminFactory()).post(
            "/api/health/recompute/",
            {"day": PAST.isoformat(), "scorecard": card.pk, "raise_flags": True},
            format="json",
        )
    assert response.status_code == 202
    assert snapshot(dropping_account, PAST).scorecard_id == card.pk
    assert timezone.localdate(RedFlag.objects.get(rule__kind="usage_drop").raised_at) == PAST
    assert not Notification.objects.exists()


@pytest.mark.parametrize(("accounts", "said"), [(1, "1 account scored in"), (2, "2 accounts scored in")])
def test_each_day_of_a_requested_backfill_is_logged_with_its_accounts_counted_in_english(caplog, accounts, said):
    AccountFactory.create_batch(accounts)
    backfill = HealthBackfill.objects.create(first_day=PAST, last_day=PAST, days_total=1)
    caplog.set_level(logging.INFO, logger="lifecycle.health.backfill")
    health_backfill_step(backfill_id=backfill.pk)
    (line,) = [record.getMessage() for record in caplog.records if record.name == "lifecycle.health.backfill"]
    assert line.startswith(f"Health back-fill {backfill.pk}: {PAST}, {said} ")


@pytest.mark.parametrize("factory", [CSMFactory, ManagerFactory])
def test_only_admins_backfill_or_read_progress(factory):
    backfill = HealthBackfill.objects.create(first_day=PAST, last_day=PAST, days_total=1)
    client = client_for(factory())
    assert client.post("/api/health/recompute/", {"day": PAST.isoformat()}, format="json").status_code == 403
    assert client.get(f"/api/health/recompute/{backfill.pk}/").status_code == 403
    assert client.get("/api/health/recompute/").status_code == 403
    assert not HealthBackfill.objects.exclude(pk=backfill.pk).exists()


def test_anonymous_callers_are_refused():
    response = APIClient().post("/api/health/recompute/", {"day": PAST.isoformat()}, format="json")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "day"),
        ({"day": "not a day"}, "day"),
        ({"day": "2026-11-24"}, "day"),
        ({"day": "2026-11-20", "until": "2026-11-19"}, "until"),
        ({"day": "2026-11-20", "until": "2026-12-01"}, "until"),
        ({"day": "2026-11-20", "until": "soon"}, "until"),
        ({"day": "2020-01-01", "until": "2026-11-20"}, "until"),
        ({"day": "2026-11-20", "scorecard": 999999}, "scorecard"),
        ({"day": "2026-11-20", "scorecard": "gold"}, "scorecard"),
        ({"day": "2026-11-20", "scorecard": 0}, "scorecard"),
        # Past 64 bits the JSON parser refuses the body before any field is read (core.parsers).
        ({"day": "2026-11-20", "scorecard": 10**30}, "detail"),
        ({"day": "0001-01-01"}, "day"),
        ([], "non_field_errors"),
        ({"day": "2026-11-20", "raise_flags": "perhaps"}, "raise_flags"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_queues_nothing(payload, field):
    response = client_for(AdminFactory()).post("/api/health/recompute/", payload, format="json")
    assert response.status_code == 400
    assert field in response.data
    assert not HealthBackfill.objects.exists()


def test_progress_of_an_unknown_backfill_is_a_404():
    assert client_for(AdminFactory()).get("/api/health/recompute/999999/").status_code == 404


def test_a_failed_backfill_shows_its_error(dropping_account, monkeypatch, django_capture_on_commit_callbacks):
    from lifecycle.health import backfill as backfill_module

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(backfill_module, "health_backfill_day", broken)
    client = client_for(AdminFactory())
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/api/health/recompute/", {"day": PAST.isoformat()}, format="json")
    assert response.status_code == 202
    with pytest.raises(RuntimeError):
        callbacks[0]()

    progress = client.get(f"/api/health/recompute/{response.data['id']}/").data
    assert progress["state"] == "failed" and progress["error"] == "RuntimeError: the database went away"
    assert progress["days_done"] == 0 and progress["finished_at"]


def test_each_step_scores_one_day_and_a_step_after_the_last_changes_nothing(dropping_account):
    from lifecycle.health.backfill import health_backfill_step

    backfill = HealthBackfill.objects.create(first_day=PAST - dt.timedelta(days=1), last_day=PAST, days_total=2)

    assert health_backfill_step(backfill_id=backfill.pk) is True
    backfill.refresh_from_db()
    assert (backfill.days_done, backfill.state) == (1, "running")
    assert list(HealthScore.objects.values_list("day", flat=True)) == [PAST - dt.timedelta(days=1)]

    assert health_backfill_step(backfill_id=backfill.pk) is False
    backfill.refresh_from_db()
    assert (backfill.days_done, backfill.accounts_scored, backfill.state) == (2, 2, "finished")
    before = rows()

    assert health_backfill_step(backfill_id=backfill.pk) is False  # a redelivery
    assert rows() == before
    assert HealthBackfill.objects.get().days_done == 2
