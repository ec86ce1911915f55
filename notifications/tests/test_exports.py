"""The failed deliveries export: admins only, webhook secrets kept out, formula cells neutralised, a fixed query count."""

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
)
from core.csv_export import BOM
from notifications.models import Delivery
from notifications.tests.factories import RedFlagFactory

pytestmark = pytest.mark.django_db

URL = reverse("deliveries-failed")


def table(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.DictReader(io.StringIO(body.removeprefix(BOM))))


def failed(n: int, **fields) -> list[Delivery]:
    return Delivery.objects.bulk_create(
        [
            Delivery(
                channel="webhook",
                target="https://hooks.chat.example/services/T1/B2/secret",
                body="{}",
                key=f"k-{fields.get('subject', '')}-{i}",
                status="failed",
                attempts=6,
                last_error="HTTP 404 Not Found: no_service",
                **fields,
            )
            for i in range(n)
        ]
    )


def test_admins_export_every_failure_with_labels_and_without_the_webhook_secret(client, admin, own_account):
    flag = RedFlagFactory(account=own_account)
    failed(1, flag=flag)
    failed(1, subject='=HYPERLINK("http://x","y")')
    client.force_login(admin)
    response = client.get(URL, {"format": "csv"})
    assert "baton-failed-deliveries-" in response["Content-Disposition"]
    rows = table(response)
    assert len(rows) == 2
    about_flag = next(row for row in rows if row["Account"])
    assert (about_flag["Channel"], about_flag["Account"], about_flag["About"]) == (
        "Chat webhook",
        "Acme Robotics",
        flag.rule.name,
    )
    assert about_flag["To"] == "hooks.chat.example/…" and about_flag["Attempts"] == "6"
    assert "secret" not in b"".join(client.get(URL, {"format": "csv"}).streaming_content).decode()
    other = next(row for row in rows if not row["Account"])
    assert other["About"] == '\'=HYPERLINK("http://x","y")'


def test_a_csm_gets_no_file(client, csm):
    failed(1)
    client.force_login(csm)
    assert client.get(URL, {"format": "csv"}).status_code == 403


def test_the_page_links_its_export(client, admin):
    client.force_login(admin)
    assert 'id="export-csv" href="?format=csv">Export CSV</a>' in client.get(URL).content.decode()


@pytest.mark.parametrize("n", [2, 30])
def test_a_fixed_number_of_queries_however_many_failures(client, admin, own_account, django_assert_num_queries, n):
    flag = RedFlagFactory(account=own_account)
    failed(n, flag=flag)
    client.force_login(admin)
    # session, user, the failures with their flag, rule, account, recipient and customer email
    with django_assert_num_queries(3):
        rows = table(client.get(URL, {"format": "csv"}))
    assert len(rows) == n
