"""The portfolio's aggregates: each one a set-based GROUP BY over the scoped book, a fixed number of queries.

Scoping goes through `Account.objects.covered_by` (users.permissions underneath): admins
read every account, managers their team's book (owned by the team or in its pool),
CSMs their own accounts and their team's pool. Every ARR figure is the stored
converted ARR (`Account.arr_reporting`); accounts whose currency has no rate are
counted apart and never summed as zero.

Queries, whatever the number of accounts or CSMs: the health "cube" (1), the trend (1),
the stage funnel and its medians (2), renewals (1), flags by rule (1), workload per CSM (4),
the low-ARR quartile and its busiest accounts (2): 12.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import Cast, Coalesce, RowNumber, TruncWeek
from django.utils import timezone

from accounts.models import Account, Industry, Region, Stage, Tier, TimelineEntry
from lifecycle.flags.models import RedFlag
from lifecycle.health.models import Band, HealthScore
from transitions.models import ACTIVE_STATUSES, TransitionTask
from users.models import User

from .forms import PortfolioFilters
from .stats import Moments, holm, welch_t_test

# The significance highlight: a group is flagged when Welch's t-test (two-sided, Holm-corrected over
# every group tested on the page) rejects "same mean as the rest" and its mean is clearly lower.
ALPHA = 0.05
MIN_GROUP_SIZE = 10
MIN_POINTS_BELOW = 5.0
TEST_NAME = "Welch's t-test, Holm-corrected"

RENEWAL_WINDOWS = (30, 60, 90)
TOUCHPOINT_DAYS = 30
# Low-ARR accounts (bottom quartile of converted ARR) with at least this multiple of the average touchpoints.
TOUCHPOINT_MULTIPLE = 2
LOW_ARR_LIMIT = 10
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


def scoped_accounts(user: User, filters: PortfolioFilters) -> QuerySet[Account]:
    """The accounts the page covers for `user`, narrowed by the filters (churned ones included)."""
    accounts = Account.objects.covered_by(user)
    if filters.team is not None:
        accounts = accounts.filter(Q(owner__team=filters.team) | Q(pool=filters.team))
    if filters.tiers:
        accounts = accounts.filter(tier__in=filters.tiers)
    if filters.segment:
        accounts = accounts.filter(Q(owner__team__segment=filters.segment) | Q(pool__segment=filters.segment))
    return accounts.order_by()


# An account's segment is its covering team's: the owner's team, or the pool's for a pooled account.
SEGMENT = Coalesce(F("owner__team__segment"), F("pool__segment"), Value(""))
SCORE = Cast("health__score", FloatField())


# --- the health cube: today's distribution, health by group, the missing-rate count ----------------


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


def health_cube(active: QuerySet[Account]) -> HealthCube:
    """One GROUP BY over segment, industry, region, tier and band (at most a few thousand rows, whatever the book).

    Each group's count, sum and sum of squares of scores are added up from it, so the
    significance test reads no account twice.
    """
    rows = list(
        active.values("industry", "region", "tier", segment=SEGMENT, band=Coalesce("health__band", Value("")))
        .annotate(
            accounts=Count("pk"),
            scored=Count("health__score"),
            score_sum=Sum(SCORE),
            score_squares=Sum(SCORE * SCORE),
            arr=Sum("arr_reporting"),
            unconverted=Count("pk", filter=Q(arr_reporting__isnull=True)),
        )
        .order_by()
    )
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


def health_trend(active: QuerySet[Account], filters: PortfolioFilters) -> list[TrendPoint]:
    """Band counts and the average score on each weekly point, from the daily snapshots (one query)."""
    days = trend_days(filters)
    rows = (
        HealthScore.objects.filter(day__in=days, account__in=active.values("pk"))
        .values("day", "band")
        .annotate(accounts=Count("account_id"), scored=Count("score"), total=Sum(Cast("score", FloatField())))
        .order_by()
    )
    counts: dict[dt.date, dict[str, int]] = {day: dict.fromkeys(BAND_LABELS, 0) for day in days}
    sums: dict[dt.date, list[float]] = {day: [0, 0.0] for day in days}
    for row in rows:
        band = row["band"] if row["band"] in BAND_LABELS else UNSCORED
        counts[row["day"]][band] += row["accounts"]
        sums[row["day"]][0] += row["scored"]
        sums[row["day"]][1] += row["total"] or 0.0
    return [
        TrendPoint(day=day, counts=counts[day], average=round(sums[day][1] / sums[day][0], 1) if sums[day][0] else None)
        for day in days
    ]


# --- the stage funnel ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageRow:
    stage: str
    label: str
    accounts: int
    median_days: float | None


def stage_funnel(accounts: QuerySet[Account], *, now: dt.datetime | None = None) -> list[StageRow]:
    """Accounts per stage, and the median days the accounts in each stage have been in it so far (2 queries).

    The median is read in SQL with window functions, portable to SQLite: each stage's rows
    numbered by entry time, keeping the middle one (odd count) or two (even).
    """
    now = now or timezone.now()
    counts = dict(accounts.values_list("stage").annotate(n=Count("pk")).order_by())
    middles = (
        accounts.annotate(
            position=Window(
                RowNumber(), partition_by=[F("stage")], order_by=[F("stage_entered_at").asc(), F("pk").asc()]
            ),
            stage_size=Window(Count("pk"), partition_by=[F("stage")]),
        )
        .filter(Q(position=(F("stage_size") + 1) / 2) | Q(position=F("stage_size") / 2 + 1))
        .values_list("stage", "stage_entered_at")
    )
    entered: dict[str, list[dt.datetime]] = defaultdict(list)
    for stage, stage_entered_at in middles:
        entered[stage].append(stage_entered_at)
    rows = []
    for stage, label in Stage.choices:
        middle = entered.get(stage)
        median = None
        if middle:
            median = round(sum((now - at).total_seconds() for at in middle) / len(middle) / 86400, 1)
        rows.append(StageRow(stage=stage, label=label, accounts=counts.get(stage, 0), median_days=median))
    return rows


# --- renewals ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenewalWindow:
    days: int
    label: str
    counts: dict[str, int]
    arr: dict[str, Decimal]
    unconverted: int

    @property
    def accounts(self) -> int:
        return sum(self.counts.values())

    @property
    def arr_at_risk(self) -> Decimal:
        """Converted ARR renewing in the window on accounts that are not green (yellow, red or not scored)."""
        return sum((amount for band, amount in self.arr.items() if band != Band.GREEN), Decimal(0))


def renewals(active: QuerySet[Account], *, today: dt.date | None = None) -> list[RenewalWindow]:
    """Renewals in the next 30, 60 and 90 days (each window exclusive of the shorter one) by band (1 query)."""
    today = today or timezone.localdate()
    window = Case(
        *(When(renewal_date__lte=today + dt.timedelta(days=days), then=Value(days)) for days in RENEWAL_WINDOWS[:-1]),
        default=Value(RENEWAL_WINDOWS[-1]),
    )
    rows = (
        active.filter(renewal_date__gte=today, renewal_date__lte=today + dt.timedelta(days=RENEWAL_WINDOWS[-1]))
        .values(window=window, band=Coalesce("health__band", Value("")))
        .annotate(
            accounts=Count("pk"),
            arr=Sum("arr_reporting"),
            unconverted=Count("pk", filter=Q(arr_reporting__isnull=True)),
        )
        .order_by()
    )
    counts = {days: dict.fromkeys(BAND_LABELS, 0) for days in RENEWAL_WINDOWS}
    arr = {days: dict.fromkeys(BAND_LABELS, Decimal(0)) for days in RENEWAL_WINDOWS}
    unconverted = dict.fromkeys(RENEWAL_WINDOWS, 0)
    for row in rows:
        band = row["band"] if row["band"] in BAND_LABELS else UNSCORED
        counts[row["window"]][band] += row["accounts"]
        arr[row["window"]][band] += row["arr"] or 0
        unconverted[row["window"]] += row["unconverted"]
    result = []
    previous = 0
    for days in RENEWAL_WINDOWS:
        result.append(
            RenewalWindow(
                days=days,
                label=f"{previous + 1}–{days} days",
                counts=counts[days],
                arr=arr[days],
                unconverted=unconverted[days],
            )
        )
        previous = days
    return result


# --- flags by rule over time ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagsByRule:
    weeks: list[dt.date]
    rules: list[str]
    counts: dict[str, dict[dt.date, int]]

    def total(self, rule: str) -> int:
        return sum(self.counts[rule].values())


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def flags_by_rule(accounts: QuerySet[Account], filters: PortfolioFilters) -> FlagsByRule:
    """Flags raised (or re-raised) per rule per week in the period, on the scoped accounts (1 query)."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(filters.since, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    rows = (
        RedFlag.objects.filter(account__in=accounts.values("pk"), raised_at__gte=start, raised_at__lt=end)
        .annotate(week=TruncWeek("raised_at"))
        .values("week", "rule__name")
        .annotate(n=Count("pk"))
        .order_by()
    )
    weeks = []
    week = _week_start(filters.since)
    while week <= filters.until:
        weeks.append(week)
        week += dt.timedelta(days=7)
    counts: dict[str, dict[dt.date, int]] = {}
    for row in rows:
        day = row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]
        counts.setdefault(row["rule__name"], dict.fromkeys(weeks, 0))
        counts[row["rule__name"]][day] = counts[row["rule__name"]].get(day, 0) + row["n"]
    rules = sorted(counts, key=lambda rule: (-sum(counts[rule].values()), rule))
    return FlagsByRule(weeks=weeks, rules=rules, counts=counts)


# --- workload per CSM -------------------------------------------------------------------------------------


@dataclass
class Workload:
    owner_id: int | None
    name: str
    accounts: int = 0
    arr: Decimal = Decimal(0)
    unconverted: int = 0
    open_tasks: int = 0
    open_flags: int = 0
    touchpoints: int = 0


@dataclass(frozen=True)
class LowArrAccount:
    account_id: int
    name: str
    arr: Decimal
    owner: str
    touchpoints: int
    share: float


@dataclass
class WorkloadReport:
    rows: list[Workload]
    touchpoints: int
    accounts: int
    quartile_arr: Decimal | None
    threshold: int
    low_arr: list[LowArrAccount] = field(default_factory=list)

    @property
    def average_touchpoints(self) -> float:
        return self.touchpoints / self.accounts if self.accounts else 0.0


def _person(first: str | None, last: str | None, username: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() or (username or "")


def workload(active: QuerySet[Account], *, today: dt.date | None = None) -> WorkloadReport:
    """Per CSM: accounts, converted ARR, open tasks, open flags and touchpoints in 30 days (5 queries), and
    the low-ARR accounts that take a disproportionate share of touchpoints.

    Pooled accounts (no single owner) form one row. Low ARR is the bottom quartile of
    converted ARR in scope; disproportionate is at least TOUCHPOINT_MULTIPLE times the
    scope's average touchpoints per account (and never fewer than two).
    """
    now = timezone.now()
    since = now - dt.timedelta(days=TOUCHPOINT_DAYS)
    book = (
        active.values("owner_id", "owner__first_name", "owner__last_name", "owner__username")
        .annotate(
            accounts=Count("pk"),
            arr=Sum("arr_reporting"),
            unconverted=Count("pk", filter=Q(arr_reporting__isnull=True)),
        )
        .order_by()
    )
    rows: dict[int | None, Workload] = {}
    for row in book:
        rows[row["owner_id"]] = Workload(
            owner_id=row["owner_id"],
            name=_person(row["owner__first_name"], row["owner__last_name"], row["owner__username"])
            if row["owner_id"]
            else "Pooled (no single owner)",
            accounts=row["accounts"],
            arr=row["arr"] or Decimal(0),
            unconverted=row["unconverted"],
        )
    owner_ids = [owner for owner in rows if owner is not None]
    tasks = (
        TransitionTask.objects.open()
        .filter(assignee_id__in=owner_ids, transition__status__in=ACTIVE_STATUSES)
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for owner_id, n in tasks:
        rows[owner_id].open_tasks = n
    flags = (
        RedFlag.objects.unresolved()
        .filter(account__in=active.values("pk"))
        .values_list("account__owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for owner_id, n in flags:
        if owner_id in rows:
            rows[owner_id].open_flags = n
    touches = (
        TimelineEntry.objects.touchpoints()
        .filter(account__in=active.values("pk"), occurred_at__gte=since)
        .values_list("account__owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for owner_id, n in touches:
        if owner_id in rows:
            rows[owner_id].touchpoints = n
    ordered = sorted(rows.values(), key=lambda w: (w.owner_id is None, -w.accounts, w.name))
    total_accounts = sum(w.accounts for w in ordered)
    total_touchpoints = sum(w.touchpoints for w in ordered)
    report = WorkloadReport(
        rows=ordered, touchpoints=total_touchpoints, accounts=total_accounts, quartile_arr=None, threshold=0
    )
    converted = total_accounts - sum(w.unconverted for w in ordered)
    report.quartile_arr = _lower_quartile_arr(active, converted)
    report.threshold = max(2, math.ceil(TOUCHPOINT_MULTIPLE * report.average_touchpoints))
    report.low_arr = _low_arr_busy_accounts(active, report, since=since)
    return report


def _lower_quartile_arr(active: QuerySet[Account], converted: int) -> Decimal | None:
    """The converted ARR at the 25th percentile of the scope (the lower value at the cut), one indexed query."""
    position = max(0, math.ceil(converted / 4) - 1)
    return (
        active.filter(arr_reporting__isnull=False)
        .order_by("arr_reporting", "pk")
        .values_list("arr_reporting", flat=True)[position : position + 1]
        .first()
    )


def _low_arr_busy_accounts(
    active: QuerySet[Account], report: WorkloadReport, *, since: dt.datetime
) -> list[LowArrAccount]:
    quartile = report.quartile_arr if report.quartile_arr is not None else Decimal(-1)
    rows = (
        TimelineEntry.objects.touchpoints()
        .filter(account__in=active.filter(arr_reporting__lte=quartile).values("pk"), occurred_at__gte=since)
        .values(
            "account_id",
            "account__name",
            "account__arr_reporting",
            "account__owner__first_name",
            "account__owner__last_name",
            "account__owner__username",
        )
        .annotate(n=Count("pk"))
        .filter(n__gte=report.threshold)
        .order_by("-n", "account__name", "account_id")[:LOW_ARR_LIMIT]
    )
    return [
        LowArrAccount(
            account_id=row["account_id"],
            name=row["account__name"],
            arr=row["account__arr_reporting"],
            owner=_person(
                row["account__owner__first_name"], row["account__owner__last_name"], row["account__owner__username"]
            )
            or "Pooled",
            touchpoints=row["n"],
            share=row["n"] / report.touchpoints if report.touchpoints else 0.0,
        )
        for row in rows
    ]


# --- the page -------------------------------------------------------------------------------------------


@dataclass
class Portfolio:
    filters: PortfolioFilters
    cube: HealthCube
    trend: list[TrendPoint]
    funnel: list[StageRow]
    renewals: list[RenewalWindow]
    flags: FlagsByRule
    workload: WorkloadReport


def portfolio(user: User, filters: PortfolioFilters) -> Portfolio:
    """Every aggregate the page shows, for `user`'s scope: 12 queries, however many accounts or CSMs."""
    accounts = scoped_accounts(user, filters)
    active = accounts.active()
    return Portfolio(
        filters=filters,
        cube=health_cube(active),
        trend=health_trend(active, filters),
        funnel=stage_funnel(accounts),
        renewals=renewals(active),
        flags=flags_by_rule(accounts, filters),
        workload=workload(active),
    )
