"""The portfolio's aggregates: each one a set-based GROUP BY over the scoped book, a fixed number of queries.

Scoping goes through `Account.objects.covered_by` (users.permissions underneath): admins
read every account, managers their team's book (owned by the team or in its pool),
CSMs their own accounts and their team's pool. Every ARR figure is the stored
converted ARR (`Account.arr_reporting`); accounts whose currency has no rate are
counted apart and never summed as zero.

Queries, whatever the number of accounts or CSMs: the book's one GROUP BY that health today,
health by group, renewals and accounts per CSM add up (1) and the teams and owners that name its segments (2), the trend's past points from the
nightly roll-up (1), the stage funnel with its medians (1), flags by rule (1), workload per CSM
(the owners' names with their open tasks, flags, touchpoints: 3), the low-ARR quartile and its busiest accounts (2): 11.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.db.models import Case, Count, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncWeek
from django.utils import timezone

from accounts.models import Account, AccountQuerySet, Stage
from lifecycle.flags.models import RedFlag
from lifecycle.health.models import Band, HealthBandDaily
from users.models import Team, User
from users.permissions import editable_accounts_q, sees_whole_book_on_desk

from .forms import PortfolioFilters
from .health import BAND_LABELS, SCORE, SEGMENT, UNSCORED, HealthCube, TrendPoint, health_cube, health_trend
from .workload import WorkloadReport, workload

RENEWAL_WINDOWS = (30, 60, 90)


def _narrowed(rows: QuerySet[Any], user: User, filters: PortfolioFilters) -> QuerySet[Any]:
    """`rows` of a model that covers accounts by `owner`, `pool` and `tier` (an account, a roll-up row), in scope.

    The same scope as `Account.objects.covered_by`, from the same rules in users.permissions,
    so the trend's roll-up and the accounts are narrowed alike.
    """
    if not sees_whole_book_on_desk(user):
        rows = rows.filter(editable_accounts_q(user))
    if filters.team is not None:
        members = User.objects.filter(team=filters.team).values("pk")
        rows = rows.filter(Q(owner_id__in=members) | Q(pool=filters.team))
    if filters.tiers:
        rows = rows.filter(tier__in=filters.tiers)
    if filters.segment:
        # The same segment the "health by segment" chart groups by: the owner's team's, else the pool's.
        rows = rows.alias(portfolio_segment=SEGMENT).filter(portfolio_segment=filters.segment)
    return rows.order_by()


def scoped_accounts(user: User, filters: PortfolioFilters) -> AccountQuerySet:
    """The accounts the page covers for `user`, narrowed by the filters (churned ones included)."""
    return cast(AccountQuerySet, _narrowed(Account.objects.all(), user, filters))


def scoped_rollups(user: User, filters: PortfolioFilters) -> QuerySet[HealthBandDaily]:
    """The nightly roll-up rows of the same scope (not churned accounts, as covered on each day)."""
    return _narrowed(HealthBandDaily.objects.all(), user, filters)


# --- the book's one GROUP BY ----------------------------------------------------------------------------


def book_rows(active: QuerySet[Account], *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """The active book grouped by everything the per-account charts split it by, in one pass (1 query).

    Health today and by group (industry, region, tier, segment, band), workload per CSM (owner)
    and renewals (the 30/60/90-day window the renewal falls in, 0 for none) all add up these
    rows, so the accounts are read once for the three charts. At most a few thousand rows,
    whatever the number of accounts.
    """
    today = today or timezone.localdate()
    window = Case(
        When(renewal_date__lt=today, then=Value(0)),
        *(When(renewal_date__lte=today + dt.timedelta(days=days), then=Value(days)) for days in RENEWAL_WINDOWS),
        default=Value(0),
    )
    rows = (
        active.values(
            "industry",
            "region",
            "tier",
            "owner_id",
            "pool_id",
            band=Coalesce("health__band", Value("")),
            window=window,
        )
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
    book = [dict(row) for row in rows]
    _label_segments(book)
    return book


def _label_segments(book: list[dict[str, Any]]) -> None:
    """Each row's segment (SEGMENT's rule: the owner's team's, else the pool's), from the few owners and teams
    the rows name (2 queries). Grouping by the ids and naming the segment after, rather than joining users and
    teams into the book's GROUP BY, spares that query two joins per account."""
    owners = {row["owner_id"] for row in book if row["owner_id"] is not None}
    # Every team: a handful of rows, and one query whether or not the book has pooled accounts.
    by_pool = dict(Team.objects.values_list("pk", "segment"))
    by_owner = dict(User.objects.filter(pk__in=owners).values_list("pk", "team__segment")) if owners else {}
    for row in book:
        row["segment"] = by_owner.get(row["owner_id"]) or by_pool.get(row["pool_id"]) or ""


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


def renewals(book: list[dict[str, Any]]) -> list[RenewalWindow]:
    """Renewals in the next 30, 60 and 90 days (each window exclusive of the shorter one) by band, from `book_rows`."""
    rows = [row for row in book if row["window"]]
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
    book = book_rows(active)
    cube = health_cube(book)
    return Portfolio(
        filters=filters,
        cube=cube,
        trend=health_trend(scoped_rollups(user, filters), filters, cube),
        funnel=stage_funnel(accounts),
        renewals=renewals(book),
        flags=flags_by_rule(accounts, filters),
        workload=workload(active, book),
    )
