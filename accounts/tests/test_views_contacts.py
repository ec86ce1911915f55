"""Contacts on the Account 360: create, edit and verify (its note and touchpoint forms are desk's)."""

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def contact_data(**overrides) -> dict:
    data = {
        "first_name": "Dana",
        "last_name": "Lee",
        "title": "VP Support",
        "email": "dana@acme.example",
        "phone": "",
        "chat_handle": "@dana",
        "deal_role": "champion",
        "influence": "high",
        "sentiment": "positive",
        "reports_to": "",
        "last_verified_at": "",
        "departed_at": "",
    }
    data.update(overrides)
    return data


# Contacts -----------------------------------------------------------------------------------------


def test_the_owner_adds_a_contact(client, csm, own_account):
    client.force_login(csm)
    assert client.get(reverse("contact-create", args=[own_account.pk])).status_code == 200
    response = client.post(reverse("contact-create", args=[own_account.pk]), contact_data())
    assert response.status_code == 302
    contact = own_account.contacts.get()
    assert (contact.full_name, contact.deal_role, contact.influence) == ("Dana Lee", "champion", "high")
    assert AuditEvent.objects.get().action == AuditAction.CONTACT_CREATED


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"first_name": ""}, "first_name", "This field is required."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": "taken@acme.example"}, "__all__", "already has a contact with that email"),
        ({"influence": "godlike"}, "influence", "Select a valid choice"),
        ({"reports_to": "stranger"}, "reports_to", "Select a valid choice"),
    ],
)
def test_a_bad_contact_is_shown_again_with_a_clear_error_and_nothing_saved(
    client, csm, own_account, other_team_account, nothing_written, overrides, field, message
):
    ContactFactory(account=own_account, email="taken@acme.example")
    if overrides.get("reports_to") == "stranger":
        overrides["reports_to"] = ContactFactory(account=other_team_account).pk
    client.force_login(csm)
    with nothing_written():
        response = client.post(reverse("contact-create", args=[own_account.pk]), contact_data(**overrides))
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])


def test_the_owner_edits_a_contact_and_the_change_is_audited(client, csm, own_account):
    boss = ContactFactory(account=own_account, first_name="Boss")
    dana = ContactFactory(account=own_account, first_name="Dana", last_name="Lee", email="dana@acme.example")
    client.force_login(csm)
    url = reverse("contact-edit", args=[own_account.pk, dana.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, contact_data(title="COO", reports_to=boss.pk))
    assert response.status_code == 302
    dana.refresh_from_db()
    assert (dana.title, dana.reports_to) == ("COO", boss)
    assert AuditEvent.objects.get().changes["reports_to"] == [None, boss.pk]


def test_an_edit_that_would_make_the_org_chart_circular_is_refused(client, csm, own_account, nothing_written):
    ceo = ContactFactory(account=own_account, first_name="Ceo", email="ceo@acme.example")
    vp = ContactFactory(account=own_account, first_name="Vp", reports_to=ceo)
    client.force_login(csm)
    with nothing_written():
        response = client.post(
            reverse("contact-edit", args=[own_account.pk, ceo.pk]),
            contact_data(first_name="Ceo", email="ceo@acme.example", reports_to=vp.pk),
        )
    assert response.status_code == 422
    assert "go round in a circle" in " ".join(response.context["form"].errors["reports_to"])
    assert "go round in a circle" in response.content.decode()


def test_a_contact_of_another_account_is_not_found_under_this_one(client, csm, own_account, teammate_account):
    stranger = ContactFactory(account=teammate_account)
    client.force_login(csm)
    assert client.get(reverse("contact-edit", args=[own_account.pk, stranger.pk])).status_code == 404
    assert client.post(reverse("contact-verify", args=[own_account.pk, stranger.pk])).status_code == 404


def test_contacts_of_someone_elses_account_cannot_be_added_edited_or_verified(
    client, csm, other_team_account, nothing_written
):
    contact = ContactFactory(account=other_team_account)
    client.force_login(csm)
    pk = other_team_account.pk
    with nothing_written():
        assert client.get(reverse("contact-create", args=[pk])).status_code == 403
        assert client.post(reverse("contact-create", args=[pk]), contact_data()).status_code == 403
        assert client.post(reverse("contact-edit", args=[pk, contact.pk]), contact_data()).status_code == 403
        assert client.post(reverse("contact-verify", args=[pk, contact.pk]), **HTMX).status_code == 403


def test_verifying_a_contact_by_htmx_returns_the_refreshed_row(client, csm, own_account):
    contact = ContactFactory(account=own_account, first_name="Dana")
    client.force_login(csm)
    response = client.post(reverse("contact-verify", args=[own_account.pk, contact.pk]), **HTMX)
    assert response.status_code == 200
    row = response.content.decode()
    assert "Dana" in row and "Stale" not in row and "<html" not in row
    contact.refresh_from_db()
    assert contact.last_verified_at is not None
    assert AuditEvent.objects.get().action == AuditAction.CONTACT_UPDATED


def test_verifying_a_contact_by_plain_post_redirects_with_a_message(client, csm, own_account):
    contact = ContactFactory(account=own_account, first_name="Dana")
    client.force_login(csm)
    response = client.post(reverse("contact-verify", args=[own_account.pk, contact.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("account-detail", args=[own_account.pk])
    assert "marked as verified" in response.content.decode()


def test_verify_only_accepts_post(client, csm, own_account):
    contact = ContactFactory(account=own_account)
    client.force_login(csm)
    assert client.get(reverse("contact-verify", args=[own_account.pk, contact.pk])).status_code == 405
