"""The signals export through the shared CSV writer: the import's columns (so the file goes back in),
a byte-order mark, formula cells neutralised, numbers kept numbers, and a fixed number of queries."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from accounts.tests.conftest import (  # noqa: F401
    admin,
    csm,
    own_account,
    team,
    teammate,
    teammate_account,
)
from accounts.tests.factories import AccountFactory
from core.csv_export import BOM
from lifecycle.signals import services as ingest

pytestmark = pytest.mark.django_db

EXPORT = "/signals/export/"


def download(client, **params) -> tuple[str, list[list[str]]]:
    response = client.get(reverse("signal-export"), params)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith(BOM)
    return text, list(csv.reader(io.StringIO(text.removeprefix(BOM))))


def test_the_export_url_is_stable():
    assert reverse("signal-export") == EXPORT


def test_text_a_spreadsheet_would_run_is_neutralised_and_numbers_are_not(client, admin, own_account):
    ingest.tickets_ingest(
        actor=admin,
        rows=[
            {
                "account": own_account.pk,
                "external_id": "T-1",
                "subject": '=HYPERLINK("http://x","y")',
                "severity": "high",
                "opened_at": "2025-05-01T09:30:00+00:00",
                "time_spent_minutes": 45,
            },
            {"account": own_account.pk, "external_id": "@SUM(A1)", "subject": "-1+2", "opened_at": "2025-05-02"},
        ],
    )
    client.force_login(admin)
    _, rows = download(client, kind="tickets")
    assert rows[0] == ["account", "external_id", "subject", "severity", "opened_at", "closed_at", "time_spent_minutes"]
    by_id = {row[1]: row for row in rows[1:]}
    first = by_id["T-1"]
    assert first[2] == '\'=HYPERLINK("http://x","y")'
    assert first[4] == "2025-05-01T09:30:00+00:00"  # in full, as the import reads it
    assert first[6] == "45"
    assert by_id["'@SUM(A1)"][2] == "'-1+2"


def test_a_neutral_export_goes_back_in_unchanged(client, admin, own_account):
    ingest.invoices_ingest(
        actor=admin,
        rows=[{"account": own_account.pk, "external_id": "INV-1", "issued_on": "2025-04-01", "amount": "1250.50"}],
    )
    client.force_login(admin)
    text, rows = download(client, kind="invoices", account=own_account.pk)
    assert rows[1][3] == "1250.50"
    again = ingest.csv_import(kind="invoices", text=text.removeprefix(BOM), actor=admin, dry_run=True)
    assert (again.ok, again.unchanged) == (True, 1)


@pytest.mark.parametrize("n", [3, 40])
def test_a_fixed_number_of_queries_however_many_rows(client, admin, django_assert_num_queries, n):
    accounts = AccountFactory.create_batch(n)
    ingest.invoices_ingest(
        actor=admin,
        rows=[
            {"account": a.pk, "external_id": f"INV-{a.pk}", "issued_on": "2025-04-01", "amount": "10.00"}
            for a in accounts
        ],
    )
    client.force_login(admin)
    # session, user, the invoices
    with django_assert_num_queries(3):
        _, rows = download(client, kind="invoices")
    assert len(rows) == n + 1


def test_the_import_page_links_the_export(client, csm):
    client.force_login(csm)
    page = client.get(reverse("signal-import")).content.decode()
    assert f'action="{EXPORT}"' in page and 'id="export-form"' in page
