"""The facts of many (account, day) pairs, each as its own day ended, in a few set-based statements.

A backtest scores thousands of outcomes, each as of its own day: reading them
with `facts_for` once per distinct day cost about eleven queries a day, so
hundreds of days cost thousands of queries. On PostgreSQL the pairs go into a
temporary table instead, and one statement reads every fact of every pair: per
signal kind a LATERAL aggregate (or latest row) over that account's signals in
the window of that pair's day, each an index range scan, so the cost grows with
the pairs and the signals they read, not with the number of days or the size
of the tables.

`facts_for` stays the reference: a PostgreSQL test requires the same facts,
field by field, for pairs over many accounts and days. Elsewhere (SQLite) the
pairs are grouped by day and read with `facts_for` itself.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from accounts.models import Account, AccountTerms, Contact, DealRole, Entitlement, TimelineEntry, TimelineKind
from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_query import (
    ADOPTION_DAYS,
    CHECKIN_WINDOW_DAYS,
    LICENCE_HORIZON_DAYS,
    NPS_HORIZON_DAYS,
    PULSE_HORIZON_DAYS,
    RECENT_USAGE_DAYS,
    SPEND_PERIOD_DAYS,
    SUPPORT_LOAD_DAYS,
    TICKET_HISTORY_DAYS,
    TICKET_HORIZON_DAYS,
    TICKET_RECENT_DAYS,
    TICKET_WEIGHTS,
    TOUCHPOINT_HORIZON_DAYS,
    USAGE_LEVEL_DAYS,
    USAGE_TREND_BASELINE_DAYS,
    USAGE_WINDOW_DAYS,
    AccountScope,
    _accounts,
    end_of,
    facts_for,
    support_load_points,
)
from lifecycle.health.numbers import round_half_up
from lifecycle.models import (
    UNRESOLVED,
    CheckIn,
    CheckInAnswer,
    FlagStatus,
    Invoice,
    ProductUsageDaily,
    PulseRating,
    RedFlag,
    SupportTicket,
    SurveyKind,
    SurveyResponse,
    UsageDaily,
)

Pair = tuple[int, dt.date]

PAIRS_TABLE = "facts_pairs"

# The instants that bound each day's windows, computed in Python exactly as facts_for computes them
# (aware datetimes in the current time zone, so a window across a change of daylight saving time
# starts at local midnight, as it does there). One row per day; every pair of that day carries them.
_BOUNDS = (
    "day_end",  # end_of(day): signals before it count
    "touch_from",
    "checkin_from",
    "ticket_week",
    "ticket_window",
    "ticket_load",  # the support load's window starts here
    "ticket_known_from",  # a ticket opened since then gives the account a support record
    "nps_from",
    "pulse_from",
    "flags_from",  # the start of the day: flags open before it count
    "resolved_after",  # a flag resolved at or after this instant was still open that day
)


def _bounds(day: dt.date) -> tuple[dt.datetime, ...]:
    day_end = end_of(day)
    day_start = day_end - dt.timedelta(days=1)
    return (
        day_end,
        day_end - dt.timedelta(days=TOUCHPOINT_HORIZON_DAYS),
        day_end - dt.timedelta(days=CHECKIN_WINDOW_DAYS),
        day_end - dt.timedelta(days=TICKET_RECENT_DAYS),
        day_end - dt.timedelta(days=TICKET_HISTORY_DAYS),
        day_end - dt.timedelta(days=SUPPORT_LOAD_DAYS),
        day_end - dt.timedelta(days=TICKET_HORIZON_DAYS),
        day_end - dt.timedelta(days=NPS_HORIZON_DAYS),
        day_end - dt.timedelta(days=PULSE_HORIZON_DAYS),
        day_start,
        day_start + dt.timedelta(days=1),
    )


def facts_for_pairs(pairs: Sequence[Pair]) -> dict[Pair, AccountFacts]:
    """Every fact of each (account id, day) pair as that day ended, as `facts_for(day=day, ...)` reads it.

    Guarantees, for every pair whose account exists, the very AccountFacts that
    `facts_for(day=day, scope=AccountScope.of([account_id]))[account_id]` gives,
    field by field: signals dated after the day are left out, windows start and
    end at local midnights, ties go to the later recorded row. Like `facts_for`,
    the account's own fields (tier, stage, owner, pool, stage_entered_on,
    contract dates, ARR, cadence) are today's, from its row: a backtest puts the
    tier and stage of the day in itself. The score history (`score_7d_ago`,
    `band_yesterday`) and `score`/`band` stay empty, as `facts_for` leaves them:
    a replay of the past reads no snapshots. Pairs of accounts that no longer
    exist are left out; a pair given twice is read once; each pair gets its own
    AccountFacts. On PostgreSQL that is ten statements, however many pairs and
    days; elsewhere one `facts_for` per distinct day.
    """
    wanted = sorted({(int(account_id), day) for account_id, day in pairs})
    if not wanted:
        return {}
    if connection.vendor != "postgresql":
        return _per_day(wanted)
    return _in_database(wanted)


def _per_day(pairs: list[Pair]) -> dict[Pair, AccountFacts]:
    """The reference: one `facts_for` per distinct day."""
    by_day: dict[dt.date, list[int]] = defaultdict(list)
    for account_id, day in pairs:
        by_day[day].append(account_id)
    result: dict[Pair, AccountFacts] = {}
    for day, ids in sorted(by_day.items()):
        facts = facts_for(day=day, scope=AccountScope.of(ids))
        for account_id in ids:
            item = facts.get(account_id)
            if item is not None:
                result[(account_id, day)] = item
    return result


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _facts_sql() -> str:
    """One row per pair whose account exists: (account_id, day, the signal columns read by _fill)."""
    recent_usage = RECENT_USAGE_DAYS - 1
    trend_recent, trend_window = RECENT_USAGE_DAYS, RECENT_USAGE_DAYS + USAGE_TREND_BASELINE_DAYS
    product_active = "(pu.active_users > 0 OR pu.key_events > 0 OR pu.minutes > 0)"
    left_by_then = "(ct.departed AND (ct.departed_at IS NULL OR ct.departed_at <= p.day))"
    weight = " ".join(f"WHEN %(severity_{severity})s THEN {points}" for severity, points in TICKET_WEIGHTS.items())
    return f"""
        SELECT p.account_id, p.day,
               u.last_day, u.recent, u.previous, u.used, u.owned, u.user_days, u.events, lic.licences_owned,
               u.users_7d, u.users_prev, u.events_7d, u.events_prev, p.usage_feed,
               ent.seats, ent.products, ent.used, p.product_feed,
               t.last, t.since_stage,
               c.last, c.held,
               CASE WHEN lc.id IS NOT NULL THEN (
                   SELECT COUNT(*) FROM {_table(CheckInAnswer)} AS answer
                   WHERE answer.check_in_id = lc.id AND answer.concern
               ) END,
               k.open_weight, k.opened_7d, k.opened_prev, k.last, k.load, k.load_minutes,
               EXISTS (
                   SELECT 1 FROM {_table(SupportTicket)} AS kt
                   WHERE kt.account_id = p.account_id AND kt.opened_at < p.day_end
                     AND kt.opened_at >= p.ticket_known_from
               ),
               n.score, n.responded_at, n.comment,
               cs.score, cs.responded_at,
               s.recorded, s.champions, s.deciders, s.champion_left,
               r.rating, r.rated_at, r.expires_at,
               sp.recent, sp.previous, sp.last,
               ts.first,
               fl.n
        FROM {PAIRS_TABLE} AS p
        JOIN {_table(Account)} AS a ON a.id = p.account_id
        CROSS JOIN LATERAL (
            -- Averages over the rows of the 35 days up to the day; totals over windows ending on the feed's day.
            SELECT MAX(u.day) FILTER (WHERE u.day > p.day - {USAGE_WINDOW_DAYS}) AS last_day,
                   AVG(u.active_users) FILTER (WHERE u.day >= p.day - {recent_usage}) AS recent,
                   AVG(u.active_users) FILTER (
                       WHERE u.day > p.day - {USAGE_WINDOW_DAYS} AND u.day < p.day - {recent_usage}
                   ) AS previous,
                   AVG(u.licences_used) FILTER (WHERE u.day >= p.day - {recent_usage}) AS used,
                   AVG(u.licences_owned) FILTER (WHERE u.day >= p.day - {recent_usage}) AS owned,
                   SUM(u.active_users) FILTER (WHERE u.day > p.usage_anchor - {USAGE_LEVEL_DAYS}) AS user_days,
                   SUM(u.key_events) FILTER (WHERE u.day > p.usage_anchor - {USAGE_LEVEL_DAYS}) AS events,
                   SUM(u.active_users) FILTER (WHERE u.day > p.usage_anchor - {trend_recent}) AS users_7d,
                   SUM(u.active_users) FILTER (
                       WHERE u.day > p.usage_anchor - {trend_window} AND u.day <= p.usage_anchor - {trend_recent}
                   ) AS users_prev,
                   SUM(u.key_events) FILTER (WHERE u.day > p.usage_anchor - {trend_recent}) AS events_7d,
                   SUM(u.key_events) FILTER (
                       WHERE u.day > p.usage_anchor - {trend_window} AND u.day <= p.usage_anchor - {trend_recent}
                   ) AS events_prev
            FROM {_table(UsageDaily)} AS u
            WHERE u.account_id = p.account_id AND u.day <= p.day
              AND u.day > LEAST(p.day, p.usage_anchor) - {max(USAGE_WINDOW_DAYS, trend_window)}
        ) AS u
        CROSS JOIN LATERAL (
            -- The entitlements in force on the day, and how many of their products had activity.
            SELECT SUM(e.seats) AS seats, COUNT(DISTINCT e.product_id) AS products,
                   COUNT(DISTINCT e.product_id) FILTER (WHERE EXISTS (
                       SELECT 1 FROM {_table(ProductUsageDaily)} AS pu
                       WHERE pu.account_id = e.account_id AND pu.product_id = e.product_id
                         AND pu.day > p.product_anchor - {ADOPTION_DAYS} AND pu.day <= p.product_anchor
                         AND {product_active}
                   )) AS used
            FROM {_table(Entitlement)} AS e
            WHERE e.account_id = p.account_id AND e.starts_on <= p.day AND (e.ends_on IS NULL OR e.ends_on >= p.day)
        ) AS ent
        LEFT JOIN LATERAL (
            -- The licences owned on the latest usage row of the year.
            SELECT lu.licences_owned FROM {_table(UsageDaily)} AS lu
            WHERE lu.account_id = p.account_id AND lu.day <= p.day AND lu.day > p.day - {LICENCE_HORIZON_DAYS}
            ORDER BY lu.day DESC LIMIT 1
        ) AS lic ON TRUE
        CROSS JOIN LATERAL (
            SELECT MAX(e.occurred_at) AS last,
                   COUNT(e.occurred_at) FILTER (WHERE e.occurred_at >= a.stage_entered_at) AS since_stage
            FROM {_table(TimelineEntry)} AS e
            WHERE e.account_id = p.account_id AND e.kind = %(touchpoint)s
              AND e.occurred_at < p.day_end AND e.occurred_at >= p.touch_from
        ) AS t
        CROSS JOIN LATERAL (
            SELECT MAX(ci.held_at) AS last, COUNT(*) AS held
            FROM {_table(CheckIn)} AS ci
            WHERE ci.account_id = p.account_id AND ci.held_at < p.day_end AND ci.held_at >= p.checkin_from
        ) AS c
        LEFT JOIN LATERAL (
            -- The latest call of the window; of two at one instant, the later recorded.
            SELECT ci.id FROM {_table(CheckIn)} AS ci
            WHERE ci.account_id = p.account_id AND ci.held_at < p.day_end AND ci.held_at >= p.checkin_from
            ORDER BY ci.held_at DESC, ci.id DESC LIMIT 1
        ) AS lc ON TRUE
        CROSS JOIN LATERAL (
            SELECT SUM(CASE tk.severity {weight} ELSE 1 END)
                       FILTER (WHERE tk.closed_at IS NULL OR tk.closed_at >= p.day_end) AS open_weight,
                   COUNT(*) FILTER (WHERE tk.opened_at >= p.ticket_week) AS opened_7d,
                   COUNT(*) FILTER (WHERE tk.opened_at >= p.ticket_window AND tk.opened_at < p.ticket_week)
                       AS opened_prev,
                   MAX(tk.opened_at) FILTER (
                       WHERE tk.closed_at IS NULL OR tk.closed_at >= p.day_end OR tk.opened_at >= p.ticket_window
                   ) AS last,
                   SUM(CASE tk.severity {weight} ELSE 1 END) FILTER (WHERE tk.opened_at >= p.ticket_load) AS load,
                   SUM(tk.time_spent_minutes) FILTER (WHERE tk.opened_at >= p.ticket_load) AS load_minutes
            FROM {_table(SupportTicket)} AS tk
            WHERE tk.account_id = p.account_id AND tk.opened_at < p.day_end
              AND (tk.closed_at IS NULL OR tk.closed_at >= p.day_end
                   OR tk.opened_at >= LEAST(p.ticket_window, p.ticket_load))
        ) AS k
        LEFT JOIN LATERAL (
            -- Newest first; of two answers at the same instant, the later recorded.
            SELECT nps.score, nps.responded_at, nps.comment FROM {_table(SurveyResponse)} AS nps
            WHERE nps.account_id = p.account_id AND nps.kind = %(nps)s
              AND nps.responded_at < p.day_end AND nps.responded_at >= p.nps_from
            ORDER BY nps.responded_at DESC, nps.id DESC LIMIT 1
        ) AS n ON TRUE
        LEFT JOIN LATERAL (
            SELECT csat.score, csat.responded_at FROM {_table(SurveyResponse)} AS csat
            WHERE csat.account_id = p.account_id AND csat.kind = %(csat)s
              AND csat.responded_at < p.day_end AND csat.responded_at >= p.nps_from
            ORDER BY csat.responded_at DESC, csat.id DESC LIMIT 1
        ) AS cs ON TRUE
        CROSS JOIN LATERAL (
            -- As the day ended: someone who left later was still there; a departure without a date
            -- counts from whenever it was recorded.
            SELECT COUNT(*) AS recorded,
                   COUNT(*) FILTER (WHERE ct.deal_role = %(champion)s AND NOT {left_by_then}) AS champions,
                   COUNT(*) FILTER (WHERE ct.deal_role = %(decider)s AND NOT {left_by_then}) AS deciders,
                   MAX(ct.departed_at) FILTER (
                       WHERE ct.deal_role = %(champion)s AND ct.departed AND ct.departed_at <= p.day
                   ) AS champion_left
            FROM {_table(Contact)} AS ct
            WHERE ct.account_id = p.account_id AND ct.deal_role IN (%(champion)s, %(decider)s)
              AND ct.archived_at IS NULL  -- archived contacts are off the map, as in facts_query
        ) AS s
        LEFT JOIN LATERAL (
            SELECT pr.rating, pr.rated_at, pr.expires_at FROM {_table(PulseRating)} AS pr
            WHERE pr.account_id = p.account_id AND pr.rated_at < p.day_end AND pr.rated_at >= p.pulse_from
            ORDER BY pr.rated_at DESC, pr.id DESC LIMIT 1
        ) AS r ON TRUE
        CROSS JOIN LATERAL (
            SELECT SUM(i.amount) FILTER (WHERE i.issued_on > p.day - {SPEND_PERIOD_DAYS}) AS recent,
                   SUM(i.amount) FILTER (WHERE i.issued_on <= p.day - {SPEND_PERIOD_DAYS}) AS previous,
                   MAX(i.issued_on) AS last
            FROM {_table(Invoice)} AS i
            WHERE i.account_id = p.account_id AND i.issued_on > p.day - {2 * SPEND_PERIOD_DAYS}
              AND i.issued_on <= p.day
        ) AS sp
        CROSS JOIN LATERAL (
            -- The earliest contract start on the terms recorded before the day ended.
            SELECT MIN(tr.contract_start) AS first FROM {_table(AccountTerms)} AS tr
            WHERE tr.account_id = p.account_id AND tr.effective_at < p.day_end
        ) AS ts
        CROSS JOIN LATERAL (
            -- Open at the start of the day: raised before it, and unresolved or resolved after the day ended.
            SELECT COUNT(*) AS n FROM {_table(RedFlag)} AS f
            WHERE f.account_id = p.account_id
              AND (f.status = ANY(%(unresolved)s) OR (f.status = %(resolved)s AND f.resolved_at >= p.resolved_after)
                   OR (f.status = %(cleared)s AND f.cleared_at >= p.flags_from))
              AND COALESCE(f.first_raised_at, f.raised_at) < p.flags_from
        ) AS fl
        ORDER BY p.account_id, p.day
    """


def _array(values) -> str:
    """An array literal: one parameter the server parses at once, where a list is sent as ARRAY[one cast per value]."""
    return (
        "{"
        + ",".join(
            "NULL" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
            for value in values
        )
        + "}"
    )


def _feed_days(cursor, days: list[dt.date]) -> list[tuple[dt.date | None, dt.date | None]]:
    """`facts_query.feed_days` of every day, in one statement: two walks down the day indexes per day."""
    cursor.execute(
        f"""
        SELECT (SELECT MAX(u.day) FROM {_table(UsageDaily)} AS u WHERE u.day <= d.day),
               (SELECT MAX(pu.day) FROM {_table(ProductUsageDaily)} AS pu WHERE pu.day <= d.day)
        FROM unnest(%s::date[]) WITH ORDINALITY AS d (day, position)
        ORDER BY d.position
        """,
        [_array(days)],
    )
    return [(usage, product) for usage, product in cursor.fetchall()]


def _in_database(pairs: list[Pair]) -> dict[Pair, AccountFacts]:
    accounts = _accounts(AccountScope.of(account_id for account_id, _ in pairs))
    pairs = [pair for pair in pairs if pair[0] in accounts]
    if not pairs:
        return {}
    days = sorted({day for _, day in pairs})
    bounds = [_bounds(day) for day in days]
    params: dict[str, Any] = {
        "touchpoint": TimelineKind.TOUCHPOINT,
        "nps": SurveyKind.NPS,
        "csat": SurveyKind.CSAT,
        "champion": DealRole.CHAMPION,
        "decider": DealRole.DECISION_MAKER,
        "unresolved": list(UNRESOLVED),
        "resolved": FlagStatus.RESOLVED,
        "cleared": FlagStatus.CLEARED,
        **{f"severity_{severity}": severity for severity in TICKET_WEIGHTS},
    }
    bound_columns = ", ".join(f"{name} timestamptz NOT NULL" for name in _BOUNDS)
    bound_arrays = ", ".join("%s::timestamptz[]" for _ in _BOUNDS)
    with transaction.atomic(), connection.cursor() as cursor:
        # One-off statements over a temporary table: compiling them (JIT) costs more than it saves.
        cursor.execute("SET LOCAL jit = off")
        # Every pair is its own cache key: caching the lookups per key only costs.
        cursor.execute("SET LOCAL enable_memoize = off")
        # Gone with the transaction; dropped first in case an enclosing one already made it.
        cursor.execute(f"DROP TABLE IF EXISTS {PAIRS_TABLE}")
        feeds = _feed_days(cursor, days)
        cursor.execute(
            f"CREATE TEMPORARY TABLE {PAIRS_TABLE} "
            f"(account_id bigint NOT NULL, day date NOT NULL, {bound_columns}, "
            f"usage_feed date, product_feed date, usage_anchor date NOT NULL, product_anchor date NOT NULL) "
            f"ON COMMIT DROP"
        )
        # The windows of use end on the feed's latest day (the day itself when there is no feed).
        cursor.execute(
            f"""
            INSERT INTO {PAIRS_TABLE}
            SELECT pair.account_id, pair.day, {", ".join(f"bounds.{name}" for name in _BOUNDS)},
                   bounds.usage_feed, bounds.product_feed,
                   LEAST(COALESCE(bounds.usage_feed, pair.day), pair.day),
                   LEAST(COALESCE(bounds.product_feed, pair.day), pair.day)
            FROM unnest(%s::bigint[], %s::date[]) AS pair (account_id, day)
            JOIN unnest(%s::date[], {bound_arrays}, %s::date[], %s::date[])
                AS bounds (day, {", ".join(_BOUNDS)}, usage_feed, product_feed) USING (day)
            ORDER BY pair.account_id, pair.day
            """,
            [
                _array([account_id for account_id, _ in pairs]),
                _array([day for _, day in pairs]),
                _array(days),
                *(_array(column) for column in zip(*bounds, strict=True)),
                _array([usage for usage, _ in feeds]),
                _array([product for _, product in feeds]),
            ],
        )
        cursor.execute(f"ANALYZE {PAIRS_TABLE}")
        cursor.execute(_facts_sql(), params)
        rows = cursor.fetchall()
    ends = dict(zip(days, (day_bounds[0] for day_bounds in bounds), strict=True))
    result: dict[Pair, AccountFacts] = {}
    for row in rows:
        account_id, day = row[0], row[1]
        item = copy.copy(accounts[account_id])  # the account's own fields; every signal field is set below
        item.extra = {}
        _fill(item, row[2:], ends[day])
        result[(account_id, day)] = item
    return result


def _fill(item: AccountFacts, row: tuple, day_end: dt.datetime) -> None:
    """Set a pair's signal facts from its row, converted as facts_for converts what the ORM reads."""
    (
        usage_last_day,
        recent,
        previous,
        used,
        owned,
        user_days,
        events,
        licences_owned,
        users_7d,
        users_prev,
        events_7d,
        events_prev,
        usage_feed_day,
        entitled_seats,
        products_entitled,
        products_used,
        product_feed_day,
        last_touchpoint,
        since_stage,
        last_checkin,
        held,
        concerns,
        open_weight,
        opened_7d,
        opened_prev,
        last_ticket,
        ticket_load,
        ticket_minutes,
        ticket_in_year,
        nps_score,
        nps_at,
        nps_comment,
        csat_score,
        csat_at,
        stakeholders_recorded,
        champions,
        deciders,
        champion_left,
        pulse_rating,
        pulse_rated_at,
        pulse_expires_at,
        spend_recent,
        spend_previous,
        last_invoice,
        first_contract_start,
        open_flags,
    ) = row
    # The ORM reads an average of integers as a float: the same conversion here, then the same rounding.
    item.usage_last_day = usage_last_day
    item.active_users_7d = float(recent) if recent is not None else None
    item.active_users_prev28 = float(previous) if previous is not None else None
    item.licences_used = int(round_half_up(float(used), 0)) if used is not None else None
    item.licences_owned = int(round_half_up(float(owned), 0)) if owned is not None else None
    item.active_user_days_28d = user_days or 0
    item.key_events_28d = events or 0
    item.usage_licences_owned = licences_owned
    item.usage_feed_day = usage_feed_day
    item.active_user_days_7d, item.active_user_days_prev28 = users_7d or 0, users_prev or 0
    item.key_events_7d, item.key_events_prev28 = events_7d or 0, events_prev or 0
    item.entitled_seats = entitled_seats
    item.products_entitled, item.products_used = products_entitled, products_used
    item.product_feed_day = product_feed_day
    item.last_touchpoint_at = last_touchpoint
    item.touchpoints_since_onboarding = since_stage
    item.last_checkin_at, item.checkins_90d = last_checkin, held
    item.last_checkin_concerns = concerns
    item.open_ticket_weight = open_weight or 0
    item.tickets_opened_7d = opened_7d
    item.tickets_opened_prev28 = opened_prev
    item.last_ticket_at = last_ticket
    item.ticket_weight_90d = support_load_points(ticket_load, ticket_minutes)
    item.tickets_known = bool(ticket_in_year) or item.open_ticket_weight > 0
    if nps_at is not None:
        item.last_nps, item.last_nps_at, item.last_nps_comment = nps_score, nps_at, nps_comment
    if csat_at is not None:
        item.last_csat, item.last_csat_at = csat_score, csat_at
    item.stakeholders_recorded = stakeholders_recorded > 0
    item.champion_known = champions > 0
    item.decision_maker_known = deciders > 0
    item.champion_departed_on = champion_left
    if pulse_rated_at is not None:
        item.pulse_rating, item.pulse_rated_at = pulse_rating, pulse_rated_at
        item.pulse_expired = pulse_expires_at <= day_end
    item.spend_recent_90d = spend_recent or Decimal("0")
    item.spend_previous_90d = spend_previous or Decimal("0")
    item.last_invoice_on = last_invoice
    item.customer_since = first_contract_start or item.contract_start
    item.open_flags = open_flags
