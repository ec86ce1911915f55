"""Backtest replay and run: outcomes scored as of N days before them, from what was stored then, writing nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts.models import AccountTerms, OutcomeKind, TermsSource
from accounts.tests.factories import AccountFactory, OutcomeFactory
from lifecycle.health.backtest.replay import CardScores, _History, load_outcomes, replay
from lifecycle.health.backtest.services import backtest_request, backtest_run, backtest_run_inline
from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_query import end_of
from lifecycle.health.scoring import ScorecardConfig
from lifecycle.models import (
    AccountHealth,
    Backtest,
    HealthScore,
    Measure,
    RedFlag,
    Scorecard,
    StageChange,
    SurveyKind,
    SurveyResponse,
)
from users.tests.factories import AdminFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
OUTCOME_DAY = dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def nps_card(name: str = "NPS only", *, when_missing: str = "skip") -> Scorecard:
    card = Scorecard.objects.create(name=name)  # a draft that never ran
    Measure.objects.create(
        scorecard=card, kind="nps", weight=1, zero_at=0, full_at=10, validity_days=365, when_missing=when_missing
    )
    return card


def nps(account, score: int, at: dt.datetime) -> None:
    SurveyResponse.objects.create(
        account=account, kind=SurveyKind.NPS, score=score, responded_at=at, external_id=f"{account.pk}-{at:%s}"
    )


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def churn(account, day: dt.date = OUTCOME_DAY, arr: str = "50000"):
    return OutcomeFactory(
        account=account,
        kind=OutcomeKind.CHURNED,
        occurred_on=day,
        reason="competitor",
        arr_before=Decimal(arr),
        arr_after=0,
    )


def config(card: Scorecard) -> ScorecardConfig:
    return ScorecardConfig.from_model(Scorecard.objects.prefetch_related("measures").get(pk=card.pk))


def test_a_signal_that_arrived_after_the_day_is_not_used():
    card = nps_card()
    account = AccountFactory()
    churn(account)
    as_of = OUTCOME_DAY - dt.timedelta(days=30)
    nps(account, 2, noon(as_of - dt.timedelta(days=10)))  # known on the day: 20 points
    nps(account, 9, end_of(as_of) - dt.timedelta(seconds=1))  # the day's last second still counts: 90
    nps(account, 10, end_of(as_of))  # the next day's first instant does not
    nps(account, 0, noon(OUTCOME_DAY - dt.timedelta(days=5)))  # nor anything nearer the outcome

    (at_30,), (at_31,), (at_5,) = replay(load_outcomes(OUTCOME_DAY, OUTCOME_DAY), [config(card)], [30, 31, 5])

    assert at_30.score.tolist() == [90.0]
    assert at_31.score.tolist() == [20.0] and at_31.band.tolist() == ["red"]
    assert at_5.score.tolist() == [0.0]


def test_replaying_a_draft_writes_no_snapshot_health_or_flag():
    card = nps_card()
    account = AccountFactory()
    churn(account)
    nps(account, 3, noon(OUTCOME_DAY - dt.timedelta(days=45)))
    backtest = backtest_request(
        requested_by=AdminFactory(), scorecard_id=card.pk, first_day=dt.date(2026, 1, 1), last_day=OUTCOME_DAY
    )

    backtest_run_inline(backtest_id=backtest.pk)

    assert not HealthScore.objects.exists() and not AccountHealth.objects.exists() and not RedFlag.objects.exists()
    card.refresh_from_db()
    assert card.is_draft


def test_tier_and_stage_are_taken_as_of_the_day():
    account = AccountFactory(tier="high", stage="churned")
    day = dt.date(2026, 3, 1)
    AccountTerms.objects.create(
        account=account,
        effective_at=noon(day - dt.timedelta(days=100)),
        arr=1,
        currency="USD",
        tier="low",
        source=TermsSource.CREATED,
    )
    AccountTerms.objects.create(
        account=account,
        effective_at=noon(day + dt.timedelta(days=1)),
        arr=1,
        currency="USD",
        tier="high",
        source=TermsSource.EDITED,
    )
    StageChange.objects.create(
        account=account,
        from_stage="onboarding",
        to_stage="adoption",
        changed_at=noon(day - dt.timedelta(days=50)),
        reason="Went live",
    )
    StageChange.objects.create(
        account=account, from_stage="adoption", to_stage="churned", changed_at=noon(day), reason="Left"
    )
    history = _History([account.pk])

    def as_of(when: dt.date) -> tuple[str, str, int | None]:
        item = AccountFacts(
            account_id=account.pk,
            tier="high",
            stage="churned",
            owner_id=None,
            pool_id=None,
            stage_entered_on=when,
            contract_start=None,
            renewal_date=None,
        )
        history.apply(item, end_of(when), {"low": 14, "high": 7})
        return item.tier, item.stage, item.cadence_days

    assert as_of(day - dt.timedelta(days=1)) == ("low", "adoption", 14)
    assert as_of(day) == ("low", "churned", 14)
    assert as_of(day - dt.timedelta(days=60)) == ("low", "onboarding", 14)
    assert as_of(day + dt.timedelta(days=1)) == ("high", "churned", 7)


def _company() -> tuple[Scorecard, list]:
    """Two churned accounts that looked bad a month ahead, two renewals that looked fine, one downgrade."""
    card = nps_card()
    accounts = [AccountFactory() for _ in range(5)]
    before = noon(OUTCOME_DAY - dt.timedelta(days=40))
    for account, score in zip(accounts, [2, 5, 9, 8, 5], strict=True):
        nps(account, score, before)
    churn(accounts[0], arr="10000")
    churn(accounts[1], arr="30000")
    OutcomeFactory(account=accounts[2], occurred_on=OUTCOME_DAY)
    OutcomeFactory(account=accounts[3], occurred_on=OUTCOME_DAY)
    OutcomeFactory(
        account=accounts[4], kind=OutcomeKind.DOWNGRADED, occurred_on=OUTCOME_DAY, arr_after=Decimal("20000")
    )
    return card, accounts


def test_a_run_keeps_the_figures_and_its_progress_on_the_backtest():
    card, _ = _company()
    admin = AdminFactory()
    backtest = backtest_request(
        requested_by=admin, scorecard_id=card.pk, first_day=dt.date(2026, 1, 1), last_day=OUTCOME_DAY, horizons=[30]
    )

    backtest = backtest_run(backtest_id=backtest.pk)

    assert backtest.state == "finished" and backtest.percent_done == 100
    assert backtest.steps_total == 2  # one day replayed, then the figures
    report = backtest.report
    assert report["inputs"]["requested_by"] == admin.username
    assert report["outcomes"] == {"total": 5, "churned": 2, "downgraded": 1, "renewed": 2}
    (horizon,) = report["horizons"]
    (figures,) = horizon["cards"]
    # Risk 80 and 50 churned; 10, 20 and 50 (the downgrade) stayed: 80 beats all three, 50 beats two and ties one.
    assert figures["auc"] == pytest.approx(round(5.5 / 6, 4))
    assert figures["base_rate"] == 0.4
    bands = {row["band"]: row for row in figures["bands"]}
    assert (bands["red"]["count"], bands["red"]["churned"]) == (1, 1)
    assert (bands["yellow"]["count"], bands["yellow"]["churned"], bands["yellow"]["downgraded"]) == (2, 1, 1)
    assert (bands["green"]["count"], bands["green"]["churned"]) == (2, 0)
    assert figures["lift_red"] == 2.5
    assert figures["churned_arr_flagged"] == [
        {"currency": "USD", "churned_arr": 40000.0, "flagged_arr": 40000.0, "share": 1.0, "churned": 2}
    ]
    assert figures["measures"][0]["coverage"] == 1.0
    assert horizon["suggestion"]["ok"] is False  # five outcomes are too few to fit weights


def test_running_a_finished_backtest_again_changes_nothing():
    card, _ = _company()
    backtest = backtest_request(
        requested_by=None, scorecard_id=card.pk, first_day=dt.date(2026, 1, 1), last_day=OUTCOME_DAY
    )
    first = backtest_run(backtest_id=backtest.pk)
    again = backtest_run(backtest_id=backtest.pk)
    assert again.finished_at == first.finished_at and again.report == first.report


def test_a_baseline_is_scored_on_exactly_the_same_outcomes():
    card, accounts = _company()
    baseline = Scorecard.objects.create(name="Pulse only")
    Measure.objects.create(scorecard=baseline, kind="csm_pulse", weight=1, zero_at=1, full_at=6, validity_days=90)
    backtest = backtest_request(
        requested_by=None,
        scorecard_id=card.pk,
        baseline_id=baseline.pk,
        first_day=dt.date(2026, 1, 1),
        last_day=OUTCOME_DAY,
        horizons=[30],
    )

    report = backtest_run(backtest_id=backtest.pk).report

    (horizon,) = report["horizons"]
    tested, base = horizon["cards"]
    # No pulse was ever rated: the baseline scores nobody, so neither is compared on anything.
    assert base["unscored"] == 5 and tested["unscored"] == 0
    assert tested["outcomes"] == base["outcomes"] == horizon["compared"] == 0
    assert horizon["comparison"]["auc_difference"] is None


def test_a_failure_is_recorded_on_the_backtest(monkeypatch):
    card, _ = _company()
    backtest = backtest_request(
        requested_by=None, scorecard_id=card.pk, first_day=dt.date(2026, 1, 1), last_day=OUTCOME_DAY
    )

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("lifecycle.health.backtest.services.replay", broken)
    with pytest.raises(RuntimeError):
        backtest_run(backtest_id=backtest.pk)

    backtest.refresh_from_db()
    assert backtest.state == "failed" and "database went away" in backtest.error


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"scorecard_id": None}, "scorecard"),
        ({"scorecard_id": 2**63}, "scorecard"),
        ({"last_day": dt.date(2026, 12, 1)}, "last_day"),
        ({"first_day": dt.date(2026, 7, 1)}, "last_day"),
        ({"horizons": []}, "horizons"),
        ({"horizons": [30, 30]}, "horizons"),
        ({"horizons": [0]}, "horizons"),
        ({"bootstrap_seed": -1}, "bootstrap_seed"),
    ],
)
def test_a_request_that_cannot_run_is_refused_by_field(changes, field):
    card = nps_card()
    values = {"scorecard_id": card.pk, "first_day": dt.date(2026, 1, 1), "last_day": OUTCOME_DAY, "horizons": [30]}
    values.update(changes)
    with pytest.raises(ValidationError) as caught:
        backtest_request(requested_by=None, **values)
    assert field in caught.value.message_dict
    assert not Backtest.objects.exists()


def test_the_baseline_must_differ_from_the_version_tested():
    card = nps_card()
    with pytest.raises(ValidationError) as caught:
        backtest_request(
            requested_by=None, scorecard_id=card.pk, baseline_id=card.pk, first_day=OUTCOME_DAY, last_day=OUTCOME_DAY
        )
    assert "baseline" in caught.value.message_dict


def test_a_request_queues_its_run_once_committed(django_capture_on_commit_callbacks):
    card, _ = _company()
    with django_capture_on_commit_callbacks(execute=True):
        backtest = backtest_request(
            requested_by=None, scorecard_id=card.pk, first_day=dt.date(2026, 1, 1), last_day=OUTCOME_DAY
        )
    backtest.refresh_from_db()
    assert backtest.state == "finished"
    assert [h["days"] for h in backtest.report["horizons"]] == [30, 60, 90]


def test_card_scores_start_unscored():
    scores = CardScores.empty(ScorecardConfig(None, "x", "", "", 70, 40, ()), 3)
    assert scores.scored.tolist() == [False, False, False]


def test_a_period_without_outcomes_or_without_churn_reports_no_auc_rather_than_failing(client):
    card = nps_card()
    empty = backtest_request(requested_by=None, scorecard_id=card.pk, first_day=OUTCOME_DAY, last_day=OUTCOME_DAY)
    report = backtest_run(backtest_id=empty.pk).report
    assert report["outcomes"]["total"] == 0
    assert report["horizons"][0]["cards"][0]["auc"] is None
    assert report["horizons"][0]["suggestion"]["ok"] is False

    account = AccountFactory()
    nps(account, 7, noon(OUTCOME_DAY - dt.timedelta(days=40)))
    OutcomeFactory(account=account, occurred_on=OUTCOME_DAY)
    renewals = backtest_request(requested_by=None, scorecard_id=card.pk, first_day=OUTCOME_DAY, last_day=OUTCOME_DAY)
    figures = backtest_run(backtest_id=renewals.pk).report["horizons"][0]["cards"][0]
    assert figures["auc"] is None and figures["auc_ci"] is None and figures["base_rate"] == 0.0
    assert figures["lift_red"] is None and figures["roc"] == []

    admin = AdminFactory()
    client.force_login(admin)
    for backtest in (empty, renewals):
        assert client.get(f"/backtests/{backtest.pk}/").status_code == 200


def test_days_are_read_in_chunks_with_progress_after_each_and_the_same_scores(monkeypatch):
    card, _ = _company()
    outcomes = load_outcomes(OUTCOME_DAY, OUTCOME_DAY)
    whole = replay(outcomes, [config(card)], [30, 31, 45])
    monkeypatch.setattr("lifecycle.health.backtest.replay.CHUNK_PAIRS", 1)
    heard = []

    chunked = replay(outcomes, [config(card)], [30, 31, 45], on_day=lambda done: heard.append((done.done, done.total)))

    assert heard == [(1, 3), (2, 3), (3, 3)]
    for ours, theirs in zip(chunked, whole, strict=True):
        np.testing.assert_array_equal(ours[0].score, theirs[0].score)  # NaN (unscored at 45 days) included
    assert np.isnan(chunked[2][0].score).all() and not np.isnan(chunked[0][0].score).any()


def test_a_scorecard_for_one_tier_is_judged_and_compared_on_that_tier_only():
    high_touch = nps_card("High touch NPS")
    Scorecard.objects.filter(pk=high_touch.pk).update(tier="high")
    baseline = nps_card("Everyone NPS")
    inside, outside = AccountFactory(tier="high"), AccountFactory(tier="tech")
    for account, score in ((inside, 2), (outside, 9)):
        nps(account, score, noon(OUTCOME_DAY - dt.timedelta(days=40)))
        churn(account)
    backtest = backtest_request(
        requested_by=AdminFactory(),
        scorecard_id=high_touch.pk,
        baseline_id=baseline.pk,
        first_day=OUTCOME_DAY,
        last_day=OUTCOME_DAY,
        horizons=[30],
    )

    report = backtest_run_inline(backtest_id=backtest.pk).report

    (horizon,) = report["horizons"]
    assert (horizon["outcomes"], horizon["compared"], horizon["out_of_scope"]) == (2, 1, 1)
    assert report["inputs"]["scorecard"]["scope"] == "High-touch"
