"""The scoring math, pinned with hand-computed examples."""

import datetime as dt

import pytest

from lifecycle.health.facts import AccountFacts
from lifecycle.health.scoring import (
    MISSING,
    NOT_APPLICABLE,
    OK,
    STALE,
    MeasureConfig,
    ScorecardConfig,
    account_priority,
    measure_contributions,
    raw_measure,
    score_account,
    scorecard_for,
)

TODAY = dt.date(2026, 11, 23)


def facts(**overrides) -> AccountFacts:
    base = dict(
        account_id=1,
        tier="low",
        stage="success",
        owner_id=1,
        pool_id=None,
        stage_entered_on=TODAY - dt.timedelta(days=200),
        contract_start=TODAY - dt.timedelta(days=300),
        renewal_date=TODAY + dt.timedelta(days=65),
    )
    base.update(overrides)
    return AccountFacts(**base)


def card(*measures: MeasureConfig, green=70, yellow=40, tier="", stage="", name="Card") -> ScorecardConfig:
    return ScorecardConfig(
        id=None, name=name, tier=tier, stage=stage, green_min=green, yellow_min=yellow, measures=measures
    )


def measure(kind, weight=1.0, zero_at=0.0, full_at=100.0, validity=30) -> MeasureConfig:
    return MeasureConfig(kind=kind, weight=weight, zero_at=zero_at, full_at=full_at, validity_days=validity)


class TestNormalisation:
    def test_a_raw_value_maps_linearly_between_zero_and_full(self):
        assert measure("nps", zero_at=3, full_at=9).normalise(6) == 50.0
        assert measure("nps", zero_at=3, full_at=9).normalise(7.5) == 75.0

    def test_values_beyond_the_thresholds_are_clamped(self):
        assert measure("nps", zero_at=3, full_at=9).normalise(1) == 0.0
        assert measure("nps", zero_at=3, full_at=9).normalise(10) == 100.0

    def test_lower_is_better_when_full_is_below_zero(self):
        recency = measure("engagement_recency", zero_at=60, full_at=7)
        assert recency.normalise(7) == 100.0
        assert recency.normalise(60) == 0.0
        assert recency.normalise(33.5) == 50.0


class TestWeightsAndMissingMeasures:
    def test_the_score_is_the_weighted_mean_of_measure_scores(self):
        scorecard = card(measure("nps", 1, 3, 9, 180), measure("csm_pulse", 3, 1, 6, 90))
        result = score_account(
            scorecard,
            facts(
                last_nps=9,
                last_nps_at=dt.datetime(2026, 11, 1),
                pulse_rating=3,
                pulse_rated_at=dt.datetime(2026, 11, 20),
            ),
            day=TODAY,
        )
        # pulse 3 → (3-1)/5 = 40 points; (1*100 + 3*40) / 4 = 55.0
        assert result.score == 55.0
        assert result.band == "yellow"
        assert result.measures["nps"] == {"raw": 9.0, "score": 100.0, "weight": 1, "status": OK}

    def test_a_missing_measure_is_left_out_and_the_weights_renormalise(self):
        scorecard = card(measure("nps", 1, 3, 9, 180), measure("csm_pulse", 3, 1, 6, 90))
        result = score_account(scorecard, facts(last_nps=6, last_nps_at=dt.datetime(2026, 11, 1)), day=TODAY)
        # only NPS counts: 6 → 50 points, weight 1 of 1
        assert result.score == 50.0
        assert result.measures["csm_pulse"]["status"] == MISSING
        assert result.measures["csm_pulse"]["score"] is None

    def test_stale_data_is_shown_as_stale_and_left_out(self):
        scorecard = card(measure("nps", 1, 3, 9, 180), measure("stakeholder_coverage", 1, 0, 100, 3650))
        old = dt.datetime(2026, 1, 1)  # 326 days ago, validity 180
        result = score_account(
            scorecard, facts(last_nps=0, last_nps_at=old, stakeholders_recorded=True, champion_known=True), day=TODAY
        )
        assert result.measures["nps"]["status"] == STALE
        assert result.score == 50.0  # champion known, no decision maker

    def test_no_usable_measure_means_no_score_rather_than_zero(self):
        result = score_account(card(measure("nps", 1, 3, 9, 180)), facts(), day=TODAY)
        assert result.score is None
        assert result.band == ""

    def test_expired_pulse_is_stale(self):
        raw, status = raw_measure(
            "csm_pulse",
            facts(pulse_rating=6, pulse_rated_at=dt.datetime(2026, 10, 1), pulse_expired=True),
            day=TODAY,
            validity_days=90,
        )
        assert (raw, status) == (None, STALE)

    def test_check_in_cadence_only_applies_in_adoption(self):
        assert (
            raw_measure("checkin_cadence", facts(stage="success", cadence_days=14), day=TODAY, validity_days=90)[1]
            == NOT_APPLICABLE
        )
        # 90 days / 14 = 6.43 expected; 3 held → 46.7 %
        held = facts(stage="adoption", cadence_days=14, checkins_90d=3, last_checkin_at=dt.datetime(2026, 11, 20))
        assert raw_measure("checkin_cadence", held, day=TODAY, validity_days=90) == (46.7, OK)
        # No check-in in the window is no record of check-ins: missing, not a free 0.
        never = facts(stage="adoption", cadence_days=14)
        assert raw_measure("checkin_cadence", never, day=TODAY, validity_days=90) == (None, MISSING)

    def test_usage_trend_compares_the_last_week_with_the_four_before(self):
        # 245 user-days in 7 days is 35 a day; 1,400 in the 28 before is 50 a day: −30 %.
        usage = dict(usage_feed_day=TODAY, usage_licences_owned=60, active_user_days_7d=245)
        raw, status = raw_measure(
            "usage_trend", facts(**usage, active_user_days_prev28=1400), day=TODAY, validity_days=7
        )
        assert (raw, status) == (-30.0, OK)

    def test_usage_older_than_its_validity_is_stale(self):
        raw, status = raw_measure(
            "licence_utilisation",
            facts(usage_last_day=TODAY - dt.timedelta(days=20), licences_used=5, licences_owned=10),
            day=TODAY,
            validity_days=14,
        )
        assert status == STALE

    def test_no_touchpoint_in_the_horizon_is_missing_not_the_worst_recency(self):
        assert raw_measure("engagement_recency", facts(), day=TODAY, validity_days=365) == (None, MISSING)

    def test_recency_is_capped_at_the_window(self):
        long_ago = dt.datetime(2025, 12, 1, 12, 0)
        raw = raw_measure("engagement_recency", facts(last_touchpoint_at=long_ago), day=TODAY, validity_days=60)
        assert raw == (60.0, OK)


class TestBands:
    @pytest.mark.parametrize(
        ("score", "band"), [(70, "green"), (69.9, "yellow"), (40, "yellow"), (39.9, "red"), (0, "red")]
    )
    def test_cut_offs_are_inclusive_at_the_lower_bound(self, score, band):
        assert card(green=70, yellow=40).band_for(score) == band


class TestScorecardChoice:
    def test_the_most_specific_scorecard_applies(self):
        default = card(name="Default")
        high = card(tier="high", name="High")
        onboarding = card(stage="onboarding", name="Onboarding")
        high_onboarding = card(tier="high", stage="onboarding", name="High onboarding")
        cards = [default, high, onboarding, high_onboarding]
        assert scorecard_for(cards, tier="high", stage="onboarding").name == "High onboarding"
        assert scorecard_for(cards, tier="high", stage="success").name == "High"
        assert scorecard_for(cards, tier="low", stage="onboarding").name == "Onboarding"
        assert scorecard_for(cards, tier="low", stage="success").name == "Default"
        assert scorecard_for([high], tier="low", stage="success") is None


def test_contributions_add_up_to_the_score():
    measures = {
        "nps": {"score": 100.0, "weight": 1, "status": OK},
        "csm_pulse": {"score": 40.0, "weight": 3, "status": OK},
        "usage_trend": {"score": None, "weight": 2, "status": MISSING},
    }
    contributions = measure_contributions(measures)
    assert contributions == {"nps": 25.0, "csm_pulse": 30.0}
    assert sum(contributions.values()) == 55.0


class TestNextBestPriority:
    def test_poor_health_near_renewal_and_size_add_up(self):
        # 100 - 40 = 60 need, renewal in 20 days = 40, ARR 120k = 12
        assert (
            account_priority(
                score=40, renewal_date=TODAY + dt.timedelta(days=20), arr=120_000, stage="success", today=TODAY
            )
            == 112.0
        )

    def test_an_unscored_account_counts_as_middling_and_a_past_renewal_adds_nothing(self):
        assert (
            account_priority(
                score=None, renewal_date=TODAY - dt.timedelta(days=1), arr=0, stage="adoption", today=TODAY
            )
            == 50.0
        )

    @pytest.mark.parametrize(
        ("days", "points"), [(30, 40.0), (31, 25.0), (60, 25.0), (61, 15.0), (90, 15.0), (91, 0.0)]
    )
    def test_renewal_urgency_steps(self, days, points):
        base = account_priority(score=100, renewal_date=None, arr=0, stage="success", today=TODAY)
        assert (
            account_priority(
                score=100, renewal_date=TODAY + dt.timedelta(days=days), arr=0, stage="success", today=TODAY
            )
            - base
            == points
        )

    def test_churned_accounts_sink(self):
        assert account_priority(score=0, renewal_date=None, arr=500_000, stage="churned", today=TODAY) < 0
