import pytest
from django.urls import reverse

from accounts.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def test_every_page_but_login_requires_a_signed_in_user(client):
    account = AccountFactory()
    for url in [reverse("cockpit"), reverse("account-list"), reverse("account-detail", args=[account.pk])]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert client.get(reverse("login")).status_code == 200


def test_a_csm_sees_own_accounts_in_the_cockpit_and_opens_the_360(client):
    account = AccountFactory(name="Acme Robotics")
    other = AccountFactory(name="Someone Else Inc")
    ContactFactory(account=account, first_name="Dana")
    client.force_login(account.owner)
    cockpit = client.get(reverse("cockpit")).content.decode()
    assert "Acme Robotics" in cockpit
    assert "Someone Else Inc" not in cockpit
    detail = client.get(reverse("account-detail", args=[account.pk])).content.decode()
    assert "Dana" in detail
    assert client.get(reverse("account-detail", args=[other.pk])).status_code == 200
