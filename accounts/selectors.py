"""Reads that the pages and the API share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter, methodcaller
from typing import Any

from django.db import connections
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.utils import timezone

from core.csv_export import CHUNK_SIZE, Column, column_rows
from users.models import User

from .filters import AccountFilter
from .models import Account, AccountTerms, Contact, Stage
from .money.selectors import reporting_currency

ACCOUNT_SORTS = {
    "name": ("name",),
    # ARR in the reporting currency (accounts/money/); a currency without a rate sorts last.
    "arr": ("arr_reporting",),
    "renewal_date": ("renewal_date",),
    "tier": ("tier",),
    "stage": ("stage",),
    "industry": ("industry",),
    "owner": ("owner__first_name", "owner__last_name"),
    "health": ("health__score",),
    "trend": ("health__delta_7d",),
    "flags": ("health__open_flags",),
    "priority": ("health__priority",),
}
DEFAULT_ACCOUNT_SORT = "renewal_date"
# The cockpit opens "next best first" (health, renewal, ARR): AccountHealth.priority,
# walked through its index by NextBestAccounts. Sorted by renewal, accounts that
# churned months ago came first.
DEFAULT_COCKPIT_SORT = "-priority"
# `?churned=1` on the cockpit brings back the churned accounts it leaves out.
SHOW_CHURNED_PARAM = "churned"


def account_ordering(sort: str | None, *, default: str = DEFAULT_ACCOUNT_SORT) -> tuple[str, list[OrderBy]]:
    """Translate a `?sort=` value into an order_by list; unknown keys fall back to the default.

    Blanks (no renewal date, a pooled account without owner) go last either way, as
    PostgreSQL and SQLite would otherwise disagree on where they land.
    """
    sort = sort or default
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in ACCOUNT_SORTS:
        return account_ordering(default)
    columns = [_order_by(column, descending=descending) for column in ACCOUNT_SORTS[key]]
    return (f"-{key}" if descending else key, [*columns, F("pk").asc()])


def _order_by(column: str, *, descending: bool) -> OrderBy:
    # NULLS LAST only where blanks can occur: on a NOT NULL column it changes
    # nothing but stops PostgreSQL from walking that column's index (a DESC
    # index is NULLS FIRST), turning "top ARR" into a sort of every account.
    if not _nullable(column):
        return F(column).desc() if descending else F(column).asc()
    return F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)


def _nullable(column: str) -> bool:
    """Whether `column` (possibly across relations) can be NULL for some account."""
    model, nullable = Account, False
    for part in column.split("__"):
        field = model._meta.get_field(part)
        nullable = nullable or field.null
        model = field.related_model or model
    return nullable


def account_list(
    *, user: User, params, scope: str = "all", filterset_class: type[AccountFilter] = AccountFilter
) -> tuple[AccountFilter, QuerySet[Account], str]:
    """Filtered, sorted accounts for a list page or export.

    `scope="mine"` is the cockpit: the accounts on the user's desk, churned ones left
    out unless `?churned=1` asks for them or the stage filter ticks Churned. "All
    accounts", its CSV and the account API (which filters with the same FilterSet but
    not through here) keep every stage unless filtered. Apps above accounts pass a
    subclass of AccountFilter that adds their own filters (the health band).
    """
    base = Account.objects.with_list_columns()
    if scope == "mine":
        base = base.covered_by(user)
        if not show_churned(params):
            base = base.active()
    account_filter = filterset_class(params, queryset=base)
    default = DEFAULT_COCKPIT_SORT if scope == "mine" else DEFAULT_ACCOUNT_SORT
    sort, order_by = account_ordering(params.get("sort"), default=default)
    queryset = account_filter.qs.order_by(*order_by)
    return account_filter, queryset, sort


def show_churned(params) -> bool:
    """Whether the cockpit shows churned accounts: asked for with `?churned=1`, or Churned ticked among the stages."""
    return params.get(SHOW_CHURNED_PARAM) == "1" or Stage.CHURNED in params.getlist("stage")


class NextBestAccounts:
    """Accounts in next-best order for a paginator: scored ones by their stored rank, then the unscored.

    Sorted on a column of the outer-joined health row, PostgreSQL had to sort
    the whole desk for each page (a LEFT JOIN cannot be walked from its
    nullable side). Split in two, the scored accounts walk AccountHealth's
    priority index and stop at the page; unscored ones (new, not recomputed
    yet) follow in id order, as the single sort put them last. A paginator
    needs only count() and slices: the first pages cost what they did in
    queries, and only a page past the last scored account asks how many there are.
    """

    ordered = True

    def __init__(self, accounts: QuerySet[Account]) -> None:
        self.accounts = accounts.order_by()
        self.scored = accounts.filter(health__isnull=False).order_by(F("health__priority").desc(), "pk")
        self.unscored = accounts.filter(health__isnull=True).order_by("pk")

    def count(self) -> int:
        return self.accounts.count()

    def __getitem__(self, window: slice) -> list[Account]:
        start, stop = window.start or 0, window.stop
        rows = list(self.scored[start:stop])
        wanted = stop - start
        if len(rows) == wanted:
            return rows
        # Short of a full window, the scored accounts ended inside it; only a window
        # starting past them all (a later page) has to ask how many there were.
        scored_total = start + len(rows) if rows or start == 0 else self.scored.count()
        unscored_start = max(0, start - scored_total)
        return rows + list(self.unscored[unscored_start : unscored_start + wanted - len(rows)])


def accounts_for_paging(accounts: QuerySet[Account], sort: str) -> QuerySet[Account] | NextBestAccounts:
    """What a list page paginates: the queryset itself, or for "next best first" its two-part form."""
    return NextBestAccounts(accounts) if sort == "-priority" else accounts


def account_export_columns() -> list[Column[Account]]:
    """The account's own columns of a list export, as the page shows them: labels, not codes; names, not ids.

    ARR converted to the reporting currency comes first, then as written in the contract and its
    currency; the converted cell is blank (never 0) while the currency has no rate. The rows
    need `owner` and `pool` selected (`Account.objects.with_list_columns()`).
    """
    return [
        Column("ID", attrgetter("pk")),
        Column("Account", attrgetter("name")),
        Column("Domain", attrgetter("domain")),
        Column("Industry", methodcaller("get_industry_display")),
        Column("Region", methodcaller("get_region_display")),
        Column("Tier", methodcaller("get_tier_display")),
        Column("Stage", methodcaller("get_stage_display")),
        Column("Days in stage", attrgetter("days_in_stage")),
        Column(f"ARR ({reporting_currency()})", attrgetter("arr_reporting")),
        Column("ARR as written", attrgetter("arr")),
        Column("Currency", attrgetter("currency")),
        Column("Renewal date", attrgetter("renewal_date")),
        Column("Coverage", methodcaller("get_coverage_display")),
        Column("Owner", lambda account: account.owner.get_full_name() if account.owner_id else ""),
        Column("Owner username", lambda account: account.owner.username if account.owner_id else ""),
        Column("Pool", lambda account: account.pool.name if account.pool_id else ""),
    ]


def account_csv_rows(queryset: QuerySet[Account], columns: list[Column[Account]] | None = None) -> Iterator[list[Any]]:
    """Rows of `columns` (the account's own by default) for the accounts of `queryset`, in its order.

    One query however many rows: the queryset's select_related, read in chunks so 100,000 rows
    never sit in memory.
    """
    columns = account_export_columns() if columns is None else columns
    return column_rows(columns, queryset.iterator(chunk_size=CHUNK_SIZE))


@dataclass
class OrgChartNode:
    contact: Contact
    reports: list[OrgChartNode] = field(default_factory=list)


def account_org_chart(contacts: list[Contact], archived: Iterable[Contact] = ()) -> list[OrgChartNode]:
    """Arrange already-fetched contacts into trees by `reports_to` (no extra queries).

    Someone who reports to an archived contact is drawn under that person's nearest manager still on the
    map (display only: their `reports_to` keeps pointing at the archived contact).
    """
    nodes = {contact.pk: OrgChartNode(contact) for contact in contacts}
    archived_managers = {contact.pk: contact.reports_to_id for contact in archived}
    roots = []
    for contact in contacts:
        manager_id, seen = contact.reports_to_id, set()
        while manager_id in archived_managers and manager_id not in seen:
            seen.add(manager_id)
            manager_id = archived_managers[manager_id]
        parent = nodes.get(manager_id)
        if parent is None:
            roots.append(nodes[contact.pk])
        else:
            parent.reports.append(nodes[contact.pk])
    return roots


def org_chart_rows(roots: list[OrgChartNode]) -> list[tuple[int, Contact]]:
    """Flatten trees depth-first into (depth, contact) rows for an indented list."""
    rows: list[tuple[int, Contact]] = []
    stack = [(0, node) for node in reversed(roots)]
    while stack:
        depth, node = stack.pop()
        rows.append((depth, node.contact))
        stack.extend((depth + 1, child) for child in reversed(node.reports))
    return rows


TIMELINE_PAGE_SIZE = 30


def timeline_window(account: Account, *, offset: int = 0) -> dict[str, Any]:
    """One page of the account's timeline, newest first, and the offset of the next page (None at the end)."""
    entries = list(account.timeline.for_display()[offset : offset + TIMELINE_PAGE_SIZE + 1])
    more = len(entries) > TIMELINE_PAGE_SIZE
    return {"timeline": entries[:TIMELINE_PAGE_SIZE], "next_offset": offset + TIMELINE_PAGE_SIZE if more else None}


def end_of_day(day: dt.date) -> dt.datetime:
    """The first moment after `day`, in the site's time zone: what was known "on" a day was known before it."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def account_terms_as_of(account_ids: Iterable[int] | None, day: dt.date) -> dict[int, AccountTerms]:
    """Each account's terms in force at the end of `day`, by account id: what was known then.

    The latest AccountTerms row that took effect by then, so a change made after `day` is not
    used, and an account created after it is absent. `account_ids=None` means every account.
    One query, however many accounts: PostgreSQL picks each account's latest row with DISTINCT
    ON; other databases keep the rows no later row of the same account outdoes (NOT EXISTS).
    Both walk the terms_account_effective index.
    """
    cutoff = end_of_day(day)
    rows = AccountTerms.objects.filter(effective_at__lt=cutoff)
    if account_ids is not None:
        rows = rows.filter(account_id__in=list(account_ids))
    if connections[rows.db].features.can_distinct_on_fields:
        latest = rows.order_by("account_id", "-effective_at", "-id").distinct("account_id")
    else:
        later = AccountTerms.objects.filter(account_id=OuterRef("account_id"), effective_at__lt=cutoff).filter(
            Q(effective_at__gt=OuterRef("effective_at"))
            | Q(effective_at=OuterRef("effective_at"), id__gt=OuterRef("id"))
        )
        latest = rows.filter(~Exists(later))
    return {terms.account_id: terms for terms in latest}
