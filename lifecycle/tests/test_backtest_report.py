"""The backtest report from replayed scores: same outcomes for every version, and weights suggested from history."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from lifecycle.health.backtest.replay import CardScores, Outcomes
from lifecycle.health.backtest.report import horizon_report, suggested_weights
from lifecycle.health.scoring import MeasureConfig, ScorecardConfig

START = dt.date(2025, 1, 1)


def outcomes(churned: np.ndarray) -> Outcomes:
    n = len(churned)
    return Outcomes(
        ids=np.arange(n),
        account_ids=np.arange(n),
        occurred_on=[START + dt.timedelta(days=i) for i in range(n)],
        churned=churned,
        downgraded=np.zeros(n, dtype=bool),
        arr=np.full(n, 1000.0),
        currencies=np.full(n, "EUR", dtype=object),
    )


def card(*kinds_weights: tuple[str, float]) -> ScorecardConfig:
    measures = tuple(MeasureConfig(kind, weight, 0, 100, 30) for kind, weight in kinds_weights)
    return ScorecardConfig(id=1, name="Test", tier="", stage="", green_min=70, yellow_min=40, measures=measures)


def scored(config: ScorecardConfig, points: np.ndarray) -> CardScores:
    scores = CardScores.empty(config, len(points))
    scores.points[:] = points
    scores.ok[:] = ~np.isnan(points)
    weights = np.array([m.weight for m in config.measures])
    usable = ~np.isnan(points)
    total = (usable * weights).sum(axis=1)
    with np.errstate(invalid="ignore"):
        scores.score[:] = np.where(total > 0, (np.nan_to_num(points) * weights).sum(axis=1) / total, np.nan)
    scores.band[:] = [config.band_for(None if np.isnan(s) else s) for s in scores.score]
    return scores


@pytest.fixture
def history():
    """NPS points fall before churn; support points rise before it (a measure pointing the wrong way)."""
    rng = np.random.default_rng(1)
    n = 600
    churned = rng.random(n) < 0.3
    nps = np.clip(np.where(churned, 35, 70) + rng.normal(0, 15, n), 0, 100).round()
    support = np.clip(np.where(churned, 70, 50) + rng.normal(0, 15, n), 0, 100).round()
    return outcomes(churned), np.column_stack([nps, support])


def test_weights_are_suggested_from_the_earlier_outcomes_and_checked_on_the_later(history):
    results, points = history
    config = card(("nps", 1.0), ("support_burden", 3.0))

    suggestion = suggested_weights(scored(config, points), results, np.ones(len(points), dtype=bool))

    assert suggestion["ok"]
    assert suggestion["train"]["outcomes"] + suggestion["test"]["outcomes"] == 600
    assert suggestion["split_day"] == (START + dt.timedelta(days=419)).isoformat()  # 70% of the days
    weights = {row["kind"]: row for row in suggestion["weights"]}
    assert weights["support_burden"]["suggested"] == "0.01"
    assert "more churn" in weights["support_burden"]["note"]
    assert weights["nps"]["suggested"] == "4.00"  # the whole weight the scorecard had, now on the measure that works
    # The suggested weights beat today's on the outcomes they were not fitted on.
    assert suggestion["suggested_auc"]["held_out"] > suggestion["current_auc"]["held_out"]
    assert set(suggestion["model_auc"]) == {"in_sample", "held_out"}


def test_too_few_outcomes_on_one_side_of_the_split_suggest_nothing():
    churned = np.zeros(40, dtype=bool)
    churned[:8] = True  # every churn in the earlier part
    config = card(("nps", 1.0))
    suggestion = suggested_weights(scored(config, np.full((40, 1), 50.0)), outcomes(churned), np.ones(40, dtype=bool))
    assert not suggestion["ok"] and "later" in suggestion["reason"]


def test_a_version_and_its_baseline_are_measured_on_the_outcomes_both_could_score(history):
    results, points = history
    tested = scored(card(("nps", 1.0)), points[:, :1])
    baseline_points = points[:, 1:].copy()
    baseline_points[:100] = np.nan  # the baseline had no data for the first hundred
    baseline = scored(card(("support_burden", 1.0)), baseline_points)

    report = horizon_report(30, [tested, baseline], results, seed=0, resamples=200)

    assert report["compared"] == 500
    first, second = report["cards"]
    assert first["outcomes"] == second["outcomes"] == 500
    assert (first["unscored"], second["unscored"]) == (0, 100)
    assert report["comparison"]["auc_difference"] == pytest.approx(first["auc"] - second["auc"], abs=1e-4)
    low, high = report["comparison"]["auc_difference_ci"]
    assert low <= report["comparison"]["auc_difference"] <= high
