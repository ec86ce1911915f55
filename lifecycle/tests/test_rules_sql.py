"""Red-flag rules decided in SQL fire on exactly the (rule, account) pairs that lifecycle.flags.rules fires.

Each test writes AccountFacts built in Python into a temporary facts table on PostgreSQL, runs
`firing_pairs_sql` over it and compares with `evaluate_rules` on the same facts: at each rule's threshold
and just either side of it, with missing data, scoped and inactive rules, custom params, a non-UTC time
zone and a few hundred seeded random accounts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import override_settings

from accounts.models import Stage
from lifecycle.flags.defaults import DEFAULT_RULES
from lifecycle.flags.rules import evaluate_rules
from lifecycle.flags.rules_sql import firing_pairs_sql
from lifecycle.health.facts import AccountFacts
from lifecycle.models import AlertRule, RuleKind

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TODAY = dt.date(2025, 6, 30)
CADENCES = {"high": 10, "tech": 30}  # low-touch falls back to rules.FALLBACK_CADENCE_DAYS (14)
TABLE = "rule_facts"
FACTS_FROM = connection.ops.quote_name(TABLE)

# The facts table of the PostgreSQL recompute: one column per AccountFacts field, with its SQL type.
COLUMNS = {
    "account_id": "bigint",
    "tier": "text",
    "stage": "text",
    "owner_id": "bigint",
    "pool_id": "bigint",
    "stage_entered_on": "date",
    "in_baton_since": "date",
    "contract_start": "date",
    "renewal_date": "date",
    "arr": "double precision",
    "usage_last_day": "date",
    "active_users_7d": "double precision",
    "active_users_prev28": "double precision",
    "licences_used": "int",
    "licences_owned": "int",
    "usage_feed_day": "date",
    "active_user_days_28d": "bigint",
    "key_events_28d": "bigint",
    "usage_licences_owned": "int",
    "active_user_days_7d": "bigint",
    "active_user_days_prev28": "bigint",
    "key_events_7d": "bigint",
    "key_events_prev28": "bigint",
    "entitled_seats": "bigint",
    "products_entitled": "int",
    "products_used": "int",
    "product_feed_day": "date",
    "last_touchpoint_at": "timestamptz",
    "touchpoints_since_onboarding": "int",
    "last_checkin_at": "timestamptz",
    "checkins_90d": "int",
    "last_checkin_concerns": "int",
    "cadence_days": "int",
    "last_ticket_at": "timestamptz",
    "open_ticket_weight": "int",
    "tickets_opened_7d": "int",
    "tickets_opened_prev28": "int",
    "ticket_weight_90d": "int",
    "tickets_known": "boolean",
    "last_nps": "int",
    "last_nps_at": "timestamptz",
    "last_nps_comment": "text",
    "last_csat": "int",
    "last_csat_at": "timestamptz",
    "stakeholders_recorded": "boolean",
    "champion_known": "boolean",
    "decision_maker_known": "boolean",
    "champion_departed_on": "date",
    "pulse_rating": "int",
    "pulse_rated_at": "timestamptz",
    "pulse_expired": "boolean",
    "spend_recent_90d": "numeric",
    "spend_previous_90d": "numeric",
    "last_invoice_on": "date",
    "customer_since": "date",
    "open_flags": "int",
    "score": "numeric(5, 1)",
    "band": "text",
    "score_7d_ago": "numeric(5, 1)",
    "band_yesterday": "text",
}


# --- the facts table and the two evaluations ---------------------------------------------


@pytest.fixture(autouse=True)
def facts_table(db) -> str:
    assert connection.vendor == "postgresql", "rules in SQL need PostgreSQL; run with BATON_INTEGRATION=1"
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in COLUMNS.items())
    with connection.cursor() as cursor:
        # Dropped with the test's transaction.
        cursor.execute(f"CREATE TEMPORARY TABLE {TABLE} ({columns})")
    return TABLE


def write_facts(items: Iterable[AccountFacts]) -> None:
    """Replace the facts table's rows with these accounts' facts."""
    names = list(COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.executemany(
            f"INSERT INTO {TABLE} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",
            [[getattr(item, name) for name in names] for item in items],
        )


def sql_pairs(rules: list[AlertRule], *, today: dt.date, cadences: Mapping[str, int]) -> set[tuple[int, int]]:
    sql, params = firing_pairs_sql(rules, today=today, cadences=cadences, facts_from=FACTS_FROM)
    if not sql:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return set(cursor.fetchall())


def fired(
    rules: list[AlertRule],
    items: list[AccountFacts],
    *,
    today: dt.date = TODAY,
    cadences: Mapping[str, int] = CADENCES,
) -> set[tuple[int, int]]:
    """The (rule, account) pairs that fire, after checking that SQL and Python agree on them."""
    write_facts(items)
    in_python = {(f.rule_id, f.account_id) for f in evaluate_rules(rules, items, today=today, cadences=cadences)}
    assert sql_pairs(rules, today=today, cadences=cadences) == in_python
    return in_python


# --- building facts and rules ------------------------------------------------------------


def at(days_ago: int, time: dt.time = dt.time(12, 0)) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), time, tzinfo=dt.UTC)


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def facts(account_id: int = 7, **overrides: Any) -> AccountFacts:
    """A quiet, healthy account in success; each case changes only what its rule reads."""
    values: dict[str, Any] = {
        "account_id": account_id,
        "tier": "high",
        "stage": Stage.SUCCESS,
        "owner_id": 1,
        "pool_id": None,
        "stage_entered_on": day(-300),
        "contract_start": day(-400),
        "renewal_date": day(300),
        "last_touchpoint_at": at(3),
        "last_checkin_at": at(3),
        "score": 80.0,
        "band": "green",
        "score_7d_ago": 80.0,
        "band_yesterday": "green",
    }
    values.update(overrides)
    return AccountFacts(**values)


def rule(kind: str, *, pk: int = 1, tier: str = "", stage: str = "", active: bool = True, **params: Any) -> AlertRule:
    return AlertRule(
        pk=pk, name=f"rule {pk}", kind=kind, severity="high", params=params, tier=tier, stage=stage, active=active
    )


def numbered(rules: list[AlertRule]) -> list[AlertRule]:
    for pk, item in enumerate(rules, start=1):
        item.pk = pk
    return rules


def fires(**overrides: Any) -> tuple[bool, dict[str, Any]]:
    return True, overrides


def quiet(**overrides: Any) -> tuple[bool, dict[str, Any]]:
    return False, overrides


def onboarding(day_n: int, **overrides: Any) -> dict[str, Any]:
    return {"stage": Stage.ONBOARDING, "contract_start": day(-day_n), **overrides}


def adoption(**overrides: Any) -> dict[str, Any]:
    return {"stage": Stage.ADOPTION, **overrides}


# --- each rule at its threshold ----------------------------------------------------------

THRESHOLDS = [
    pytest.param(
        RuleKind.BAND_RED,
        {},
        [
            fires(band="red", band_yesterday="yellow", score=31.5),
            fires(band="red", score=None),
            quiet(band="yellow", score=40.0),
            quiet(band="", score=None),
        ],
        id="band red: fires while red",
    ),
    pytest.param(
        RuleKind.SCORE_DROP,
        {"points": 15},
        [
            fires(score_7d_ago=72.0, score=57.0),
            quiet(score_7d_ago=72.0, score=57.1),
            fires(score_7d_ago=72.0, score=56.9),
            quiet(score_7d_ago=50.0, score=80.0),
            quiet(score_7d_ago=None, score=10.0),
            quiet(score_7d_ago=90.0, score=None),
        ],
        id="score drop: from the configured points",
    ),
    pytest.param(
        RuleKind.NO_TOUCHPOINT,
        {"days": 30},
        [
            fires(last_touchpoint_at=at(30)),
            quiet(last_touchpoint_at=at(29)),
            fires(last_touchpoint_at=at(31)),
            quiet(last_touchpoint_at=at(-2)),
            # None on record: counted from entering the stage, never from a contract start years before.
            fires(last_touchpoint_at=None, contract_start=day(-1000), stage_entered_on=day(-30)),
            quiet(last_touchpoint_at=None, contract_start=day(-1000), stage_entered_on=day(-29)),
            fires(last_touchpoint_at=None, contract_start=None, stage_entered_on=day(-30)),
            quiet(last_touchpoint_at=None, contract_start=None, stage_entered_on=day(-29)),
            # A stage change does not excuse an old last touchpoint.
            fires(last_touchpoint_at=at(45), stage_entered_on=day(-1)),
            # Imported with a stage years old: counted from the day it came into Baton.
            quiet(last_touchpoint_at=None, stage_entered_on=day(-1000), in_baton_since=day(-29)),
            fires(last_touchpoint_at=None, stage_entered_on=day(-1000), in_baton_since=day(-30)),
        ],
        id="no touchpoint: from the limit",
    ),
    pytest.param(
        RuleKind.MISSED_CHECKIN,
        {},
        [
            fires(**adoption(tier="tech", last_checkin_at=at(31))),
            quiet(**adoption(tier="tech", last_checkin_at=at(30))),
            # No check-in yet, imported into adoption long ago: counted from the day it came into Baton.
            quiet(**adoption(tier="tech", last_checkin_at=None, stage_entered_on=day(-300), in_baton_since=day(-30))),
            fires(**adoption(tier="tech", last_checkin_at=None, stage_entered_on=day(-300), in_baton_since=day(-31))),
            fires(**adoption(tier="high", last_checkin_at=at(11))),
            quiet(**adoption(tier="high", last_checkin_at=at(10))),
            # A tier without a cadence of its own gets the fallback of 14 days.
            fires(**adoption(tier="low", last_checkin_at=at(15))),
            quiet(**adoption(tier="low", last_checkin_at=at(14))),
            # No check-in yet: the clock starts when the account entered adoption.
            fires(**adoption(tier="high", last_checkin_at=None, stage_entered_on=day(-11))),
            quiet(**adoption(tier="high", last_checkin_at=None, stage_entered_on=day(-10))),
            quiet(stage=Stage.SUCCESS, last_checkin_at=at(100)),
        ],
        id="missed check-in: the day after the tier's cadence",
    ),
    pytest.param(
        RuleKind.ONBOARDING_NOT_ENGAGED,
        {},
        [
            fires(**onboarding(30, touchpoints_since_onboarding=1, active_users_7d=3.0)),
            quiet(**onboarding(29, touchpoints_since_onboarding=0, active_users_7d=None)),
            quiet(**onboarding(45, touchpoints_since_onboarding=2, active_users_7d=3.0)),
            fires(**onboarding(61, touchpoints_since_onboarding=2, active_users_7d=2.9)),
            fires(**onboarding(90, touchpoints_since_onboarding=5, active_users_7d=None)),
            fires(**onboarding(400, touchpoints_since_onboarding=0, active_users_7d=0.0)),
            fires(**onboarding(0, contract_start=None, stage_entered_on=day(-30), touchpoints_since_onboarding=0)),
            quiet(**onboarding(0, contract_start=None, stage_entered_on=day(-29), touchpoints_since_onboarding=0)),
            quiet(stage=Stage.ADOPTION, contract_start=day(-120), touchpoints_since_onboarding=0),
            # Counted from entering onboarding, not from a contract start years before (an import) ...
            fires(stage=Stage.ONBOARDING, contract_start=day(-1000), stage_entered_on=day(-30)),
            quiet(stage=Stage.ONBOARDING, contract_start=day(-1000), stage_entered_on=day(-29)),
            # ... and from a contract that started after the account entered onboarding.
            quiet(stage=Stage.ONBOARDING, stage_entered_on=day(-40), contract_start=day(-29)),
            fires(stage=Stage.ONBOARDING, stage_entered_on=day(-40), contract_start=day(-30)),
        ],
        id="onboarding not engaged: from the first checkpoint",
    ),
    pytest.param(
        RuleKind.USAGE_DROP,
        {"percent": 30},
        [
            fires(active_users_7d=7.0, active_users_prev28=10.0),
            quiet(active_users_7d=7.01, active_users_prev28=10.0),
            fires(active_users_7d=6.99, active_users_prev28=10.0),
            # Rounded to 6 places: float noise just under 30% still fires ...
            fires(active_users_7d=7.000000000000001, active_users_prev28=10.0),
            fires(active_users_7d=3.5 * 0.7, active_users_prev28=3.5),
            fires(active_users_7d=7.00000005, active_users_prev28=10.0),
            # ... and 29.9999994999... stays quiet, though it shows as 29.9999995 at 15 digits.
            quiet(active_users_7d=7.000000050000001, active_users_prev28=10.0),
            quiet(active_users_7d=12.0, active_users_prev28=10.0),
            quiet(active_users_7d=0.0, active_users_prev28=None),
            quiet(active_users_7d=None, active_users_prev28=10.0),
            quiet(active_users_7d=0.0, active_users_prev28=0.0),
        ],
        id="usage drop: from the percentage, rounded to 6 places",
    ),
    pytest.param(
        RuleKind.NPS_DETRACTOR,
        {"days": 30},
        [
            fires(last_nps=6, last_nps_at=at(30), last_nps_comment="Too slow"),
            quiet(last_nps=7, last_nps_at=at(1)),
            quiet(last_nps=2, last_nps_at=at(31)),
            fires(last_nps=0, last_nps_at=at(0)),
            fires(last_nps=3, last_nps_at=at(-3)),
            quiet(last_nps=None, last_nps_at=at(1)),
            quiet(last_nps=3, last_nps_at=None),
        ],
        id="nps detractor: 0-6 within the window",
    ),
    pytest.param(
        RuleKind.CHAMPION_DEPARTED,
        {"days": 30},
        [
            fires(champion_departed_on=day(-30), champion_known=True),
            quiet(champion_departed_on=day(-31), champion_known=True),
            fires(champion_departed_on=day(-200), champion_known=False),
            fires(champion_departed_on=day(2), champion_known=True),
            quiet(champion_departed_on=None, champion_known=False),
        ],
        id="champion departed: recently, or while none is known",
    ),
    pytest.param(
        RuleKind.TICKET_SPIKE,
        {"days": 7, "factor": 2, "min_tickets": 3},
        [
            fires(tickets_opened_7d=10, tickets_opened_prev28=20),
            quiet(tickets_opened_7d=9, tickets_opened_prev28=20),
            fires(tickets_opened_7d=11, tickets_opened_prev28=20),
            fires(tickets_opened_7d=3, tickets_opened_prev28=0),
            quiet(tickets_opened_7d=2, tickets_opened_prev28=0),
            quiet(tickets_opened_7d=4, tickets_opened_prev28=9),
            fires(tickets_opened_7d=5, tickets_opened_prev28=9),
        ],
        id="ticket spike: factor times the weekly baseline, at least the minimum",
    ),
    pytest.param(
        RuleKind.RENEWAL_NOT_GREEN,
        {"days": 90},
        [
            fires(renewal_date=day(90), band="yellow"),
            quiet(renewal_date=day(91), band="red"),
            fires(renewal_date=day(0), band="red"),
            quiet(renewal_date=day(0), band="green"),
            quiet(renewal_date=day(-1), band="red"),
            fires(renewal_date=day(10), band="", score=None),
            quiet(renewal_date=None, band="red"),
            # A 30-day term is watched for its last 7 days (a quarter, rounded down); a 400-day one for 90.
            fires(contract_start=day(-23), renewal_date=day(7), band="yellow"),
            quiet(contract_start=day(-22), renewal_date=day(8), band="yellow"),
            quiet(contract_start=day(-400), renewal_date=day(91), band="red"),
            fires(contract_start=day(-400), renewal_date=day(90), band="red"),
            fires(contract_start=day(5), renewal_date=day(3), band="red"),
        ],
        id="renewal not green: within the window, scaled to a short contract term",
    ),
    pytest.param(
        RuleKind.SPEND_RISING,
        {"percent": 25},
        [
            fires(spend_recent_90d=Decimal("12500"), spend_previous_90d=Decimal("10000")),
            quiet(spend_recent_90d=Decimal("12499.99"), spend_previous_90d=Decimal("10000")),
            fires(spend_recent_90d=Decimal("12500.01"), spend_previous_90d=Decimal("10000.00")),
            quiet(spend_recent_90d=Decimal("5000"), spend_previous_90d=Decimal("0")),
            quiet(spend_recent_90d=Decimal("0"), spend_previous_90d=Decimal("0")),
            # Only a customer through both periods (180 days, from its first contract) is judged.
            quiet(spend_recent_90d=Decimal("3000"), spend_previous_90d=Decimal("1000"), contract_start=day(-179)),
            fires(spend_recent_90d=Decimal("3000"), spend_previous_90d=Decimal("1000"), contract_start=day(-180)),
            fires(
                spend_recent_90d=Decimal("3000"),
                spend_previous_90d=Decimal("1000"),
                contract_start=day(-30),
                customer_since=day(-180),
            ),
            quiet(
                spend_recent_90d=Decimal("3000"),
                spend_previous_90d=Decimal("1000"),
                contract_start=day(-400),
                customer_since=day(-179),
            ),
            quiet(spend_recent_90d=Decimal("3000"), spend_previous_90d=Decimal("1000"), contract_start=None),
        ],
        id="spend rising: from the percentage, on a customer of 180 days",
    ),
]

CUSTOM_THRESHOLDS = [
    pytest.param(
        RuleKind.SCORE_DROP,
        {"points": 7.5},
        [
            fires(score_7d_ago=80.0, score=72.5),
            quiet(score_7d_ago=80.0, score=72.6),
        ],
        id="score drop of 7.5 points",
    ),
    pytest.param(
        RuleKind.SCORE_DROP,
        {"points": 0.2},
        # 0.3 - 0.1 is 0.19999999999999998 as a float; rounded to one place it is 0.2.
        [fires(score_7d_ago=0.3, score=0.1), quiet(score_7d_ago=0.3, score=0.2)],
        id="score drop of 0.2 points despite float noise",
    ),
    pytest.param(
        RuleKind.NO_TOUCHPOINT,
        {"days": 10},
        [fires(last_touchpoint_at=at(10)), quiet(last_touchpoint_at=at(9))],
        id="no touchpoint in 10 days",
    ),
    pytest.param(
        RuleKind.NO_TOUCHPOINT,
        {"days": 365},
        [
            # None on record in the year the facts look back: a year, however long ago the stage began.
            fires(last_touchpoint_at=None, stage_entered_on=day(-1000)),
            quiet(last_touchpoint_at=None, stage_entered_on=day(-364)),
        ],
        id="no touchpoint in a year",
    ),
    pytest.param(
        RuleKind.NO_TOUCHPOINT,
        {"days": 366},
        [quiet(last_touchpoint_at=None, stage_entered_on=day(-1000)), fires(last_touchpoint_at=at(366))],
        id="no touchpoint in more than the look-back",
    ),
    pytest.param(
        RuleKind.MISSED_CHECKIN,
        {"grace_days": 3},
        [
            quiet(**adoption(tier="high", last_checkin_at=at(13))),
            fires(**adoption(tier="high", last_checkin_at=at(14))),
            quiet(**adoption(tier="low", last_checkin_at=at(17))),
            fires(**adoption(tier="low", last_checkin_at=at(18))),
        ],
        id="missed check-in with 3 grace days",
    ),
    pytest.param(
        RuleKind.ONBOARDING_NOT_ENGAGED,
        {"checkpoints": [45, 14], "min_touchpoints": 1, "min_active_users": 2.5},
        [
            fires(**onboarding(14, touchpoints_since_onboarding=0, active_users_7d=9.0)),
            quiet(**onboarding(13, touchpoints_since_onboarding=0, active_users_7d=None)),
            quiet(**onboarding(20, touchpoints_since_onboarding=1, active_users_7d=2.5)),
            fires(**onboarding(20, touchpoints_since_onboarding=1, active_users_7d=2.4999)),
        ],
        id="onboarding checkpoints 14 and 45, unsorted",
    ),
    pytest.param(
        RuleKind.USAGE_DROP,
        {"percent": 100},
        [
            fires(active_users_7d=0.0, active_users_prev28=5.0),
            quiet(active_users_7d=0.001, active_users_prev28=5.0),
        ],
        id="usage gone entirely",
    ),
    pytest.param(
        RuleKind.USAGE_DROP,
        {"percent": 12.5},
        [
            fires(active_users_7d=7.0, active_users_prev28=8.0),
            quiet(active_users_7d=7.0001, active_users_prev28=8.0),
        ],
        id="usage down 12.5%",
    ),
    pytest.param(
        RuleKind.NPS_DETRACTOR,
        {"days": 7},
        [fires(last_nps=5, last_nps_at=at(7)), quiet(last_nps=5, last_nps_at=at(8))],
        id="nps detractor within 7 days",
    ),
    pytest.param(
        RuleKind.CHAMPION_DEPARTED,
        {"days": 14},
        [
            fires(champion_departed_on=day(-14), champion_known=True),
            quiet(champion_departed_on=day(-15), champion_known=True),
        ],
        id="champion departed within 14 days",
    ),
    pytest.param(
        RuleKind.TICKET_SPIKE,
        {"factor": 2.2, "min_tickets": 2},
        # 2.2 * 25.0 is 55.00000000000001 as a float: 55 tickets are not enough, as in Python.
        [
            quiet(tickets_opened_7d=55, tickets_opened_prev28=100),
            fires(tickets_opened_7d=56, tickets_opened_prev28=100),
            fires(tickets_opened_7d=2, tickets_opened_prev28=0),
            quiet(tickets_opened_7d=1, tickets_opened_prev28=0),
        ],
        id="ticket spike at factor 2.2 in float arithmetic",
    ),
    pytest.param(
        RuleKind.RENEWAL_NOT_GREEN,
        {"days": 30},
        [fires(renewal_date=day(30), band="red"), quiet(renewal_date=day(31), band="red")],
        id="renewal within 30 days",
    ),
    pytest.param(
        RuleKind.SPEND_RISING,
        {"percent": 33.3},
        [
            fires(spend_recent_90d=Decimal("133.30"), spend_previous_90d=Decimal("100.00")),
            quiet(spend_recent_90d=Decimal("133.29"), spend_previous_90d=Decimal("100.00")),
        ],
        id="spend rising 33.3%",
    ),
]


@pytest.mark.parametrize(("kind", "params", "cases"), THRESHOLDS + CUSTOM_THRESHOLDS)
def test_each_rule_fires_from_its_threshold_and_not_just_before_it(kind, params, cases) -> None:
    items = [facts(account_id, **overrides) for account_id, (_, overrides) in enumerate(cases, start=1)]
    expected = {(1, account_id) for account_id, (should_fire, _) in enumerate(cases, start=1) if should_fire}
    assert fired([rule(kind, **params)], items) == expected


@pytest.mark.parametrize(("kind", "params", "cases"), THRESHOLDS)
def test_params_left_out_fall_back_to_the_defaults(kind, params, cases) -> None:
    items = [facts(account_id, **overrides) for account_id, (_, overrides) in enumerate(cases, start=1)]
    expected = {(1, account_id) for account_id, (should_fire, _) in enumerate(cases, start=1) if should_fire}
    assert fired([rule(kind)], items) == expected


# --- scope and inactive rules --------------------------------------------------------------


def test_rules_fire_only_on_the_tiers_and_stages_they_are_scoped_to() -> None:
    rules = numbered(
        [
            rule(RuleKind.BAND_RED),
            rule(RuleKind.BAND_RED, tier="tech"),
            rule(RuleKind.BAND_RED, stage=Stage.ADOPTION),
            rule(RuleKind.BAND_RED, tier="high", stage=Stage.ONBOARDING),
            rule(RuleKind.BAND_RED, stage=Stage.CHURNED),
        ]
    )
    red = {"band": "red", "score": 20.0}
    items = [
        facts(1, tier="high", stage=Stage.SUCCESS, **red),
        facts(2, tier="tech", stage=Stage.ADOPTION, **red),
        facts(3, tier="high", stage=Stage.ONBOARDING, **red),
        facts(4, tier="low", stage=Stage.ONBOARDING, **red),
        facts(5, tier="tech", stage=Stage.CHURNED, **red),
    ]
    assert fired(rules, items) == {
        (1, 1),
        (1, 2),
        (1, 3),
        (1, 4),
        (2, 2),
        (3, 2),
        (4, 3),
        # A churned account only meets the rule scoped to churned accounts.
        (5, 5),
    }


def test_inactive_rules_fire_nothing() -> None:
    red = facts(band="red", score=20.0)
    rules = numbered([rule(RuleKind.BAND_RED), rule(RuleKind.BAND_RED, active=False)])
    assert fired(rules, [red]) == {(1, 7)}


def test_without_an_active_rule_there_is_no_statement_to_run() -> None:
    rules = [rule(RuleKind.BAND_RED, active=False)]
    assert firing_pairs_sql(rules, today=TODAY, cadences=CADENCES, facts_from=FACTS_FROM) == ("", [])
    assert firing_pairs_sql([], today=TODAY, cadences=CADENCES, facts_from=FACTS_FROM) == ("", [])


def test_values_travel_as_parameters() -> None:
    rules = [rule(RuleKind.NO_TOUCHPOINT, tier="tech", days=12345)]
    sql, params = firing_pairs_sql(rules, today=TODAY, cadences=CADENCES, facts_from=FACTS_FROM)
    assert "12345" not in sql and "tech" not in sql and "2025" not in sql
    assert {12345, "tech", TODAY} <= set(params)
    assert f'FROM "{TABLE}"' in sql


def test_every_rule_is_decided_in_one_read_of_the_facts() -> None:
    rules = default_rules()
    sql, _ = firing_pairs_sql(rules, today=TODAY, cadences=CADENCES, facts_from=FACTS_FROM)
    assert len(rules) > 1
    assert sql.count(f'FROM "{TABLE}"') == 1


def test_missed_checkin_without_any_cadence_uses_the_fallback_for_every_tier() -> None:
    items = [
        facts(1, **adoption(tier="tech", last_checkin_at=at(15))),
        facts(2, **adoption(tier="tech", last_checkin_at=at(14))),
    ]
    assert fired([rule(RuleKind.MISSED_CHECKIN)], items, cadences={}) == {(1, 1)}


# --- the time zone ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "should_fire"),
    [("America/Los_Angeles", True), ("UTC", False), ("Asia/Tokyo", False)],
)
def test_a_moment_counts_on_its_date_in_the_projects_time_zone(time_zone, should_fire) -> None:
    # 23:30 on 31 May in Los Angeles is already 1 June in UTC and Tokyo: 30 days ago there, 29 elsewhere.
    late_evening = dt.datetime(2025, 5, 31, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    rules = numbered(
        [
            rule(RuleKind.NO_TOUCHPOINT, days=30),
            rule(RuleKind.MISSED_CHECKIN, grace_days=0),
            rule(RuleKind.NPS_DETRACTOR, days=29),
        ]
    )
    items = [
        facts(1, last_touchpoint_at=late_evening),
        facts(2, **adoption(tier="high", last_checkin_at=late_evening), last_touchpoint_at=at(1)),
        facts(3, last_nps=4, last_nps_at=late_evening),
    ]
    cadences = {"high": 29}
    with override_settings(TIME_ZONE=time_zone):
        pairs = fired(rules, items, cadences=cadences)
    if should_fire:
        assert pairs == {(1, 1), (2, 2)}
    else:
        assert pairs == {(3, 3)}


# --- seeded random accounts ------------------------------------------------------------------

TIERS = ["high", "low", "tech"]


def random_facts(rng: random.Random, account_id: int) -> AccountFacts:
    """Facts crowded around the rules' thresholds, with every optional fact sometimes missing."""

    def maybe(value: Any, chance: float = 0.15) -> Any:
        return None if rng.random() < chance else value

    def moment(max_days_ago: int) -> dt.datetime:
        return at(rng.randint(-2, max_days_ago), dt.time(rng.randrange(24), rng.randrange(60)))

    score = maybe(round(rng.uniform(0, 100), 1))
    drop = rng.choice([0.0, 7.4, 7.5, 7.6, 14.9, 15.0, 15.1, 20.0, -5.0])
    previous_users = maybe(rng.choice([0.0, 3.5, 8.0, 10.0, rng.randint(0, 600) / 28]))
    if previous_users is not None and rng.random() < 0.6:
        percent = rng.choice([12.5, 29.99, 30.0, 30.01, 33.3, 50.0, 100.0, -10.0])
        recent_users = previous_users * (1 - percent / 100)
        recent_users = max(0.0, rng.choice([recent_users, math.nextafter(recent_users, math.inf)]))
    else:
        recent_users = maybe(rng.randint(0, 150) / 7)
    previous_spend = rng.choice([Decimal("0"), Decimal("10000.00"), Decimal(rng.randint(1, 10**6)) / 100])
    rise = rng.choice(["1.25", "1.2499", "1.125", "1.333", "1.3329", "0.8", "2"])
    recent_spend = (previous_spend * Decimal(rise)).quantize(Decimal("0.01")) + rng.choice(
        [Decimal("0"), Decimal("0.01"), Decimal("-0.01")]
    )
    return AccountFacts(
        account_id=account_id,
        tier=rng.choice(TIERS),
        stage=rng.choice(Stage.values),
        owner_id=maybe(rng.randint(1, 5)),
        pool_id=maybe(rng.randint(1, 3), 0.7),
        stage_entered_on=day(-rng.randint(0, 150)),
        contract_start=maybe(day(-rng.randint(0, 150)), 0.3),
        renewal_date=maybe(day(rng.randint(-10, 120))),
        arr=rng.uniform(0, 1e5),
        active_users_7d=recent_users,
        active_users_prev28=previous_users,
        last_touchpoint_at=maybe(moment(90)),
        touchpoints_since_onboarding=rng.randint(0, 4),
        last_checkin_at=maybe(moment(45)),
        tickets_opened_7d=rng.randint(0, 25),
        tickets_opened_prev28=rng.randint(0, 40),
        last_nps=maybe(rng.randint(0, 10)),
        last_nps_at=maybe(moment(45)),
        champion_known=rng.random() < 0.5,
        champion_departed_on=maybe(day(rng.randint(-60, 3)), 0.5),
        spend_recent_90d=recent_spend,
        spend_previous_90d=previous_spend,
        score=score,
        band=rng.choice(["", "green", "yellow", "red"]),
        score_7d_ago=maybe(round((score if score is not None else 50.0) + drop, 1)),
        band_yesterday=rng.choice(["", "green", "yellow", "red"]),
        # Around spend rising's 180 days; without one, the contract start counts.
        customer_since=maybe(day(-rng.choice([30, 179, 180, 181, 400])), 0.4),
    )


def default_rules() -> list[AlertRule]:
    """lifecycle.flags.defaults.DEFAULT_RULES, as the data migration creates them."""
    return numbered([rule(kind, tier=tier[0] if tier else "", **params) for _, kind, _, params, *tier in DEFAULT_RULES])


def custom_rules() -> list[AlertRule]:
    return numbered(
        [
            rule(RuleKind.BAND_RED, stage=Stage.CHURNED),
            rule(RuleKind.SCORE_DROP, points=7.5),
            rule(RuleKind.NO_TOUCHPOINT, days=10, tier="tech"),
            rule(RuleKind.MISSED_CHECKIN, grace_days=3),
            rule(RuleKind.ONBOARDING_NOT_ENGAGED, checkpoints=[45, 14], min_touchpoints=1, min_active_users=2.5),
            rule(RuleKind.USAGE_DROP, percent=12.5),
            rule(RuleKind.USAGE_DROP, percent=33.3, stage=Stage.SUCCESS),
            rule(RuleKind.NPS_DETRACTOR, days=7),
            rule(RuleKind.CHAMPION_DEPARTED, days=14),
            rule(RuleKind.TICKET_SPIKE, factor=2.2, min_tickets=2),
            rule(RuleKind.TICKET_SPIKE, factor=1.5, min_tickets=1, tier="low"),
            rule(RuleKind.RENEWAL_NOT_GREEN, days=30),
            rule(RuleKind.SPEND_RISING, percent=12.5),
            rule(RuleKind.SPEND_RISING, percent=33.3),
            rule(RuleKind.BAND_RED, active=False),
        ]
    )


def assert_every_rule_fires_somewhere_and_not_everywhere(
    rules: list[AlertRule], pairs: set[tuple[int, int]], accounts: int
) -> None:
    # Otherwise the random facts would miss a rule's threshold and prove little.
    for item in rules:
        count = sum(1 for rule_id, _ in pairs if rule_id == item.pk)
        assert 0 < count < accounts or not item.active, (item.kind, item.params, count)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_accounts_fire_the_same_default_rules(seed) -> None:
    rng = random.Random(seed)
    items = [random_facts(rng, account_id) for account_id in range(1, 401)]
    rules = default_rules()
    pairs = fired(rules, items, cadences={"high": 14, "low": 14, "tech": 30})
    assert_every_rule_fires_somewhere_and_not_everywhere(rules, pairs, len(items))


@pytest.mark.parametrize("seed", [3, 4])
def test_random_accounts_fire_the_same_custom_rules(seed) -> None:
    rng = random.Random(seed)
    items = [random_facts(rng, account_id) for account_id in range(1, 401)]
    rules = custom_rules()
    pairs = fired(rules, items)
    assert_every_rule_fires_somewhere_and_not_everywhere(rules, pairs, len(items))


@pytest.mark.parametrize("time_zone", ["America/Los_Angeles", "Asia/Kolkata"])
def test_random_accounts_fire_the_same_rules_in_another_time_zone(time_zone) -> None:
    rng = random.Random(5)
    items = [random_facts(rng, account_id) for account_id in range(1, 301)]
    with override_settings(TIME_ZONE=time_zone):
        fired(numbered(default_rules() + custom_rules()), items)


OPTIONAL_FACTS = [field.name for field in dataclasses.fields(AccountFacts) if "None" in str(field.type)]


@pytest.mark.parametrize("name", OPTIONAL_FACTS)
def test_a_missing_fact_is_read_as_python_reads_it(name) -> None:
    rng = random.Random(name)
    items = [dataclasses.replace(random_facts(rng, account_id), **{name: None}) for account_id in range(1, 201)]
    fired(default_rules(), items)
    fired(custom_rules(), items)


def test_the_facts_table_has_a_column_for_every_fact() -> None:
    fields = {field.name for field in dataclasses.fields(AccountFacts)} - {"extra"}
    assert set(COLUMNS) == fields
