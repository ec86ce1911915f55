"""What the usage and ticket ingest writes: rows that name a product, the account-wide day added up from them,
optional measures of use, ticket time, and the CSV export that reads back in unchanged.

Through `usage_ingest` / `tickets_ingest`, the API (`POST /api/signals/usage/`) and the CSV import and
export, on the real tables. The facts these rows feed are tested in test_facts_products_and_feeds.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Product
from accounts.tests.conftest import (  # noqa: F401
    admin,
    api,
    csm,
    own_account,
    team,
    teammate,
    teammate_account,
)
from accounts.tests.factories import AccountFactory
from lifecycle.models import ProductUsageDaily, SupportTicket, UsageDaily
from lifecycle.signals import services as ingest

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
USAGE_URL = "/api/signals/usage/"
TICKETS_URL = "/api/signals/tickets/"


@pytest.fixture
def products() -> dict[str, Product]:
    """Two modules the product's analytics names in its usage rows."""
    return {key: Product.objects.create(key=key, name=key.title()) for key in ("reports", "dashboards")}


def day(days_ago: int) -> dt.date:
    return TODAY - dt.timedelta(days=days_ago)


def use(target: Account, days_ago: int = 1, product: str | None = None, **measures) -> dict:
    """One usage row: only the fields given, as an analytics export that counts some things and not others."""
    row: dict = {"account": target.pk, "day": day(days_ago).isoformat()}
    if product is not None:
        row["product"] = product
    row.update(measures)
    return row


def account_days(target: Account) -> dict[dt.date, tuple]:
    """The account-wide rows: (active users, key events, minutes, from_products) by day."""
    return {
        row[0]: row[1:]
        for row in UsageDaily.objects.filter(account=target).values_list(
            "day", "active_users", "key_events", "minutes", "from_products"
        )
    }


def product_days(target: Account) -> dict[tuple[str, dt.date], tuple]:
    """The per-product rows: (active users, key events, minutes) by (product key, day)."""
    return {
        (key, on): values
        for key, on, *values in ProductUsageDaily.objects.filter(account=target).values_list(
            "product__key", "day", "active_users", "key_events", "minutes"
        )
    }


def counts(result: ingest.IngestResult) -> tuple[int, int, int, int]:
    return result.accepted, result.created, result.updated, result.unchanged


def errors_of(result: ingest.IngestResult) -> list[tuple[int, str]]:
    return [(error.index, error.field) for error in result.errors]


def pending_recomputes() -> set[int]:
    from lifecycle.health.models import PendingRecompute

    return set(PendingRecompute.objects.values_list("account_id", flat=True))


# --- What a row must say ----------------------------------------------------------------------------


def test_a_row_may_report_only_key_events_only_minutes_or_only_active_users(admin, own_account):
    result = ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, key_events=120),
            use(own_account, 2, minutes=45),
            use(own_account, 3, active_users=7),
        ],
    )
    assert result.ok, result.errors
    assert counts(result) == (3, 3, 0, 0)
    # What was not sent stays blank (key events count 0): a blank is "not measured", not "nobody".
    assert account_days(own_account) == {
        day(1): (None, 120, None, False),
        day(2): (None, 0, 45, False),
        day(3): (7, 0, None, False),
    }


def test_a_row_of_explicit_zeros_is_a_day_of_no_use_and_is_accepted(admin, own_account):
    result = ingest.usage_ingest(actor=admin, rows=[use(own_account, 1, active_users=0, key_events=0, minutes=0)])
    assert result.ok, result.errors
    assert account_days(own_account) == {day(1): (0, 0, 0, False)}


def test_a_row_that_says_nothing_about_use_is_an_error_naming_active_users_and_nothing_is_written(
    admin, own_account, products
):
    result = ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, active_users=3),
            use(own_account, 2, licences_owned=20),  # licences are not use
            use(own_account, 3, product="reports"),
        ],
    )
    assert errors_of(result) == [(1, "active_users"), (2, "active_users")]
    assert result.errors[0].message == "A usage row needs at least one of active_users, key_events or minutes."
    assert UsageDaily.objects.count() == ProductUsageDaily.objects.count() == 0


# --- Rows naming a product ------------------------------------------------------------------------------


def test_a_row_naming_a_product_writes_that_products_day_matched_by_key_in_any_case(admin, own_account, products):
    result = ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, product=" Reports ", active_users=5, key_events=100, minutes=30),
            use(own_account, 1, product="DASHBOARDS", key_events=40),
        ],
    )
    assert result.ok, result.errors
    assert counts(result) == (2, 2, 0, 0)
    assert result.account_ids == [own_account.pk]
    assert product_days(own_account) == {
        ("reports", day(1)): [5, 100, 30],
        ("dashboards", day(1)): [None, 40, None],
    }


def test_an_unknown_product_key_is_an_error_on_its_row_and_nothing_in_the_batch_is_written(
    admin, own_account, products
):
    result = ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, active_users=9),
            use(own_account, 1, product="reports", active_users=5),
            use(own_account, 2, product="Billing", active_users=2),
        ],
    )
    assert errors_of(result) == [(2, "product")]
    assert result.errors[0].message == "No product has key 'billing'; add it to the products first."
    assert UsageDaily.objects.count() == ProductUsageDaily.objects.count() == 0
    assert pending_recomputes() == set()


def test_a_csm_cannot_send_product_usage_for_someone_elses_account(csm, own_account, teammate_account, products):
    result = ingest.usage_ingest(
        actor=csm,
        rows=[
            use(own_account, 1, product="reports", active_users=5),
            use(teammate_account, 1, product="reports", active_users=5),
        ],
    )
    assert result.forbidden
    assert errors_of(result) == [(1, "account")]
    assert ProductUsageDaily.objects.count() == UsageDaily.objects.count() == 0


def test_one_row_per_account_product_and_day_is_a_database_constraint(own_account, products):
    ProductUsageDaily.objects.create(account=own_account, product=products["reports"], day=day(1), active_users=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductUsageDaily.objects.create(account=own_account, product=products["reports"], day=day(1), key_events=1)


# --- The account-wide day added up from the product rows ---------------------------------------------------


def test_product_rows_add_up_into_an_account_wide_day_where_the_feed_sent_none(admin, own_account, products):
    ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, product="reports", active_users=5, key_events=100, minutes=30),
            use(own_account, 1, product="dashboards", active_users=8, key_events=50),
            use(own_account, 2, product="dashboards", key_events=7),  # events only: users stay unknown
        ],
    )
    # The busiest product's users (a floor on the distinct people), events and minutes summed.
    assert account_days(own_account) == {
        day(1): (8, 150, 30, True),
        day(2): (None, 7, None, True),
    }
    # Licences stay 0 on an added-up day: the seats bought speak for them.
    assert set(UsageDaily.objects.values_list("licences_used", "licences_owned")) == {(0, 0)}


def test_later_product_rows_refresh_an_added_up_day(admin, own_account, products):
    ingest.usage_ingest(actor=admin, rows=[use(own_account, 1, product="reports", active_users=5, key_events=10)])
    assert account_days(own_account) == {day(1): (5, 10, None, True)}

    ingest.usage_ingest(actor=admin, rows=[use(own_account, 1, product="dashboards", active_users=9, minutes=20)])
    assert account_days(own_account) == {day(1): (9, 10, 20, True)}

    ingest.usage_ingest(actor=admin, rows=[use(own_account, 1, product="reports", active_users=2, key_events=1)])
    assert account_days(own_account) == {day(1): (9, 1, 20, True)}


def test_an_account_wide_row_sent_earlier_wins_over_later_product_rows(admin, own_account, products):
    ingest.usage_ingest(actor=admin, rows=[use(own_account, 1, active_users=20, key_events=500, licences_owned=30)])
    later = ingest.usage_ingest(
        actor=admin, rows=[use(own_account, 1, product="reports", active_users=50, key_events=900, minutes=60)]
    )
    assert counts(later) == (1, 1, 0, 0)
    assert account_days(own_account) == {day(1): (20, 500, None, False)}
    assert UsageDaily.objects.get().licences_owned == 30
    assert product_days(own_account) == {("reports", day(1)): [50, 900, 60]}


def test_an_account_wide_row_in_the_same_batch_wins_wherever_it_stands(admin, own_account, products):
    result = ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, product="reports", active_users=50, key_events=900),
            use(own_account, 1, active_users=20, key_events=500),
            use(own_account, 2, product="reports", active_users=4),
        ],
    )
    assert counts(result) == (3, 3, 0, 0)
    assert account_days(own_account) == {day(1): (20, 500, None, False), day(2): (4, 0, None, True)}


def test_an_account_wide_row_sent_later_replaces_an_added_up_one_and_stays(admin, own_account, products):
    ingest.usage_ingest(actor=admin, rows=[use(own_account, 1, product="reports", active_users=5, key_events=10)])
    assert account_days(own_account) == {day(1): (5, 10, None, True)}

    sent = ingest.usage_ingest(actor=admin, rows=[use(own_account, 1, active_users=12, minutes=300)])
    assert counts(sent) == (1, 0, 1, 0)  # the day had a row: the added-up one, now replaced
    assert account_days(own_account) == {day(1): (12, 0, 300, False)}

    ingest.usage_ingest(actor=admin, rows=[use(own_account, 1, product="dashboards", active_users=99, key_events=99)])
    assert account_days(own_account) == {day(1): (12, 0, 300, False)}


# --- Duplicates -----------------------------------------------------------------------------------------


def test_the_same_product_and_day_twice_in_one_batch_is_an_error_whatever_the_case_of_the_key(
    admin, own_account, products
):
    result = ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, product="reports", active_users=5),
            use(own_account, 1, product="dashboards", active_users=5),
            use(own_account, 1, product="Reports ", active_users=6),
        ],
    )
    assert errors_of(result) == [(2, "day")]
    assert result.errors[0].message == "Row 0 already has this product/day for the account."
    assert ProductUsageDaily.objects.count() == UsageDaily.objects.count() == 0


def test_the_same_day_once_for_the_whole_account_and_once_for_a_product_is_fine(
    admin, own_account, teammate_account, products
):
    result = ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, active_users=20),
            use(own_account, 1, product="reports", active_users=5),
            use(teammate_account, 1, product="reports", active_users=3),  # another account's day of the product
        ],
    )
    assert result.ok, result.errors
    assert counts(result) == (3, 3, 0, 0)
    assert account_days(own_account) == {day(1): (20, 0, None, False)}
    assert account_days(teammate_account) == {day(1): (3, 0, None, True)}


# --- Dry runs and resending -------------------------------------------------------------------------------


def test_a_dry_run_of_product_rows_writes_neither_them_nor_the_added_up_day(admin, own_account, products):
    preview = ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, product="reports", active_users=5),
            use(own_account, 1, product="dashboards", minutes=9),
        ],
        dry_run=True,
    )
    assert preview.ok and not preview.written
    assert counts(preview) == (2, 2, 0, 0)
    assert ProductUsageDaily.objects.count() == UsageDaily.objects.count() == 0
    assert pending_recomputes() == set()


def test_a_dry_run_counts_created_updated_and_unchanged_across_both_kinds_of_row(admin, own_account, products):
    ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, product="reports", active_users=5),
            use(own_account, 2, product="reports", active_users=6),
            use(own_account, 3, active_users=10),
        ],
    )
    before = (account_days(own_account), product_days(own_account))

    preview = ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 1, product="reports", active_users=5),  # unchanged
            use(own_account, 2, product="reports", active_users=60),  # updated
            use(own_account, 1, product="dashboards", key_events=3),  # created
            use(own_account, 3, active_users=10),  # unchanged
            use(own_account, 4, active_users=1),  # created
            use(own_account, 2, active_users=1),  # replaces the added-up day 2: updated
        ],
        dry_run=True,
    )
    assert preview.ok, preview.errors
    assert counts(preview) == (6, 2, 2, 2)
    assert (account_days(own_account), product_days(own_account)) == before


def test_resending_unchanged_product_rows_is_unchanged_and_queues_no_recompute(
    admin, own_account, products, django_capture_on_commit_callbacks
):
    from lifecycle.health.models import PendingRecompute

    rows = [use(own_account, n, product=key, active_users=n, minutes=10 * n) for n in (1, 2) for key in products]
    first = ingest.usage_ingest(actor=admin, rows=rows)
    assert counts(first) == (4, 4, 0, 0)
    assert pending_recomputes() == {own_account.pk}
    PendingRecompute.objects.all().delete()  # as if the recompute ran

    with django_capture_on_commit_callbacks() as callbacks:
        again = ingest.usage_ingest(actor=admin, rows=rows)
    assert counts(again) == (4, 0, 0, 4)
    assert again.account_ids == []
    assert callbacks == [] and pending_recomputes() == set()

    with django_capture_on_commit_callbacks() as callbacks:
        changed = ingest.usage_ingest(actor=admin, rows=[*rows[:3], {**rows[3], "minutes": 99}])
    assert counts(changed) == (4, 0, 1, 3)
    assert pending_recomputes() == {own_account.pk} and len(callbacks) == 1
    assert account_days(own_account)[day(2)] == (2, 0, 20 + 99, True)


# --- At scale -----------------------------------------------------------------------------------------------


def _statements(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"] for query in captured.captured_queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]


def test_the_queries_of_a_product_batch_do_not_grow_with_its_rows(admin, csm, products):
    accounts = [AccountFactory(owner=csm) for _ in range(5)]
    rows = [
        use(account, days_ago, product=key, active_users=days_ago % 9, key_events=days_ago, minutes=3)
        for account in accounts
        for key in products
        for days_ago in range(1, 51)
    ]
    assert len(rows) == 500

    with CaptureQueriesContext(connection) as first:
        result = ingest.usage_ingest(actor=csm, rows=rows)
    assert counts(result) == (500, 500, 0, 0)
    statements = _statements(first)
    reads = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    # The accounts, the products, the product rows already there; the account-wide rows the feed sent
    # for those days, and the product rows' totals per account and day.
    assert len(reads) == 5
    product_inserts = [sql for sql in statements if sql.startswith('INSERT INTO "lifecycle_productusagedaily"')]
    day_inserts = [sql for sql in statements if sql.startswith('INSERT INTO "lifecycle_usagedaily"')]
    product_batch = min(ingest.bulk.WRITE_BATCH, connection.ops.bulk_batch_size(["a"] * 6, rows))
    day_batch = min(ingest.bulk.WRITE_BATCH, connection.ops.bulk_batch_size(["a"] * 8, rows[:250]))
    assert len(product_inserts) == -(-500 // product_batch)
    assert len(day_inserts) == -(-250 // day_batch)  # five accounts' fifty days
    assert UsageDaily.objects.filter(from_products=True).count() == 250

    # Resending is pure reading: the accounts, the products and the stored rows, whatever the number of rows.
    with CaptureQueriesContext(connection) as again:
        ingest.usage_ingest(actor=csm, rows=rows)
    assert [sql.split()[0] for sql in _statements(again)] == ["SELECT", "SELECT", "SELECT"]


# --- Tickets: time spent ---------------------------------------------------------------------------------


def ticket(target: Account, external_id: str, **values) -> dict:
    return {"account": target.pk, "external_id": external_id, "opened_at": "2025-03-01T09:00:00Z", **values}


def test_a_tickets_time_spent_is_stored_and_updated_and_may_be_left_out(admin, own_account):
    result = ingest.tickets_ingest(
        actor=admin,
        rows=[
            ticket(own_account, "ZD-1", time_spent_minutes=95),
            ticket(own_account, "ZD-2", time_spent_minutes="30"),  # as a CSV sends it
            ticket(own_account, "ZD-3"),
            ticket(own_account, "ZD-4", time_spent_minutes=0),
        ],
    )
    assert counts(result) == (4, 4, 0, 0)
    stored = dict(SupportTicket.objects.values_list("external_id", "time_spent_minutes"))
    assert stored == {"ZD-1": 95, "ZD-2": 30, "ZD-3": None, "ZD-4": 0}

    more = ingest.tickets_ingest(actor=admin, rows=[ticket(own_account, "ZD-1", time_spent_minutes=140)])
    assert counts(more) == (1, 0, 1, 0)
    assert SupportTicket.objects.get(external_id="ZD-1").time_spent_minutes == 140


@pytest.mark.parametrize("spent", [-5, 1.5, "1.5", "an hour", True])
def test_time_spent_that_is_negative_or_not_a_whole_number_is_a_row_error(admin, own_account, spent):
    result = ingest.tickets_ingest(
        actor=admin,
        rows=[
            ticket(own_account, "ZD-1", time_spent_minutes=20),
            ticket(own_account, "ZD-2", time_spent_minutes=spent),
        ],
    )
    assert errors_of(result) == [(1, "time_spent_minutes")]
    assert SupportTicket.objects.count() == 0


# --- The API -------------------------------------------------------------------------------------------


def test_the_api_takes_product_rows_and_lists_the_added_up_day(api, admin, own_account, products):
    client = api(admin, auth="token")
    rows = [
        use(own_account, 1, product="Reports", active_users=4, minutes=50),
        use(own_account, 1, product="dashboards", active_users=6, key_events=30),
        use(own_account, 2, key_events=11),
    ]
    response = client.post(USAGE_URL, {"rows": rows}, format="json")
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
    listed = client.get(USAGE_URL, {"account": own_account.pk}).json()["results"]
    assert [
        (row["day"], row["active_users"], row["key_events"], row["minutes"], row["from_products"]) for row in listed
    ] == [
        (day(1).isoformat(), 6, 30, 50, True),
        (day(2).isoformat(), None, 11, None, False),
    ]


def test_the_api_answers_400_for_an_unknown_product_or_a_row_without_use_and_writes_nothing(
    api, admin, own_account, products
):
    client = api(admin, auth="token")
    rows = [
        use(own_account, 1, product="reports", active_users=4),
        use(own_account, 2, product="reports"),
    ]
    response = client.post(USAGE_URL, {"rows": rows}, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "active_users")]

    rows[1] = use(own_account, 2, product="forecasts", active_users=1)
    response = client.post(USAGE_URL, {"rows": rows}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "product", "message": "No product has key 'forecasts'; add it to the products first."}
    ]
    assert ProductUsageDaily.objects.count() == UsageDaily.objects.count() == 0


def test_the_api_takes_and_lists_a_tickets_time_spent_and_refuses_a_negative_one(api, admin, own_account):
    client = api(admin, auth="token")
    response = client.post(TICKETS_URL, {"rows": [ticket(own_account, "ZD-9", time_spent_minutes=75)]}, format="json")
    assert response.status_code == 200, response.json()
    listed = client.get(TICKETS_URL).json()["results"]
    assert [(row["external_id"], row["time_spent_minutes"]) for row in listed] == [("ZD-9", 75)]

    bad = client.post(TICKETS_URL, {"rows": [ticket(own_account, "ZD-9", time_spent_minutes=-1)]}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {"index": 0, "field": "time_spent_minutes", "message": "Cannot be negative (got -1)."}
    ]
    assert SupportTicket.objects.get().time_spent_minutes == 75


# --- CSV: import and the export that reads back in --------------------------------------------------------


def test_a_csv_of_product_usage_is_imported_with_the_same_checks(admin, own_account, products):
    header = "account,day,product,active_users,key_events,minutes\n"
    good = header + f"{own_account.pk},{day(1)},reports,3,,15\n{own_account.pk},{day(1)},,,40,\n"
    result = ingest.csv_import(kind="usage", text=good, actor=admin, dry_run=False)
    assert result.ok, result.errors
    assert product_days(own_account) == {("reports", day(1)): [3, 0, 15]}
    assert account_days(own_account) == {day(1): (None, 40, None, False)}

    without_use = header + f"{own_account.pk},{day(2)},reports,,,\n"
    result = ingest.csv_import(kind="usage", text=without_use, actor=admin, dry_run=False)
    assert errors_of(result) == [(0, "active_users")]
    unknown = header + f"{own_account.pk},{day(2)},reports,1,,\n{own_account.pk},{day(2)},CRM,1,,\n"
    result = ingest.csv_import(kind="usage", text=unknown, actor=admin, dry_run=False)
    assert [(e.index, e.field, e.message) for e in result.errors] == [
        (1, "product", "No product has key 'crm'; add it to the products first.")
    ]
    assert product_days(own_account) == {("reports", day(1)): [3, 0, 15]}


def test_the_usage_export_writes_the_rows_sent_then_the_product_rows_and_imports_again_unchanged(
    client, admin, own_account, teammate_account, products
):
    ingest.usage_ingest(
        actor=admin,
        rows=[
            use(own_account, 3, active_users=20, key_events=500, licences_used=18, licences_owned=25),
            use(own_account, 3, product="reports", active_users=12, minutes=240),
            use(own_account, 2, product="reports", active_users=10),  # day 2: added up, not sent
            use(own_account, 2, product="dashboards", key_events=70, minutes=15),
            use(teammate_account, 2, product="reports", active_users=1),  # another account: not in the file
        ],
    )
    assert account_days(own_account)[day(2)] == (10, 70, 15, True)

    client.force_login(admin)
    response = client.get(reverse("signal-export"), {"kind": "usage", "account": own_account.pk})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # as the upload reads it
    pk = str(own_account.pk)
    assert list(csv.reader(io.StringIO(text))) == [
        ["account", "day", "product", "active_users", "key_events", "minutes", "licences_used", "licences_owned"],
        [pk, str(day(3)), "", "20", "500", "", "18", "25"],
        [pk, str(day(2)), "dashboards", "", "70", "15", "", ""],
        [pk, str(day(3)), "reports", "12", "0", "240", "", ""],
        [pk, str(day(2)), "reports", "10", "0", "", "", ""],
    ]

    again = ingest.csv_import(kind="usage", text=text, actor=admin, dry_run=True)
    assert again.ok, again.errors
    assert counts(again) == (4, 0, 0, 4)


def test_product_usage_is_listed_with_the_product_key_filtered_by_account_in_a_fixed_number_of_queries(
    api, admin, own_account, teammate_account, products, django_assert_num_queries
):
    result = ingest.usage_ingest(
        actor=admin,
        rows=[
            {"account": account.pk, "day": day(back).isoformat(), "product": key, "active_users": 2}
            for account in (own_account, teammate_account)
            for key in ("reports", "dashboards")
            for back in (1, 2, 3)
        ],
    )
    assert result.ok and result.created == 12
    client = api(admin)
    # Session, user, the account filtered on, the page (product joined): a keyset page counts nothing unless asked.
    with django_assert_num_queries(4):
        listing = client.get("/api/signals/product-usage/", {"account": own_account.pk, "since": day(2).isoformat()})
    assert listing.status_code == 200
    rows = listing.json()["results"]
    assert len(rows) == 4 and {row["product"] for row in rows} == {"reports", "dashboards"}
    assert {row["account"] for row in rows} == {own_account.pk}
    assert client.get("/api/signals/product-usage/", {"since": "yesterday"}).status_code == 400
