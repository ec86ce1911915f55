"""The Account 360's timeline forms: notes and touchpoints, by htmx in place or as a plain POST.

A plain POST that does not validate answers 422 with the whole 360 again, the typed values kept.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import TimelineEntry, TimelineKind
from accounts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


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
    form = client.get(reverse("touchpoint-add", args=[own_account.pk]), **HTMX).context["touchpoint_form"]
    assert [c.first_name for c in form.fields["participants"].queryset] == ["Here"]


def test_touchpoints_cannot_be_logged_on_someone_elses_account(client, csm, other_team_account, nothing_written):
    client.force_login(csm)
    with nothing_written():
        response = client.post(reverse("touchpoint-add", args=[other_team_account.pk]), touchpoint_data())
    assert response.status_code == 403
