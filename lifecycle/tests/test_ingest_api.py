"""The signals API: bulk upserts (200 counts / 400 row errors / 403 / 413) and filtered, paginated lists."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.conftest import (  # noqa: F401
    admin,
    api,
    csm,
    manager,
    other_csm,
    other_team,
    other_team_account,
    own_account,
    team,
    teammate,
    teammate_account,
)
from accounts.tests.factories import AccountFactory
from lifecycle.models import Invoice, SupportTicket, SurveyResponse, UsageDaily
from lifecycle.signals import services as ingest

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
USAGE_URL = "/api/signals/usage/"


def usage_rows(accounts, days: int) -> list[dict]:
    return [
        {
            "account": account.pk,
            "day": (TODAY - dt.timedelta(days=offset)).isoformat(),
            "active_users": 20 + offset % 7,
            "key_events": 300 + offset,
            "licences_used": 25,
            "licences_owned": 30,
        }
        for account in accounts
        for offset in range(1, days + 1)
    ]


def test_the_urls_are_where_integrations_expect_them():
    assert reverse("api:signal-usage-list") == USAGE_URL
    assert reverse("api:signal-tickets-list") == "/api/signals/tickets/"
    assert reverse("api:signal-surveys-list") == "/api/signals/surveys/"
    assert reverse("api:signal-invoices-list") == "/api/signals/invoices/"


def test_an_admin_token_upserts_a_batch_and_gets_counts(api, admin, own_account):
    client = api(admin, auth="token")
    response = client.post(USAGE_URL, {"rows": usage_rows([own_account], 3)}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "kind": "usage",
        "dry_run": False,
        "accepted": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "accounts": 1,
    }
    again = client.post(USAGE_URL, {"rows": usage_rows([own_account], 3)}, format="json")
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 3)
    assert UsageDaily.objects.count() == 3


def test_bad_rows_answer_400_with_row_level_errors_and_write_nothing(api, admin, own_account):
    rows = usage_rows([own_account], 3)
    rows[1]["active_users"] = -1
    rows[2]["account"] = "nobody.example"
    response = api(admin).post(USAGE_URL, {"rows": rows}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "2 problem(s) found; nothing was written."
    assert body["errors"] == [
        {"index": 1, "field": "active_users", "message": "Cannot be negative (got -1)."},
        {"index": 2, "field": "account", "message": "No account has domain 'nobody.example'."},
    ]
    assert UsageDaily.objects.count() == 0


def test_a_body_without_a_rows_list_is_a_clear_400(api, admin):
    response = api(admin).post(USAGE_URL, [{"account": 1}], format="json")
    assert response.status_code == 400
    assert "rows" in response.json()["detail"]


def test_a_csm_cannot_ingest_for_someone_elses_account(api, csm, own_account, teammate_account):
    rows = usage_rows([own_account, teammate_account], 1)
    response = api(csm, auth="token").post(USAGE_URL, {"rows": rows}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {"index": 1, "field": "account", "message": "You cannot write signals for this account."}
    ]
    assert UsageDaily.objects.count() == 0


def test_a_csm_ingests_for_their_own_account(api, csm, own_account):
    response = api(csm).post(USAGE_URL, {"rows": usage_rows([own_account], 2)}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_callers_are_refused(api, own_account, method):
    client = api()
    response = getattr(client, method)(USAGE_URL, {"rows": usage_rows([own_account], 1)}, format="json")
    assert response.status_code in (401, 403)
    assert UsageDaily.objects.count() == 0


def test_more_than_ten_thousand_rows_is_413_with_a_clear_message(api, admin, own_account):
    rows = [{"account": own_account.pk}] * (ingest.MAX_ROWS + 1)
    response = api(admin).post(USAGE_URL, {"rows": rows}, format="json")
    assert response.status_code == 413
    assert response.json()["detail"] == "At most 10,000 rows per request (got 10,001); split the batch."


def test_a_dry_run_answers_counts_and_writes_nothing(api, admin, own_account):
    response = api(admin).post(f"{USAGE_URL}?dry_run=1", {"rows": usage_rows([own_account], 4)}, format="json")
    assert response.status_code == 200
    assert (response.json()["dry_run"], response.json()["created"]) == (True, 4)
    assert UsageDaily.objects.count() == 0


def test_five_thousand_usage_rows_in_one_request_with_queries_that_do_not_grow_per_row(api, admin, csm):
    accounts = [AccountFactory(owner=csm) for _ in range(50)]
    rows = usage_rows(accounts, 100)
    assert len(rows) == 5000
    client = api(admin, auth="token")
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(USAGE_URL, {"rows": rows}, format="json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 5000
    assert UsageDaily.objects.count() == 5000
    statements = [q["sql"] for q in queries.captured_queries]
    batch = min(ingest.bulk.WRITE_BATCH, connection.ops.bulk_batch_size(["a"] * 8, rows))  # account, day and six values
    usage_inserts = [sql for sql in statements if sql.startswith('INSERT INTO "lifecycle_usagedaily"')]
    assert len(usage_inserts) == -(-5000 // batch)
    # Token lookup, the accounts, the existing rows; then the inserts, the recompute request and savepoints.
    assert [sql.split()[0] for sql in statements].count("SELECT") == 3
    assert elapsed < 20, f"5,000 rows took {elapsed:.1f} s"

    # Resending the same 5,000 rows reads and writes nothing else: a pinned count.
    with CaptureQueriesContext(connection) as resend:
        response = client.post(USAGE_URL, {"rows": rows}, format="json")
    assert response.json()["unchanged"] == 5000
    assert [q for q in resend.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))].__len__() == 3


def test_tickets_surveys_and_invoices_endpoints_upsert_too(api, admin, own_account):
    client = api(admin, auth="token")
    ticket = {
        "account": own_account.domain,
        "external_id": "T-1",
        "severity": "urgent",
        "opened_at": "2025-05-01T08:00",
    }
    survey = {
        "account": own_account.pk,
        "external_id": "S-1",
        "kind": "nps",
        "score": 4,
        "comment": "Reports are slow",
        "responded_at": "2025-05-02T10:00:00Z",
    }
    invoice = {"account": own_account.pk, "external_id": "I-1", "issued_on": "2025-05-31", "amount": "4200.00"}
    assert client.post("/api/signals/tickets/", {"rows": [ticket]}, format="json").status_code == 200
    assert client.post("/api/signals/surveys/", {"rows": [survey]}, format="json").status_code == 200
    assert client.post("/api/signals/invoices/", {"rows": [invoice]}, format="json").status_code == 200
    assert (SupportTicket.objects.count(), SurveyResponse.objects.count(), Invoice.objects.count()) == (1, 1, 1)


def test_lists_filter_by_account_and_date_and_paginate_with_a_pinned_query_count(
    api, admin, csm, own_account, teammate_account, django_assert_num_queries
):
    ingest.usage_ingest(actor=admin, rows=usage_rows([own_account, teammate_account], 30))
    client = api(csm)
    since = (TODAY - dt.timedelta(days=10)).isoformat()
    with django_assert_num_queries(5):  # session, user, the account filter, count (asked for), page
        response = client.get(USAGE_URL, {"account": own_account.pk, "since": since, "page_size": 5, "count": "true"})
    body = response.json()
    assert body["count"] == 10
    assert len(body["results"]) == 5
    assert {row["account"] for row in body["results"]} == {own_account.pk}
    assert body["results"][0]["day"] == (TODAY - dt.timedelta(days=1)).isoformat()
    assert body["next"]

    ingest.usage_ingest(actor=admin, rows=usage_rows([own_account], 60)[30:])
    with django_assert_num_queries(4):  # keyset pages count nothing unless asked
        client.get(USAGE_URL, {"account": own_account.pk})


def test_ticket_list_filters_open_tickets_and_the_day_window(api, admin, own_account):
    ingest.tickets_ingest(
        actor=admin,
        rows=[
            {"account": own_account.pk, "external_id": "1", "opened_at": "2025-05-01T23:30:00Z"},
            {
                "account": own_account.pk,
                "external_id": "2",
                "opened_at": "2025-05-02T08:00:00Z",
                "closed_at": "2025-05-03",
            },
            {"account": own_account.pk, "external_id": "3", "opened_at": "2025-05-03T08:00:00Z"},
        ],
    )
    client = api(admin)
    window = client.get("/api/signals/tickets/", {"since": "2025-05-01", "until": "2025-05-02"}).json()
    assert sorted(row["external_id"] for row in window["results"]) == ["1", "2"]
    still_open = client.get("/api/signals/tickets/", {"open": "true"}).json()
    assert sorted(row["external_id"] for row in still_open["results"]) == ["1", "3"]


def test_the_schema_documents_the_bulk_request_and_responses(api, admin):
    schema = api(admin).get("/api/schema/", {"format": "json"}).json()
    post = schema["paths"]["/api/signals/usage/"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/UsageBatchRequest")
    # Its own answers, and those every operation with a body may give (core.api's schema hook).
    assert {"200", "400", "401", "403", "413", "415", "429"} <= set(post["responses"])
    rows = schema["components"]["schemas"]["UsageBatchRequest"]["properties"]["rows"]
    assert rows["items"]["$ref"].endswith("/UsageRowRequest")
