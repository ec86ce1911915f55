"""The backtest's figures: pure functions over numpy arrays, tested on hand-computed cases.

Throughout, `risk` is 100 minus the health score (higher means riskier) and
`churned` is 1 for a churn and 0 for an account that stayed (renewed or
downgraded), one entry per outcome. No database, no Django: the same inputs
give the same figures, and the bootstrap is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANDS = ("red", "yellow", "green")
# Resamples per batch of the bootstrap: bounds memory (batch × outcomes indices) whatever the size.
_BATCH = 100


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Each value's position among the distinct values, ascending, and how many distinct values there are."""
    distinct, codes = np.unique(values, return_inverse=True)
    return codes.reshape(-1), len(distinct)


def _auc_from_counts(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """AUC from counts per distinct risk value (last axis ascending): P(churned riskier) + ½ P(tie).

    Works on one row or a batch of rows; a row without positives or negatives gives NaN.
    """
    positives = positives.astype(np.float64)
    negatives = negatives.astype(np.float64)
    below = np.cumsum(negatives, axis=-1) - negatives  # negatives strictly less risky than each value
    wins = (positives * (below + 0.5 * negatives)).sum(axis=-1)
    pairs = positives.sum(axis=-1) * negatives.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1), np.nan)


def auc(risk: np.ndarray, churned: np.ndarray) -> float | None:
    """ROC AUC: the chance a churned account was riskier than a retained one, ties counting half.

    None without at least one churned and one retained outcome.
    """
    risk = np.asarray(risk, dtype=np.float64)
    churned = np.asarray(churned, dtype=bool)
    if not churned.any() or churned.all():
        return None
    codes, k = _codes(risk)
    positives = np.bincount(codes[churned], minlength=k)
    negatives = np.bincount(codes[~churned], minlength=k)
    return float(_auc_from_counts(positives, negatives))


def _bootstrap_aucs(risks: list[np.ndarray], churned: np.ndarray, *, seed: int, resamples: int) -> list[np.ndarray]:
    """AUCs of each risk array over the same stratified resamples of the outcomes.

    Churned and retained outcomes are resampled separately, each to its own
    count, so every resample has both (the AUC is always defined). The same
    indices serve every array: a paired bootstrap when there are two.
    """
    churned = np.asarray(churned, dtype=bool)
    pos_index = np.flatnonzero(churned)
    neg_index = np.flatnonzero(~churned)
    coded = [_codes(np.asarray(risk, dtype=np.float64)) for risk in risks]
    rng = np.random.default_rng(seed)
    results: list[list[np.ndarray]] = [[] for _ in risks]
    done = 0
    while done < resamples:
        batch = min(_BATCH, resamples - done)
        pos = pos_index[rng.integers(0, len(pos_index), size=(batch, len(pos_index)))]
        neg = neg_index[rng.integers(0, len(neg_index), size=(batch, len(neg_index)))]
        offsets_pos = np.arange(batch)[:, None]
        for i, (codes, k) in enumerate(coded):
            # Counts per (resample, distinct value) in one bincount over offset codes.
            pos_counts = np.bincount((offsets_pos * k + codes[pos]).ravel(), minlength=batch * k).reshape(batch, k)
            neg_counts = np.bincount((offsets_pos * k + codes[neg]).ravel(), minlength=batch * k).reshape(batch, k)
            results[i].append(_auc_from_counts(pos_counts, neg_counts))
        done += batch
    return [np.concatenate(parts) for parts in results]


def _interval(samples: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)


def auc_interval(
    risk: np.ndarray, churned: np.ndarray, *, seed: int, resamples: int = 1000
) -> tuple[float, float] | None:
    """The bootstrap 95% interval of the AUC (percentiles 2.5 and 97.5 of stratified resamples)."""
    churned = np.asarray(churned, dtype=bool)
    if not churned.any() or churned.all():
        return None
    (samples,) = _bootstrap_aucs([risk], churned, seed=seed, resamples=resamples)
    return _interval(samples)


def auc_difference_interval(
    risk: np.ndarray, other: np.ndarray, churned: np.ndarray, *, seed: int, resamples: int = 1000
) -> tuple[float, float] | None:
    """The bootstrap 95% interval of AUC(risk) − AUC(other), both resampled on the same outcomes (paired)."""
    churned = np.asarray(churned, dtype=bool)
    if not churned.any() or churned.all():
        return None
    first, second = _bootstrap_aucs([risk, other], churned, seed=seed, resamples=resamples)
    return _interval(first - second)


def roc_points(risk: np.ndarray, churned: np.ndarray) -> list[tuple[float, float]]:
    """The ROC curve: (false-positive rate, true-positive rate) at every risk threshold, from (0, 0) to (1, 1)."""
    risk = np.asarray(risk, dtype=np.float64)
    churned = np.asarray(churned, dtype=bool)
    if not churned.any() or churned.all():
        return []
    codes, k = _codes(risk)
    # Thresholds from the riskiest value down: everyone at or above it is called "at risk".
    positives = np.bincount(codes[churned], minlength=k)[::-1].cumsum()
    negatives = np.bincount(codes[~churned], minlength=k)[::-1].cumsum()
    tpr = positives / churned.sum()
    fpr = negatives / (~churned).sum()
    return [(0.0, 0.0)] + [(round(float(f), 4), round(float(t), 4)) for f, t in zip(fpr, tpr, strict=True)]


@dataclass(frozen=True)
class BandRow:
    band: str
    count: int
    churned: int
    downgraded: int

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.count if self.count else None


def band_rows(bands: np.ndarray, churned: np.ndarray, downgraded: np.ndarray) -> list[BandRow]:
    """Per band: outcomes, churns, downgrades; red first."""
    bands = np.asarray(bands)
    churned = np.asarray(churned, dtype=bool)
    downgraded = np.asarray(downgraded, dtype=bool)
    rows = []
    for band in BANDS:
        mask = bands == band
        rows.append(
            BandRow(
                band=band,
                count=int(mask.sum()),
                churned=int((mask & churned).sum()),
                downgraded=int((mask & downgraded).sum()),
            )
        )
    return rows


def base_rate(churned: np.ndarray) -> float | None:
    churned = np.asarray(churned, dtype=bool)
    return float(churned.mean()) if len(churned) else None


def lift(rate: float | None, base: float | None) -> float | None:
    """How many times the base rate a band's churn rate is; None when either is unknown or the base is 0."""
    if rate is None or not base:
        return None
    return rate / base


def flagged_arr_shares(bands: np.ndarray, churned: np.ndarray, arr: np.ndarray, currencies: np.ndarray) -> list[dict]:
    """Per currency: the churned ARR, the part of it that was red or yellow, and that share.

    Amounts in different currencies are never added together.
    """
    bands = np.asarray(bands)
    churned = np.asarray(churned, dtype=bool)
    arr = np.asarray(arr, dtype=np.float64)
    currencies = np.asarray(currencies)
    flagged = (bands == "red") | (bands == "yellow")
    rows = []
    for currency in sorted(set(currencies[churned].tolist())):
        mask = churned & (currencies == currency)
        total = float(arr[mask].sum())
        caught = float(arr[mask & flagged].sum())
        rows.append(
            {
                "currency": currency,
                "churned_arr": round(total, 2),
                "flagged_arr": round(caught, 2),
                "share": caught / total if total else None,
                "churned": int(mask.sum()),
            }
        )
    return rows


def calibration_rows(scores: np.ndarray, churned: np.ndarray, *, width: int = 10) -> list[dict]:
    """Outcomes and churn rate per score bucket of `width` points (0–9, 10–19, …, 90–100)."""
    scores = np.asarray(scores, dtype=np.float64)
    churned = np.asarray(churned, dtype=bool)
    buckets = 100 // width
    index = np.minimum((scores // width).astype(int), buckets - 1)
    counts = np.bincount(index, minlength=buckets)
    churns = np.bincount(index, weights=churned.astype(np.float64), minlength=buckets)
    rows = []
    for i in range(buckets):
        low, high = i * width, (i + 1) * width - 1 if i < buckets - 1 else 100
        count = int(counts[i])
        rows.append(
            {
                "low": low,
                "high": high,
                "count": count,
                "churned": int(churns[i]),
                "churn_rate": float(churns[i]) / count if count else None,
            }
        )
    return rows


# --- suggested weights --------------------------------------------------------


@dataclass(frozen=True)
class LogisticFit:
    intercept: float
    coefficients: np.ndarray
    iterations: int


def logistic_fit(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iterations: int = 50) -> LogisticFit:
    """L2-regularised logistic regression by Newton's method; the intercept is not penalised.

    Minimises −log-likelihood + l2/2 · ‖coefficients‖². Features should be on
    a comparable scale (the backtest passes measure points / 100).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, k = x.shape
    design = np.hstack([np.ones((n, 1)), x])
    beta = np.zeros(k + 1)
    penalty = np.full(k + 1, l2)
    penalty[0] = 0.0
    done = 0
    while done < iterations:
        done += 1
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
        gradient = design.T @ (p - y) + penalty * beta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(k + 1)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return LogisticFit(intercept=float(beta[0]), coefficients=beta[1:], iterations=done)


def logistic_risk(fit: LogisticFit, x: np.ndarray) -> np.ndarray:
    """The fitted probability of churn for each row."""
    return 1.0 / (1.0 + np.exp(-np.clip(fit.intercept + np.asarray(x, dtype=np.float64) @ fit.coefficients, -30, 30)))


def weighted_scores(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Scorecard scores from measure points (NaN where a measure drops out) and weights: the weighted mean of the
    usable measures, as scoring.score_account computes it (unrounded). NaN where no measure is usable."""
    points = np.asarray(points, dtype=np.float64)
    usable = ~np.isnan(points)
    weights = np.asarray(weights, dtype=np.float64)
    total = (usable * weights).sum(axis=1)
    summed = (np.where(usable, points, 0.0) * weights).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, summed / np.where(total > 0, total, 1), np.nan)
