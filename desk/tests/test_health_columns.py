"""Health, trend and flag columns on the cockpit and lists; the next-best work queue."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from lifecycle.health.scoring import account_priority
from lifecycle.models import AccountHealth

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def names(response) -> list[str]:
    return [account.name for account in response.context["page"].object_list]


def healthy(account, score, band, *, delta=None, flags=0, overridden=False):
    priority = account_priority(
        score=score, renewal_date=account.renewal_date, arr=float(account.arr), stage=account.stage, today=TODAY
    )
    AccountHealth.objects.create(
        priority=priority,
        account=account,
        day=TODAY,
        computed_score=Decimal(score),
        computed_band=band,
        score=Decimal(score),
        band=band,
        delta_7d=None if delta is None else Decimal(delta),
        open_flags=flags,
        overridden=overridden,
    )


@pytest.fixture
def scored(csm):
    far = TODAY + dt.timedelta(days=300)
    green = AccountFactory(name="Green Co", owner=csm, arr=Decimal("50000"), renewal_date=far)
    yellow = AccountFactory(name="Yellow Co", owner=csm, arr=Decimal("50000"), renewal_date=far)
    red = AccountFactory(name="Red Co", owner=csm, arr=Decimal("50000"), renewal_date=far)
    AccountFactory(name="Unscored Co", owner=csm, arr=Decimal("50000"), renewal_date=far)
    healthy(green, 85, "green", delta=3)
    healthy(yellow, 55, "yellow", delta=-12, flags=1)
    healthy(red, 20, "red", delta=-30, flags=3)


def test_the_cockpit_shows_score_band_trend_and_flags(client, csm, scored):
    client.force_login(csm)
    page = client.get(reverse("cockpit")).content.decode()
    assert "band-red" in page and "band-green" in page and "not scored" in page
    assert "▼ 30" in page and "▲ 3" in page


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("health", ["Red Co", "Yellow Co", "Green Co", "Unscored Co"]),
        ("-health", ["Green Co", "Yellow Co", "Red Co", "Unscored Co"]),
        ("trend", ["Red Co", "Yellow Co", "Green Co", "Unscored Co"]),
        ("-flags", ["Red Co", "Yellow Co", "Green Co", "Unscored Co"]),
    ],
)
def test_health_columns_sort_with_unscored_accounts_last(client, csm, scored, sort, expected):
    client.force_login(csm)
    assert names(client.get(reverse("account-list"), {"sort": sort})) == expected


@pytest.mark.parametrize(
    ("bands", "expected"),
    [
        (["red"], ["Red Co"]),
        (["red", "yellow"], ["Red Co", "Yellow Co"]),
        (["none"], ["Unscored Co"]),
    ],
)
def test_the_health_filter_narrows_by_band(client, csm, scored, bands, expected):
    client.force_login(csm)
    assert names(client.get(reverse("account-list"), {"band": bands, "sort": "name"})) == expected


@pytest.fixture
def ranked_desk(csm):
    soon = TODAY + dt.timedelta(days=20)
    far = TODAY + dt.timedelta(days=300)
    big_fine = AccountFactory(name="Big and fine", owner=csm, arr=Decimal("400000"), renewal_date=far)
    renewing_yellow = AccountFactory(name="Renewing, yellow", owner=csm, arr=Decimal("30000"), renewal_date=soon)
    red_small = AccountFactory(name="Red and small", owner=csm, arr=Decimal("5000"), renewal_date=far)
    # Churned long ago: its renewal date is past, so sorted by renewal it came first.
    churned = AccountFactory(
        name="Churned",
        owner=csm,
        stage="churned",
        arr=Decimal("90000"),
        contract_start=TODAY - dt.timedelta(days=565),
        renewal_date=TODAY - dt.timedelta(days=200),
    )
    healthy(big_fine, 90, "green")  # 10 + 0 + 20 = 30
    healthy(renewing_yellow, 60, "yellow")  # 40 + 40 + 6 = 86
    healthy(red_small, 15, "red")  # 85 + 0 + 0 = 85
    healthy(churned, 10, "red")  # sinks


def test_the_cockpit_opens_next_best_first_without_churned_accounts(client, csm, ranked_desk):
    client.force_login(csm)
    response = client.get(reverse("cockpit"))
    assert response.context["sort"] == "-priority"
    assert names(response) == ["Renewing, yellow", "Red and small", "Big and fine"]
    page = response.content.decode()
    assert 'id="next-best-note"' in page and ">Next best first</a>" not in page
    assert 'name="churned" value="1" class="form-check-input">' in page


@pytest.mark.parametrize("params", [{"churned": "1"}, {"churned": "1", "sort": "-priority"}])
def test_show_churned_brings_them_back_at_the_bottom_of_next_best(client, csm, ranked_desk, params):
    client.force_login(csm)
    response = client.get(reverse("cockpit"), params)
    assert names(response) == ["Renewing, yellow", "Red and small", "Big and fine", "Churned"]
    assert 'name="churned" value="1" class="form-check-input" checked>' in response.content.decode()


def test_ticking_churned_among_the_stages_shows_churned_accounts_on_the_cockpit(client, csm, ranked_desk):
    client.force_login(csm)
    assert names(client.get(reverse("cockpit"), {"stage": ["churned"]})) == ["Churned"]
    assert names(client.get(reverse("cockpit"), {"stage": ["churned", "adoption"], "sort": "name"}))[0] == "Churned"


def test_sorting_the_cockpit_by_a_column_keeps_churned_accounts_out(client, csm, ranked_desk):
    client.force_login(csm)
    response = client.get(reverse("cockpit"), {"sort": "renewal_date"})
    assert names(response) == ["Renewing, yellow", "Big and fine", "Red and small"]
    assert ">Next best first</a>" in response.content.decode()


def test_all_accounts_still_lists_churned_accounts_by_renewal_date(client, csm, ranked_desk):
    client.force_login(csm)
    response = client.get(reverse("account-list"))
    assert response.context["sort"] == "renewal_date"
    assert names(response)[0] == "Churned"
    assert 'name="churned"' not in response.content.decode()


def test_the_cockpit_lists_my_and_my_pools_flags_most_severe_first(client, csm, team):
    from notifications.tests.factories import RedFlagFactory, default_rule

    mine = AccountFactory(name="Mine Co", owner=csm)
    pooled = AccountFactory(name="Pool Co", owner=None, coverage="pooled", pool=team)
    someone_elses = AccountFactory(name="Elsewhere Co")
    RedFlagFactory(account=mine, rule=default_rule("no_touchpoint"), severity="medium")
    RedFlagFactory(account=pooled, owner=None, rule=default_rule("renewal_not_green"), severity="critical")
    RedFlagFactory(
        account=mine, rule=default_rule("nps_detractor"), severity="low", status="resolved", resolved_at=timezone.now()
    )
    RedFlagFactory(account=someone_elses, rule=default_rule("usage_drop"), severity="high")
    client.force_login(csm)
    flags = client.get(reverse("cockpit")).context["cockpit_flags"]
    assert [(flag.account.name, flag.severity) for flag in flags] == [("Pool Co", "critical"), ("Mine Co", "medium")]


def test_next_best_pages_put_unscored_accounts_after_every_scored_one_across_page_edges(csm, django_assert_num_queries):
    from accounts.models import Account
    from accounts.selectors import NextBestAccounts

    far = TODAY + dt.timedelta(days=300)
    for score, name in [(80, "Fine"), (30, "Worst"), (55, "Middling")]:
        healthy(AccountFactory(name=name, owner=csm, arr=Decimal("5000"), renewal_date=far), score, "yellow")
    unscored = [AccountFactory(name=f"New {n}", owner=csm, renewal_date=far).name for n in (1, 2)]
    ranked = NextBestAccounts(Account.objects.covered_by(csm).with_list_columns())

    everyone = ["Worst", "Middling", "Fine", *unscored]
    assert ranked.count() == 5
    for start, stop in [(0, 2), (1, 4), (2, 5), (3, 5), (4, 9)]:
        assert [account.name for account in ranked[start:stop]] == everyone[start:stop]
    with django_assert_num_queries(1):  # a page within the scored accounts is one query
        ranked[0:2]
    with django_assert_num_queries(3):  # past them: how many there are, then the unscored
        ranked[3:5]
