"""A backtest's report: the replayed scores turned into figures, as plain JSON kept on the Backtest row.

Per horizon and scorecard, on exactly the outcomes every compared scorecard
could score: AUC with its bootstrap interval, churn per band, the red band's
lift, the churned ARR that was red or yellow, each measure's AUC and
coverage, a calibration table and the ROC curve; with a baseline, the paired
AUC difference; and weights suggested by a regularised logistic fit on the
earlier outcomes, checked on the later ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from lifecycle.health.backtest import stats
from lifecycle.health.backtest.replay import CardScores, Outcomes
from lifecycle.models import MeasureKind

RESAMPLES = 1000
# The earlier share of outcomes (by date) the suggested weights are fitted on; the rest checks them.
TRAIN_SHARE = 0.7
L2 = 1.0
# Points a measure without a usable value counts as in the fit: neither good nor bad.
NEUTRAL_POINTS = 50.0
MIN_WEIGHT = Decimal("0.01")
CENT = Decimal("0.01")
MAX_WEIGHT = Decimal("999.99")
# Fewer churned or retained outcomes than this on either side of the split: no suggestion.
MIN_PER_CLASS = 5

NOTES = [
    "A churn is the event. Renewals and downgrades both kept the customer, so both count as retained; "
    "downgrades are also counted per band on their own.",
    "Risk is 100 minus the health score: an AUC of 1 means every churned account scored below every retained one, "
    "0.5 is a coin toss. Ties count half.",
    "Each account is scored from the signals stored as the day N days before the outcome ended; anything dated "
    "later is not used. Its tier comes from its dated contract terms and its stage from its stage history as of "
    "that day; the ARR is the outcome's own (the term it closed).",
    "Still today's values: the check-in cadence per tier, and the scorecard versions themselves (by design).",
]


def _r(value: float | None, places: int = 4) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), places)


def _interval(interval: tuple[float, float] | None) -> list[float | None] | None:
    return None if interval is None else [_r(interval[0]), _r(interval[1])]


def card_figures(
    scores: CardScores, outcomes: Outcomes, mask: np.ndarray, *, seed: int, resamples: int = RESAMPLES
) -> dict:
    """One scorecard's figures over the outcomes in `mask`."""
    churned = outcomes.churned[mask]
    score = scores.score[mask]
    risk = 100.0 - score
    bands = scores.band[mask]
    base = stats.base_rate(churned)
    band_rows = stats.band_rows(bands, churned, outcomes.downgraded[mask])
    red = next(row for row in band_rows if row.band == "red")
    labels = dict(MeasureKind.choices)
    measures = []
    for j, kind in enumerate(scores.kinds):
        ok = scores.ok[mask, j]
        points = scores.points[mask, j]
        measures.append(
            {
                "kind": kind,
                "label": labels.get(kind, kind),
                "weight": next(m.weight for m in scores.card.measures if m.kind == kind),
                "coverage": _r(ok.mean()) if len(ok) else None,
                "auc": _r(stats.auc(100.0 - points[ok], churned[ok])),
                "outcomes": int(ok.sum()),
            }
        )
    return {
        "scorecard": {"id": scores.card.id, "label": scores.card.label},
        "unscored": int((~scores.scored).sum()),
        "outcomes": int(mask.sum()),
        "churned": int(churned.sum()),
        "auc": _r(stats.auc(risk, churned)),
        "auc_ci": _interval(stats.auc_interval(risk, churned, seed=seed, resamples=resamples)),
        "base_rate": _r(base),
        "bands": [
            {
                "band": row.band,
                "count": row.count,
                "churned": row.churned,
                "downgraded": row.downgraded,
                "churn_rate": _r(row.churn_rate),
                "lift": _r(stats.lift(row.churn_rate, base), 2),
            }
            for row in band_rows
        ],
        "lift_red": _r(stats.lift(red.churn_rate, base), 2),
        "churned_arr_flagged": [
            {**row, "share": _r(row["share"])}
            for row in stats.flagged_arr_shares(bands, churned, outcomes.arr[mask], outcomes.currencies[mask])
        ],
        "measures": measures,
        "calibration": [{**row, "churn_rate": _r(row["churn_rate"])} for row in stats.calibration_rows(score, churned)],
        "roc": stats.roc_points(risk, churned),
    }


def suggested_weights(scores: CardScores, outcomes: Outcomes, mask: np.ndarray) -> dict:
    """Weights from a regularised logistic fit on the earlier outcomes, with its AUC on the later ones beside."""
    kinds = scores.kinds
    index = np.flatnonzero(mask)
    if len(index) == 0 or not kinds:
        return {"ok": False, "reason": "No scored outcomes to learn from."}
    days = np.array([outcomes.occurred_on[i].toordinal() for i in index])
    cut = int(np.quantile(days, TRAIN_SHARE, method="lower"))
    train, test = index[days <= cut], index[days > cut]
    churned = outcomes.churned
    for part, name in ((train, "earlier"), (test, "later")):
        positives = int(churned[part].sum())
        if positives < MIN_PER_CLASS or len(part) - positives < MIN_PER_CLASS:
            return {
                "ok": False,
                "reason": f"Too few outcomes in the {name} part to fit weights: at least {MIN_PER_CLASS} churned "
                f"and {MIN_PER_CLASS} retained are needed on each side of {dt.date.fromordinal(cut)}.",
            }
    features = np.where(np.isnan(scores.points), NEUTRAL_POINTS, scores.points) / 100.0
    fit = stats.logistic_fit(features[train], churned[train], l2=L2)
    current = np.array([m.weight for m in scores.card.measures])
    # More points means healthier, so a useful measure has a negative coefficient: its weight grows with −coefficient.
    pull = -fit.coefficients
    useful = pull > 0
    total = float(current.sum())
    raw = np.where(useful, pull, 0.0)
    scaled = raw / raw.sum() * total if raw.sum() > 0 else np.zeros_like(raw)
    weights = [
        min(MAX_WEIGHT, max(MIN_WEIGHT, Decimal(repr(float(w))).quantize(CENT, rounding=ROUND_HALF_UP))) for w in scaled
    ]
    suggested = np.array([float(w) for w in weights])
    labels = dict(MeasureKind.choices)
    rows = []
    for j, kind in enumerate(kinds):
        note = ""
        if not useful[j]:
            note = "In history, more points here went with more churn, not less: kept at the minimum weight."
        elif weights[j] == MIN_WEIGHT:
            note = "Made almost no difference in history."
        rows.append(
            {
                "kind": kind,
                "label": labels.get(kind, kind),
                "current": float(current[j]),
                "suggested": str(weights[j]),
                "coefficient": _r(float(fit.coefficients[j])),
                "note": note,
            }
        )

    def scorecard_auc(weights_: np.ndarray, part: np.ndarray) -> float | None:
        # As the scorecard would score: the weighted mean of the usable measures, rounded like a real score.
        score = np.floor(stats.weighted_scores(scores.points[part], weights_) * 10 + 0.5) / 10
        usable = ~np.isnan(score)
        return stats.auc(100.0 - score[usable], churned[part][usable])

    return {
        "ok": True,
        "split_day": dt.date.fromordinal(cut).isoformat(),
        "train": {"outcomes": len(train), "churned": int(churned[train].sum())},
        "test": {"outcomes": len(test), "churned": int(churned[test].sum())},
        "l2": L2,
        "neutral_points": NEUTRAL_POINTS,
        "model_auc": {
            "in_sample": _r(stats.auc(stats.logistic_risk(fit, features[train]), churned[train])),
            "held_out": _r(stats.auc(stats.logistic_risk(fit, features[test]), churned[test])),
        },
        "current_auc": {"in_sample": _r(scorecard_auc(current, train)), "held_out": _r(scorecard_auc(current, test))},
        "suggested_auc": {
            "in_sample": _r(scorecard_auc(suggested, train)),
            "held_out": _r(scorecard_auc(suggested, test)),
        },
        "weights": rows,
    }


def horizon_report(
    horizon: int, results: list[CardScores], outcomes: Outcomes, *, seed: int, resamples: int = RESAMPLES
) -> dict:
    """The figures at one horizon: the scorecard under test first, then the baseline if any, on the same outcomes."""
    common = np.logical_and.reduce([scores.scored for scores in results]) if results else np.zeros(0, dtype=bool)
    cards = [card_figures(scores, outcomes, common, seed=seed, resamples=resamples) for scores in results]
    comparison = None
    if len(results) == 2:
        churned = outcomes.churned[common]
        risk, other = 100.0 - results[0].score[common], 100.0 - results[1].score[common]
        first, second = cards[0]["auc"], cards[1]["auc"]
        comparison = {
            "outcomes": int(common.sum()),
            "auc_difference": _r(first - second) if first is not None and second is not None else None,
            "auc_difference_ci": _interval(
                stats.auc_difference_interval(risk, other, churned, seed=seed, resamples=resamples)
            ),
        }
    return {
        "days": horizon,
        "outcomes": len(outcomes),
        "compared": int(common.sum()),
        "out_of_scope": int(results[0].out_of_scope.sum()) if results else 0,
        "cards": cards,
        "comparison": comparison,
        "suggestion": suggested_weights(results[0], outcomes, common) if results else None,
    }


def outcome_counts(outcomes: Outcomes) -> dict:
    return {
        "total": len(outcomes),
        "churned": int(outcomes.churned.sum()),
        "downgraded": int(outcomes.downgraded.sum()),
        "renewed": int(len(outcomes) - outcomes.churned.sum() - outcomes.downgraded.sum()),
    }
