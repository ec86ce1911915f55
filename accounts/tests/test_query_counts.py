"""Query budgets of the API's list endpoints: a fixed number of queries, however many rows they return.

Each test runs with 10 and with 200 rows and pins the same exact count for both, so an N+1
shows up as a failure on the 200-row run. The pages' budgets are desk's (desk/tests/test_query_counts.py).
"""

import pytest
from django.urls import reverse

from accounts.tests.volumes import SIZES, build_book, build_history, build_outcomes
from users.models import Team
from users.tests.factories import CSMFactory, TeamFactory

pytestmark = pytest.mark.django_db


def api_list(api, user, url_name: str, django_assert_num_queries, expected: int, n: int) -> None:
    client = api(user, auth="token")
    with django_assert_num_queries(expected):
        response = client.get(reverse(url_name), {"page_size": 500})
    assert response.status_code == 200
    assert len(response.json()["results"]) >= n


@pytest.mark.parametrize("n", SIZES)
def test_the_accounts_api_budget(api, django_assert_num_queries, csm, team, n):
    build_book(n, team)
    # Token and user, page, tags: keyset pages count nothing unless asked (?count=true).
    api_list(api, csm, "api:account-list", django_assert_num_queries, 3, n)


@pytest.mark.parametrize("n", SIZES)
def test_the_contacts_api_budget(api, django_assert_num_queries, csm, own_account, n):
    build_history(n, own_account, csm)
    api_list(api, csm, "api:contact-list", django_assert_num_queries, 2, n)


@pytest.mark.parametrize("n", SIZES)
def test_the_timeline_api_budget(api, django_assert_num_queries, csm, own_account, n):
    build_history(n, own_account, csm)
    # Token and user, page, its participants: keyset pages count nothing unless asked (?count=true).
    api_list(api, csm, "api:timeline-list", django_assert_num_queries, 3, n)


@pytest.mark.parametrize("n", SIZES)
def test_the_outcomes_api_budget(api, django_assert_num_queries, csm, own_account, n):
    # The token and its user, the count, the page (each row's correction read by a subquery).
    build_outcomes(n, own_account, csm)
    api_list(api, csm, "api:outcome-list", django_assert_num_queries, 3, n)


@pytest.mark.parametrize("n", SIZES)
def test_the_users_api_budget(api, django_assert_num_queries, csm, team, n):
    CSMFactory.create_batch(n, team=team)
    api_list(api, csm, "api:user-list", django_assert_num_queries, 3, n)


@pytest.mark.parametrize("n", SIZES)
def test_the_teams_api_budget(api, django_assert_num_queries, csm, n):
    Team.objects.bulk_create(TeamFactory.build_batch(n))
    api_list(api, csm, "api:team-list", django_assert_num_queries, 3, n)
