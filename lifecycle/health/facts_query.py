"""Fill AccountFacts for one day with one aggregate query per signal table.

Accounts are selected either by an id range (the daily run's chunks) or by a
list of ids (recompute after new signals); every query below is set-based,
so the cost grows with the rows read, not with round trips.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, AccountTerms, Contact, DealRole, Entitlement, TimelineKind
from lifecycle.health.facts import AccountFacts
from lifecycle.health.numbers import round_half_up
from lifecycle.models import (
    UNRESOLVED,
    CheckIn,
    CheckInAnswer,
    CheckInCadence,
    FlagStatus,
    Invoice,
    ProductUsageDaily,
    PulseRating,
    RedFlag,
    SupportTicket,
    SurveyKind,
    SurveyResponse,
    TicketSeverity,
    UsageDaily,
)

USAGE_WINDOW_DAYS = 35  # the last week and the four weeks before it
RECENT_USAGE_DAYS = 7
USAGE_LEVEL_DAYS = 28  # the usage level's window: the last four weeks
USAGE_TREND_BASELINE_DAYS = 28  # the usage trend compares the last week with the four weeks before it
ADOPTION_DAYS = 28  # a bought product counts as adopted with activity in this many days
TICKET_HORIZON_DAYS = 365  # an account with no ticket in a year (and none open) has no support record
LICENCE_HORIZON_DAYS = 365  # how far back the usage level looks for the licences an account owns
TOUCHPOINT_HORIZON_DAYS = 365
CHECKIN_WINDOW_DAYS = 90
NPS_HORIZON_DAYS = 365
PULSE_HORIZON_DAYS = 90
SPEND_PERIOD_DAYS = 90
# Support tickets: the last week (the spike rule's window) against the four weeks before it.
TICKET_RECENT_DAYS = 7
TICKET_HISTORY_DAYS = TICKET_RECENT_DAYS + 28
SUPPORT_LOAD_DAYS = 90  # the support load's window: every ticket opened in it, closed or not
TICKET_WEIGHTS = {
    TicketSeverity.LOW: 1,
    TicketSeverity.MEDIUM: 2,
    TicketSeverity.HIGH: 3,
    TicketSeverity.URGENT: 4,
}


@dataclass(frozen=True)
class AccountScope:
    """Which accounts a query reads: an inclusive id range, or explicit ids."""

    first_id: int | None = None
    last_id: int | None = None
    ids: tuple[int, ...] | None = None

    @classmethod
    def of(cls, ids: Iterable[int]) -> AccountScope:
        return cls(ids=tuple(sorted(set(ids))))

    @classmethod
    def between(cls, first_id: int, last_id: int) -> AccountScope:
        return cls(first_id=first_id, last_id=last_id)

    def q(self, field: str = "account_id") -> Q:
        if self.ids is not None:
            return Q(**{f"{field}__in": self.ids})
        return Q(**{f"{field}__gte": self.first_id, f"{field}__lte": self.last_id})


def end_of(day: dt.date) -> dt.datetime:
    """The first instant after `day`, in the project's time zone."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def feed_days(day: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The latest day, up to `day`, the usage feed and the per-product usage feed delivered for any account.

    Windows of use end on these days rather than on `day`: a feed that runs a day
    behind is not a fall in use, and one that stopped makes its measures stale
    rather than zero. Each is one walk down the day index.
    """
    return (
        UsageDaily.objects.filter(day__lte=day).aggregate(last=Max("day"))["last"],
        ProductUsageDaily.objects.filter(day__lte=day).aggregate(last=Max("day"))["last"],
    )


def facts_for(*, day: dt.date, scope: AccountScope) -> dict[int, AccountFacts]:
    facts = _accounts(scope)
    if not facts:
        return facts
    day_end = end_of(day)
    usage_feed_day, product_feed_day = feed_days(day)
    _add_usage(facts, scope, day, usage_feed_day)
    _add_entitlements(facts, scope, day, product_feed_day)
    _add_touchpoints(facts, scope, day_end)
    _add_checkins(facts, scope, day_end)
    _add_tickets(facts, scope, day_end)
    _add_nps(facts, scope, day_end)
    _add_csat(facts, scope, day_end)
    _add_stakeholders(facts, scope, day)
    _add_pulse(facts, scope, day_end)
    _add_spend(facts, scope, day)
    _add_customer_since(facts, scope, day_end)
    _add_open_flags(facts, scope, day_end - dt.timedelta(days=1))
    return facts


def _accounts(scope: AccountScope) -> dict[int, AccountFacts]:
    cadences = dict(CheckInCadence.objects.values_list("tier", "every_days"))
    rows = Account.objects.filter(scope.q("id")).values_list(
        "id",
        "tier",
        "stage",
        "owner_id",
        "pool_id",
        "stage_entered_at",
        "contract_start",
        "renewal_date",
        # Size is read in the reporting currency (accounts/money/). While an account's currency has no
        # rate it falls back to the amount as written, so a missing rate never makes it look small;
        # recompute_sql.py and recompute.account_health_refresh_override read the same.
        Coalesce("arr_reporting", "arr"),
        "created_at",
    )
    return {
        pk: AccountFacts(
            account_id=pk,
            tier=tier,
            stage=stage,
            owner_id=owner_id,
            pool_id=pool_id,
            stage_entered_on=timezone.localdate(stage_entered_at),
            contract_start=contract_start,
            renewal_date=renewal_date,
            cadence_days=cadences.get(tier),
            arr=float(arr),
            in_baton_since=timezone.localdate(created_at),
        )
        for pk, tier, stage, owner_id, pool_id, stage_entered_at, contract_start, renewal_date, arr, created_at in rows
    }


def usage_query(scope: AccountScope, day: dt.date, feed_day: dt.date | None = None):
    """Each account's usage figures: averages over its rows of the 35 days up to `day` (licence utilisation and
    the rules read them), and totals over the windows ending on the feed's latest day (usage level and trend)."""
    anchor = min(feed_day or day, day)
    recent_start = day - dt.timedelta(days=RECENT_USAGE_DAYS - 1)
    in_window = Q(day__gt=day - dt.timedelta(days=USAGE_WINDOW_DAYS))
    level = Q(day__gt=anchor - dt.timedelta(days=USAGE_LEVEL_DAYS))
    trend_recent = Q(day__gt=anchor - dt.timedelta(days=RECENT_USAGE_DAYS))
    trend_baseline = Q(
        day__gt=anchor - dt.timedelta(days=RECENT_USAGE_DAYS + USAGE_TREND_BASELINE_DAYS),
        day__lte=anchor - dt.timedelta(days=RECENT_USAGE_DAYS),
    )
    first_day = min(day - dt.timedelta(days=USAGE_WINDOW_DAYS), anchor - dt.timedelta(days=USAGE_WINDOW_DAYS))
    return (
        UsageDaily.objects.filter(scope.q(), day__gt=first_day, day__lte=day)
        .values("account_id")
        .annotate(
            last_day=Max("day", filter=in_window),
            recent=Avg("active_users", filter=Q(day__gte=recent_start)),
            previous=Avg("active_users", filter=in_window & Q(day__lt=recent_start)),
            used=Avg("licences_used", filter=Q(day__gte=recent_start)),
            owned=Avg("licences_owned", filter=Q(day__gte=recent_start)),
            user_days=Sum("active_users", filter=level),
            events=Sum("key_events", filter=level),
            users_7d=Sum("active_users", filter=trend_recent),
            users_prev=Sum("active_users", filter=trend_baseline),
            events_7d=Sum("key_events", filter=trend_recent),
            events_prev=Sum("key_events", filter=trend_baseline),
        )
        .values_list(
            "account_id",
            "last_day",
            "recent",
            "previous",
            "used",
            "owned",
            "user_days",
            "events",
            "users_7d",
            "users_prev",
            "events_7d",
            "events_prev",
        )
    )


def licence_query(scope: AccountScope, day: dt.date):
    """Per account, two index probes: the licences owned on its latest usage row of the year up to `day`,
    and whether it opened a support ticket in the year.

    The licences are the usage level's denominator, read apart from the usage window so that an
    account that stopped sending usage weeks ago still has the licences it bought; None means the
    account sent no usage in a year. An account without a ticket in a year has no support record:
    its support measures are missing, not perfect.
    """
    latest = (
        UsageDaily.objects.filter(
            account_id=OuterRef("pk"), day__lte=day, day__gt=day - dt.timedelta(days=LICENCE_HORIZON_DAYS)
        )
        .order_by("-day")
        .values("licences_owned")[:1]
    )
    day_end = end_of(day)
    tickets = SupportTicket.objects.filter(
        account_id=OuterRef("pk"),
        opened_at__lt=day_end,
        opened_at__gte=day_end - dt.timedelta(days=TICKET_HORIZON_DAYS),
    )
    # Every account of the scope, owned None where it has no row: filtering on the subquery would run it twice.
    return (
        Account.objects.filter(scope.q("id"))
        .order_by()
        .annotate(owned=Subquery(latest), tickets_known=Exists(tickets))
        .values_list("id", "owned", "tickets_known")
    )


def entitlement_query(scope: AccountScope, day: dt.date, product_feed_day: dt.date | None = None):
    """Per account with entitlements in force on `day`: their seats, their products, and how many of those
    products had activity (a row with some users, events or minutes) in the 28 days up to the product feed's day.

    One index range per account over its entitlements, and per entitlement one probe of the product usage index.
    """
    anchor = min(product_feed_day or day, day)
    active = ProductUsageDaily.objects.filter(
        account_id=OuterRef("account_id"),
        product_id=OuterRef("product_id"),
        day__gt=anchor - dt.timedelta(days=ADOPTION_DAYS),
        day__lte=anchor,
    ).filter(Q(active_users__gt=0) | Q(key_events__gt=0) | Q(minutes__gt=0))
    return (
        Entitlement.objects.filter(scope.q(), starts_on__lte=day)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .values("account_id")
        .annotate(
            seats=Sum("seats"),
            products=Count("product_id", distinct=True),
            used=Count("product_id", distinct=True, filter=Exists(active)),
        )
        .values_list("account_id", "seats", "products", "used")
    )


def _add_entitlements(
    facts: dict[int, AccountFacts], scope: AccountScope, day: dt.date, product_feed_day: dt.date | None
) -> None:
    for account_facts in facts.values():
        account_facts.product_feed_day = product_feed_day
    for account_id, seats, products, used in entitlement_query(scope, day, product_feed_day).iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None:
            item.entitled_seats, item.products_entitled, item.products_used = seats, products, used


def _add_usage(facts: dict[int, AccountFacts], scope: AccountScope, day: dt.date, feed_day: dt.date | None) -> None:
    for account_facts in facts.values():
        account_facts.usage_feed_day = feed_day
    rows = usage_query(scope, day, feed_day)
    for row in rows.iterator(chunk_size=5000):
        account_id, last_day, recent, previous, used, owned, user_days, events, *trend = row
        item = facts.get(account_id)
        if item is None:
            continue
        item.usage_last_day = last_day
        item.active_users_7d = float(recent) if recent is not None else None
        item.active_users_prev28 = float(previous) if previous is not None else None
        item.licences_used = int(round_half_up(used, 0)) if used is not None else None
        item.licences_owned = int(round_half_up(owned, 0)) if owned is not None else None
        item.active_user_days_28d = user_days or 0
        item.key_events_28d = events or 0
        users_7d, users_prev, events_7d, events_prev = (value or 0 for value in trend)
        item.active_user_days_7d, item.active_user_days_prev28 = users_7d, users_prev
        item.key_events_7d, item.key_events_prev28 = events_7d, events_prev
    for account_id, owned, tickets_known in licence_query(scope, day).iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None:
            item.usage_licences_owned = owned
            item.tickets_known = bool(tickets_known)


def touchpoint_query(scope: AccountScope, day_end: dt.datetime):
    # Grouped from the account side, so the account range bounds the join to the timeline
    # (from the timeline side PostgreSQL hashed every account for each chunk). Counting
    # occurred_at (never null) rather than ids lets the (account, kind, occurred_at) index
    # answer alone, without visiting the table.
    return (
        Account.objects.filter(
            scope.q("id"),
            timeline__kind=TimelineKind.TOUCHPOINT,
            timeline__occurred_at__lt=day_end,
            timeline__occurred_at__gte=day_end - dt.timedelta(days=TOUCHPOINT_HORIZON_DAYS),
        )
        .values("id")
        .annotate(
            last=Max("timeline__occurred_at"),
            since_stage=Count("timeline__occurred_at", filter=Q(timeline__occurred_at__gte=F("stage_entered_at"))),
        )
        .values_list("id", "last", "since_stage")
    )


def _add_touchpoints(facts: dict[int, AccountFacts], scope: AccountScope, day_end: dt.datetime) -> None:
    rows = touchpoint_query(scope, day_end)
    for account_id, last, since_stage in rows.iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None:
            item.last_touchpoint_at = last
            item.touchpoints_since_onboarding = since_stage


def _checkin_window(day_end: dt.datetime) -> Q:
    return Q(held_at__lt=day_end, held_at__gte=day_end - dt.timedelta(days=CHECKIN_WINDOW_DAYS))


def checkin_query(scope: AccountScope, day_end: dt.datetime):
    return (
        CheckIn.objects.filter(scope.q(), _checkin_window(day_end))
        .values("account_id")
        .annotate(last=Max("held_at"), held=Count("id"))
        .values_list("account_id", "last", "held")
    )


def checkin_concerns_query(scope: AccountScope, day_end: dt.datetime):
    """The concerns raised on each account's latest check-in call (0 when none were).

    The portable form, which the Python path reads; the PostgreSQL recompute
    reads the same facts through checkin_concerns_sql.
    """
    # Looked up per account: as an annotation of the check-in rows it would
    # be a GROUP BY key, evaluated again for every call in the window.
    latest = (
        CheckIn.objects.filter(_checkin_window(day_end), account_id=OuterRef("pk"))
        .order_by("-held_at", "-pk")
        .values("pk")[:1]
    )
    concerns = (
        CheckInAnswer.objects.filter(check_in=OuterRef("latest"), concern=True)
        .values("check_in")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Account.objects.filter(scope.q("id"))
        .annotate(latest=Subquery(latest))
        .filter(latest__isnull=False)
        .annotate(concerns=Coalesce(Subquery(concerns), 0))
        .values_list("id", "concerns")
    )


def checkin_concerns_sql(scope: AccountScope, day_end: dt.datetime) -> tuple[str, list]:
    """What checkin_concerns_query reads, in PostgreSQL's terms: (id, concerns) per account with a call.

    Each account's latest call by DISTINCT ON over the calls in the window,
    then the concerns of that call alone. The recompute reads it this way:
    the portable query looked up the latest call twice per account (once to
    keep the account, once to count), which cost seven times the call rows.
    """
    calls_sql, params = (
        CheckIn.objects.filter(scope.q(), _checkin_window(day_end))
        .values("account_id", "id", "held_at")
        .query.sql_with_params()
    )
    answers = connection.ops.quote_name(CheckInAnswer._meta.db_table)
    sql = f"""
        SELECT latest.account_id AS id,
               (SELECT COUNT(*) FROM {answers} AS answer
                WHERE answer.check_in_id = latest.id AND answer.concern) AS concerns
        FROM (
            SELECT DISTINCT ON (account_id) account_id, id FROM ({calls_sql}) AS calls
            ORDER BY account_id, held_at DESC, id DESC
        ) AS latest
    """
    return sql, list(params)


def _add_checkins(facts: dict[int, AccountFacts], scope: AccountScope, day_end: dt.datetime) -> None:
    for account_id, last, held in checkin_query(scope, day_end).iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None:
            item.last_checkin_at, item.checkins_90d = last, held
    for account_id, concerns in checkin_concerns_query(scope, day_end).iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None:
            item.last_checkin_concerns = concerns


def ticket_query(scope: AccountScope, day_end: dt.datetime):
    week_start = day_end - dt.timedelta(days=TICKET_RECENT_DAYS)
    window_start = day_end - dt.timedelta(days=TICKET_HISTORY_DAYS)
    load_start = day_end - dt.timedelta(days=SUPPORT_LOAD_DAYS)
    read_from = min(window_start, load_start)
    is_open = Q(closed_at__isnull=True) | Q(closed_at__gte=day_end)
    weight = Case(
        *(When(severity=severity, then=Value(points)) for severity, points in TICKET_WEIGHTS.items()),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        SupportTicket.objects.filter(scope.q(), opened_at__lt=day_end)
        .filter(is_open | Q(opened_at__gte=read_from))
        .values("account_id")
        .annotate(
            open_weight=Sum(weight, filter=is_open),
            opened_7d=Count("id", filter=Q(opened_at__gte=week_start)),
            opened_prev=Count("id", filter=Q(opened_at__gte=window_start, opened_at__lt=week_start)),
            # The latest of the open tickets and those of the spike rule's window, as before the load's longer window.
            last=Max("opened_at", filter=is_open | Q(opened_at__gte=window_start)),
            load=Sum(weight, filter=Q(opened_at__gte=load_start)),
            load_minutes=Sum("time_spent_minutes", filter=Q(opened_at__gte=load_start)),
        )
        .values_list("account_id", "open_weight", "opened_7d", "opened_prev", "last", "load", "load_minutes")
    )


def _add_tickets(facts: dict[int, AccountFacts], scope: AccountScope, day_end: dt.datetime) -> None:
    rows = ticket_query(scope, day_end)
    for account_id, open_weight, opened_7d, opened_prev, last, load, load_minutes in rows.iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None:
            item.open_ticket_weight = open_weight or 0
            item.tickets_opened_7d = opened_7d
            item.tickets_opened_prev28 = opened_prev
            item.last_ticket_at = last
            item.ticket_weight_90d = support_load_points(load, load_minutes)
            # A ticket still open from longer ago is a support record too.
            item.tickets_known = item.tickets_known or item.open_ticket_weight > 0


def support_load_points(weight: int | None, minutes: int | None) -> int:
    """Severity points of the tickets opened in the window, and a point for each full hour support spent on them."""
    return (weight or 0) + (minutes or 0) // 60


def nps_query(scope: AccountScope, day_end: dt.datetime, kind: str = SurveyKind.NPS):
    """The answers of one survey kind (NPS unless told) in the horizon, each account's newest first."""
    return (
        SurveyResponse.objects.filter(
            scope.q(),
            kind=kind,
            responded_at__lt=day_end,
            responded_at__gte=day_end - dt.timedelta(days=NPS_HORIZON_DAYS),
        )
        # Newest first; of two answers at the same instant, the later recorded.
        .order_by("account_id", "-responded_at", "-pk")
        .values_list("account_id", "score", "responded_at", "comment", "id")
    )


def _add_nps(facts: dict[int, AccountFacts], scope: AccountScope, day_end: dt.datetime) -> None:
    rows = nps_query(scope, day_end)
    for account_id, score, responded_at, comment, _ in rows.iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None and item.last_nps_at is None:
            item.last_nps, item.last_nps_at, item.last_nps_comment = score, responded_at, comment


def csat_query(scope: AccountScope, day_end: dt.datetime):
    return nps_query(scope, day_end, kind=SurveyKind.CSAT)


def _add_csat(facts: dict[int, AccountFacts], scope: AccountScope, day_end: dt.datetime) -> None:
    for account_id, score, responded_at, _, _ in csat_query(scope, day_end).iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None and item.last_csat_at is None:
            item.last_csat, item.last_csat_at = score, responded_at


def stakeholder_query(scope: AccountScope, day: dt.date):
    # As the day ended: someone who left later was still there. A departure without a date counts
    # from whenever it was recorded, as it did before. Contacts carry no date they joined from (their
    # created_at is when they were typed in, often an import after the fact), so everyone on file counts.
    left_by_then = Q(departed=True) & (Q(departed_at__isnull=True) | Q(departed_at__lte=day))
    current = ~left_by_then
    return (
        # Archived contacts are off the map (a duplicate, a mistake): never counted, on any day.
        Contact.objects.filter(
            scope.q(), deal_role__in=[DealRole.CHAMPION, DealRole.DECISION_MAKER], archived_at__isnull=True
        )
        .values("account_id")
        .annotate(
            champions=Count("id", filter=current & Q(deal_role=DealRole.CHAMPION)),
            deciders=Count("id", filter=current & Q(deal_role=DealRole.DECISION_MAKER)),
            champion_left=Max(
                "departed_at", filter=Q(departed=True, departed_at__lte=day, deal_role=DealRole.CHAMPION)
            ),
        )
        .values_list("account_id", "champions", "deciders", "champion_left")
    )


def _add_stakeholders(facts: dict[int, AccountFacts], scope: AccountScope, day: dt.date) -> None:
    rows = stakeholder_query(scope, day)
    for account_id, champions, deciders, champion_left in rows.iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None:
            item.stakeholders_recorded = True
            item.champion_known = champions > 0
            item.decision_maker_known = deciders > 0
            item.champion_departed_on = champion_left


def pulse_query(scope: AccountScope, day_end: dt.datetime):
    return (
        PulseRating.objects.filter(
            scope.q(), rated_at__lt=day_end, rated_at__gte=day_end - dt.timedelta(days=PULSE_HORIZON_DAYS)
        )
        .order_by("account_id", "-rated_at", "-pk")
        .values_list("account_id", "rating", "rated_at", "expires_at", "id")
    )


def _add_pulse(facts: dict[int, AccountFacts], scope: AccountScope, day_end: dt.datetime) -> None:
    rows = pulse_query(scope, day_end)
    for account_id, rating, rated_at, expires_at, _ in rows.iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None and item.pulse_rated_at is None:
            item.pulse_rating, item.pulse_rated_at = rating, rated_at
            item.pulse_expired = expires_at <= day_end


def spend_query(scope: AccountScope, day: dt.date):
    recent_start = day - dt.timedelta(days=SPEND_PERIOD_DAYS)
    previous_start = recent_start - dt.timedelta(days=SPEND_PERIOD_DAYS)
    return (
        Invoice.objects.filter(scope.q(), issued_on__gt=previous_start, issued_on__lte=day)
        .values("account_id")
        .annotate(
            recent=Sum("amount", filter=Q(issued_on__gt=recent_start)),
            previous=Sum("amount", filter=Q(issued_on__lte=recent_start)),
            last=Max("issued_on"),
        )
        .values_list("account_id", "recent", "previous", "last")
    )


def _add_spend(facts: dict[int, AccountFacts], scope: AccountScope, day: dt.date) -> None:
    rows = spend_query(scope, day)
    for account_id, recent, previous, last in rows.iterator(chunk_size=5000):
        item = facts.get(account_id)
        if item is not None:
            item.spend_recent_90d = recent or Decimal("0")
            item.spend_previous_90d = previous or Decimal("0")
            item.last_invoice_on = last


def customer_since_query(scope: AccountScope, day_end: dt.datetime):
    """The earliest contract start on each account's terms recorded before the day ended.

    Account.contract_start is the current term's start, moved on at each renewal; the
    terms history keeps every earlier one.
    """
    return (
        AccountTerms.objects.filter(scope.q(), effective_at__lt=day_end, contract_start__isnull=False)
        .values("account_id")
        .annotate(first=Min("contract_start"))
        .values_list("account_id", "first")
    )


def _add_customer_since(facts: dict[int, AccountFacts], scope: AccountScope, day_end: dt.datetime) -> None:
    first_starts = dict(customer_since_query(scope, day_end).iterator(chunk_size=5000))
    for account_id, item in facts.items():
        # No terms recorded by then (an account from before the history): its own contract start.
        item.customer_since = first_starts.get(account_id) or item.contract_start


def open_flag_query(scope: AccountScope, day_start: dt.datetime):
    # Flags raised during the day being scored don't feed back into that day's
    # score, so scoring the same day twice gives the same result. A flag resolved
    # after the day ended was still open that day (a back-fill of a past day); one
    # the recompute cleared on or after the day (after scoring it) was open as it began.
    still_open = (
        Q(status__in=UNRESOLVED)
        | Q(status=FlagStatus.RESOLVED, resolved_at__gte=day_start + dt.timedelta(days=1))
        | Q(status=FlagStatus.CLEARED, cleared_at__gte=day_start)
    )
    return (
        RedFlag.objects.filter(scope.q())
        .filter(still_open)
        .alias(open_since=Coalesce("first_raised_at", "raised_at"))
        .filter(open_since__lt=day_start)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )


def _add_open_flags(facts: dict[int, AccountFacts], scope: AccountScope, day_start: dt.datetime) -> None:
    rows = open_flag_query(scope, day_start)
    for account_id, count in rows:
        item = facts.get(account_id)
        if item is not None:
            item.open_flags = count


def signal_queries(*, day: dt.date, scope: AccountScope) -> list[tuple[str, list]]:
    """Every aggregate the PostgreSQL recompute builds the facts from, as (sql, params), to measure their raw read cost."""
    day_end = end_of(day)
    querysets = [
        usage_query(scope, day),
        touchpoint_query(scope, day_end),
        checkin_query(scope, day_end),
        ticket_query(scope, day_end),
        nps_query(scope, day_end),
        stakeholder_query(scope, day),
        pulse_query(scope, day_end),
        spend_query(scope, day),
        open_flag_query(scope, day_end - dt.timedelta(days=1)),
        # The reads of the usage level, survey sentiment and tenure, last so earlier positions keep their meaning.
        licence_query(scope, day),
        csat_query(scope, day_end),
        customer_since_query(scope, day_end),
        entitlement_query(scope, day),
    ]
    statements = [as_statement(queryset) for queryset in querysets]
    return [*statements[:3], checkin_concerns_sql(scope, day_end), *statements[3:]]


def as_statement(queryset) -> tuple[str, list]:
    """A queryset's SQL and parameters, as signal_queries gives them."""
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)
