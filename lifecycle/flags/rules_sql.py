"""Red-flag rules decided in SQL: which (rule, account) pairs fire, over a table of per-account facts.

The daily health recompute runs on PostgreSQL for speed: per chunk of accounts it builds a temporary
table with one row per account, its columns named like the fields of `AccountFacts`. Running every rule
in Python would mean fetching every row back; `firing_pairs_sql` lets PostgreSQL pick the few pairs that
fire, and only those accounts come back to `lifecycle.flags.rules`, which still writes the reason text.

`lifecycle.flags.rules` stays the reference. Each fragment below mirrors one of its evaluators, and
lifecycle/tests/test_rules_sql.py pins that the SQL selects exactly the pairs `evaluate_rules` returns on
the same facts; change a rule in both places. To compare numbers as Python does, floats are compared in
double precision (the same IEEE arithmetic as Python's float) and money in numeric (exact, as Decimal).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from accounts.models import Stage
from lifecycle.flags.rules import FALLBACK_CADENCE_DAYS, NPS_DETRACTOR_MAX, SPEND_HISTORY_DAYS, params_for
from lifecycle.health.facts_query import TOUCHPOINT_HORIZON_DAYS
from lifecycle.models import AlertRule, Band, RuleKind

Fragment = tuple[str, list[Any]]


@dataclass(frozen=True)
class _Day:
    """What a fragment needs besides its rule's params."""

    today: dt.date
    cadences: Mapping[str, int]
    time_zone: str


def _days_since(date_sql: str) -> str:
    """Whole days from a date expression to today: a %s for today comes before the expression's own."""
    return f"(%s::date - {date_sql})"


def _local_date(column: str) -> str:
    # rules._day: an aware datetime counts on its date in the current time zone, which is settings.TIME_ZONE
    # as nothing in the project activates another one (a %s for the zone).
    return f"({column} AT TIME ZONE %s)::date"


# --- fragments: (rule params, day) -> (SQL condition on one facts row, its params) ----------


def _band_red(p: dict, day: _Day) -> Fragment:
    return "band = %s", [Band.RED.value]


def _score_drop(p: dict, day: _Day) -> Fragment:
    # score and score_7d_ago are numeric(5, 1), so the difference is exact and the rounding keeps it as it
    # is; as a double it is what round(float - float, 1) gives in Python, compared in double precision.
    return (
        "round(score_7d_ago - score, 1)::double precision >= %s::double precision",
        [p["points"]],
    )


# rules.stage_started_on: the day the account entered its stage, or its contract start if later
# (GREATEST skips a NULL contract start).
_STAGE_STARTED_ON = "GREATEST(stage_entered_on, contract_start)"


def _no_touchpoint(p: dict, day: _Day) -> Fragment:
    # None on record: counted from entering the stage, at most from the start of the facts' look-back.
    horizon_start = day.today - dt.timedelta(days=TOUCHPOINT_HORIZON_DAYS)
    since = f"coalesce({_local_date('last_touchpoint_at')}, GREATEST(stage_entered_on, in_baton_since, %s::date))"
    return f"{_days_since(since)} >= %s", [day.today, day.time_zone, horizon_start, p["days"]]


def _missed_checkin(p: dict, day: _Day) -> Fragment:
    # The days allowed depend on the account's tier: cadences.get(tier, FALLBACK_CADENCE_DAYS) + grace.
    grace = p["grace_days"]
    allowed, allowed_params = "%s", [FALLBACK_CADENCE_DAYS + grace]
    if day.cadences:
        whens = " ".join("WHEN %s THEN %s" for _ in day.cadences)
        allowed = f"CASE tier {whens} ELSE %s END"
        allowed_params = [
            *(value for tier, cadence in day.cadences.items() for value in (tier, cadence + grace)),
            FALLBACK_CADENCE_DAYS + grace,
        ]
    # No check-in yet: the clock starts when the account entered adoption, or came into Baton if later.
    since = f"coalesce({_local_date('last_checkin_at')}, GREATEST(stage_entered_on, in_baton_since))"
    return (
        f"stage = %s AND {_days_since(since)} > {allowed}",
        [Stage.ADOPTION.value, day.today, day.time_zone, *allowed_params],
    )


def _onboarding_not_engaged(p: dict, day: _Day) -> Fragment:
    # Which checkpoint was reached only names the day in the reason; firing needs the first one reached.
    checkpoints = p["checkpoints"]
    if not checkpoints:
        return "FALSE", []
    return (
        f"stage = %s AND {_days_since(_STAGE_STARTED_ON)} >= %s"
        " AND (touchpoints_since_onboarding < %s"
        " OR active_users_7d IS NULL OR active_users_7d < %s::double precision)",
        [Stage.ONBOARDING.value, day.today, min(checkpoints), p["min_touchpoints"], p["min_active_users"]],
    )


def _usage_drop_boundary(percent: float) -> float:
    """The smallest double `drop` with round(drop, 6) >= percent, found with Python's own round().

    rules.py rounds the drop to 6 places so that exactly the threshold fires despite float noise.
    PostgreSQL cannot round a double the same way (float8::numeric keeps only 15 digits, and numeric
    rounds ties away from zero, Python to even), but rounding never reorders numbers, so comparing the
    unrounded drop with this boundary gives the same answer for every double.
    """

    def fires(drop: float) -> bool:
        return round(drop, 6) >= percent

    drop = float(percent) - 0.5e-6  # within a few steps of the boundary
    while fires(drop):
        drop = math.nextafter(drop, -math.inf)
    while not fires(drop):
        drop = math.nextafter(drop, math.inf)
    return drop


def _usage_drop(p: dict, day: _Day) -> Fragment:
    # CASE so that PostgreSQL never divides by a zero previous period; NULL usage stays quiet.
    return (
        "CASE WHEN active_users_prev28 > 0"
        " THEN (active_users_prev28 - active_users_7d) / active_users_prev28 * 100 >= %s::double precision"
        " END",
        [_usage_drop_boundary(p["percent"])],
    )


def _nps_detractor(p: dict, day: _Day) -> Fragment:
    # No lower bound on the age, as in rules.py.
    return (
        f"last_nps <= %s AND {_days_since(_local_date('last_nps_at'))} <= %s",
        [NPS_DETRACTOR_MAX, day.today, day.time_zone, p["days"]],
    )


def _champion_departed(p: dict, day: _Day) -> Fragment:
    # A departure this recent always fires; an older one fires while no champion is known.
    return (
        f"champion_departed_on IS NOT NULL AND ({_days_since('champion_departed_on')} <= %s"
        " OR champion_known IS NOT TRUE)",
        [day.today, p["days"]],
    )


def _ticket_spike(p: dict, day: _Day) -> Fragment:
    # threshold = max(min_tickets, factor * prev28 / 4), in double precision like Python's floats.
    return (
        "tickets_opened_7d >= greatest("
        "%s::double precision, %s::double precision * (tickets_opened_prev28 / 4.0::double precision))",
        [p["min_tickets"], p["factor"]],
    )


def _renewal_not_green(p: dict, day: _Day) -> Fragment:
    # An unscored account (band '') is not green. rules.renewal_window_days: the window shrinks to a
    # share of a short contract term (floor of a double precision product, as Python's math.floor).
    window = (
        "CASE WHEN contract_start IS NOT NULL AND renewal_date > contract_start "
        "THEN LEAST(%s::integer, FLOOR((renewal_date - contract_start) * %s::double precision)::integer) "
        "ELSE %s::integer END"
    )
    return (
        f"band IS DISTINCT FROM %s AND renewal_date - %s::date BETWEEN 0 AND {window}",
        [Band.GREEN.value, day.today, p["days"], float(p["term_share"]), p["days"]],
    )


def _spend_rising(p: dict, day: _Day) -> Fragment:
    # The factor is the Decimal rules.py multiplies by; numeric then compares exactly, as Decimal does.
    # A customer for less than SPEND_HISTORY_DAYS, or of unknown age (NULL), is not judged.
    factor = 1 + Decimal(str(p["percent"])) / 100
    return (
        "spend_previous_90d > 0 AND coalesce(customer_since, contract_start) <= %s::date"
        " AND spend_recent_90d >= spend_previous_90d * %s::numeric",
        [day.today - dt.timedelta(days=SPEND_HISTORY_DAYS), factor],
    )


FRAGMENTS: dict[str, Callable[[dict, _Day], Fragment]] = {
    RuleKind.BAND_RED: _band_red,
    RuleKind.SCORE_DROP: _score_drop,
    RuleKind.NO_TOUCHPOINT: _no_touchpoint,
    RuleKind.MISSED_CHECKIN: _missed_checkin,
    RuleKind.ONBOARDING_NOT_ENGAGED: _onboarding_not_engaged,
    RuleKind.USAGE_DROP: _usage_drop,
    RuleKind.NPS_DETRACTOR: _nps_detractor,
    RuleKind.CHAMPION_DEPARTED: _champion_departed,
    RuleKind.TICKET_SPIKE: _ticket_spike,
    RuleKind.RENEWAL_NOT_GREEN: _renewal_not_green,
    RuleKind.SPEND_RISING: _spend_rising,
}


def _scope(rule: AlertRule) -> Fragment:
    """rules.rule_applies: blank tier/stage means any; churned accounts only match rules scoped to churned."""
    conditions, params = [], []
    if rule.tier:
        conditions.append("tier = %s")
        params.append(rule.tier)
    if rule.stage:
        conditions.append("stage = %s")
        params.append(rule.stage)
    else:
        conditions.append("stage IS DISTINCT FROM %s")
        params.append(Stage.CHURNED.value)
    return " AND ".join(conditions), params


def firing_pairs_sql(
    rules: list[AlertRule], *, today: dt.date, cadences: Mapping[str, int], facts_from: str
) -> tuple[str, list]:
    """SQL selecting (rule_id, account_id) for every active rule and every facts row where the rule applies and fires.

    `facts_from` is a trusted FROM item (a quoted table name or a parenthesised SELECT) with a column
    per AccountFacts field. One statement reads it once: each row lists the ids of the active rules
    whose conditions it meets, so twelve rules cost one scan rather than twelve. Every value is passed
    as a %s parameter. Returns ("", []) when no rule is active, so the caller can skip the query.
    """
    fired_sql, params = firing_rules_sql(rules, today=today, cadences=cadences, facts_from=facts_from)
    if not fired_sql:
        return "", []
    sql = (
        f"SELECT rule_id, account_id FROM ("
        f"SELECT account_id, unnest(rule_ids) AS rule_id FROM ({fired_sql}) AS per_account"
        f") AS fired WHERE rule_id IS NOT NULL"
    )
    return sql, params


def firing_rules_sql(
    rules: list[AlertRule], *, today: dt.date, cadences: Mapping[str, int], facts_from: str
) -> tuple[str, list]:
    """SQL selecting (account_id, rule_ids) per facts row: each active rule's id if it fires there, else NULL.

    One row per account, so the planner knows how many rows to expect: `firing_pairs_sql` unnests
    them into pairs, and the recompute clears a flag where array_position(rule_ids, its rule) is NULL.
    Returns ("", []) when no rule is active.
    """
    day = _Day(today=today, cadences=cadences, time_zone=settings.TIME_ZONE)
    conditions: list[str] = []
    params: list[Any] = []
    for rule in rules:
        if not rule.active:
            continue
        scope_sql, scope_params = _scope(rule)
        fires_sql, fires_params = FRAGMENTS[rule.kind](params_for(rule), day)
        conditions.append(f"CASE WHEN {scope_sql} AND ({fires_sql}) THEN %s::bigint END")
        params += [*scope_params, *fires_params, rule.pk]
    if not conditions:
        return "", []
    return f"SELECT account_id, ARRAY[{', '.join(conditions)}] AS rule_ids FROM {facts_from} AS facts", params
