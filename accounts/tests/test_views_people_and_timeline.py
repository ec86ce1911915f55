"""Contacts (create, edit, verify) and the timeline (notes, touchpoints) from the Account 360 page."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, TimelineEntry, TimelineKind
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


# Notes ---------------------------------------------------------------------------------------------


def test_a_note_added_by_htmx_returns_a_fresh_form_and_the_updated_timeline(client, csm, own_account):
    client.force_login(csm)
    response = client.post(
        reverse("note-add", args=[own_account.pk]), {"summary": "Budget frozen", "risk_tag": "budget_cut"}, **HTMX
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    assert 'id="note-form"' in fragment and 'hx-swap-oob="true"' in fragment and "Risk: Budget cut" in fragment
    assert not response.context["note_form"].is_bound
    entry = own_account.timeline.get()
    assert (entry.kind, entry.summary, entry.author) == (TimelineKind.RISK, "Budget frozen", csm)


def test_a_note_added_by_plain_post_redirects_to_the_360(client, csm, own_account):
    client.force_login(csm)
    response = client.post(reverse("note-add", args=[own_account.pk]), {"summary": "Champion loves the reports"})
    assert response.status_code == 302 and response.url == reverse("account-detail", args=[own_account.pk])
    assert own_account.timeline.get().kind == TimelineKind.NOTE


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
@pytest.mark.parametrize(
    ("data", "field"), [({"summary": ""}, "summary"), ({"summary": "x", "risk_tag": "meteor"}, "risk_tag")]
)
def test_a_bad_note_comes_back_as_422_with_the_form_and_writes_nothing(
    client, csm, own_account, nothing_written, headers, data, field
):
    client.force_login(csm)
    with nothing_written():
        response = client.post(reverse("note-add", args=[own_account.pk]), data, **headers)
    assert response.status_code == 422
    assert field in response.context["note_form"].errors
    page = response.content.decode()
    assert 'id="note-form"' in page and "invalid-feedback" in page
    assert ("<html" in page) is (not headers)


def test_notes_cannot_be_added_to_someone_elses_account(client, csm, other_team_account, nothing_written):
    client.force_login(csm)
    with nothing_written():
        response = client.post(reverse("note-add", args=[other_team_account.pk]), {"summary": "sneaky"}, **HTMX)
    assert response.status_code == 403


# Touchpoints ---------------------------------------------------------------------------------------


def touchpoint_data(**overrides) -> dict:
    when = timezone.localtime() - dt.timedelta(hours=3)
    data = {
        "tp-channel": "meeting",
        "tp-occurred_at": when.strftime("%Y-%m-%dT%H:%M"),
        "tp-summary": "Quarterly check-in",
        "tp-body": "They want SSO",
        "tp-sentiment": "positive",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_a_touchpoint_is_logged_with_its_participants(client, csm, own_account, headers):
    dana = ContactFactory(account=own_account, first_name="Dana", last_name="Lee")
    client.force_login(csm)
    response = client.post(
        reverse("touchpoint-add", args=[own_account.pk]), touchpoint_data(**{"tp-participants": [dana.pk]}), **headers
    )
    assert response.status_code == (200 if headers else 302)
    entry = own_account.timeline.get()
    assert (entry.kind, entry.channel, entry.sentiment) == (TimelineKind.TOUCHPOINT, "meeting", "positive")
    assert list(entry.participants.all()) == [dana]
    if headers:
        assert "With Dana Lee" in response.content.decode()


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"tp-occurred_at": "tomorrow"}, "occurred_at", "Enter a valid date/time."),
        ({"tp-occurred_at": "future"}, "occurred_at", "cannot be logged in the future"),
        ({"tp-participants": "stranger"}, "participants", "Select a valid choice"),
        ({"tp-channel": ""}, "channel", "This field is required."),
        ({"tp-summary": ""}, "summary", "This field is required."),
    ],
)
def test_a_bad_touchpoint_comes_back_as_422_with_the_form_and_writes_nothing(
    client, csm, own_account, other_team_account, nothing_written, headers, overrides, field, message
):
    if overrides.get("tp-occurred_at") == "future":
        overrides["tp-occurred_at"] = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    if overrides.get("tp-participants") == "stranger":
        overrides["tp-participants"] = [ContactFactory(account=other_team_account).pk]
    client.force_login(csm)
    with nothing_written():
        response = client.post(
            reverse("touchpoint-add", args=[own_account.pk]), touchpoint_data(**overrides), **headers
        )
    assert response.status_code == 422
    assert message in " ".join(response.context["touchpoint_form"].errors[field])
    assert message in response.content.decode()
    assert TimelineEntry.objects.count() == 0


def test_a_departed_contact_is_not_offered_as_a_participant(client, csm, own_account):
    ContactFactory(account=own_account, first_name="Gone", departed=True)
    ContactFactory(account=own_account, first_name="Here")
    client.force_login(csm)
    form = client.get(reverse("account-detail", args=[own_account.pk])).context["touchpoint_form"]
    assert [c.first_name for c in form.fields["participants"].queryset] == ["Here"]


def test_touchpoints_cannot_be_logged_on_someone_elses_account(client, csm, other_team_account, nothing_written):
    client.force_login(csm)
    with nothing_written():
        response = client.post(reverse("touchpoint-add", args=[other_team_account.pk]), touchpoint_data())
    assert response.status_code == 403
