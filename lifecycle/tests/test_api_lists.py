"""The signal and red-flag API lists page by keyset (csm/pagination.py): every row once in the ordering asked for,
each ordering along its own index, no count unless asked, and a fixed number of queries whatever the page size or
depth (issue 17, item 4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Product
from accounts.tests.conftest import api, csm, team  # noqa: F401
from accounts.tests.factories import AccountFactory, ProductFactory
from lifecycle.models import (
    AlertRule,
    Invoice,
    ProductUsageDaily,
    RedFlag,
    SupportTicket,
    SurveyResponse,
    UsageDaily,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
TODAY = timezone.localdate()


def walk(client, url: str, **params: Any) -> list[dict]:
    """Every row of the list, following `next` from the first page."""
    rows: list[dict] = []
    body = client.get(url, params).json()
    while True:
        rows.extend(body["results"])
        if body["next"] is None:
            return rows
        body = client.get(body["next"]).json()


# Each list, the rows it lists (with ties on the sort key, so the tie-breaker shows) and how it promises to sort
# them: its ordering key and that key's value on a row.


def usage_rows(accounts) -> None:
    UsageDaily.objects.bulk_create(
        UsageDaily(account=account, day=TODAY - dt.timedelta(days=days), active_users=days, key_events=1)
        for account in accounts
        for days in ((1, 2, 3) if account.pk % 2 else (1, 2))
    )


def product_usage_rows(accounts) -> None:
    # Keys sorting the other way round from their ids: the list sorts by the product's id, not its key.
    products = [ProductFactory(key="reports"), ProductFactory(key="billing")]
    ProductUsageDaily.objects.bulk_create(
        ProductUsageDaily(account=account, product=product, day=TODAY - dt.timedelta(days=days), key_events=1)
        for account in accounts
        for product in products
        for days in (1, 2)
    )


def ticket_rows(accounts) -> None:
    SupportTicket.objects.bulk_create(
        SupportTicket(account=account, external_id=f"T{account.pk}-{n}", opened_at=NOW - dt.timedelta(hours=n % 3))
        for account in accounts
        for n in range(3)
    )


def survey_rows(accounts) -> None:
    SurveyResponse.objects.bulk_create(
        SurveyResponse(
            account=account, external_id=f"S{n}", kind="nps", score=n, responded_at=NOW - dt.timedelta(days=n % 2)
        )
        for account in accounts
        for n in range(3)
    )


def invoice_rows(accounts) -> None:
    Invoice.objects.bulk_create(
        Invoice(account=account, external_id=f"I{n}", issued_on=TODAY - dt.timedelta(days=n % 2), amount=Decimal("10"))
        for account in accounts
        for n in range(3)
    )


LISTS: dict[str, tuple[Callable, str, Callable[[dict], tuple]]] = {
    "api:signal-usage-list": (usage_rows, "day", lambda row: (row["day"], row["account"])),
    "api:signal-product-usage-list": (
        product_usage_rows,
        "day",
        lambda row: (row["day"], row["account"], Product.objects.get(key=row["product"]).pk),
    ),
    "api:signal-tickets-list": (ticket_rows, "opened_at", lambda row: (row["opened_at"], row["id"])),
    "api:signal-surveys-list": (survey_rows, "responded_at", lambda row: (row["responded_at"], row["id"])),
    "api:signal-invoices-list": (invoice_rows, "issued_on", lambda row: (row["issued_on"], row["id"])),
}


@pytest.fixture
def accounts(csm) -> list:  # noqa: F811
    return AccountFactory.create_batch(4, owner=csm)


@pytest.mark.parametrize("name", LISTS)
def test_following_next_lists_every_row_once_newest_first_and_oldest_first_when_asked(api, csm, accounts, name):  # noqa: F811
    make, key, sort_key = LISTS[name]
    make(accounts)
    client = api(csm, auth="token")

    newest_first = walk(client, reverse(name), page_size=3)
    oldest_first = walk(client, reverse(name), page_size=3, ordering=key)

    assert len(newest_first) >= 8
    assert len({row["id"] for row in newest_first}) == len(newest_first)
    assert newest_first == sorted(newest_first, key=sort_key, reverse=True)
    assert oldest_first == sorted(newest_first, key=sort_key)


@pytest.mark.parametrize("name", LISTS)
def test_the_count_comes_only_when_asked_and_follows_the_filters(api, csm, accounts, name):  # noqa: F811
    make, _, _ = LISTS[name]
    make(accounts)
    client = api(csm, auth="token")
    total = len(walk(client, reverse(name)))

    plain = client.get(reverse(name)).json()
    counted = client.get(reverse(name), {"count": "true"}).json()
    one_account = client.get(reverse(name), {"count": "true", "account": accounts[0].pk}).json()

    assert "count" not in plain
    assert counted["count"] == total and counted["results"] == plain["results"]
    assert 0 < one_account["count"] < total
    assert {row["account"] for row in one_account["results"]} == {accounts[0].pk}


@pytest.mark.parametrize(
    ("name", "unindexed"),
    [
        ("api:signal-product-usage-list", "active_users"),
        ("api:signal-tickets-list", "severity"),
        ("api:signal-tickets-list", "closed_at"),
        ("api:signal-surveys-list", "score"),
        ("api:signal-invoices-list", "-amount"),
    ],
)
def test_an_ordering_no_index_serves_is_not_offered_and_the_list_keeps_its_own(api, csm, accounts, name, unindexed):  # noqa: F811
    make, _, _ = LISTS[name]
    make(accounts)
    client = api(csm, auth="token")

    assert walk(client, reverse(name), ordering=unindexed, page_size=4) == walk(client, reverse(name), page_size=4)


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("page_size", [2, 200])
def test_a_page_costs_the_same_queries_whatever_its_size_or_depth(
    api,
    csm,  # noqa: F811
    accounts,
    name,
    page_size,
    django_assert_num_queries,
):
    make, _, _ = LISTS[name]
    make(accounts)
    client = api(csm, auth="token")
    first = client.get(reverse(name), {"page_size": page_size})

    # The token (and its user), the page: no count, nothing per row.
    with django_assert_num_queries(2):
        assert client.get(reverse(name), {"page_size": page_size}).status_code == 200
    if first.json()["next"]:
        with django_assert_num_queries(2):
            assert client.get(first.json()["next"]).status_code == 200
    # The account filter checks the account exists; the count is one more.
    with django_assert_num_queries(4):
        client.get(reverse(name), {"page_size": page_size, "account": accounts[0].pk, "count": "true"})


# Red flags ---------------------------------------------------------------------------------------------------


@pytest.fixture
def flags(accounts) -> list[RedFlag]:
    rules = list(AlertRule.objects.order_by("pk")[:3])
    return RedFlag.objects.bulk_create(
        RedFlag(
            rule=rule,
            account=account,
            owner=account.owner,
            severity=("low", "high", "critical")[n],
            reason="x",
            raised_at=NOW - dt.timedelta(hours=account.pk % 2),
        )
        for account in accounts
        for n, rule in enumerate(rules)
    )


def test_red_flags_page_most_severe_first_and_by_when_raised(api, csm, flags):  # noqa: F811
    client = api(csm, auth="token")

    default = walk(client, reverse("api:red-flag-list"), page_size=5)
    by_raised = walk(client, reverse("api:red-flag-list"), page_size=5, ordering="raised_at")

    ranks = {"critical": 3, "high": 2, "low": 1}
    assert len(default) == len(flags) == len({row["id"] for row in default})
    assert [(ranks[row["severity"]], row["raised_at"], row["id"]) for row in default] == sorted(
        ((ranks[row["severity"]], row["raised_at"], row["id"]) for row in default), reverse=True
    )
    assert [(row["raised_at"], row["id"]) for row in by_raised] == sorted((r["raised_at"], r["id"]) for r in default)
    assert default[0]["rule_name"] and default[0]["account_name"]


@pytest.mark.parametrize("page_size", [2, 200])
def test_red_flag_pages_cost_the_same_queries_whatever_their_size_or_depth(
    api,
    csm,  # noqa: F811
    flags,
    page_size,
    django_assert_num_queries,
):
    client = api(csm, auth="token")
    first = client.get(reverse("api:red-flag-list"), {"page_size": page_size}).json()

    # The token (and its user), the page with its rules' and accounts' names.
    with django_assert_num_queries(2):
        client.get(reverse("api:red-flag-list"), {"page_size": page_size})
    if first["next"]:
        with django_assert_num_queries(2):
            client.get(first["next"])


# PostgreSQL: the plan ----------------------------------------------------------------------------------------


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a tiny test table would be read whole anyway
        cursor.execute(f"EXPLAIN {sql}")
        lines = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    return lines


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
@pytest.mark.parametrize(
    ("name", "table", "ordering", "index"),
    [
        ("api:signal-usage-list", "lifecycle_usagedaily", "-day", "usage_day_account"),
        ("api:signal-product-usage-list", "lifecycle_productusagedaily", "-day", "product_usage_day_account"),
        ("api:signal-product-usage-list", "lifecycle_productusagedaily", "day", "product_usage_day_account"),
        ("api:signal-tickets-list", "lifecycle_supportticket", "-opened_at", "ticket_api_opened"),
        ("api:signal-surveys-list", "lifecycle_surveyresponse", "-responded_at", "survey_api_responded"),
        ("api:signal-invoices-list", "lifecycle_invoice", "-issued_on", "invoice_api_issued"),
        ("api:signal-invoices-list", "lifecycle_invoice", "issued_on", "invoice_api_issued"),
        ("api:red-flag-list", "lifecycle_redflag", "-severity_rank", "redflag_api_severity"),
        ("api:red-flag-list", "lifecycle_redflag", "raised_at", "redflag_api_raised"),
    ],
)
def test_first_and_deep_pages_walk_the_orderings_index_without_sorting(
    api,
    csm,  # noqa: F811
    accounts,
    flags,
    name,
    table,
    ordering,
    index,
):
    if name in LISTS:
        LISTS[name][0](accounts)
    client = api(csm, auth="token")
    first = client.get(reverse(name), {"ordering": ordering, "page_size": 2}).json()
    assert first["next"]
    for url in (f"{reverse(name)}?ordering={ordering}&page_size=2", first["next"]):
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        page_query = next(q["sql"] for q in captured.captured_queries if f'FROM "{table}"' in q["sql"])
        shown = plan(page_query)
        assert index in shown, shown
        assert "Sort" not in shown.replace("Sort Key", ""), shown
    # A later page starts at its position on every key at once, not only at the first key's value: where many rows
    # share a day, the first key alone would read and drop all of them.
    assert "Index Cond: (ROW(" in shown, shown


# The schema ----------------------------------------------------------------------------------------------------


def test_the_schema_names_the_orderings_each_list_offers():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(public=True)["paths"]

    def offered(path: str) -> list[str]:
        (ordering,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == "ordering"]
        return ordering["schema"]["enum"]

    assert offered("/api/signals/usage/") == ["day", "-day"]
    assert offered("/api/signals/product-usage/") == ["day", "-day"]
    assert offered("/api/signals/tickets/") == ["opened_at", "-opened_at"]
    assert offered("/api/signals/surveys/") == ["responded_at", "-responded_at"]
    assert offered("/api/signals/invoices/") == ["issued_on", "-issued_on"]
    assert offered("/api/red-flags/") == ["severity_rank", "-severity_rank", "raised_at", "-raised_at"]
