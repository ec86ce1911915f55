"""Workload per CSM, and the low-ARR accounts that take a disproportionate share of touchpoints."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Account, TimelineEntry, TimelineKind
from lifecycle.flags.models import UNRESOLVED
from transitions.models import ACTIVE_STATUSES, TaskStatus
from users.models import User

TOUCHPOINT_DAYS = 30
# Low-ARR accounts (bottom quartile of converted ARR) with at least this multiple of the average touchpoints.
TOUCHPOINT_MULTIPLE = 2
LOW_ARR_LIMIT = 10


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


def workload(active: QuerySet[Account], book: Iterable[dict[str, Any]]) -> WorkloadReport:
    """Per CSM: accounts, converted ARR, open tasks, open flags and touchpoints in 30 days, and
    the low-ARR accounts that take a disproportionate share of touchpoints (5 queries).

    Accounts and ARR per CSM add up the book's one GROUP BY (`selectors.book_rows`). Pooled
    accounts (no single owner) form one row. Low ARR is the bottom quartile of converted ARR
    in scope; disproportionate is at least TOUCHPOINT_MULTIPLE times the scope's average
    touchpoints per account (and never fewer than two).
    """
    now = timezone.now()
    since = now - dt.timedelta(days=TOUCHPOINT_DAYS)
    rows: dict[int | None, Workload] = {}
    for row in book:
        owner_id = row["owner_id"]
        if owner_id not in rows:
            rows[owner_id] = Workload(owner_id=owner_id, name="" if owner_id else "Pooled (no single owner)")
        entry = rows[owner_id]
        entry.accounts += row["accounts"]
        entry.arr += row["arr"] or Decimal(0)
        entry.unconverted += row["unconverted"]
    # The owners' names and their open handover tasks together, so the book's GROUP BY carries no names.
    people = (
        User.objects.filter(pk__in=[owner for owner in rows if owner is not None])
        .values_list("pk", "first_name", "last_name", "username")
        .annotate(
            n=Count(
                "transition_tasks",
                filter=Q(
                    transition_tasks__status=TaskStatus.OPEN,
                    transition_tasks__transition__status__in=ACTIVE_STATUSES,
                ),
            )
        )
        .order_by()
    )
    for owner_id, first, last, username, n in people:
        rows[owner_id].name = _person(first, last, username)
        rows[owner_id].open_tasks = n
    # Joined from the scoped accounts rather than filtered by an IN over them: one join, no second pass.
    flags = (
        active.filter(red_flags__status__in=UNRESOLVED)
        .values_list("owner_id")
        .annotate(n=Count("red_flags"))
        .order_by()
    )
    for owner_id, n in flags:
        if owner_id in rows:
            rows[owner_id].open_flags = n
    touches = (
        active.filter(timeline__kind=TimelineKind.TOUCHPOINT, timeline__occurred_at__gte=since)
        .values_list("owner_id")
        # Counting a column of the touchpoint index (not the entry's id) lets it be read from the index alone.
        .annotate(n=Count("timeline__account"))
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
    """The busiest low-ARR accounts, at most LOW_ARR_LIMIT, busiest first (1 query).

    The touchpoints are counted per account id from the indexes alone (the quartile's accounts from the
    converted-ARR index, their touchpoints from the recent-touchpoint index), and only the chosen few
    accounts are read from the table, for their names and owners: the inner query's limit tells the
    planner so. Among accounts with as many touchpoints, the cut at the limit goes by id.
    """
    quartile = report.quartile_arr if report.quartile_arr is not None else Decimal(-1)
    touchpoints = TimelineEntry.objects.filter(kind=TimelineKind.TOUCHPOINT, occurred_at__gte=since)
    busiest = (
        touchpoints.filter(account__in=active.filter(arr_reporting__lte=quartile).values("pk"))
        .values("account_id")
        .annotate(n=Count("account_id"))
        .filter(n__gte=report.threshold)
        .order_by("-n", "account_id")
        .values("account_id")[:LOW_ARR_LIMIT]
    )
    count = (
        touchpoints.filter(account=OuterRef("pk")).order_by().values("account").annotate(n=Count("account")).values("n")
    )
    rows = (
        Account.objects.filter(pk__in=busiest)
        .annotate(n=Subquery(count))
        .values("pk", "name", "arr_reporting", "n", "owner__first_name", "owner__last_name", "owner__username")
        .order_by("-n", "name", "pk")
    )
    return [
        LowArrAccount(
            account_id=row["pk"],
            name=row["name"],
            arr=row["arr_reporting"] or Decimal(0),
            owner=_person(row["owner__first_name"], row["owner__last_name"], row["owner__username"]) or "Pooled",
            touchpoints=row["n"],
            share=row["n"] / report.touchpoints if report.touchpoints else 0.0,
        )
        for row in rows
    ]
