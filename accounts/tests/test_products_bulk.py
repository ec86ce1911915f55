"""POST /api/entitlements/bulk/: up to 10,000 rows checked as a whole, then upserted on (account, product, start).

Any bad row means nothing is written and every problem comes back with its row's index and
field; rows for accounts the caller may not change answer 403; `?dry_run=1` reports what would
change and writes nothing. The work is set-based: the same reads whatever the number of rows.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.events import AccountChanged
from accounts.models import AuditEvent, Entitlement
from accounts.products import services
from accounts.tests.factories import AccountFactory, EntitlementFactory, ProductFactory
from core import events

pytestmark = pytest.mark.django_db

BULK = reverse("api:entitlement-bulk")
TODAY = timezone.localdate()
START = TODAY.replace(month=1, day=1)


@pytest.fixture
def catalogue():
    return {key: ProductFactory(key=key, name=key.title()) for key in ("core", "reports", "mobile")}


def row(account, product="core", **values) -> dict:
    return {"account": account.pk, "product": product, "seats": 100, "starts_on": START.isoformat(), **values}


def post(client, rows, **params):
    url = BULK + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
    return client.post(url, {"rows": rows}, format="json")


def stored() -> set[tuple]:
    return set(Entitlement.objects.values_list("account_id", "product__key", "seats", "starts_on", "ends_on"))


def test_a_batch_is_added_then_resending_it_changes_nothing_and_a_change_updates(api, csm, own_account, catalogue):
    rows = [
        row(own_account, "core", seats=120),
        {"account": "ACME.example", "product": " Reports ", "seats": "40", "starts_on": START.isoformat()},
        row(own_account, "mobile", seats=None, ends_on=(START + dt.timedelta(days=89)).isoformat()),
    ]
    client = api(csm, auth="token")
    response = post(client, rows)
    assert response.status_code == 200
    assert response.json() == {
        "dry_run": False,
        "accepted": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "accounts": 1,
    }
    assert stored() == {
        (own_account.pk, "core", 120, START, None),
        (own_account.pk, "reports", 40, START, None),
        (own_account.pk, "mobile", None, START, START + dt.timedelta(days=89)),
    }
    assert AuditEvent.objects.filter(subject_type="entitlement", actor=csm).count() == 3

    assert post(client, rows).json()["unchanged"] == 3
    assert AuditEvent.objects.count() == 3  # nothing touched, nothing audited

    rows[0]["seats"] = 150
    rows[2]["ends_on"] = None
    response = post(client, rows)
    assert response.json() == {
        "dry_run": False,
        "accepted": 3,
        "created": 0,
        "updated": 2,
        "unchanged": 1,
        "accounts": 1,
    }
    assert (own_account.pk, "core", 150, START, None) in stored()
    assert (own_account.pk, "mobile", None, START, None) in stored()
    update = AuditEvent.objects.filter(changes__has_key="seats").order_by("-pk").first()
    assert update.changes == {"seats": [120, 150]} and update.account == own_account


def test_a_dry_run_reports_the_counts_and_writes_nothing(api, csm, own_account, catalogue, nothing_written):
    EntitlementFactory(account=own_account, product=catalogue["core"], seats=100, starts_on=START)
    rows = [row(own_account, "core", seats=100), row(own_account, "reports")]
    before = stored()
    with nothing_written():
        response = post(api(csm), rows, dry_run=1)
    assert response.status_code == 200
    assert response.json() == {
        "dry_run": True,
        "accepted": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 1,
        "accounts": 1,
    }
    assert stored() == before


def test_every_problem_comes_back_with_its_row_and_field_and_nothing_is_written(
    api, csm, own_account, catalogue, nothing_written
):
    rows = [
        row(own_account, "core"),  # fine on its own
        row(own_account, "analytics"),
        row(own_account, "reports", seats=0),
        row(own_account, "mobile", starts_on="01/02/2025"),
        row(own_account, "mobile", starts_on=START.isoformat(), ends_on=(START - dt.timedelta(days=1)).isoformat()),
        {"account": 99999, "product": "core", "starts_on": START.isoformat()},
        {"account": "nowhere.example", "product": "core", "starts_on": START.isoformat()},
        row(own_account, "core"),
        {"product": "core", "starts_on": START.isoformat(), "colour": "red"},
        "not a row",
        row(own_account, "reports", seats=True, starts_on=None),
    ]
    with nothing_written():
        response = post(api(csm), rows)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == f"{len(body['errors'])} problem(s) found; nothing was written."
    assert [(error["index"], error["field"]) for error in body["errors"]] == [
        (1, "product"),
        (2, "seats"),
        (3, "starts_on"),
        (4, "ends_on"),
        (5, "account"),
        (6, "account"),
        (7, "starts_on"),
        (8, "colour"),
        (8, "account"),
        (9, "row"),
        (10, "seats"),
        (10, "starts_on"),
    ]
    messages = {(error["index"], error["field"]): error["message"] for error in body["errors"]}
    assert messages[(1, "product")] == "No product has the key 'analytics': add it to the catalogue first."
    assert messages[(2, "seats")].startswith("At least 1 seat")
    assert messages[(3, "starts_on")] == "Use a date like 2025-03-31 (got '01/02/2025')."
    assert messages[(5, "account")] == "No account has id 99999."
    assert messages[(6, "account")] == "No account has domain 'nowhere.example'."
    assert messages[(7, "starts_on")] == "Row 0 has the same account, product and start."
    assert messages[(10, "starts_on")] == "This field is required."
    assert not Entitlement.objects.exists()


def test_periods_that_would_overlap_are_refused_in_the_batch_and_against_what_is_kept(api, csm, own_account, catalogue):
    EntitlementFactory(account=own_account, product=catalogue["core"], seats=100, starts_on=START)
    later = (START + dt.timedelta(days=30)).isoformat()
    response = post(
        api(csm),
        [
            row(own_account, "core", starts_on=later),  # the kept one runs on until further notice
            row(own_account, "mobile", ends_on=None),
            row(own_account, "mobile", starts_on=later),
        ],
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(error["index"], error["field"]) for error in errors] == [(0, "starts_on"), (2, "starts_on")]
    assert errors[0]["message"].startswith(f"Overlaps Core from {START.day} {START:%b %Y} until further notice")
    assert errors[1]["message"].startswith(f"Overlaps Mobile from {START.day} {START:%b %Y} until further notice")
    # Ending the kept one in the same batch, the day before, makes room: a renewal with more seats.
    response = post(
        api(csm),
        [
            row(own_account, "core", ends_on=(START + dt.timedelta(days=29)).isoformat()),
            row(own_account, "core", seats=140, starts_on=later),
        ],
    )
    assert response.status_code == 200 and (response.json()["created"], response.json()["updated"]) == (1, 1)


def test_rows_for_accounts_the_caller_may_not_change_are_a_403_and_nothing_is_written(
    api, csm, own_account, other_team_account, catalogue, nothing_written
):
    with nothing_written():
        response = post(api(csm), [row(own_account), row(other_team_account)])
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {"index": 1, "field": "account", "message": "You cannot change this account's entitlements."}
    ]


def test_a_domain_two_accounts_share_asks_for_the_id(api, admin, catalogue):
    AccountFactory(domain="shared.example")
    AccountFactory(domain="Shared.example")
    response = post(api(admin), [{"account": "shared.example", "product": "core", "starts_on": START.isoformat()}])
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Several accounts use the domain 'shared.example': send the id."


@pytest.mark.parametrize("payload", [[], {"rows": "all of them"}, {"row": []}])
def test_a_body_without_a_list_of_rows_is_a_400(api, csm, payload):
    response = api(csm).post(BULK, payload, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == 'Send {"rows": [...]}: a JSON object with a list of rows.'


def test_more_than_ten_thousand_rows_is_a_413(api, csm, own_account, catalogue):
    response = post(api(csm), [row(own_account)] * (services.MAX_ROWS + 1))
    assert response.status_code == 413
    assert "At most 10,000 rows per request (got 10,001)" in response.json()["detail"]


def test_signed_out_callers_are_refused(api, own_account, catalogue):
    assert post(api(), [row(own_account)]).status_code in {401, 403}
    assert not Entitlement.objects.exists()


def test_each_changed_account_is_announced_once(admin, catalogue, django_capture_on_commit_callbacks):
    accounts = [AccountFactory() for _ in range(3)]
    seen: list[AccountChanged] = []
    events.subscribe(AccountChanged, seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.entitlements_upsert(
                actor=admin, rows=[row(account, key) for account in accounts[:2] for key in ("core", "reports")]
            )
    finally:
        events._handlers[AccountChanged].remove(seen.append)
    assert sorted(event.account_id for event in seen) == sorted(account.pk for account in accounts[:2])
    assert {event.fields for event in seen} == {frozenset({"entitlements"})}


def _statements(captured) -> list[str]:
    return [query["sql"].split()[0] for query in captured if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))]


@pytest.mark.parametrize("n", [10, 100])
def test_the_upsert_runs_the_same_queries_whatever_the_number_of_rows(csm, catalogue, n):
    accounts = [AccountFactory(owner=csm) for _ in range(5)]
    years = range(n // 5)
    rows = [
        row(account, "core", starts_on=f"{2000 + year}-01-01", ends_on=f"{2000 + year}-12-31")
        for account in accounts
        for year in years
    ]
    with CaptureQueriesContext(connection) as first:
        result = services.entitlements_upsert(actor=csm, rows=rows)
    assert result.created == n
    # The accounts (locked), the products and the entitlements kept; the upsert; the audit records.
    assert _statements(first.captured_queries) == ["SELECT", "SELECT", "SELECT", "INSERT", "INSERT"]

    with CaptureQueriesContext(connection) as again:
        assert services.entitlements_upsert(actor=csm, rows=rows).unchanged == n
    assert _statements(again.captured_queries) == ["SELECT", "SELECT", "SELECT"]


def test_a_large_batch_writes_in_batches_of_a_thousand(admin, catalogue):
    accounts = [AccountFactory() for _ in range(25)]
    rows = [
        row(account, key, starts_on=f"{2000 + year}-01-01", ends_on=f"{2000 + year}-12-31")
        for account in accounts
        for key in ("core", "reports")
        for year in range(50)
    ]
    with CaptureQueriesContext(connection) as captured:
        result = services.entitlements_upsert(actor=admin, rows=rows)
    assert result.created == 2500 and Entitlement.objects.count() == 2500
    statements = _statements(captured.captured_queries)
    assert statements[:3] == ["SELECT", "SELECT", "SELECT"]
    inserts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    upserts = [sql for sql in inserts if sql.startswith('INSERT INTO "accounts_entitlement"')]
    batch = min(services.WRITE_BATCH, connection.ops.bulk_batch_size(["a"] * 6, rows))  # 5 fields and created_at
    assert len(upserts) == -(-2500 // batch)
    assert AuditEvent.objects.filter(subject_type="entitlement").count() == 2500
