"""The recompute of one scope of accounts, done inside PostgreSQL.

Carrying every account's facts into Python objects, scoring them there and
sending the rows back cost several times the database reads themselves, so on
PostgreSQL a chunk is a handful of set-based statements instead:

1. the facts: one row per account in a temporary table, built from the very
   aggregate queries the Python path uses (lifecycle.health.facts_query);
2. the scores: each active scorecard's measures, normalisation, weights and
   band as SQL expressions generated from its configuration;
3. the day's snapshots and the current health, upserted from those rows
   (rows that would not change are not rewritten);
4. the red flags: `lifecycle.flags.rules_sql` finds the (rule, account) pairs that
   fire and have no unresolved flag; only those accounts' facts come back to
   Python, where `lifecycle.flags.rules` writes the reasons and `flags_sync` raises.

`lifecycle.health.scoring` stays the reference: a PostgreSQL test runs both paths
over the demo company and requires identical snapshots, health and flags.
Both round with `lifecycle.health.numbers`, whose rule gives bit-identical results in each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Sequence

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Account
from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_query import (
    RECENT_USAGE_DAYS,
    USAGE_LEVEL_DAYS,
    USAGE_TREND_BASELINE_DAYS,
    AccountScope,
    checkin_concerns_sql,
    checkin_query,
    csat_query,
    customer_since_query,
    end_of,
    entitlement_query,
    feed_days,
    licence_query,
    nps_query,
    open_flag_query,
    pulse_query,
    spend_query,
    stakeholder_query,
    ticket_query,
    touchpoint_query,
    usage_query,
)
from lifecycle.health.numbers import round_half_up_sql
from lifecycle.health.scoring import MISSING, NOT_APPLICABLE, OK, STALE, ScorecardConfig, scorecard_for
from lifecycle.models import (
    UNRESOLVED,
    AccountHealth,
    AlertRule,
    CheckInCadence,
    FlagStatus,
    HealthScore,
    MeasureKind,
    RedFlag,
    ScoreOverride,
)

FACTS_TABLE = "recompute_facts"
SCORES_TABLE = "recompute_scores"
# Every AccountFacts field of a scored chunk: the facts with the score and band they earned. A join,
# not an UPDATE of the facts table, which rewrote every row of it.
SCORED_FACTS = (
    f"(SELECT f.*, s.score, COALESCE(s.band, '') AS band "
    f"FROM {FACTS_TABLE} AS f LEFT JOIN {SCORES_TABLE} AS s ON s.account_id = f.account_id)"
)

# The facts table has a column per AccountFacts field (the scratch `extra` aside).
FACT_COLUMNS = [field.name for field in dataclasses.fields(AccountFacts) if field.name != "extra"]


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Each statement of a chunk opens with a comment naming its step, so logs and pg_stat_statements
# say which part of the recompute a statement is, and the benchmark splits a run's time by step.
STEPS = ("facts", "scoring", "snapshots", "current health", "red flags")
STEP_LABEL = re.compile(r"^/\* recompute: ([a-z ]+) \*/")


def _execute(cursor, step: str, sql: str, params) -> None:
    assert step in STEPS, step
    cursor.execute(f"/* recompute: {step} */ {sql}", params)


def _compiled(queryset) -> tuple[str, list]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def _scope_sql(scope: AccountScope, column: str) -> tuple[str, list]:
    if scope.ids is not None:
        return f"{column} = ANY(%s)", [list(scope.ids)]
    return f"{column} BETWEEN %s AND %s", [scope.first_id, scope.last_id]


def _named_scope_sql(scope: AccountScope, column: str) -> tuple[str, dict]:
    if scope.ids is not None:
        return f"{column} = ANY(%(scope_ids)s)", {"scope_ids": list(scope.ids)}
    return f"{column} BETWEEN %(scope_first)s AND %(scope_last)s", {
        "scope_first": scope.first_id,
        "scope_last": scope.last_id,
    }


def drop_scratch_tables() -> None:
    """The chunk's temporary tables go with its transaction; dropped early when one transaction runs many chunks."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FACTS_TABLE}, {SCORES_TABLE}, recompute_pick")


def _local_date(column: str, zone: str = "%s") -> str:
    """The date of a timestamp in the project's time zone (`zone` is the placeholder of its name)."""
    return f"({column} AT TIME ZONE {zone})::date"


# --- 1. facts ------------------------------------------------------------------


def create_facts_table(*, day: dt.date, scope: AccountScope) -> int:
    """Fill the facts table for `scope` on `day`; returns the number of accounts."""
    day_end = end_of(day)
    usage_feed_day, product_feed_day = feed_days(day)
    joins: list[str] = []
    join_params: list = []

    def join(alias: str, source, *, latest_by: str | None = None, key: str = "account_id") -> None:
        # A queryset, or (sql, params) for a read the ORM cannot say as well.
        sql, query_params = source if isinstance(source, tuple) else _compiled(source)
        if latest_by:
            # One row per account: its latest.
            # The same order as the Python path's, down to the tie-break on id.
            sql = (
                f"SELECT DISTINCT ON (account_id) * FROM ({sql}) AS rows ORDER BY account_id, {latest_by} DESC, id DESC"
            )
        joins.append(f"LEFT JOIN ({sql}) AS {alias} ON {alias}.{key} = a.id")
        join_params.extend(query_params)

    join("u", usage_query(scope, day, usage_feed_day))
    join("lic", licence_query(scope, day), key="id")
    join("ent", entitlement_query(scope, day, product_feed_day))
    join("t", touchpoint_query(scope, day_end), key="id")
    join("c", checkin_query(scope, day_end))
    join("cc", checkin_concerns_sql(scope, day_end), key="id")
    join("k", ticket_query(scope, day_end))
    join("n", nps_query(scope, day_end), latest_by="responded_at")
    join("cs", csat_query(scope, day_end), latest_by="responded_at")
    join("s", stakeholder_query(scope, day))
    join("p", pulse_query(scope, day_end), latest_by="rated_at")
    join("sp", spend_query(scope, day))
    join("ts", customer_since_query(scope, day_end))
    join("fl", open_flag_query(scope, day_end - dt.timedelta(days=1)))

    yesterday, week_ago, month_ago = (day - dt.timedelta(days=n) for n in (1, 7, 30))
    history_scope, history_params = _scope_sql(scope, "account_id")
    joins.append(
        f"""LEFT JOIN (
            SELECT account_id,
                   MAX(score) FILTER (WHERE day = %s) AS score_7d_ago,
                   MAX(score) FILTER (WHERE day = %s) AS score_30d_ago,
                   MAX(band) FILTER (WHERE day = %s) AS band_yesterday
            FROM {_table(HealthScore)}
            WHERE {history_scope} AND day IN (%s, %s, %s)
            GROUP BY account_id
        ) AS h ON h.account_id = a.id"""
    )
    join_params += [week_ago, month_ago, yesterday, *history_params, yesterday, week_ago, month_ago]
    joins.append(f"LEFT JOIN {_table(CheckInCadence)} AS cad ON cad.tier = a.tier")

    account_scope, account_params = _scope_sql(scope, "a.id")
    select_params = [settings.TIME_ZONE, settings.TIME_ZONE, usage_feed_day, product_feed_day, day_end]
    statement = f"""
        CREATE TEMPORARY TABLE {FACTS_TABLE} ON COMMIT DROP AS
        SELECT a.id AS account_id, a.tier, a.stage, a.owner_id, a.pool_id,
               {_local_date("a.stage_entered_at")} AS stage_entered_on,
               {_local_date("a.created_at")} AS in_baton_since,
               a.contract_start, a.renewal_date,
               COALESCE(a.arr_reporting, a.arr)::double precision AS arr,  -- as facts_query._accounts
               u.last_day AS usage_last_day,
               u.recent::double precision AS active_users_7d,
               u.previous::double precision AS active_users_prev28,
               ROUND(u.used)::integer AS licences_used,
               ROUND(u.owned)::integer AS licences_owned,
               %s::date AS usage_feed_day,
               COALESCE(u.user_days, 0)::bigint AS active_user_days_28d,
               COALESCE(u.events, 0)::bigint AS key_events_28d,
               lic.owned::integer AS usage_licences_owned,
               COALESCE(u.users_7d, 0)::bigint AS active_user_days_7d,
               COALESCE(u.users_prev, 0)::bigint AS active_user_days_prev28,
               COALESCE(u.events_7d, 0)::bigint AS key_events_7d,
               COALESCE(u.events_prev, 0)::bigint AS key_events_prev28,
               ent.seats::bigint AS entitled_seats,
               COALESCE(ent.products, 0)::integer AS products_entitled,
               COALESCE(ent.used, 0)::integer AS products_used,
               %s::date AS product_feed_day,
               t.last AS last_touchpoint_at,
               COALESCE(t.since_stage, 0)::integer AS touchpoints_since_onboarding,
               c.last AS last_checkin_at,
               COALESCE(c.held, 0)::integer AS checkins_90d,
               cc.concerns::integer AS last_checkin_concerns,
               cad.every_days::integer AS cadence_days,
               k.last AS last_ticket_at,
               COALESCE(k.open_weight, 0)::integer AS open_ticket_weight,
               COALESCE(k.opened_7d, 0)::integer AS tickets_opened_7d,
               COALESCE(k.opened_prev, 0)::integer AS tickets_opened_prev28,
               (COALESCE(k.load, 0) + COALESCE(k.load_minutes, 0) / 60)::integer AS ticket_weight_90d,
               (COALESCE(lic.tickets_known, FALSE) OR COALESCE(k.open_weight, 0) > 0) AS tickets_known,
               n.score::integer AS last_nps,
               n.responded_at AS last_nps_at,
               COALESCE(n.comment, '') AS last_nps_comment,
               cs.score::integer AS last_csat,
               cs.responded_at AS last_csat_at,
               s.account_id IS NOT NULL AS stakeholders_recorded,
               COALESCE(s.champions, 0) > 0 AS champion_known,
               COALESCE(s.deciders, 0) > 0 AS decision_maker_known,
               s.champion_left AS champion_departed_on,
               p.rating::integer AS pulse_rating,
               p.rated_at AS pulse_rated_at,
               COALESCE(p.expires_at <= %s, FALSE) AS pulse_expired,
               COALESCE(sp.recent, 0)::numeric AS spend_recent_90d,
               COALESCE(sp.previous, 0)::numeric AS spend_previous_90d,
               sp.last AS last_invoice_on,
               COALESCE(ts.first, a.contract_start) AS customer_since,
               COALESCE(fl.n, 0)::integer AS open_flags,
               h.score_7d_ago::numeric(5, 1) AS score_7d_ago,
               h.score_30d_ago::numeric(5, 1) AS score_30d_ago,
               COALESCE(h.band_yesterday, '')::text AS band_yesterday
        FROM {_table(Account)} AS a
        {" ".join(joins)}
        WHERE {account_scope}
    """
    with connection.cursor() as cursor:
        # Chunks already run side by side on the workers; a parallel plan per chunk only adds
        # start-up cost, and compiling these one-off statements (JIT) cost more than it saved.
        # Room to sort a chunk's signal rows in memory. All three end with the transaction.
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"DROP TABLE IF EXISTS {FACTS_TABLE}")
        _execute(cursor, "facts", statement, [*select_params, *join_params, *account_params])
        return cursor.rowcount


# --- 2. scores -----------------------------------------------------------------

# The age in days of the data behind a measure, or NULL when there is none.
_AGE = {
    MeasureKind.USAGE_TREND: "(%(day)s::date - f.usage_last_day)",
    MeasureKind.LICENCE_UTILISATION: "(%(day)s::date - f.usage_last_day)",
    MeasureKind.CHECKIN_CONCERNS: f"(%(day)s::date - {_local_date('f.last_checkin_at', '%(tz)s')})",
    MeasureKind.NPS: f"(%(day)s::date - {_local_date('f.last_nps_at', '%(tz)s')})",
    MeasureKind.CSM_PULSE: f"(%(day)s::date - {_local_date('f.pulse_rated_at', '%(tz)s')})",
}
_CSAT_AGE = f"(%(day)s::date - {_local_date('f.last_csat_at', '%(tz)s')})"
_TOUCHPOINT_AGE = f"(%(day)s::date - {_local_date('f.last_touchpoint_at', '%(tz)s')})"


def _round1(expression: str) -> str:
    return round_half_up_sql(expression)


def _measure_sql(kind: str, validity: str) -> tuple[str, str]:
    """(raw value, status) of one measure as SQL, mirroring scoring.raw_measure."""
    ok, missing, stale, not_applicable = (f"'{s}'" for s in (OK, MISSING, STALE, NOT_APPLICABLE))
    if kind == MeasureKind.LICENCE_UTILISATION:
        age = _AGE[kind]
        usable = "COALESCE(f.licences_owned, 0) <> 0 AND f.licences_used IS NOT NULL"
        value = _round1("f.licences_used::double precision / f.licences_owned * 100")
        status = (
            f"CASE WHEN f.usage_last_day IS NULL THEN {missing} WHEN {age} >= {validity} THEN {stale} "
            f"WHEN {usable} THEN {ok} ELSE {missing} END"
        )
        return value, status
    feed_age = "(%(day)s::date - f.usage_feed_day)"
    feed_status = f"WHEN f.usage_feed_day IS NULL THEN {missing} WHEN {feed_age} >= {validity} THEN {stale}"
    if kind == MeasureKind.USAGE_LEVEL:
        used = "CASE WHEN f.active_user_days_28d <> 0 THEN f.active_user_days_28d ELSE f.key_events_28d END"
        licences = "COALESCE(NULLIF(f.usage_licences_owned, 0), f.entitled_seats)"
        value = _round1(f"({used})::double precision / {USAGE_LEVEL_DAYS} / {licences} * 100")
        status = f"CASE {feed_status} WHEN COALESCE({licences}, 0) <> 0 THEN {ok} ELSE {missing} END"
        return value, status
    if kind == MeasureKind.USAGE_TREND:
        by_users = "(f.active_user_days_7d <> 0 OR f.active_user_days_prev28 <> 0)"
        recent = f"CASE WHEN {by_users} THEN f.active_user_days_7d ELSE f.key_events_7d END"
        baseline = f"CASE WHEN {by_users} THEN f.active_user_days_prev28 ELSE f.key_events_prev28 END"
        daily_recent = f"(({recent})::double precision / {RECENT_USAGE_DAYS})"
        daily_baseline = f"(({baseline})::double precision / {USAGE_TREND_BASELINE_DAYS})"
        value = _round1(f"({daily_recent} - {daily_baseline}) / NULLIF({daily_baseline}, 0) * 100")
        status = (
            f"CASE {feed_status} WHEN f.usage_licences_owned IS NULL THEN {missing} "
            f"WHEN ({baseline}) <> 0 THEN {ok} ELSE {missing} END"
        )
        return value, status
    if kind == MeasureKind.ADOPTION_BREADTH:
        product_age = "(%(day)s::date - f.product_feed_day)"
        value = _round1("f.products_used::double precision / NULLIF(f.products_entitled, 0) * 100")
        status = (
            f"CASE WHEN f.product_feed_day IS NULL THEN {missing} WHEN {product_age} >= {validity} THEN {stale} "
            f"WHEN f.products_entitled <> 0 THEN {ok} ELSE {missing} END"
        )
        return value, status
    if kind == MeasureKind.SURVEY_SENTIMENT:
        nps_fresh = f"(f.last_nps_at IS NOT NULL AND {_AGE[MeasureKind.NPS]} < {validity})"
        csat_fresh = f"(f.last_csat_at IS NOT NULL AND {_CSAT_AGE} < {validity})"
        nps = f"CASE WHEN {nps_fresh} THEN f.last_nps * 10.0::double precision ELSE 0.0::double precision END"
        csat = f"CASE WHEN {csat_fresh} THEN (f.last_csat - 1) * 25.0::double precision ELSE 0.0::double precision END"
        value = _round1(f"({nps} + {csat}) / ({nps_fresh}::integer + {csat_fresh}::integer)")
        status = (
            f"CASE WHEN f.last_nps_at IS NULL AND f.last_csat_at IS NULL THEN {missing} "
            f"WHEN {nps_fresh} OR {csat_fresh} THEN {ok} ELSE {stale} END"
        )
        return value, status
    if kind == MeasureKind.SUPPORT_LOAD:
        return "f.ticket_weight_90d::double precision", f"CASE WHEN f.tickets_known THEN {ok} ELSE {missing} END"
    if kind == MeasureKind.TENURE:
        value = "GREATEST(0, %(day)s::date - f.customer_since)::double precision"
        return value, f"CASE WHEN f.customer_since IS NULL THEN {missing} ELSE {ok} END"
    if kind == MeasureKind.ENGAGEMENT_RECENCY:
        value = f"LEAST({_TOUCHPOINT_AGE}, {validity})::double precision"
        return value, f"CASE WHEN f.last_touchpoint_at IS NULL THEN {missing} ELSE {ok} END"
    if kind == MeasureKind.CHECKIN_CADENCE:
        applies = "f.stage = 'adoption' AND COALESCE(f.cadence_days, 0) <> 0"
        expected = f"GREATEST(1.0::double precision, {validity}::double precision / f.cadence_days)"
        value = _round1(f"LEAST(100.0::double precision, f.checkins_90d / {expected} * 100)")
        status = f"CASE WHEN NOT ({applies}) THEN {not_applicable} WHEN f.last_checkin_at IS NULL THEN {missing} ELSE {ok} END"
        return value, status
    if kind in (MeasureKind.CHECKIN_CONCERNS, MeasureKind.NPS):
        age = _AGE[kind]
        value = "COALESCE(f.last_checkin_concerns, 0)" if kind == MeasureKind.CHECKIN_CONCERNS else "f.last_nps"
        status = f"CASE WHEN {age} IS NULL THEN {missing} WHEN {age} >= {validity} THEN {stale} ELSE {ok} END"
        return f"{value}::double precision", status
    if kind == MeasureKind.SUPPORT_BURDEN:
        return "f.open_ticket_weight::double precision", f"CASE WHEN f.tickets_known THEN {ok} ELSE {missing} END"
    if kind == MeasureKind.OPEN_RED_FLAGS:
        return "f.open_flags::double precision", ok
    if kind == MeasureKind.STAKEHOLDER_COVERAGE:
        value = "(50.0 * f.champion_known::integer + 50.0 * f.decision_maker_known::integer)::double precision"
        return value, f"CASE WHEN f.stakeholders_recorded THEN {ok} ELSE {missing} END"
    if kind == MeasureKind.CSM_PULSE:
        age = _AGE[kind]
        status = (
            f"CASE WHEN f.pulse_rating IS NULL THEN {missing} "
            f"WHEN f.pulse_expired OR {age} >= {validity} THEN {stale} ELSE {ok} END"
        )
        return "f.pulse_rating::double precision", status
    raise ValueError(f"Unknown measure kind {kind!r}")


def _card_select(card: ScorecardConfig, index: int) -> tuple[str, dict]:
    """One SELECT scoring the facts rows assigned to `card`: a weighted mean of its usable measures.

    Each step is a subquery fenced with OFFSET 0, which PostgreSQL neither
    flattens (it would repeat every measure's expression wherever a later step
    mentions it) nor stores: its rows pass straight to the next step, where a
    MATERIALIZED CTE would copy every one of them into a tuple store first.
    """
    params: dict = {f"card{index}": card.id, f"green{index}": card.green_min, f"yellow{index}": card.yellow_min}
    statuses, values, points, breakdown, weighted, weights = [], [], [], [], [], []
    for position, measure in enumerate(card.measures):
        key = f"c{index}m{position}"
        params.update(
            {
                f"{key}_kind": measure.kind,
                f"{key}_weight": measure.weight,
                f"{key}_zero": measure.zero_at,
                f"{key}_span": measure.full_at - measure.zero_at,
                f"{key}_validity": measure.validity_days,
                f"{key}_missing": measure.missing_points,
            }
        )
        value, status = _measure_sql(measure.kind, f"%({key}_validity)s")
        weight = f"%({key}_weight)s::double precision"
        statuses.append(f"{status} AS status{position}")
        # Only usable data gets a value: a stale or missing input may divide by zero.
        values.append(f"CASE WHEN f.status{position} = '{OK}' THEN {value} END AS raw{position}")
        points.append(f"{_points_sql(f'raw{position}', f'status{position}', key)} AS points{position}")
        # {"kind": {"raw": x, "score": y, "weight": w, "status": "ok"}}, written as text: building
        # jsonb cost more than all the rest of the scoring. Kinds and statuses are fixed identifiers.
        params[f"{key}_opening"] = f'{json.dumps(measure.kind)}:{{"raw":'
        params[f"{key}_weight_json"] = f',"weight":{json.dumps(measure.weight)},"status":"'
        # concat() writes its arguments into one buffer; a chain of || copies the growing text at every step.
        breakdown.append(
            f"concat(%({key}_opening)s, COALESCE(raw{position}::text, 'null'), ',\"score\":', "
            f"COALESCE(points{position}::text, 'null'), %({key}_weight_json)s, status{position}, '\"}}')"
        )
        weighted.append(f"COALESCE({weight} * points{position}, 0)")
        weights.append(f"CASE WHEN points{position} IS NULL THEN 0 ELSE {weight} END")
    status_columns = ", ".join(f"f.status{n}" for n in range(len(statuses)))
    weighted_sum = " + ".join(["0.0::double precision", *weighted])
    total_weight = " + ".join(["0.0::double precision", *weights])
    select = f"""(
        SELECT account_id, %(card{index})s::bigint AS scorecard_id,
               %(green{index})s::integer AS green_min, %(yellow{index})s::integer AS yellow_min,
               concat('{{', {", ',', ".join(breakdown) or "''"}, '}}')::json AS measures,
               {_round1(f"({weighted_sum}) / NULLIF({total_weight}, 0)")}::numeric(5, 1) AS score
        FROM (
            SELECT valued.*{"".join(", " + p for p in points)}
            FROM (
                SELECT f.account_id{", " + status_columns if statuses else ""}{"".join(", " + v for v in values)}
                FROM (
                    SELECT f.*, {", ".join(statuses) or "NULL AS nothing"}
                    FROM {FACTS_TABLE} AS f
                    JOIN recompute_pick AS pick
                      ON pick.tier = f.tier AND pick.stage = f.stage AND pick.card_id = %(card{index})s
                    OFFSET 0
                ) AS f
                OFFSET 0
            ) AS valued
            OFFSET 0
        ) AS pointed
    )"""
    return select, params


def _points_sql(raw: str, status: str, key: str) -> str:
    # GREATEST and LEAST skip NULLs, so a missing value must stay NULL explicitly.
    fraction = f"({raw} - %({key}_zero)s::double precision) / %({key}_span)s::double precision"
    clamped = f"GREATEST(0.0::double precision, LEAST(1.0::double precision, {fraction})) * 100"
    # A missing or stale value scores the measure's fixed points, or NULL (drops out) when it has none.
    return (
        f"CASE WHEN {raw} IS NOT NULL THEN {_round1(clamped)} "
        f"WHEN {status} IN ('{MISSING}', '{STALE}') THEN %({key}_missing)s::double precision END"
    )


def _band_sql(score: str, green: str, yellow: str) -> str:
    return (
        f"CASE WHEN {score} IS NULL THEN '' WHEN {score} >= {green} THEN 'green' "
        f"WHEN {score} >= {yellow} THEN 'yellow' ELSE 'red' END"
    )


def create_scores_table(*, day: dt.date, scorecards: Sequence[ScorecardConfig]) -> int:
    """Score every facts row that has a scorecard."""
    tiers = Account._meta.get_field("tier").choices
    stages = Account._meta.get_field("stage").choices
    picks = []
    for tier, _ in tiers:
        for stage, _ in stages:
            card = scorecard_for(scorecards, tier=tier, stage=stage)
            if card is not None and card.id is not None:
                picks.append((tier, stage, card.id))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCORES_TABLE}, recompute_pick")
        cursor.execute("CREATE TEMPORARY TABLE recompute_pick (tier text, stage text, card_id bigint) ON COMMIT DROP")
        if picks:
            cursor.executemany("INSERT INTO recompute_pick VALUES (%s, %s, %s)", picks)
        used = [card for card in scorecards if card.id in {card_id for _, _, card_id in picks}]
        selects, params = [], {"day": day, "tz": settings.TIME_ZONE}
        for index, card in enumerate(used):
            select, card_params = _card_select(card, index)
            selects.append(select)
            params.update(card_params)
        if not selects:
            selects.append(
                "SELECT NULL::bigint AS account_id, NULL::bigint AS scorecard_id, 0 AS green_min, 0 AS yellow_min, "
                "'{}'::json AS measures, NULL::numeric(5, 1) AS score WHERE FALSE"
            )
        _execute(
            cursor,
            "scoring",
            f"""
            CREATE TEMPORARY TABLE {SCORES_TABLE} ON COMMIT DROP AS
            SELECT scored.*, {_band_sql("scored.score", "scored.green_min", "scored.yellow_min")} AS band
            FROM ({" UNION ALL ".join(selects)}) AS scored
            """,
            params,
        )
        return cursor.rowcount


# --- 3. snapshots and current health -----------------------------------------


def upsert_snapshots(*, day: dt.date, now: dt.datetime) -> None:
    """The day's snapshot per scored account; a rerun the same day leaves identical rows untouched."""
    with connection.cursor() as cursor:
        _execute(
            cursor,
            "snapshots",
            f"""
            INSERT INTO {_table(HealthScore)} AS h (account_id, day, scorecard_id, score, band, measures, computed_at)
            SELECT account_id, %s, scorecard_id, score, band, measures, %s FROM {SCORES_TABLE}
            ON CONFLICT (account_id, day) DO UPDATE
            SET scorecard_id = EXCLUDED.scorecard_id, score = EXCLUDED.score,
                band = EXCLUDED.band, measures = EXCLUDED.measures
            WHERE (h.scorecard_id, h.score, h.band, h.measures::text)
                  IS DISTINCT FROM (EXCLUDED.scorecard_id, EXCLUDED.score, EXCLUDED.band, EXCLUDED.measures::text)
            """,
            [day, now],
        )


def upsert_account_health(*, day: dt.date, scope: AccountScope, now: dt.datetime) -> None:
    """Current health per scored account: the override in force, deltas, open flags and the next-best rank.

    Only where `day` is the latest day scored for the account: a back-fill of an earlier day
    writes its snapshots and leaves a later day's current health as it is.
    """
    effective = "COALESCE(o.score::numeric, s.score)"
    days_to_renewal = "(f.renewal_date - %(day)s::date)"
    # lifecycle.health.scoring.account_priority, term by term.
    priority = f"""ROUND(
        100.0 - COALESCE({effective}, 50.0)
        + CASE WHEN f.renewal_date IS NULL OR f.renewal_date < %(day)s::date THEN 0.0
               WHEN {days_to_renewal} <= 30 THEN 40.0 WHEN {days_to_renewal} <= 60 THEN 25.0
               WHEN {days_to_renewal} <= 90 THEN 15.0 ELSE 0.0 END
        + CASE WHEN f.arr >= 250000 THEN 20.0 WHEN f.arr >= 100000 THEN 12.0
               WHEN f.arr >= 25000 THEN 6.0 ELSE 0.0 END
        + CASE WHEN f.stage = 'churned' THEN -200.0 ELSE 0.0 END, 1)::double precision"""
    columns = [AccountHealth._meta.get_field(name).column for name in AccountHealth.RECOMPUTED_FIELDS]
    assignments = ", ".join(f"{column} = incoming.{column}" for column in columns)
    from_excluded = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns)
    current = ", ".join(f"ah.{column}" for column in columns)
    incoming = ", ".join(f"incoming.{column}" for column in columns)
    table = _table(AccountHealth)
    in_scope, params = _named_scope_sql(scope, "account_id")
    # Said on the current rows too, so PostgreSQL reads only the chunk's rows of the table.
    known_in_scope, _ = _named_scope_sql(scope, "known.account_id")
    current_in_scope, _ = _named_scope_sql(scope, "ah.account_id")
    params.update(day=day, now=now, unresolved=list(UNRESOLVED))
    with connection.cursor() as cursor:
        # Nearly every account already has its row: an UPDATE of those, then an INSERT of the few
        # that have none, as an upsert in case another run inserted one meanwhile. Upserting every
        # row probed for each one and locked it (a WAL record of its own) before updating it.
        _execute(
            cursor,
            "current health",
            f"""
            WITH incoming (account_id, {", ".join(columns)}) AS MATERIALIZED (
                SELECT s.account_id, %(day)s::date, s.score, s.band, {effective},
                       {_band_sql(effective, "s.green_min", "s.yellow_min")},
                       ROUND(s.score - f.score_7d_ago, 1), ROUND(s.score - f.score_30d_ago, 1),
                       o.score IS NOT NULL, COALESCE(fl.n, 0), {priority}, s.scorecard_id
                FROM {SCORES_TABLE} AS s
                JOIN {FACTS_TABLE} AS f ON f.account_id = s.account_id
                LEFT JOIN (
                    SELECT account_id, score FROM {_table(ScoreOverride)}
                    WHERE {in_scope} AND cleared_at IS NULL AND expires_at > %(now)s
                ) AS o ON o.account_id = s.account_id
                LEFT JOIN (
                    SELECT account_id, COUNT(*) AS n FROM {_table(RedFlag)}
                    WHERE {in_scope} AND status = ANY(%(unresolved)s)
                    GROUP BY account_id
                ) AS fl ON fl.account_id = s.account_id
            ), updated AS (
                UPDATE {table} AS ah SET {assignments}
                FROM incoming
                WHERE ah.account_id = incoming.account_id AND {current_in_scope}
                  AND ah.day <= incoming.day
                  AND ({current}) IS DISTINCT FROM ({incoming})
            )
            INSERT INTO {table} (account_id, {", ".join(columns)})
            SELECT * FROM incoming
            WHERE NOT EXISTS (
                SELECT 1 FROM {table} AS known WHERE known.account_id = incoming.account_id AND {known_in_scope}
            )
            ON CONFLICT (account_id) DO UPDATE SET {from_excluded} WHERE {table}.day <= EXCLUDED.day
            """,
            params,
        )


# --- 4. red flags --------------------------------------------------------------


def clear_flags_not_firing(*, day: dt.date, scope: AccountScope, rules: list, cadences: dict[str, int]) -> list[int]:
    """Clear the chunk's unresolved flags whose rule (one of `rules`) no longer fires for their account.

    lifecycle.flags.services.flags_clear in one statement: each account's facts row says which rules
    fire for it, and the flags whose rule is not among them are updated where they are; only their
    ids come back. Returns the ids cleared.
    """
    from lifecycle.flags.rules_sql import firing_rules_sql
    from lifecycle.flags.services import clearable_before, cleared_reason_prefix, run_stamp

    rule_ids = [rule.pk for rule in rules if rule.active]
    if not rule_ids:
        return []
    fired_sql, fired_params = firing_rules_sql(rules, today=day, cadences=cadences, facts_from=SCORED_FACTS)
    # Said on the flags too, so only this chunk's flags are read.
    in_scope, scope_params = _scope_sql(scope, "flag.account_id")
    with connection.cursor() as cursor:
        _execute(
            cursor,
            "red flags",
            f"""
            UPDATE {_table(RedFlag)} AS flag
            SET status = %s, cleared_at = %s, cleared_reason = %s || rule.name, snoozed_until = NULL
            FROM ({fired_sql}) AS fired, {_table(AlertRule)} AS rule
            WHERE fired.account_id = flag.account_id AND rule.id = flag.rule_id AND {in_scope}
              AND flag.status = ANY(%s) AND flag.rule_id = ANY(%s) AND flag.raised_at < %s
              AND array_position(fired.rule_ids, flag.rule_id) IS NULL
            RETURNING flag.id
            """,
            [
                FlagStatus.CLEARED,
                run_stamp(day),
                cleared_reason_prefix(day),
                *fired_params,
                *scope_params,
                list(UNRESOLVED),
                rule_ids,
                clearable_before(day),
            ],
        )
        return [flag_id for (flag_id,) in cursor.fetchall()]


def new_firing_facts(
    *, day: dt.date, scope: AccountScope, rules: list, cadences: dict[str, int]
) -> tuple[list[AccountFacts], set]:
    """Facts of the accounts where a rule fires with no unresolved flag (or a snooze that has run out).

    Returns those facts and the (rule id, account id) pairs concerned; every
    other firing already has its flag, which `flags_sync` would leave alone.
    """
    from lifecycle.flags.rules_sql import firing_pairs_sql

    pairs_sql, pairs_params = firing_pairs_sql(rules, today=day, cadences=cadences, facts_from=SCORED_FACTS)
    if not pairs_sql:
        return [], set()
    wake_before = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    # Said again on the flags (already true of the pairs) so only this chunk's flags are read.
    in_scope, scope_params = _scope_sql(scope, "flag.account_id")
    with connection.cursor() as cursor:
        _execute(
            cursor,
            "red flags",
            f"""
            SELECT fired.rule_id, fired.account_id FROM ({pairs_sql}) AS fired
            WHERE NOT EXISTS (
                SELECT 1 FROM {_table(RedFlag)} AS flag
                WHERE flag.rule_id = fired.rule_id AND flag.account_id = fired.account_id
                  AND flag.status = ANY(%s)
                  AND NOT (flag.status = %s AND flag.snoozed_until < %s)
                  AND {in_scope}
            )
            """,
            [*pairs_params, list(UNRESOLVED), FlagStatus.SNOOZED, wake_before, *scope_params],
        )
        pairs = {(rule_id, account_id) for rule_id, account_id in cursor.fetchall()}
        if not pairs:
            return [], pairs
        _execute(
            cursor,
            "red flags",
            f"SELECT {', '.join(FACT_COLUMNS)} FROM {SCORED_FACTS} AS facts WHERE account_id = ANY(%s)",
            [sorted({account_id for _, account_id in pairs})],
        )
        facts = [_facts_from_row(row) for row in cursor.fetchall()]
    return facts, pairs


def _facts_from_row(row: tuple) -> AccountFacts:
    values = dict(zip(FACT_COLUMNS, row, strict=True))
    for name in ("score", "score_7d_ago"):
        if values[name] is not None:
            values[name] = float(values[name])
    return AccountFacts(**values)
