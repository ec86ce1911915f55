"""product.md §1, one test per role, through the pages and the API (session and token) alike.

Each test tries the same change on four accounts: Alex's own, Alex's team pool, Alex's
teammate's, and another team's; it expects exactly the allowed ones to change.
"""

import pytest
from django.urls import reverse

from accounts.models import Account
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = ["own_account", "pool_account", "teammate_account", "other_team_account"]


@pytest.fixture
def accounts(request) -> dict[str, Account]:
    return {name: request.getfixturevalue(name) for name in ACCOUNTS}


def changed_by_page(client, user, accounts) -> set[str]:
    """Rename every account through the edit page; report which renames took."""
    client.force_login(user)
    for name, account in accounts.items():
        data = {
            "name": f"{account.name} (renamed)",
            "domain": account.domain,
            "industry": account.industry,
            "region": account.region,
            "arr": str(account.arr),
            "currency": "USD",
            "tier": account.tier,
            "fiscal_year_start_month": "1",
            "contract_start": account.contract_start.isoformat(),
            "renewal_date": account.renewal_date.isoformat(),
        }
        response = client.post(reverse("account-edit", args=[account.pk]), data)
        assert response.status_code in {302, 403}
    return {name for name, account in accounts.items() if Account.objects.get(pk=account.pk).name.endswith("(renamed)")}


def changed_by_api(api, user, accounts, auth: str) -> set[str]:
    """Move every account to adoption through the API; report which moves took."""
    client = api(user, auth=auth)
    for account in accounts.values():
        response = client.post(
            reverse("api:account-change-stage", args=[account.pk]),
            {"to_stage": "adoption", "reason": "Live"},
            format="json",
        )
        assert response.status_code in {200, 403}
    return {name for name, account in accounts.items() if Account.objects.get(pk=account.pk).stage == "adoption"}


def reassigned(client, api, user, accounts, target) -> set[str]:
    """Try to hand every account to `target`, half through the page and half through the API."""
    client.force_login(user)
    payload = {"coverage": "assigned", "owner": target.pk, "reason": "Rebalancing the book"}
    for index, account in enumerate(accounts.values()):
        if index % 2:
            response = api(user, auth="token").post(
                reverse("api:account-reassign", args=[account.pk]), payload, format="json"
            )
            assert response.status_code in {200, 403}
        else:
            response = client.post(reverse("account-reassign", args=[account.pk]), payload)
            assert response.status_code in {302, 403}
    return {name for name, account in accounts.items() if Account.objects.get(pk=account.pk).owner_id == target.pk}


def read_everywhere(client, api, user, accounts) -> None:
    client.force_login(user)
    for account in accounts.values():
        assert client.get(reverse("account-detail", args=[account.pk])).status_code == 200
        assert api(user, auth="token").get(reverse("api:account-detail", args=[account.pk])).status_code == 200
    assert client.get(reverse("account-list")).context["page"].paginator.count == len(accounts)


@pytest.mark.parametrize("auth", ["session", "token"])
def test_a_csm_reads_all_accounts_but_changes_only_their_own_and_their_team_pool(
    client, api, csm, manager, accounts, auth
):
    read_everywhere(client, api, csm, accounts)
    assert changed_by_page(client, csm, accounts) == {"own_account", "pool_account"}
    assert changed_by_api(api, csm, accounts, auth) == {"own_account", "pool_account"}
    assert reassigned(client, api, csm, accounts, target=manager) == set()


@pytest.mark.parametrize("auth", ["session", "token"])
def test_a_manager_changes_and_reassigns_their_teams_accounts_but_not_other_teams(
    client, api, manager, team, accounts, auth
):
    newcomer = CSMFactory(username="nina", team=team)
    read_everywhere(client, api, manager, accounts)
    team_book = {"own_account", "pool_account", "teammate_account"}
    assert changed_by_page(client, manager, accounts) == team_book
    assert changed_by_api(api, manager, accounts, auth) == team_book
    assert reassigned(client, api, manager, accounts, target=newcomer) == team_book


@pytest.mark.parametrize("auth", ["session", "token"])
def test_an_admin_changes_and_reassigns_everything(client, api, admin, other_team, accounts, auth):
    newcomer = CSMFactory(username="nina", team=other_team)
    read_everywhere(client, api, admin, accounts)
    assert changed_by_page(client, admin, accounts) == set(ACCOUNTS)
    assert changed_by_api(api, admin, accounts, auth) == set(ACCOUNTS)
    assert reassigned(client, api, admin, accounts, target=newcomer) == set(ACCOUNTS)
