"""Health over the account API (desk.api): the nested `health` object, the score filters and the snapshots."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Account
from accounts.tests.factories import AccountFactory
from accounts.tests.volumes import SIZES, build_book
from lifecycle.models import AccountHealth, HealthScore, Scorecard

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 31)
BREAKDOWN = {
    "usage_trend": {"raw": 12.5, "score": 80.0, "weight": 2.0, "status": "ok"},
    "nps": {"raw": None, "score": None, "weight": 1.0, "status": "missing"},
}


@pytest.fixture
def card() -> Scorecard:
    return Scorecard.objects.create(name="Enterprise adoption", tier="high", stage="adoption")


def score(account: Account, value: str | None, *, card: Scorecard | None = None, **fields) -> AccountHealth:
    number = Decimal(value) if value is not None else None
    band = "" if number is None else "green" if number >= 70 else "yellow" if number >= 40 else "red"
    defaults = {
        "day": TODAY,
        "computed_score": number,
        "computed_band": band,
        "score": number,
        "band": band,
        "scorecard": card,
    }
    return AccountHealth.objects.create(account=account, **{**defaults, **fields})


def snapshots(account: Account, days: int, *, card: Scorecard | None = None) -> list[HealthScore]:
    """One snapshot a day for `days` days up to TODAY, the score climbing by one a day."""
    return HealthScore.objects.bulk_create(
        HealthScore(
            account=account,
            day=TODAY - dt.timedelta(days=ago),
            scorecard=card,
            score=Decimal(50 + days - ago),
            band="yellow",
            measures=BREAKDOWN,
        )
        for ago in range(days)
    )


# The nested health object ----------------------------------------------------------------------------


def test_a_scored_account_carries_its_health_in_list_and_detail(api, csm, own_account, card):
    score(
        own_account,
        "72.5",
        card=card,
        computed_score=Decimal("41.0"),
        overridden=True,
        delta_7d=Decimal("-3.5"),
        delta_30d=None,
        open_flags=2,
    )
    client = api(csm, auth="token")
    expected = {
        "score": "72.5",
        "band": "green",
        "computed_score": "41.0",
        "overridden": True,
        "delta_7d": "-3.5",
        "delta_30d": None,
        "open_flags": 2,
        "scored_on": "2026-03-31",
        "scorecard": {"id": card.pk, "name": "Enterprise adoption", "version": 1},
    }

    listed = client.get(reverse("api:account-list")).json()["results"]
    detail = client.get(reverse("api:account-detail", args=[own_account.pk])).json()

    assert listed[0]["health"] == expected
    assert detail["health"] == expected


def test_an_unscored_account_has_null_health(api, csm, own_account):
    client = api(csm)

    assert client.get(reverse("api:account-list")).json()["results"][0]["health"] is None
    assert client.get(reverse("api:account-detail", args=[own_account.pk])).json()["health"] is None


def test_a_score_without_data_or_scorecard_shows_blank_band_and_null_scorecard(api, csm, own_account):
    score(own_account, None)

    health = api(csm).get(reverse("api:account-detail", args=[own_account.pk])).json()["health"]

    assert health["score"] is None
    assert health["band"] == ""
    assert health["scorecard"] is None


def test_health_cannot_be_written_through_the_account(api, csm, own_account):
    response = api(csm).patch(
        reverse("api:account-detail", args=[own_account.pk]), {"health": {"score": 99}}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["health"] is None
    assert not AccountHealth.objects.exists()


def test_the_stage_change_answers_with_the_health_too(api, csm, own_account):
    score(own_account, "55")

    response = api(csm).post(
        reverse("api:account-change-stage", args=[own_account.pk]),
        {"to_stage": "adoption", "reason": "Live"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["stage"] == "adoption"
    assert "health" in response.json()


def test_a_reassignment_answers_with_the_account_as_listed_health_included(api, manager, own_account, teammate):
    score(own_account, "55")

    response = api(manager).post(
        reverse("api:account-reassign", args=[own_account.pk]),
        {"coverage": "assigned", "owner": teammate.pk, "reason": "Rebalancing"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["owner"] == teammate.pk
    assert response.json()["health"]["score"] == "55.0"


# Score range and ordering ------------------------------------------------------------------------------


@pytest.fixture
def book() -> None:
    for name, value in [("Low Co", "20"), ("Mid Co", "55.5"), ("Top Co", "90"), ("Blank Co", None)]:
        score(AccountFactory(name=name), value)
    AccountFactory(name="New Co")


def names(client, **params) -> list[str]:
    response = client.get(reverse("api:account-list"), params)
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


def test_accounts_filter_by_score_range_both_ends_included(api, csm, book):
    client = api(csm)

    assert names(client, score_min=55.5) == ["Mid Co", "Top Co"]
    assert names(client, score_max="55.5") == ["Low Co", "Mid Co"]
    assert names(client, score_min=0, score_max=100) == ["Low Co", "Mid Co", "Top Co"]
    assert names(client, score_min=21, score_max=89) == ["Mid Co"]
    assert names(client, score_min=50, band="green") == ["Top Co"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"score_min": "high"}, "score_min", "Enter a number."),
        ({"score_min": "NaN"}, "score_min", "Enter a number."),
        ({"score_max": "Infinity"}, "score_max", "Enter a number."),
        ({"score_min": "-1"}, "score_min", "Ensure this value is greater than or equal to 0."),
        ({"score_max": "100.5"}, "score_max", "Ensure this value is less than or equal to 100."),
        ({"score_min": "60", "score_max": "40"}, "score_max", "The highest score cannot be below the lowest."),
    ],
)
def test_a_bad_score_range_is_a_400_naming_the_field(api, csm, book, params, field, message):
    response = api(csm).get(reverse("api:account-list"), params)

    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_accounts_are_not_ordered_by_score_which_no_index_pages_but_filtered_by_it(api, csm, book):
    client = api(csm)

    # The list pages by keyset on its own indexes (README, "API"): a score ordering is ignored, names stay sorted.
    assert names(client, ordering="-health__score") == sorted(names(client))
    assert sorted(names(client, score_min=0)) == ["Low Co", "Mid Co", "Top Co"]


# Snapshots ---------------------------------------------------------------------------------------------


def test_the_snapshots_come_newest_first_with_breakdown_and_scorecard(api, other_csm, own_account, card):
    snapshots(own_account, 3, card=card)
    snapshots(AccountFactory(), 2)  # another account's are not listed

    # Another team's CSM reads them too: everyone signed in reads accounts.
    response = api(other_csm, auth="token").get(reverse("api:account-health", args=[own_account.pk]))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [row["day"] for row in body["results"]] == ["2026-03-31", "2026-03-30", "2026-03-29"]
    newest = body["results"][0]
    assert newest["score"] == "53.0"
    assert newest["band"] == "yellow"
    assert newest["scorecard"] == {"id": card.pk, "name": "Enterprise adoption", "version": 1}
    assert newest["measures"] == BREAKDOWN
    assert set(newest) == {"id", "day", "score", "band", "scorecard", "measures", "computed_at"}


def test_the_snapshots_page(api, csm, own_account):
    snapshots(own_account, 12)
    client = api(csm)
    url = reverse("api:account-health", args=[own_account.pk])

    first = client.get(url, {"page_size": 5}).json()
    last = client.get(url, {"page_size": 5, "page": 3}).json()

    assert first["count"] == 12
    assert [row["day"] for row in first["results"]] == [f"2026-03-{day}" for day in (31, 30, 29, 28, 27)]
    assert first["next"] and first["previous"] is None
    assert [row["day"] for row in last["results"]] == ["2026-03-21", "2026-03-20"]
    assert last["next"] is None


def test_the_snapshots_filter_by_day_both_ends_included(api, csm, own_account):
    snapshots(own_account, 10)
    client = api(csm)
    url = reverse("api:account-health", args=[own_account.pk])

    def days(**params) -> list[str]:
        response = client.get(url, params)
        assert response.status_code == 200
        return [row["day"] for row in response.json()["results"]]

    assert days(since="2026-03-29") == ["2026-03-31", "2026-03-30", "2026-03-29"]
    assert days(until="2026-03-23") == ["2026-03-23", "2026-03-22"]
    assert days(since="2026-03-25", until="2026-03-26") == ["2026-03-26", "2026-03-25"]
    assert days(since="2026-04-01") == []


def test_a_bad_snapshot_date_is_a_400_naming_the_field(api, csm, own_account):
    response = api(csm).get(reverse("api:account-health", args=[own_account.pk]), {"since": "last week"})

    assert response.status_code == 400
    assert response.json() == {"since": ["Enter a valid date."]}


def test_an_account_never_scored_has_no_snapshots(api, csm, own_account):
    response = api(csm).get(reverse("api:account-health", args=[own_account.pk]))

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_the_snapshots_of_an_unknown_account_are_a_404(api, csm, own_account):
    client = api(csm)

    assert client.get(reverse("api:account-health", args=[own_account.pk + 1000])).status_code == 404
    assert client.get(f"/api/accounts/{own_account.pk}x/health/").status_code == 404


def test_the_snapshots_need_a_signed_in_user(api, own_account):
    snapshots(own_account, 1)

    response = api().get(reverse("api:account-health", args=[own_account.pk]))

    assert response.status_code in (401, 403)
    assert "results" not in response.json()


def test_the_snapshots_are_read_only(api, csm, own_account):
    response = api(csm).post(reverse("api:account-health", args=[own_account.pk]), {}, format="json")

    assert response.status_code == 405


# Query budgets: the same count with N and 10×N rows -----------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
def test_the_accounts_api_budget_with_health(api, django_assert_num_queries, csm, team, card, n):
    accounts = build_book(n, team)
    AccountHealth.objects.bulk_create(
        AccountHealth(account=account, day=TODAY, score=Decimal(50), band="yellow", scorecard=card)
        for account in accounts[::2]
    )
    client = api(csm, auth="token")

    # The token and its user, the page (owner, pool, health and its scorecard joined), the tags: the same as
    # accounts' own budget (accounts/tests/test_query_counts.py). Keyset pages count nothing unless asked.
    with django_assert_num_queries(3):
        response = client.get(reverse("api:account-list"), {"page_size": 500, "score_min": 0})

    assert len(response.json()["results"]) == len(accounts[::2])
    assert all(row["health"]["scorecard"]["name"] == card.name for row in response.json()["results"])


@pytest.mark.parametrize("n", SIZES)
def test_the_snapshots_budget(api, django_assert_num_queries, csm, own_account, card, n):
    snapshots(own_account, n, card=card)
    client = api(csm, auth="token")

    # The token and its user, the account, the count, the page (scorecards joined).
    with django_assert_num_queries(4):
        response = client.get(reverse("api:account-health", args=[own_account.pk]), {"page_size": 500})

    assert response.json()["count"] == n
    assert len(response.json()["results"]) == n
