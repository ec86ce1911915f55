"""Health across the scoped book: today's bands, health by group with the significance highlight, the trend.

The book's one GROUP BY (selectors.book_rows: by segment, industry, region, tier and band, and
by owner and renewal window for the other charts) gives today's distribution, every group's
count, sum and sum of squares of scores (for Welch's t-test) and the count of accounts whose
currency has no rate; one more reads the trend's past points from the
nightly roll-up of the snapshots (today's point is the cube's own).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F, FloatField, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from accounts.models import Industry, Region, Tier
from lifecycle.health.models import Band, HealthBandDaily

from .forms import PortfolioFilters
from .stats import Moments, holm, welch_t_test

# The significance highlight: a group is flagged when Welch's t-test (two-sided, Holm-corrected over
# every group tested on the page) rejects "same mean as the rest" and its mean is clearly lower.
ALPHA = 0.05
MIN_GROUP_SIZE = 10
MIN_POINTS_BELOW = 5.0
TEST_NAME = "Welch's t-test, Holm-corrected"
TREND_STEP_DAYS = 7

BANDS = [Band.GREEN, Band.YELLOW, Band.RED]
UNSCORED = ""
BAND_LABELS = {**{band.value: band.label for band in BANDS}, UNSCORED: "Not scored"}
GROUPINGS = {
    "segment": ("Segment", {}),
    "industry": ("Industry", dict(Industry.choices)),
    "region": ("Region", dict(Region.choices)),
    "tier": ("Tier", dict(Tier.choices)),
}

# An account's segment is its covering team's: the owner's team, or the pool's for a pooled account.
SEGMENT = Coalesce(F("owner__team__segment"), F("pool__segment"), Value(""))
SCORE = Cast("health__score", FloatField())


@dataclass(frozen=True)
class BandCount:
    band: str
    label: str
    accounts: int
    share: float
    arr: Decimal
    unconverted: int


@dataclass
class GroupHealth:
    key: str
    label: str
    accounts: int
    moments: Moments
    rest: Moments
    p_raw: float | None = None
    p_adjusted: float | None = None
    highlighted: bool = False

    @property
    def mean(self) -> float | None:
        return round(self.moments.mean, 1) if self.moments.n else None

    @property
    def rest_mean(self) -> float | None:
        return round(self.rest.mean, 1) if self.rest.n else None

    @property
    def difference(self) -> float | None:
        if not self.moments.n or not self.rest.n:
            return None
        return round(self.moments.mean - self.rest.mean, 1)

    @property
    def tested(self) -> bool:
        return self.p_adjusted is not None


@dataclass
class Grouping:
    name: str
    label: str
    groups: list[GroupHealth]


@dataclass
class HealthCube:
    accounts: int
    unconverted: int
    arr: Decimal
    bands: list[BandCount]
    groupings: list[Grouping]
    population: Moments

    @property
    def highlighted(self) -> list[tuple[Grouping, GroupHealth]]:
        return [(grouping, group) for grouping in self.groupings for group in grouping.groups if group.highlighted]


def health_cube(rows: Iterable[dict[str, Any]]) -> HealthCube:
    """Today's health from the book's one GROUP BY (`selectors.book_rows`: at most a few thousand rows, whatever
    the book), each row a group of accounts with its count, scored count, sum and sum of squares of scores.

    Each group's moments are added up from those rows, so the significance test reads no account twice.
    """
    rows = list(rows)
    total = sum(row["accounts"] for row in rows)
    by_band: dict[str, dict[str, Any]] = {
        band: {"accounts": 0, "arr": Decimal(0), "unconverted": 0} for band in BAND_LABELS
    }
    groups: dict[str, dict[str, list[float]]] = {name: defaultdict(lambda: [0, 0, 0.0, 0.0]) for name in GROUPINGS}
    population = [0, 0.0, 0.0]
    for row in rows:
        band = row["band"] if row["band"] in BAND_LABELS else UNSCORED
        tally = by_band[band]
        tally["accounts"] += row["accounts"]
        tally["arr"] += row["arr"] or 0
        tally["unconverted"] += row["unconverted"]
        scored, s, ss = row["scored"], row["score_sum"] or 0.0, row["score_squares"] or 0.0
        population[0] += scored
        population[1] += s
        population[2] += ss
        for name in GROUPINGS:
            group = groups[name][row[name]]
            group[0] += row["accounts"]
            group[1] += scored
            group[2] += s
            group[3] += ss
    everyone = Moments(int(population[0]), population[1], population[2])
    bands = [
        BandCount(
            band=band,
            label=label,
            accounts=by_band[band]["accounts"],
            share=by_band[band]["accounts"] / total if total else 0.0,
            arr=by_band[band]["arr"],
            unconverted=by_band[band]["unconverted"],
        )
        for band, label in BAND_LABELS.items()
    ]
    groupings = []
    for name, (label, labels) in GROUPINGS.items():
        entries = []
        for key, (accounts, n, s, ss) in groups[name].items():
            moments = Moments(int(n), s, ss)
            entries.append(
                GroupHealth(
                    key=key,
                    label=labels.get(key, key) or "No segment",
                    accounts=int(accounts),
                    moments=moments,
                    rest=everyone - moments,
                )
            )
        if name == "tier":
            # Tiers in their own order (high- to tech-touch), the other groupings alphabetically.
            rank = {key: index for index, key in enumerate(labels)}
            entries.sort(key=lambda g: (rank.get(g.key, len(rank)), g.label))
        else:
            entries.sort(key=lambda g: g.label)
        groupings.append(Grouping(name=name, label=label, groups=entries))
    _mark_significantly_below(groupings)
    return HealthCube(
        accounts=total,
        unconverted=sum(b.unconverted for b in bands),
        arr=sum((b.arr for b in bands), Decimal(0)),
        bands=bands,
        groupings=groupings,
        population=everyone,
    )


def _mark_significantly_below(groupings: Iterable[Grouping]) -> None:
    """Test every group of at least MIN_GROUP_SIZE scored accounts against the rest; Holm over all tests on the page.

    A grouping with a single group has no "rest" and is not tested. Highlighted means
    significant after correction AND at least MIN_POINTS_BELOW points below the rest, so a
    tiny difference in a huge book is not called out.
    """
    tested: list[GroupHealth] = []
    for grouping in groupings:
        for group in grouping.groups:
            if group.moments.n < MIN_GROUP_SIZE or group.rest.n < MIN_GROUP_SIZE:
                continue
            result = welch_t_test(group.moments, group.rest)
            if result is None:
                continue
            group.p_raw = result.p
            tested.append(group)
    for group, adjusted in zip(tested, holm([g.p_raw or 1.0 for g in tested]), strict=True):
        group.p_adjusted = adjusted
        difference = group.moments.mean - group.rest.mean
        group.highlighted = adjusted < ALPHA and difference <= -MIN_POINTS_BELOW


# --- the trend over the period ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    day: dt.date
    counts: dict[str, int]
    average: float | None


def trend_days(filters: PortfolioFilters) -> list[dt.date]:
    """Weekly points ending on `until`: snapshots are daily, but a week apart is what a 90-day chart can show."""
    days = []
    day = filters.until
    while day >= filters.since:
        days.append(day)
        day -= dt.timedelta(days=TREND_STEP_DAYS)
    return sorted(days)


def health_trend(rollups: QuerySet[HealthBandDaily], filters: PortfolioFilters, today: HealthCube) -> list[TrendPoint]:
    """Band counts and the average score on each weekly point (one query, whatever the book).

    Past points add up the nightly roll-up of the snapshots (`rollups`, already narrowed to
    the scope), a few hundred rows for the whole chart; today's point is the live health the
    cube has already counted, so it shows overrides and scores recomputed during the day.
    """
    days = trend_days(filters)
    current = timezone.localdate()
    rows = (
        rollups.filter(day__in=[day for day in days if day < current])
        .values("day", "band")
        .annotate(n=Sum("accounts"), n_scored=Sum("scored"), total=Sum(Cast("score_sum", FloatField())))
        .order_by()
    )
    counts: dict[dt.date, dict[str, int]] = {day: dict.fromkeys(BAND_LABELS, 0) for day in days}
    sums: dict[dt.date, list[float]] = {day: [0, 0.0] for day in days}
    for row in rows:
        band = row["band"] if row["band"] in BAND_LABELS else UNSCORED
        counts[row["day"]][band] += row["n"]
        sums[row["day"]][0] += row["n_scored"]
        sums[row["day"]][1] += row["total"] or 0.0
    if current in counts:
        counts[current] = {b.band: b.accounts for b in today.bands}
        sums[current] = [today.population.n, today.population.total]
    return [
        TrendPoint(day=day, counts=counts[day], average=round(sums[day][1] / sums[day][0], 1) if sums[day][0] else None)
        for day in days
    ]
