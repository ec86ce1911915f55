"""The import's set-based writes that the ORM can only do row by row.

New accounts go through a staging table: the chunk's rows, with the ids reserved for them, are
loaded into it in one statement (COPY on PostgreSQL, one executemany on SQLite), then one
INSERT ... SELECT writes them to the accounts table, computing their ARR in the reporting
currency and their tier from the rules in the same statement, with the expressions the rest of
Baton uses for both (accounts.money.refresh and accounts.segments.rules), compiled by Django for
the database at hand; their history rows and audit records follow, one INSERT ... SELECT each
from the staging table and the accounts just written (no row travels back to Python). Changed
accounts are staged alike and written with one UPDATE; their history rows, and every tag link,
are loaded like the staging rows. Plain SQL both databases run; the import's tests write through
both, so a column added to these tables without a database default fails them at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import Case, CharField, DecimalField, ExpressionWrapper, F, Value, When
from django.db.models.expressions import BaseExpression
from django.db.models.functions import Coalesce, NullIf, Round
from django.db.models.sql import Query

from accounts.models import TERMS_FIELDS, Account, AccountTerms, AuditAction, AuditEvent, TermsSource, TierSource
from accounts.money.selectors import rate_in_force_subquery, reporting_currency
from accounts.segments.models import TierRule
from accounts.segments.rules import NO_RATE, rule_tier_expression
from accounts.sql import ACCOUNT_SUBJECT, AUDIT_COLUMNS, insert_into, quote

STAGE_TABLE = "accounts_import_stage"
# The account columns an import writes from a row (owner and pool as ids), in the staging tables' order (after
# `id`, the account's). accounts.py reads and compares the same columns (its STORED).
STAGED = (
    "external_id",
    "name",
    "domain",
    "industry",
    "region",
    "employee_band",
    "arr",
    "currency",
    "contract_start",
    "renewal_date",
    "tier",
    "tier_source",
    "fiscal_year_start_month",
    "why_they_bought",
    "tech_stack_notes",
    "owner_id",
    "pool_id",
    "coverage",
    "stage",
    "stage_entered_at",
)


def rows_load(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, text: Sequence[str] = ()) -> None:
    """Insert `rows` (tuples in `columns` order, None for NULL) into `table` in one statement.

    On PostgreSQL through COPY in CSV form: an empty value is NULL there except in the `text`
    columns, where it is the empty string (FORCE_NOT_NULL), so every column that may hold an
    empty string must be named in `text`. Moments must already be text (`moment_text`).
    """
    names = ", ".join(quote(name) for name in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            buffer.seek(0)
            options = "FORMAT csv"
            if text:
                options += f", FORCE_NOT_NULL ({', '.join(quote(name) for name in text)})"
            cursor.copy_expert(f"COPY {quote(table)} ({names}) FROM STDIN WITH ({options})", buffer)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({placeholders})", list(rows))


def adapt_moment(value: dt.datetime | None) -> Any:
    """A moment as a statement's parameter (SQLite: naive UTC text, as Django stores it; PostgreSQL: as it is)."""
    return connection.ops.adapt_datetimefield_value(value)


def moment_text(value: dt.datetime) -> str:
    """A moment as text for `rows_load`: written once for a value many rows share, not by the CSV writer for each."""
    if connection.vendor == "postgresql":
        return value.isoformat()
    return str(connection.ops.adapt_datetimefield_value(value))


def converted_arr() -> Case:
    """ARR in the reporting currency as accounts.money.refresh.converted_arr_refresh computes it: the reporting
    currency at 1, any other at the rate in force today, null without one (a test holds the two to the same result)."""
    output = DecimalField(max_digits=16, decimal_places=2)
    converted = ExpressionWrapper(Round(F("arr") * rate_in_force_subquery(), 2), output_field=output)
    return Case(When(currency=reporting_currency(), then=F("arr")), default=converted, output_field=output)


def _compiled(expression: BaseExpression | F) -> tuple[str, list[Any]]:
    """An expression over Account's columns as SQL naming them "<accounts table>".<column>, and its parameters."""
    query = Query(Account)
    resolved = expression.resolve_expression(query, allow_joins=False)
    sql, params = query.get_compiler(connection=connection).compile(resolved)
    return sql, list(params)


def _stage_create(table: str, columns: Sequence[str], extra: str = "") -> None:
    """A temporary table (this connection's alone) whose columns are the account table's own, typed alike, so an
    expression compiled for the account table reads them the same way on both databases."""
    names = ("owner" if name == "owner_id" else "pool" if name == "pool_id" else name for name in columns)
    fields = [Account._meta.get_field(name) for name in names]
    typed = ", ".join(f"{quote(name)} {field.db_type(connection)}" for name, field in zip(columns, fields, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(table)}")
        cursor.execute(f"CREATE TEMPORARY TABLE {quote(table)} (id bigint NOT NULL, {typed}{extra})")


def _stage_empty(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {quote(table)}" if connection.vendor == "postgresql" else f"DELETE FROM {quote(table)}"
        )


def stage_create() -> None:
    """The staging tables for new accounts (`id` reserved for the account, `line` the row's) and changed ones."""
    _stage_create(STAGE_TABLE, STAGED, ", line bigint NOT NULL")
    _stage_create(
        UPDATE_TABLE, (*UPDATED, "arr_reporting"), ", reconvert boolean NOT NULL, rules_decide boolean NOT NULL"
    )


def stage_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(STAGE_TABLE)}")
        cursor.execute(f"DROP TABLE IF EXISTS {quote(UPDATE_TABLE)}")


def _tier(rules: Sequence[TierRule]) -> tuple[str, list[Any]]:
    """The tier a staged row ends with: the rules' when they decide it and give one, else the row's own."""
    tier: BaseExpression | F = F("tier")
    if rules:
        ruled = Coalesce(NullIf(rule_tier_expression(rules), Value(NO_RATE)), F("tier"), output_field=CharField())
        tier = Case(When(tier_source=TierSource.RULES, then=ruled), default=F("tier"), output_field=CharField())
    return _compiled(tier)


STAGED_TEXT = (
    "external_id",
    "name",
    "domain",
    "industry",
    "region",
    "employee_band",
    "currency",
    "tier",
    "tier_source",
    "why_they_bought",
    "tech_stack_notes",
    "coverage",
    "stage",
)


def account_ids_reserve(count: int) -> list[int]:
    """Ids for `count` accounts about to be written: staged with their rows, so the accounts' history, audit
    records and tag links are written from the staging table and the file's rows, not matched back to the
    accounts by key after the INSERT.

    PostgreSQL: taken from the table's own sequence, as an INSERT would. SQLite: past the last id the table
    ever gave (AUTOINCREMENT never gives one twice); the import's transaction holds the database's write lock
    from its start (transaction_mode IMMEDIATE), so no one else takes them meanwhile.
    """
    if count == 0:
        return []
    table = Account._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence looked up once: named inside nextval(), the lookup ran again for every id (ten
            # times the cost of taking the ids).
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            (sequence,) = cursor.fetchone()
            cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
            return sorted(row[0] for row in cursor.fetchall())
        cursor.execute(
            f"SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"COALESCE((SELECT max(id) FROM {quote(table)}), 0))",
            [table],
        )
        (last,) = cursor.fetchone()
        return list(range(last + 1, last + 1 + count))


# PostgreSQL would otherwise merge the subquery computing the converted ARR into the INSERT's SELECT, and
# evaluate the exchange-rate lookup again for every tier rule that reads the converted ARR.
_NOT_MERGED = {"postgresql": " OFFSET 0"}


def accounts_insert(
    rows: Iterable[Sequence[Any]],
    *,
    rules: Sequence[TierRule],
    now: dt.datetime,
    actor_id: int,
    actor_name: str,
    reason: str,
) -> None:
    """Write the staged new accounts (tuples of reserved id, line and STAGED), their history and audit records.

    Their converted ARR is the money module's expression (the rate in force today, null without
    one) and their tier, when the row leaves it to the rules, what the rules give (the row's tier
    when no rule matches or a rule needs a missing rate). Both expressions name the account
    table's columns: they read the staged rows under that table's name, so the same SQL that
    judges one account judges the chunk. The history holds the terms as written, the tier as
    the rules left it; each audit record's reason is `reason` followed by the row's line, and
    says when the rules moved the tier from the row's.
    """
    table = quote(STAGE_TABLE)
    alias = quote(Account._meta.db_table)
    _stage_empty(STAGE_TABLE)
    rows_load(STAGE_TABLE, ("id", "line", *STAGED), rows, text=STAGED_TEXT)
    converted_sql, converted_params = _compiled(converted_arr())
    tier_sql, tier_params = _tier(rules)
    kept = [name for name in STAGED if name != "tier"]
    written = ["id", *kept, "tier", "arr_reporting", "tier_reason", "created_at", "updated_at"]
    staged = ", ".join(f"{alias}.{quote(name)}" for name in ("id", *STAGED))
    converted = (
        f"(SELECT {staged}, {converted_sql} AS arr_reporting FROM {table} {alias}"
        f"{_NOT_MERGED.get(connection.vendor, '')}) {alias}"
    )
    stamp = adapt_moment(now)
    changes_type = AuditEvent._meta.get_field("changes").db_type(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {alias} ({', '.join(quote(name) for name in written)}) "
            f"SELECT {', '.join(f'{alias}.{quote(name)}' for name in ('id', *kept))}, {tier_sql}, "
            f"{alias}.arr_reporting, '', %s, %s FROM {converted}",
            [*tier_params, stamp, stamp, *converted_params],
        )
        cursor.execute(
            f"{insert_into(AccountTerms, TERMS_COLUMNS)} "
            f"SELECT a.id, %s, %s, %s, {', '.join(f'a.{quote(name)}' for name in TERMS_FIELDS)} "
            f"FROM {table} s JOIN {alias} a ON a.id = s.id",
            [stamp, actor_id, TermsSource.IMPORTED],
        )
        cursor.execute(
            f"{insert_into(AuditEvent, AUDIT_COLUMNS)} "
            f"SELECT a.id, %s, %s, %s, %s, a.id, CAST(%s AS {changes_type}), "
            f"CAST(%s AS text) || CAST(s.line AS text) || CASE WHEN a.tier <> s.tier THEN %s ELSE '' END, %s "
            f"FROM {table} s JOIN {alias} a ON a.id = s.id",
            [
                actor_id,
                actor_name,
                AuditAction.ACCOUNT_CREATED,
                ACCOUNT_SUBJECT,
                "{}",
                reason,
                ". Tier from the rules",
                stamp,
            ],
        )


UPDATE_TABLE = "accounts_import_update"
# The account columns an import may change, in the changes' staging table's order (after the account's `id`).
UPDATED = tuple(name for name in STAGED if name not in ("stage", "stage_entered_at"))


def accounts_update(rows: Sequence[Sequence[Any]], *, rules: Sequence[TierRule], now: dt.datetime) -> dict[int, str]:
    """Write changed accounts in one UPDATE; returns the tier of each account whose tier the rules decided.

    `rows` hold the account's id, its values after the import (UPDATED; unchanged ones as they are),
    its converted ARR as stored, whether its ARR or currency changed (`reconvert`: converted again at the
    rate in force) and whether the rules decide its tier again (`rules_decide`: they read a value that
    changed). Converted ARR and tier are computed on the staged rows with the same expressions as for
    new accounts, then every column is copied over in one statement.
    """
    table = quote(UPDATE_TABLE)
    alias = quote(Account._meta.db_table)
    _stage_empty(UPDATE_TABLE)
    rows_load(UPDATE_TABLE, ("id", *UPDATED, "arr_reporting", "reconvert", "rules_decide"), rows, text=UPDATED_TEXT)
    converted_sql, converted_params = _compiled(converted_arr())
    ruled: dict[int, str] = {}
    columns = [*UPDATED, "arr_reporting"]
    assignments = ", ".join(f"{quote(name)} = s.{quote(name)}" for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS {alias} SET arr_reporting = {converted_sql} WHERE reconvert", converted_params
        )
        if rules:
            tier_sql, tier_params = _tier(rules)
            cursor.execute(
                f"UPDATE {table} AS {alias} SET tier = {tier_sql} WHERE rules_decide RETURNING id, tier", tier_params
            )
            ruled = dict(cursor.fetchall())
        cursor.execute(
            f"UPDATE {alias} SET {assignments}, updated_at = %s FROM {table} s WHERE {alias}.id = s.id",
            [adapt_moment(now)],
        )
    return ruled


UPDATED_TEXT = tuple(name for name in STAGED_TEXT if name not in ("stage",))


TERMS_COLUMNS = ("account_id", "effective_at", "recorded_by_id", "source", *TERMS_FIELDS)


def terms_load(rows: Sequence[Sequence[Any]]) -> None:
    """History rows as tuples in TERMS_COLUMNS order: the terms the accounts were just written with."""
    if rows:
        rows_load(AccountTerms._meta.db_table, TERMS_COLUMNS, rows, text=("source", "currency", "tier"))


@contextmanager
def without_jit() -> Iterator[None]:
    """PostgreSQL's JIT compilation off for the import's statements.

    They are many short ones, but on a table without statistics yet (a new install's first import)
    the planner's estimates pass the JIT threshold and compiling took half a second a statement,
    for a lookup that takes milliseconds. Inside a transaction for its remainder (SET LOCAL),
    otherwise until the block ends.
    """
    if connection.vendor != "postgresql":
        yield
        return
    before = None
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute("SET LOCAL jit = off")
        else:
            cursor.execute("SELECT current_setting('jit')")
            (before,) = cursor.fetchone()
            cursor.execute("SET jit = off")
    try:
        yield
    finally:
        if before is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('jit', %s, false)", [before])


def tag_links(pairs: Sequence[tuple[int, int]]) -> None:
    """Link accounts to tags: (account id, tag id) pairs, in one statement."""
    if pairs:
        rows_load(Account.tags.through._meta.db_table, ("account_id", "tag_id"), pairs)


def audits_load(rows: Sequence[Sequence[Any]]) -> None:
    """Audit records as tuples in AUDIT_COLUMNS order, `changes` as JSON text, in one statement."""
    if rows:
        rows_load(
            AuditEvent._meta.db_table, AUDIT_COLUMNS, rows, text=("actor_name", "action", "subject_type", "reason")
        )
