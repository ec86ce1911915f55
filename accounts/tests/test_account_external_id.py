"""The external id (an account's id in the CRM, the import's natural key) is set and seen on the form and in the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Account, AuditAction, AuditEvent
from accounts.tests.conftest import account_form_data
from accounts.tests.factories import AccountFactory
from accounts.tests.test_api import new_account

pytestmark = pytest.mark.django_db


def test_the_account_form_sets_and_shows_the_external_id(client, manager, csm):
    client.force_login(manager)
    assert 'name="external_id"' in client.get(reverse("account-create")).content.decode()
    data = account_form_data(external_id="CRM-77", **{"cov-coverage": "assigned", "cov-owner": csm.pk})
    assert client.post(reverse("account-create"), data).status_code == 302
    account = Account.objects.get(name="Echo Media")
    assert account.external_id == "CRM-77"
    page = client.get(reverse("account-edit", args=[account.pk])).content.decode()
    assert 'value="CRM-77"' in page


def test_editing_the_external_id_is_audited(client, csm, own_account):
    client.force_login(csm)
    response = client.post(
        reverse("account-edit", args=[own_account.pk]), account_form_data(own_account, external_id="CRM-9")
    )
    assert response.status_code == 302
    own_account.refresh_from_db()
    assert own_account.external_id == "CRM-9"
    audit = AuditEvent.objects.get(action=AuditAction.ACCOUNT_UPDATED)
    assert audit.changes["external_id"] == ["", "CRM-9"]


def test_the_form_refuses_an_external_id_another_account_has(client, csm, own_account, nothing_written):
    AccountFactory(external_id="CRM-1")
    client.force_login(csm)
    with nothing_written():
        response = client.post(
            reverse("account-edit", args=[own_account.pk]), account_form_data(own_account, external_id="CRM-1")
        )
    assert response.status_code == 422
    assert "Another account has this external id." in response.content.decode()


def test_the_api_sets_shows_and_changes_the_external_id(api, manager, csm):
    client = api(manager)
    response = client.post(reverse("api:account-list"), new_account(csm, external_id="CRM-5"), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["external_id"] == "CRM-5"
    account = Account.objects.get(external_id="CRM-5")
    detail = reverse("api:account-detail", args=[account.pk])
    assert client.get(detail).json()["external_id"] == "CRM-5"
    assert client.patch(detail, {"external_id": "CRM-6"}, format="json").status_code == 200
    account.refresh_from_db()
    assert account.external_id == "CRM-6"


def test_the_api_refuses_an_external_id_another_account_has_or_one_too_long(api, manager, csm, nothing_written):
    AccountFactory(external_id="CRM-1")
    client = api(manager)
    with nothing_written():
        taken = client.post(reverse("api:account-list"), new_account(csm, external_id="CRM-1"), format="json")
        long = client.post(reverse("api:account-list"), new_account(csm, external_id="X" * 101), format="json")
    assert taken.status_code == 400 and "already exists" in taken.json()["external_id"][0]
    assert long.status_code == 400 and "external_id" in long.json()
