"""A chunk of rows costs the same queries however many rows it holds: the import is set-based."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.imports.services import import_rows
from accounts.models import Account

pytestmark = pytest.mark.django_db


def rows(csm, count: int, *, start: int = 0, arr: int = 1000) -> list[dict]:
    return [
        {
            "external_id": f"CRM-{n}",
            "name": f"Company {n}",
            "domain": f"c{n}.example",
            "owner": csm.email,
            "arr": arr,
            "industry": "software",
            "stage": "adoption",
            "stage_entered_at": "2024-01-01",
            "tags": ["Imported", f"Cohort {n % 3}"],
        }
        for n in range(start, start + count)
    ]


def queries(actor, batch: list[dict], *, dry_run: bool = False) -> int:
    with CaptureQueriesContext(connection) as captured:
        tally = import_rows(actor=actor, kind="accounts", rows=batch, dry_run=dry_run)
    assert tally.ok, tally.errors
    return len(captured.captured_queries)


# SQLite takes at most 999 parameters a statement, so Django splits a bulk insert of 25 columns after 39 rows; on
# PostgreSQL a chunk of 2,000 rows is one statement. The sizes stay under that split.
SMALL, LARGE = 5, 35


def test_creating_and_updating_costs_the_same_queries_for_few_or_many_rows(admin, csm):
    queries(admin, rows(csm, 3, start=1000))  # the tags exist from here on
    created_small = queries(admin, rows(csm, SMALL))
    created_large = queries(admin, rows(csm, LARGE, start=100))
    assert created_small == created_large
    updated_small = queries(admin, rows(csm, SMALL, arr=2000))
    updated_large = queries(admin, rows(csm, LARGE, start=100, arr=2000))
    assert updated_small == updated_large
    assert Account.objects.filter(arr=2000).count() == SMALL + LARGE


def test_a_dry_run_of_a_chunk_reads_in_fixed_queries(admin, csm, django_assert_num_queries):
    queries(admin, rows(csm, 50))
    # Staff and teams, tags, tier rules; then per chunk the ids of the accounts the rows name, the accounts, their tags.
    # PostgreSQL's JIT is switched off for the import's statements first (accounts.imports.sql.without_jit).
    with django_assert_num_queries(10 if connection.vendor == "postgresql" else 9):
        import_rows(actor=admin, kind="accounts", rows=rows(csm, 300), dry_run=True)
