"""Keyset (cursor) pages of the accounts, contacts and timeline API: every row once, in the ordering asked for, no count
unless asked, page numbers still answered for older clients (csm/pagination.py, README "API")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, TimelineEntry
from accounts.tests.factories import AccountFactory, ContactFactory, TimelineEntryFactory
from accounts.tests.volumes import build_history

pytestmark = pytest.mark.django_db

ACCOUNTS = reverse("api:account-list")
CONTACTS = reverse("api:contact-list")


def walk(client, url: str, **params: Any) -> list[dict]:
    """Every row of the list, following `next` from the first page."""
    rows: list[dict] = []
    body = client.get(url, params).json()
    while True:
        rows.extend(body["results"])
        if body["next"] is None:
            return rows
        body = client.get(body["next"]).json()


def walk_back(client, url: str) -> list[dict]:
    """Every row before the page at `url`, following `previous`, in list order."""
    pages: list[list[dict]] = []
    body = client.get(url).json()
    while body["previous"] is not None:
        body = client.get(body["previous"]).json()
        pages.insert(0, body["results"])
    return [row for page in pages for row in page]


@pytest.fixture
def book(csm) -> list[Account]:
    """Eleven accounts with ties on every key and NULLs in both nullable ones."""
    today = dt.date(2026, 6, 1)
    specs = [
        ("Acme", "100", "100", 30),
        ("Acme", "100", None, None),
        ("Beta", "250", "250", 10),
        ("Beta", "50", "50", 10),
        ("Cobalt", "0", "0", None),
        ("Delta", "900", None, 90),
        ("Echo", "250", "250", 30),
        ("Foxtrot", "75", "75", 5),
        ("Golf", "75", None, 5),
        ("Hotel", "300", "300", 400),
        ("Acme", "100", "100", 30),
    ]
    return [
        AccountFactory(
            name=name,
            owner=csm,
            arr=Decimal(arr),
            arr_reporting=None if reporting is None else Decimal(reporting),
            contract_start=None,
            renewal_date=None if days is None else today + dt.timedelta(days=days),
        )
        for name, arr, reporting, days in specs
    ]


def expected(book: list[Account], ordering: str) -> list[int]:
    """The ids in the order the API promises, worked out in Python: the id breaks ties in the key's direction."""
    field = ordering.removeprefix("-")

    def key(account: Account) -> tuple:
        value = getattr(account, field)
        if field == "arr_reporting" and value is None:
            value = Decimal(-1)  # unconverted ARR sorts below every converted one
        if field == "renewal_date" and value is None:
            value = dt.date(9999, 12, 31)  # no renewal date sorts after every date
        return (value, account.pk)

    return [account.pk for account in sorted(book, key=key, reverse=ordering.startswith("-"))]


@pytest.mark.parametrize(
    "ordering",
    ["name", "-name", "arr", "-arr", "arr_reporting", "-arr_reporting", "renewal_date", "-renewal_date"],
)
def test_following_next_lists_every_account_once_in_the_ordering_asked_for(api, csm, book, ordering):
    rows = walk(api(csm, auth="token"), ACCOUNTS, ordering=ordering, page_size=3)

    assert [row["id"] for row in rows] == expected(book, ordering)


def test_following_previous_comes_back_through_the_same_pages(api, csm, book):
    client = api(csm)
    first = client.get(ACCOUNTS, {"ordering": "-arr_reporting", "page_size": 4}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    assert first["previous"] is None
    assert third["next"] is None and len(third["results"]) == 3
    back = client.get(third["previous"]).json()
    assert back["results"] == second["results"]
    assert client.get(back["previous"]).json()["results"] == first["results"]
    assert [row["id"] for row in walk_back(client, second["next"])] == expected(book, "-arr_reporting")[:8]


def test_the_first_page_has_no_count_unless_asked(api, csm, book):
    client = api(csm)

    plain = client.get(ACCOUNTS).json()
    counted = client.get(ACCOUNTS, {"count": "true"}).json()

    assert set(plain) == {"next", "previous", "results"}
    assert counted["count"] == 11 and counted["results"] == plain["results"]


def test_the_count_follows_the_filters(api, csm, book):
    body = api(csm).get(ACCOUNTS, {"count": "1", "q": "acme"}).json()

    assert body["count"] == 3 and len(body["results"]) == 3


def test_page_numbers_still_answer_with_a_count(api, csm):
    AccountFactory.create_batch(55, owner=csm)
    client = api(csm)

    first = client.get(ACCOUNTS, {"page": 1}).json()
    second = client.get(ACCOUNTS, {"page": 2}).json()

    assert (first["count"], len(first["results"])) == (55, 50)
    assert first["next"].endswith("page=2")
    assert len(second["results"]) == 5 and second["next"] is None
    assert len(client.get(ACCOUNTS, {"page_size": 10, "page": 6}).json()["results"]) == 5
    assert client.get(ACCOUNTS, {"page": 99}).status_code == 404
    by_cursor = walk(client, ACCOUNTS)
    assert [row["id"] for row in by_cursor] == [row["id"] for row in first["results"] + second["results"]]


def test_numbered_pages_stop_at_row_10000_and_say_to_follow_next(api, csm, book):
    client = api(csm)

    assert client.get(ACCOUNTS, {"page": 200}).status_code == 404  # row 9,950: allowed, past this book's end
    response = client.get(ACCOUNTS, {"page": 2000})
    assert response.status_code == 400
    assert "follow `next`" in response.json()["page"][0]
    assert client.get(ACCOUNTS, {"page": 21, "page_size": 1000}).status_code == 400  # 500 a page at most
    assert client.get(ACCOUNTS, {"page": 20, "page_size": 500}).status_code == 404  # row 9,500


def test_the_page_size_is_capped(api, csm):
    AccountFactory.create_batch(3, owner=csm)
    client = api(csm)

    assert len(client.get(ACCOUNTS, {"page_size": 2}).json()["results"]) == 2
    assert len(client.get(ACCOUNTS, {"page_size": 100000}).json()["results"]) == 3
    assert len(client.get(ACCOUNTS, {"page_size": "lots"}).json()["results"]) == 3


@pytest.mark.parametrize("ordering", ["tier", "stage", "health__score", "why_they_bought", "name,arr"])
def test_an_ordering_no_index_serves_is_not_offered_and_the_list_sorts_by_name(api, csm, book, ordering):
    rows = walk(api(csm), ACCOUNTS, ordering=ordering, page_size=4)

    assert [row["id"] for row in rows] == expected(book, "name")


def test_a_cursor_cannot_be_forged_or_reused_for_another_ordering(api, csm, book):
    client = api(csm)
    by_name = client.get(ACCOUNTS, {"page_size": 2}).json()
    cursor = parse_qs(urlsplit(by_name["next"]).query)["cursor"][0]

    assert client.get(ACCOUNTS, {"cursor": "not-a-cursor"}).status_code == 404
    assert client.get(ACCOUNTS, {"cursor": cursor, "ordering": "arr"}).status_code == 404
    assert client.get(ACCOUNTS, {"cursor": cursor}).status_code == 200


def test_a_page_after_a_changed_row_neither_repeats_nor_skips_the_others(api, csm, book):
    """The point of keyset pages: rows added before the position do not shift the next page."""
    client = api(csm)
    first = client.get(ACCOUNTS, {"page_size": 5}).json()
    AccountFactory(name="Aardvark", owner=csm)  # sorts before everything already read

    rest = walk(client, first["next"])

    assert [row["id"] for row in first["results"] + rest] == expected(book, "name")


def test_filters_and_cursor_pages_combine(api, csm, book, other_csm):
    AccountFactory.create_batch(3, owner=other_csm)

    rows = walk(api(csm), ACCOUNTS, owner=csm.pk, ordering="-arr", page_size=2)

    assert [row["id"] for row in rows] == expected(book, "-arr")


def test_anyone_signed_in_reads_the_pages_and_nobody_else(api, csm, other_csm, book):
    assert api().get(ACCOUNTS).status_code in (401, 403)
    assert len(walk(api(other_csm, auth="token"), ACCOUNTS, page_size=4)) == 11


@pytest.mark.parametrize("page_size", [5, 200])
def test_the_accounts_list_reads_a_fixed_number_of_queries(api, csm, django_assert_num_queries, page_size):
    for account in AccountFactory.create_batch(page_size + 1, owner=csm):
        account.tags.create(name=f"tag {account.pk}")
    client = api(csm, auth="token")
    second_page = client.get(ACCOUNTS, {"page_size": page_size, "ordering": "-arr_reporting"}).json()["next"]

    # The token (and its user), the page, the page's tags: no count, and nothing per row.
    with django_assert_num_queries(3):
        response = client.get(second_page)
    assert all(row["tags"] == [f"tag {row['id']}"] for row in response.json()["results"])
    with django_assert_num_queries(4):
        assert client.get(ACCOUNTS, {"page_size": page_size, "count": "true"}).status_code == 200


# Contacts --------------------------------------------------------------------------------------------------


def test_contacts_page_by_account_then_name_and_by_name(api, csm, own_account, teammate_account):
    made = [
        ContactFactory(account=account, first_name=first, last_name=last)
        for account in (teammate_account, own_account)
        for first, last in (("Ann", "Zed"), ("Bob", "Able"), ("Ann", "Able"), ("Ann", "Able"))
    ]
    client = api(csm, auth="token")

    by_account = [row["id"] for row in walk(client, CONTACTS, page_size=3)]
    by_name = [row["id"] for row in walk(client, CONTACTS, ordering="-last_name", page_size=3)]

    assert by_account == [c.pk for c in sorted(made, key=lambda c: (c.account_id, c.last_name, c.first_name, c.pk))]
    assert by_name == [c.pk for c in sorted(made, key=lambda c: (c.last_name, c.first_name, c.pk), reverse=True)]


def test_an_accounts_contacts_page_with_the_account_filter(api, csm, own_account, teammate_account):
    mine = ContactFactory.create_batch(4, account=own_account)
    ContactFactory.create_batch(2, account=teammate_account)

    body = api(csm).get(CONTACTS, {"account": own_account.pk, "count": "true", "page_size": 3}).json()

    assert body["count"] == 4 and body["next"]
    assert {row["id"] for row in body["results"] + walk(api(csm), body["next"])} == {c.pk for c in mine}


# PostgreSQL: the plan ------------------------------------------------------------------------------------


def plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a tiny test table would be read whole anyway
        cursor.execute(f"EXPLAIN {sql}", params)
        lines = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    return lines


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
@pytest.mark.parametrize(
    ("ordering", "index"),
    [
        ("name", "account_api_name"),
        ("-name", "account_api_name"),
        ("-arr_reporting", "account_api_arr_reporting"),
        ("arr_reporting", "account_api_arr_reporting"),
        ("renewal_date", "account_api_renewal"),
    ],
)
def test_first_and_deep_pages_walk_the_orderings_index_without_sorting(api, csm, book, ordering, index):
    client = api(csm)
    first = client.get(ACCOUNTS, {"ordering": ordering, "page_size": 2}).json()
    for url in (f"{ACCOUNTS}?ordering={ordering}&page_size=2", first["next"]):
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        page_query = next(q["sql"] for q in captured.captured_queries if 'FROM "accounts_account"' in q["sql"])
        shown = plan(page_query, None)
        assert index in shown, shown
        assert "Sort" not in shown.replace("Sort Key", ""), shown


@pytest.mark.parametrize("page_size", [5, 200])
def test_the_contacts_list_reads_a_fixed_number_of_queries(api, csm, own_account, django_assert_num_queries, page_size):
    ContactFactory.create_batch(page_size + 1, account=own_account)
    client = api(csm, auth="token")
    second_page = client.get(CONTACTS, {"page_size": page_size}).json()["next"]

    # The token (and its user), the page: no count, nothing per row, however deep.
    with django_assert_num_queries(2):
        assert client.get(CONTACTS, {"page_size": page_size}).status_code == 200
    with django_assert_num_queries(2):
        assert client.get(second_page).status_code == 200


# Timeline ----------------------------------------------------------------------------------------------------

TIMELINE = reverse("api:timeline-list")


@pytest.fixture
def timeline(own_account, teammate_account) -> list[TimelineEntry]:
    """Notes on two accounts, several at the same moment, so the id breaks the ties."""
    moment = timezone.now().replace(microsecond=0)
    return [
        TimelineEntryFactory(account=account, occurred_at=moment - dt.timedelta(hours=hours))
        for account in (own_account, teammate_account)
        for hours in (0, 0, 1, 2, 2)
    ]


def test_the_timeline_pages_newest_first_and_oldest_first_when_asked(api, csm, timeline):
    client = api(csm, auth="token")

    newest = [row["id"] for row in walk(client, TIMELINE, page_size=3)]
    oldest = [row["id"] for row in walk(client, TIMELINE, page_size=3, ordering="occurred_at")]

    by_time = sorted(timeline, key=lambda entry: (entry.occurred_at, entry.pk))
    assert oldest == [entry.pk for entry in by_time]
    assert newest == [entry.pk for entry in reversed(by_time)]
    assert "count" not in client.get(TIMELINE).json()


def test_an_accounts_timeline_pages_by_cursor_with_the_account_filter(api, csm, own_account, timeline):
    rows = walk(api(csm), TIMELINE, account=own_account.pk, page_size=2)

    assert [row["id"] for row in rows] == [
        entry.pk
        for entry in sorted(timeline, key=lambda entry: (entry.occurred_at, entry.pk), reverse=True)
        if entry.account_id == own_account.pk
    ]


@pytest.mark.parametrize("page_size", [2, 200])
def test_the_timeline_reads_a_fixed_number_of_queries(api, csm, own_account, django_assert_num_queries, page_size):
    build_history(page_size + 1, own_account, csm)
    client = api(csm, auth="token")
    second_page = client.get(TIMELINE, {"page_size": page_size}).json()["next"]

    # The token (and its user), the page, the page's participants (their ids only).
    with django_assert_num_queries(3):
        response = client.get(TIMELINE, {"page_size": page_size})
    assert all(len(row["participants"]) == 2 for row in response.json()["results"])
    with django_assert_num_queries(3):
        assert client.get(second_page).status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
@pytest.mark.parametrize("ordering", ["-occurred_at", "occurred_at"])
def test_timeline_pages_walk_their_index_without_sorting(api, csm, timeline, ordering):
    client = api(csm)
    first = client.get(TIMELINE, {"ordering": ordering, "page_size": 2}).json()
    for url in (f"{TIMELINE}?ordering={ordering}&page_size=2", first["next"]):
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        page_query = next(q["sql"] for q in captured.captured_queries if 'FROM "accounts_timelineentry"' in q["sql"])
        shown = plan(page_query, None)
        assert "timeline_api_occurred" in shown, shown
        assert "Sort" not in shown.replace("Sort Key", ""), shown
