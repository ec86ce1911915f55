"""The import's set-based writes that the ORM can only do row by row: history rows copied from the accounts just
written (INSERT ... SELECT), and tag links in one multi-row INSERT. Plain SQL both databases run; the import's
tests write through both, so a column added to these tables without a database default fails them at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection

from accounts.models import TERMS_FIELDS, Account, AccountTerms, TermsSource


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(["%s"] * len(ids))


def terms_copy(account_ids: Sequence[int], *, effective_at: dt.datetime, actor_id: int | None) -> None:
    """One AccountTerms row per account, holding the terms it has now (source: imported)."""
    if not account_ids:
        return
    columns = ", ".join(TERMS_FIELDS)
    sql = (
        f"INSERT INTO {AccountTerms._meta.db_table} (account_id, effective_at, recorded_by_id, source, {columns}) "
        f"SELECT id, %s, %s, %s, {columns} FROM {Account._meta.db_table} WHERE id IN ({_ids(account_ids)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [effective_at, actor_id, TermsSource.IMPORTED, *account_ids])


def tag_links(pairs: Sequence[tuple[int, int]]) -> None:
    """Link accounts to tags: (account id, tag id) pairs, in one INSERT per 5,000."""
    table = Account.tags.through._meta.db_table
    for start in range(0, len(pairs), 5000):
        batch = pairs[start : start + 5000]
        values = ", ".join(["(%s, %s)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (account_id, tag_id) VALUES {values}",
                [value for pair in batch for value in pair],
            )
