"""The set-based refresh of accounts' ARR in the reporting currency.

Apart from the rate services (which import the audit helpers of accounts.services) so that the
account services, which call it whenever an ARR or a currency changes, can import it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import Account

from .models import ExchangeRate
from .selectors import reporting_currency


def converted_arr_refresh(*, account_ids: Iterable[int] | None = None, currencies: Iterable[str] | None = None) -> int:
    """Set every account's (or the given accounts' or currencies') ARR in the reporting currency.

    One UPDATE whatever the number of accounts: the reporting currency converts at 1, any other
    at the rate in force today, and a currency without one gets null. Only the accounts whose
    converted ARR changes are written: every index of the account table holds a copy of each
    row written, so rewriting an unchanged row costs as much as a changed one.
    Returns the number of accounts whose converted ARR changed.
    """
    conditions, params = _refresh_conditions(account_ids=account_ids, currencies=currencies)
    if conditions is None:
        return 0
    quote = connection.ops.quote_name
    accounts, rates = quote(Account._meta.db_table), quote(ExchangeRate._meta.db_table)
    currency, today = reporting_currency(), timezone.localdate()
    # The rates in force, one row per currency (a handful): the rates' index is walked once per currency,
    # not once per account.
    in_force = (
        f"SELECT currency, rate_to_reporting AS rate FROM {rates} AS candidate WHERE effective_on = ("
        f"SELECT MAX(effective_on) FROM {rates} AS other"
        " WHERE other.currency = candidate.currency AND other.effective_on <= %s)"
    )
    prefix_params: list[Any]
    lookup_params: list[Any]
    if connection.vendor == "postgresql":
        # A WITH query named twice (the new value and the comparison with the old) is computed once.
        prefix, prefix_params = f"WITH in_force AS ({in_force}) ", [today]
        rates_in_force, lookup_params = "in_force", []
    else:
        # Python's sqlite3 counts the rows written only by a statement that starts with UPDATE.
        prefix, prefix_params = "", []
        rates_in_force, lookup_params = f"({in_force}) AS in_force", [today]
    converted = (
        "CASE WHEN currency = %s THEN arr ELSE ROUND(arr * ("
        f"SELECT rate FROM {rates_in_force} WHERE in_force.currency = {accounts}.currency), 2) END"
    )
    converted_params = [currency, *lookup_params]
    # SQLite before 3.39 has no IS DISTINCT FROM; its IS NOT means the same (nulls compare as values).
    distinct_from = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    sql = (
        f"{prefix}UPDATE {accounts} SET arr_reporting = {converted}"
        f" WHERE arr_reporting {distinct_from} {converted}{''.join(f' AND {c}' for c in conditions)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*prefix_params, *converted_params, *converted_params, *params])
        return cursor.rowcount


def _refresh_conditions(
    *, account_ids: Iterable[int] | None, currencies: Iterable[str] | None
) -> tuple[list[str] | None, list[Any]]:
    """The WHERE conditions limiting the refresh and their parameters; None when an empty list leaves nothing to do."""
    conditions: list[str] = []
    params: list[Any] = []
    for column, values in (("id", account_ids), ("currency", currencies)):
        if values is None:
            continue
        listed: list[Any] = list(values)
        if not listed:
            return None, []
        conditions.append(f"{column} IN ({', '.join(['%s'] * len(listed))})")
        params.extend(listed)
    return conditions, params
