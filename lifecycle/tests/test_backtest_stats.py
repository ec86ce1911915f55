"""The backtest's math on small cases worked out by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lifecycle.health.backtest import stats

# Three churned accounts (risk 80, 60, 60) and four retained ones (60, 40, 20, 20).
RISK = np.array([80, 60, 60, 60, 40, 20, 20], dtype=float)
CHURNED = np.array([1, 1, 1, 0, 0, 0, 0], dtype=bool)


def brute_force_auc(risk, churned) -> float:
    wins = 0.0
    for p, n in itertools.product(risk[churned], risk[~churned]):
        wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (churned.sum() * (~churned).sum())


def test_auc_counts_ties_as_half():
    # 80 beats all four retained (4); each 60 beats 40, 20, 20 and ties the retained 60 (3.5 each): 11 of 12 pairs.
    assert stats.auc(RISK, CHURNED) == pytest.approx(11 / 12)
    assert brute_force_auc(RISK, CHURNED) == pytest.approx(11 / 12)


def test_auc_of_a_useless_score_is_one_half_and_of_a_reversed_one_its_complement():
    assert stats.auc(np.full(7, 50.0), CHURNED) == 0.5
    assert stats.auc(-RISK, CHURNED) == pytest.approx(1 / 12)


def test_auc_needs_both_churned_and_retained_outcomes():
    assert stats.auc(RISK, np.ones(7, dtype=bool)) is None
    assert stats.auc(RISK, np.zeros(7, dtype=bool)) is None
    assert stats.auc_interval(RISK, np.zeros(7, dtype=bool), seed=1) is None


def test_auc_agrees_with_pair_counting_on_random_scores_with_many_ties():
    rng = np.random.default_rng(7)
    risk = rng.integers(0, 10, size=300).astype(float)
    churned = rng.random(300) < 0.3
    assert stats.auc(risk, churned) == pytest.approx(brute_force_auc(risk, churned))


def test_per_band_rates_and_the_red_bands_lift():
    scores = 100 - RISK  # churned 20, 40, 40; retained 40, 60, 80, 80
    bands = np.array(["red" if s < 40 else "yellow" if s < 70 else "green" for s in scores])
    downgraded = np.array([0, 0, 0, 1, 0, 0, 0], dtype=bool)

    rows = {row.band: row for row in stats.band_rows(bands, CHURNED, downgraded)}

    assert [(r.band, r.count, r.churned, r.downgraded) for r in rows.values()] == [
        ("red", 1, 1, 0),
        ("yellow", 4, 2, 1),
        ("green", 2, 0, 0),
    ]
    assert rows["red"].churn_rate == 1.0 and rows["yellow"].churn_rate == 0.5 and rows["green"].churn_rate == 0.0
    base = stats.base_rate(CHURNED)
    assert base == pytest.approx(3 / 7)
    assert stats.lift(rows["red"].churn_rate, base) == pytest.approx(7 / 3)
    assert stats.lift(None, base) is None and stats.lift(0.5, 0.0) is None


def test_share_of_churned_arr_red_or_yellow_is_per_currency():
    bands = np.array(["red", "green", "yellow", "green", "red"])
    churned = np.array([1, 1, 1, 0, 1], dtype=bool)
    arr = np.array([100.0, 300.0, 50.0, 999.0, 70.0])
    currencies = np.array(["USD", "USD", "EUR", "USD", "EUR"], dtype=object)

    shares = {row["currency"]: row for row in stats.flagged_arr_shares(bands, churned, arr, currencies)}

    assert shares["USD"]["churned_arr"] == 400 and shares["USD"]["flagged_arr"] == 100
    assert shares["USD"]["share"] == pytest.approx(0.25)
    assert shares["EUR"]["share"] == 1.0 and shares["EUR"]["churned"] == 2


def test_calibration_buckets_of_ten_points_with_100_in_the_top_one():
    scores = np.array([0, 9.9, 10, 55, 99.9, 100])
    churned = np.array([1, 1, 0, 1, 0, 0], dtype=bool)

    rows = stats.calibration_rows(scores, churned)

    assert [(r["low"], r["high"], r["count"], r["churned"]) for r in rows if r["count"]] == [
        (0, 9, 2, 2),
        (10, 19, 1, 0),
        (50, 59, 1, 1),
        (90, 100, 2, 0),
    ]
    assert rows[0]["churn_rate"] == 1.0 and rows[2]["churn_rate"] is None


def test_roc_runs_from_the_origin_to_the_corner_through_each_threshold():
    points = stats.roc_points(RISK, CHURNED)
    # Thresholds 80, 60, 40, 20: (FPR, TPR) = (0, 1/3), (1/4, 1), (2/4, 1), (1, 1).
    assert points == [(0.0, 0.0), (0.0, 0.3333), (0.25, 1.0), (0.5, 1.0), (1.0, 1.0)]


def test_the_bootstrap_interval_is_the_same_under_the_same_seed_and_brackets_the_auc():
    rng = np.random.default_rng(3)
    risk = np.round(rng.normal(50, 15, size=400) + 12 * (churned := rng.random(400) < 0.25))
    value = stats.auc(risk, churned)

    first = stats.auc_interval(risk, churned, seed=42)
    again = stats.auc_interval(risk, churned, seed=42)
    other_seed = stats.auc_interval(risk, churned, seed=43)

    assert first == again
    assert first[0] < value < first[1]
    # Another seed moves the bounds a little, not the conclusion.
    assert abs(first[0] - other_seed[0]) < 0.02 and abs(first[1] - other_seed[1]) < 0.02


def test_the_bootstrap_resamples_churned_and_retained_separately_and_counts_each_resample_exactly():
    # The same draws as the implementation (one batch), counted pair by pair.
    resamples = 5
    rng = np.random.default_rng(11)
    pos, neg = np.flatnonzero(CHURNED), np.flatnonzero(~CHURNED)
    pos_draws = pos[rng.integers(0, len(pos), size=(resamples, len(pos)))]
    neg_draws = neg[rng.integers(0, len(neg), size=(resamples, len(neg)))]
    expected = [
        brute_force_auc(RISK[np.r_[p, n]], np.r_[np.ones(len(p), bool), np.zeros(len(n), bool)])
        for p, n in zip(pos_draws, neg_draws, strict=True)
    ]

    (samples,) = stats._bootstrap_aucs([RISK], CHURNED, seed=11, resamples=resamples)

    assert samples == pytest.approx(expected)


def test_the_paired_difference_of_a_score_with_itself_is_exactly_zero():
    assert stats.auc_difference_interval(RISK, RISK, CHURNED, seed=5) == (0.0, 0.0)


def test_a_logistic_fit_finds_the_measure_that_predicts_churn_and_regularisation_shrinks_it():
    rng = np.random.default_rng(0)
    n = 2000
    useful = rng.random(n)
    noise = rng.random(n)
    churned = rng.random(n) < 1 / (1 + np.exp(-(2 - 5 * useful)))  # fewer points, more churn
    x = np.column_stack([useful, noise])

    fit = stats.logistic_fit(x, churned, l2=1.0)
    strong = stats.logistic_fit(x, churned, l2=1000.0)

    assert fit.coefficients[0] == pytest.approx(-5, abs=1.0)
    assert abs(fit.coefficients[1]) < 0.5
    assert abs(strong.coefficients[0]) < abs(fit.coefficients[0])


def test_weighted_scores_share_a_dropped_measures_weight_among_the_others():
    points = np.array([[100.0, 0.0], [100.0, np.nan], [np.nan, np.nan]])
    scores = stats.weighted_scores(points, np.array([3.0, 1.0]))
    assert scores[0] == 75.0 and scores[1] == 100.0 and np.isnan(scores[2])
