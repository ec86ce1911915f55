"""The portfolio's aggregates: each one a set-based GROUP BY over the scoped book, a fixed number of queries.

Scoping goes through `Account.objects.covered_by` (users.permissions underneath): admins
read every account, managers their team's book (owned by the team or in its pool),
CSMs their own accounts and their team's pool. Every ARR figure is the stored
converted ARR (`Account.arr_reporting`); accounts whose currency has no rate are
counted apart and never summed as zero.

Queries, whatever the number of accounts or CSMs: the health "cube" (1), the trend (1),
the stage funnel with its medians (1), renewals (1), flags by rule (1), workload per CSM (4),
the low-ARR quartile and its busiest accounts (2): 11.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncWeek
from django.utils import timezone

from accounts.models import Account, AccountQuerySet, Stage
from lifecycle.flags.models import RedFlag
from lifecycle.health.models import Band
from users.models import User

from .forms import PortfolioFilters
from .health import BAND_LABELS, SEGMENT, UNSCORED, HealthCube, TrendPoint, health_cube, health_trend
from .workload import WorkloadReport, workload

RENEWAL_WINDOWS = (30, 60, 90)


def scoped_accounts(user: User, filters: PortfolioFilters) -> AccountQuerySet:
    """The accounts the page covers for `user`, narrowed by the filters (churned ones included)."""
    accounts = Account.objects.covered_by(user)
    if filters.team is not None:
        accounts = accounts.filter(Q(owner__team=filters.team) | Q(pool=filters.team))
    if filters.tiers:
        accounts = accounts.filter(tier__in=filters.tiers)
    if filters.segment:
        # The same segment the "health by segment" chart groups by: the owner's team's, else the pool's.
        accounts = accounts.alias(portfolio_segment=SEGMENT).filter(portfolio_segment=filters.segment)
    return accounts.order_by()


# --- the stage funnel ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageRow:
    stage: str
    label: str
    accounts: int
    median_days: float | None


def stage_funnel(accounts: QuerySet[Account], *, today: dt.date | None = None) -> list[StageRow]:
    """Accounts per stage, and the median days the accounts in each stage have been in it so far (1 query).

    Counted per stage and day of entry, so the query returns at most a row per stage and
    calendar day however many accounts there are; the median (to the day) is read off
    those counts, the middle account, or the mean of the middle two.
    """
    today = today or timezone.localdate()
    rows = accounts.values("stage", entered=TruncDate("stage_entered_at")).annotate(n=Count("pk")).order_by()
    by_stage: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        by_stage[row["stage"]].append(((today - row["entered"]).days, row["n"]))
    result = []
    for stage, label in Stage.choices:
        days = sorted(by_stage.get(stage, []))
        total = sum(n for _, n in days)
        median = None
        if total:
            middle = [_nth(days, (total + 1) // 2), _nth(days, total // 2 + 1)]
            median = sum(middle) / 2
        result.append(StageRow(stage=stage, label=label, accounts=total, median_days=median))
    return result


def _nth(counts: list[tuple[int, int]], position: int) -> int:
    """The value at 1-based `position` of the sorted values that (value, count) pairs stand for."""
    seen = 0
    for value, n in counts:
        seen += n
        if seen >= position:
            return value
    raise IndexError(position)


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
    """Every aggregate the page shows, for `user`'s scope: 11 queries, however many accounts or CSMs."""
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
