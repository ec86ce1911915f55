"""Query budgets of the desk's pages: each runs a fixed number of queries, however many rows it shows.

Each test runs with 10 and with 200 rows and pins the same exact count for both, so an N+1
shows up as a failure on the 200-row run. The API's budgets are accounts' (accounts/tests/test_query_counts.py).
"""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.volumes import SIZES, build_book, build_entitlements, build_history, build_outcomes
from lifecycle.models import AccountHealth

pytestmark = pytest.mark.django_db

# Session, user, the user's team (nav bar), the bell's unread count (nav bar), owner and pool
# choices for the filters, count, page. The issue allows the home page at most 12.
LIST_PAGE_QUERIES = 8
# The cockpit adds my flags to act on (mine, and my pool's or team's: 2) and my tasks (2): all 12 allowed.
COCKPIT_QUERIES = LIST_PAGE_QUERIES + 4
assert COCKPIT_QUERIES <= 12
# It opens "next best first", which reads scored accounts through AccountHealth's priority index
# and the unscored ones (new since the last nightly recompute) after them: a page that holds
# both takes one query more.
COCKPIT_WITH_UNSCORED_QUERIES = COCKPIT_QUERIES + 1


def score_book(accounts) -> None:
    """Every account scored, as the nightly recompute leaves them."""
    today = timezone.localdate()
    AccountHealth.objects.bulk_create(
        AccountHealth(account=account, day=today, score=Decimal(50), band="yellow", priority=index)
        for index, account in enumerate(accounts)
    )


@pytest.mark.parametrize("n", SIZES)
def test_the_cockpit_budget(client, django_assert_num_queries, manager, team, n):
    score_book(build_book(n, team))
    client.force_login(manager)
    with django_assert_num_queries(COCKPIT_QUERIES):
        response = client.get(reverse("cockpit"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == n


@pytest.mark.parametrize("n", SIZES)
def test_the_cockpit_budget_before_the_first_recompute(client, django_assert_num_queries, manager, team, n):
    build_book(n, team)
    client.force_login(manager)
    with django_assert_num_queries(COCKPIT_WITH_UNSCORED_QUERIES):
        response = client.get(reverse("cockpit"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == n


@pytest.mark.parametrize("n", SIZES)
def test_the_account_list_budget(client, django_assert_num_queries, csm, team, n):
    build_book(n, team)
    client.force_login(csm)
    with django_assert_num_queries(LIST_PAGE_QUERIES):
        response = client.get(reverse("account-list"), {"sort": "-owner", "tier": "low"})
    assert len(response.context["page"].object_list) == min(n, 50)


@pytest.mark.parametrize("n", SIZES)
def test_the_account_list_htmx_fragment_budget(client, django_assert_num_queries, csm, team, n):
    build_book(n, team)
    client.force_login(csm)
    with django_assert_num_queries(4):
        response = client.get(reverse("account-list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="account-table")
    assert response.status_code == 200


@pytest.mark.parametrize("n", SIZES)
def test_the_csv_export_budget(client, django_assert_num_queries, csm, team, n):
    build_book(n, team)
    client.force_login(csm)
    with django_assert_num_queries(3):
        response = client.get(reverse("account-list"), {"format": "csv"})
        lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == n + 1


@pytest.mark.parametrize("n", SIZES)
def test_the_account_360_budget(client, django_assert_num_queries, csm, own_account, n):
    build_history(n, own_account, csm)
    outcomes = build_outcomes(n, own_account, csm)
    build_entitlements(n, own_account)
    client.force_login(csm)
    # 9 for the page itself, the bell's unread count in the nav bar, and the
    # health panel's 90-day snapshots and override in force, the open red flags,
    # the check-in questions, last check-in and current pulse, the success plans (3),
    # the handover under way (1), the readiness checklist (2), the renewals and outcomes (1)
    # and the products the account holds (1). The touchpoint form's participants are read
    # when its tab is opened, and the outcome form when "Record outcome" is (test_forms_on_open),
    # not with the page.
    with django_assert_num_queries(22):
        response = client.get(reverse("account-detail", args=[own_account.pk]))
    assert len(response.context["org_chart"]) == n
    assert len(response.context["timeline"]) == min(n, 30)
    assert len(response.context["outcomes"]) == len(outcomes)
    assert len(response.context["entitlements"]) == n
