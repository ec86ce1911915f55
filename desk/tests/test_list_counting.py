"""How the cockpit and the account list count what matches: exactly up to a bound, then "N+".

Counting a whole desk read every account on it on each page view. The lists count as far as
PAGES_COUNTED pages from the page shown, say "1,000+ accounts" beyond that, and the Last link
(?page=last) counts them all. Here the bound is 2 pages (100 accounts) to keep the books small.
"""

import html

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import AccountFactory
from desk.views import lists

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_pages_counted(monkeypatch):
    monkeypatch.setattr(lists, "PAGES_COUNTED", 2)


def table(response) -> str:
    return html.unescape(response.content.decode())


@pytest.mark.parametrize("url_name", ["cockpit", "account-list"])
def test_past_the_counted_pages_the_list_says_there_are_more(client, csm, url_name):
    AccountFactory.create_batch(130, owner=csm)
    client.force_login(csm)
    response = client.get(reverse(url_name))
    page = table(response)
    assert '<div class="text-muted small" id="result-count">100+ accounts' in page
    assert "Page 1 of 2+" in page
    assert 'href="?page=2"' in page and 'href="?page=last"' in page
    assert len(response.context["rows"]) == 50


@pytest.mark.parametrize("url_name", ["cockpit", "account-list"])
def test_the_last_link_counts_every_account_and_opens_the_last_page(client, csm, url_name):
    AccountFactory.create_batch(130, owner=csm)
    client.force_login(csm)
    response = client.get(reverse(url_name), {"page": "last"})
    page = table(response)
    assert "130 accounts" in page and "Page 3 of 3" in page
    assert len(response.context["rows"]) == 30
    assert 'href="?page=2"' in page and "Last »" not in page


def test_a_later_page_counts_on_from_itself(client, csm):
    AccountFactory.create_batch(130, owner=csm)
    client.force_login(csm)
    page = table(client.get(reverse("account-list"), {"page": 2}))
    # From page 2, two pages reach account 150: all 130 are counted.
    assert "130 accounts" in page and "Page 2 of 3" in page and 'href="?page=3"' in page


def test_a_list_that_fills_the_counted_pages_exactly_is_counted_exactly(client, csm):
    AccountFactory.create_batch(100, owner=csm)
    client.force_login(csm)
    page = table(client.get(reverse("account-list")))
    assert "100 accounts" in page and "100+" not in page and "Page 1 of 2<" in page
    assert 'href="?page=2"' in page and "page=last" not in page


def test_the_count_stops_one_account_past_the_counted_pages(client, csm):
    AccountFactory.create_batch(130, owner=csm)
    client.force_login(csm)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("account-list"))
    counts = [query["sql"] for query in queries if query["sql"].startswith("SELECT COUNT(*) FROM (SELECT")]
    assert len(counts) == 1 and counts[0].endswith("LIMIT 101) subquery")


def test_filters_are_counted_the_same_way(client, csm):
    AccountFactory.create_batch(120, owner=csm, tier="high")
    AccountFactory.create_batch(5, owner=csm, tier="low")
    client.force_login(csm)
    assert "100+ accounts" in table(client.get(reverse("account-list"), {"tier": "high"}))
    assert "5 accounts" in table(client.get(reverse("account-list"), {"tier": "low"}))


@pytest.mark.parametrize("page", ["99999999999999999999", "-5", "two"])
def test_a_page_number_out_of_any_range_shows_the_nearest_page(client, csm, page):
    AccountFactory.create_batch(60, owner=csm)
    client.force_login(csm)
    response = client.get(reverse("account-list"), {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number in {1, 2} and "60 accounts" in table(response)
