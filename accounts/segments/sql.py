"""The bulk apply's history and audit records, written with INSERT ... SELECT from the accounts being moved.

The accounts come from the queryset the preview and the apply's UPDATE read (services._moving):
the rules' CASE (accounts.segments.rules) gives each one its new tier and the rule that decided.
Django compiles that queryset for the database at hand; it is read here as a derived table, so each
insert is one statement whatever the number of accounts, and no row travels to Python and back.
Plain SQL around it that SQLite and PostgreSQL both run; the tier rules' tests write through both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONArray, JSONObject

from accounts.models import TERMS_FIELDS, AccountTerms, AuditAction, AuditEvent, TermsSource
from accounts.sql import ACCOUNT_SUBJECT, AUDIT_COLUMNS, insert_into, quote

# The account columns the history copies as they are (the tier is the new one).
KEPT_TERMS = tuple(name for name in TERMS_FIELDS if name != "tier")
TERMS_COLUMNS = ("account", "effective_at", "recorded_by", "source", *KEPT_TERMS, "tier")


def _derived(moving: QuerySet[Any]) -> tuple[str, list[Any]]:
    """`moving` (annotated with `rule_tier` and `rule_id`) as a SELECT naming its columns: the account's id,
    its tier before, the new one, the deciding rule, the terms kept, and the audit's `changes`."""
    rows = moving.order_by().values(
        "id",
        "tier",
        "rule_tier",
        "rule_id",
        *KEPT_TERMS,
        changes=JSONObject(tier=JSONArray(F("tier"), F("rule_tier"))),
    )
    sql, params = rows.query.get_compiler(connection=connection).as_sql()
    return sql, list(params)


def locked_only(moving: QuerySet[Any], ids: Sequence[int]) -> QuerySet[Any]:
    """`moving` cut down to the accounts locked and counted (`ids`, ascending), so the records, the UPDATE and
    what the caller is told name the same accounts even if, say, a new exchange rate committed meanwhile makes
    another account move.

    PostgreSQL: those ids exactly. SQLite: their range; its transaction holds the write lock from its BEGIN
    (transaction_mode IMMEDIATE), so no other write lands between the statements.
    """
    if connection.vendor == "postgresql":
        return moving.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (list(ids),)))
    return moving.filter(pk__gte=ids[0], pk__lte=ids[-1])


def moves_record(
    moving: QuerySet[Any],
    *,
    now: dt.datetime,
    actor_id: int,
    actor_name: str,
    reasons: Mapping[int, str],
) -> None:
    """For each account of `moving`, before its tier is updated: a history row with the new tier and its
    terms as they are, and an audit record of the tier from → to with the reason of the rule that decided
    (`reasons` by rule id). Two statements."""
    derived, derived_params = _derived(moving)
    stamp = connection.ops.adapt_datetimefield_value(now)
    reason_whens = " ".join("WHEN %s THEN %s" for _ in reasons)
    reason_params = [value for pair in reasons.items() for value in pair]
    kept = ", ".join(f"m.{quote(name)}" for name in KEPT_TERMS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{insert_into(AccountTerms, TERMS_COLUMNS)} "
            f"SELECT m.id, %s, %s, %s, {kept}, m.rule_tier FROM ({derived}) m",
            [stamp, actor_id, TermsSource.EDITED, *derived_params],
        )
        cursor.execute(
            f"{insert_into(AuditEvent, AUDIT_COLUMNS)} "
            f"SELECT m.id, %s, %s, %s, %s, m.id, m.changes, CASE m.rule_id {reason_whens} ELSE '' END, %s "
            f"FROM ({derived}) m",
            [
                actor_id,
                actor_name,
                AuditAction.TIER_CHANGED,
                ACCOUNT_SUBJECT,
                *reason_params,
                stamp,
                *derived_params,
            ],
        )
