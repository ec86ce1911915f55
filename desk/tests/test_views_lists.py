"""The cockpit and the all-accounts list: scope, filters, sorting, pagination, CSV and htmx partials."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Coverage
from accounts.selectors import ACCOUNT_SORTS
from accounts.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [account.name for account in response.context["page"].object_list]


@pytest.fixture
def book(own_account, teammate_account, pool_account, other_team_account):
    return [own_account, teammate_account, pool_account, other_team_account]


@pytest.mark.parametrize("url_name", ["cockpit", "account-list"])
def test_anonymous_visitors_are_sent_to_log_in(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse(url_name)}"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("csm", {"Acme Robotics", "Cobalt Bank"}),
        ("manager", {"Acme Robotics", "Birch Health", "Cobalt Bank"}),
        ("admin", {"Acme Robotics", "Birch Health", "Cobalt Bank", "Delta Freight"}),
        ("other_csm", {"Delta Freight"}),
    ],
)
def test_the_cockpit_shows_the_accounts_on_my_desk(client, request, book, role, expected):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("cockpit"))
    assert response.status_code == 200
    assert set(names(response)) == expected
    assert "My accounts" == response.context["title"]


def test_all_accounts_shows_every_account_to_a_csm(client, csm, book):
    client.force_login(csm)
    response = client.get(reverse("account-list"))
    assert set(names(response)) == {a.name for a in book}
    page = response.content.decode()
    assert "Delta Freight" in page and "Enterprise pool" in page and "Olga Novak" in page


def test_the_cockpit_keeps_its_scope_when_filtered(client, csm, book):
    client.force_login(csm)
    response = client.get(reverse("cockpit"), {"q": "delta"})
    assert names(response) == []
    assert "No accounts match these filters." in response.content.decode()


@pytest.fixture
def varied(csm):
    """Accounts that differ in every filterable way; all Alex's."""
    today = timezone.localdate()
    return {
        "Aurora": AccountFactory(
            name="Aurora",
            domain="aurora.io",
            owner=csm,
            stage="adoption",
            tier="high",
            industry="healthcare",
            region="na",
            arr=Decimal("900000"),
            renewal_date=today + dt.timedelta(days=20),
        ),
        "Borealis": AccountFactory(
            name="Borealis",
            domain="north.example",
            owner=csm,
            stage="at_risk",
            tier="tech",
            industry="retail",
            region="apac",
            arr=Decimal("12000"),
            renewal_date=today + dt.timedelta(days=75),
        ),
        "Cirrus": AccountFactory(
            name="Cirrus",
            domain="cirrus.example",
            owner=csm,
            stage="success",
            tier="low",
            industry="healthcare",
            region="emea",
            arr=Decimal("50000"),
            renewal_date=today + dt.timedelta(days=300),
        ),
        "Dusk": AccountFactory(
            name="Dusk",
            domain="dusk.example",
            owner=csm,
            stage="adoption",
            tier="high",
            industry="energy",
            region="emea",
            arr=Decimal("50000"),
            contract_start=None,
            renewal_date=None,
        ),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": "adoption"}, ["Aurora", "Dusk"]),
        ({"stage": ["adoption", "at_risk"]}, ["Aurora", "Borealis", "Dusk"]),
        ({"tier": "tech"}, ["Borealis"]),
        ({"industry": "healthcare"}, ["Aurora", "Cirrus"]),
        ({"region": "emea"}, ["Cirrus", "Dusk"]),
        ({"renewal_within": "30"}, ["Aurora"]),
        ({"renewal_within": "90"}, ["Aurora", "Borealis"]),
        ({"q": "NORTH"}, ["Borealis"]),
        ({"q": "cirr"}, ["Cirrus"]),
        ({"q": "   "}, ["Aurora", "Borealis", "Cirrus", "Dusk"]),
        ({"industry": "healthcare", "tier": "low"}, ["Cirrus"]),
    ],
)
def test_filters_narrow_the_list(client, csm, varied, params, expected):
    client.force_login(csm)
    response = client.get(reverse("account-list"), {**params, "sort": "name"})
    assert names(response) == expected


def test_filters_it_does_not_understand_are_ignored_and_said_so(client, csm, varied):
    client.force_login(csm)
    response = client.get(reverse("account-list"), {"stage": "hibernating", "renewal_within": "7"})
    assert response.status_code == 200
    assert len(names(response)) == 4
    assert "Some filters were not understood and were ignored" in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Aurora", "Borealis", "Cirrus", "Dusk"]),
        ("-name", ["Dusk", "Cirrus", "Borealis", "Aurora"]),
        ("arr", ["Borealis", "Cirrus", "Dusk", "Aurora"]),
        ("-arr", ["Aurora", "Cirrus", "Dusk", "Borealis"]),
        ("renewal_date", ["Aurora", "Borealis", "Cirrus", "Dusk"]),
        ("-renewal_date", ["Cirrus", "Borealis", "Aurora", "Dusk"]),
        ("tier", ["Aurora", "Dusk", "Cirrus", "Borealis"]),
        ("-tier", ["Borealis", "Cirrus", "Aurora", "Dusk"]),
        ("stage", ["Aurora", "Dusk", "Borealis", "Cirrus"]),
        ("-stage", ["Cirrus", "Borealis", "Aurora", "Dusk"]),
        ("industry", ["Dusk", "Aurora", "Cirrus", "Borealis"]),
        ("-industry", ["Borealis", "Aurora", "Cirrus", "Dusk"]),
    ],
)
def test_each_sort_key_sorts_both_ways_with_blanks_last(client, csm, varied, sort, expected):
    client.force_login(csm)
    response = client.get(reverse("account-list"), {"sort": sort})
    assert names(response) == expected
    assert response.context["sort"] == sort


def test_sorting_by_owner_orders_by_the_covering_csms_name(client, csm, teammate, team, book):
    client.force_login(csm)
    ascending = names(client.get(reverse("account-list"), {"sort": "owner"}))
    # Alex Ward, Olga Novak, Sam Okafor, then the pool with no owner.
    assert ascending == ["Acme Robotics", "Delta Freight", "Birch Health", "Cobalt Bank"]
    descending = names(client.get(reverse("account-list"), {"sort": "-owner"}))
    assert descending == ["Birch Health", "Delta Freight", "Acme Robotics", "Cobalt Bank"]


def test_every_sort_key_is_tested():
    # health, trend, flags and priority are covered in test_health_columns.py
    assert set(ACCOUNT_SORTS) == {
        "name",
        "arr",
        "renewal_date",
        "tier",
        "stage",
        "industry",
        "owner",
        "health",
        "trend",
        "flags",
        "priority",
    }


@pytest.mark.parametrize("sort", ["password", "-owner__password", "1;drop"])
def test_an_unknown_sort_key_falls_back_to_renewal_date(client, csm, varied, sort):
    client.force_login(csm)
    response = client.get(reverse("account-list"), {"sort": sort})
    assert response.status_code == 200
    assert response.context["sort"] == "renewal_date"
    assert names(response) == ["Aurora", "Borealis", "Cirrus", "Dusk"]


def test_the_sort_headers_toggle_direction_and_keep_the_filters(client, csm, varied):
    client.force_login(csm)
    page = html.unescape(client.get(reverse("account-list"), {"tier": "high", "sort": "name"}).content.decode())
    assert 'href="?tier=high&sort=-name"' in page
    assert 'href="?tier=high&sort=-arr"' in page  # money sorts biggest first on the first click
    assert 'aria-sort="ascending"' in page


def test_pages_hold_fifty_accounts_and_keep_the_filters_in_their_links(client, csm):
    AccountFactory.create_batch(120, owner=csm, tier="high")
    AccountFactory.create_batch(3, owner=csm, tier="low")
    client.force_login(csm)
    first = client.get(reverse("account-list"), {"tier": "high"})
    assert len(names(first)) == 50
    assert first.context["page"].paginator.num_pages == 3
    assert 'href="?tier=high&page=2"' in html.unescape(first.content.decode())
    last = client.get(reverse("account-list"), {"tier": "high", "page": "3"})
    assert len(names(last)) == 20
    assert "Page 3 of 3" in last.content.decode()
    seen = (
        set(names(first))
        | set(names(client.get(reverse("account-list"), {"tier": "high", "page": 2})))
        | set(names(last))
    )
    assert len(seen) == 120


@pytest.mark.parametrize("page", ["999", "zero", "-1"])
def test_a_page_out_of_range_shows_the_nearest_page(client, csm, page):
    AccountFactory.create_batch(60, owner=csm)
    client.force_login(csm)
    response = client.get(reverse("account-list"), {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number in {1, 2}


# The CSV export's own tests are in test_exports.py.


@pytest.mark.parametrize("url_name", ["cockpit", "account-list"])
def test_an_htmx_request_for_the_table_gets_only_the_table(client, csm, varied, url_name):
    client.force_login(csm)
    response = client.get(
        reverse(url_name), {"tier": "high", "sort": "name"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="account-table"
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert [t.name for t in response.templates][0] == "desk/partials/account_table.html"
    assert "<html" not in fragment and 'id="account-filters"' not in fragment
    assert 'id="accounts"' in fragment and "Aurora" in fragment and "Cirrus" not in fragment
    # The current sort travels with the table, so the next filter change keeps it.
    assert '<input type="hidden" name="sort" value="name" form="account-filters">' in fragment


@pytest.mark.parametrize("url_name", ["cockpit", "account-list"])
def test_the_filter_form_asks_its_own_page_for_the_table(client, csm, url_name):
    client.force_login(csm)
    page = client.get(reverse(url_name), {"tier": "high"}).content.decode()
    # An empty hx-get would reuse the current query string and repeat every parameter.
    assert f'id="account-filters" hx-get="{reverse(url_name)}"' in page


def test_an_htmx_request_aimed_elsewhere_gets_the_whole_page(client, csm, varied):
    client.force_login(csm)
    response = client.get(reverse("account-list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="somewhere-else")
    assert "<html" in response.content.decode()


def test_only_managers_and_admins_see_the_new_account_button(client, csm, manager):
    client.force_login(csm)
    assert reverse("account-create") not in client.get(reverse("account-list")).content.decode()
    client.force_login(manager)
    assert reverse("account-create") in client.get(reverse("account-list")).content.decode()


def test_a_pooled_account_is_labelled_with_its_team(client, csm, pool_account):
    assert pool_account.coverage == Coverage.POOLED
    client.force_login(csm)
    assert "Enterprise pool" in client.get(reverse("cockpit")).content.decode()


@pytest.mark.parametrize("url_name", ["cockpit", "account-list"])
def test_the_filter_controls_show_what_was_chosen_as_django_widgets_would(client, csm, url_name):
    client.force_login(csm)
    response = client.get(reverse(url_name), {"stage": ["adoption", "success"], "owner": csm.pk, "renewal_within": 90})
    page = response.content.decode()
    form = response.context["filter"].form
    # The template writes the inputs out itself (it is faster); they must be the very tags the widgets render.
    for name in ("stage", "band", "tier", "industry", "region"):
        for choice in form[name]:
            assert str(choice.tag()) in page
    assert 'value="adoption" class="form-check-input" id="id_stage_1" checked>' in page
    assert 'value="onboarding" class="form-check-input" id="id_stage_0">' in page
    for name in ("renewal_within", "owner", "pool"):
        rendered = str(form[name])
        options = [line.strip() for line in rendered.splitlines() if line.strip().startswith("<option")]
        assert options and all(option in page for option in options)
        assert f'<select name="{name}" class="form-select form-select-sm" id="id_{name}">' in page
    assert f'<option value="{csm.pk}" selected>' in page
    assert '<option value="90" selected>Next 90 days</option>' in page
