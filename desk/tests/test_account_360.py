"""The Account 360: the account's facts, people, timeline and stage history with every app's panel."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import ContactFactory, TimelineEntryFactory
from lifecycle.stages.services import account_stage_change

pytestmark = pytest.mark.django_db


def detail(account) -> str:
    return reverse("account-detail", args=[account.pk])


def test_a_missing_account_is_a_404(client, csm):
    client.force_login(csm)
    assert client.get(reverse("account-detail", args=[98765])).status_code == 404


def test_the_360_shows_facts_people_timeline_and_stage_history(client, csm, own_account):
    own_account.fiscal_year_start_month = 4
    own_account.why_they_bought = "Churn in their support queue"
    own_account.save()
    ceo = ContactFactory(account=own_account, first_name="Ceo", last_name="Zed", deal_role="economic_buyer")
    vp = ContactFactory(account=own_account, first_name="Vp", last_name="Young", reports_to=ceo)
    ContactFactory(account=own_account, first_name="Lead", last_name="Abbott", reports_to=vp)
    ContactFactory(account=own_account, first_name="Adviser", last_name="Xu")
    TimelineEntryFactory(account=own_account, summary="Older note", occurred_at=timezone.now() - dt.timedelta(days=3))
    TimelineEntryFactory(account=own_account, summary="Newer note", occurred_at=timezone.now() - dt.timedelta(days=1))
    account_stage_change(actor=csm, account=own_account, to_stage="adoption", reason="Went live")
    client.force_login(csm)

    response = client.get(detail(own_account))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme Robotics" in page and "April" in page and "Churn in their support queue" in page
    # The org chart: each boss before their reports, reports indented one level deeper.
    assert [(depth, contact.first_name) for depth, contact in response.context["org_chart"]] == [
        (0, "Adviser"),
        (0, "Ceo"),
        (1, "Vp"),
        (2, "Lead"),
    ]
    # Indented by class (static/css/baton.css): the Content Security Policy forbids style attributes.
    assert 'class="org-row indent-2" id="contact-' in page
    assert 'style="padding-left' not in page
    # Newest first: the system entry from the stage change, then the notes.
    assert [entry.summary for entry in response.context["timeline"]][1:] == ["Newer note", "Older note"]
    assert response.context["timeline"][0].event == "stage_changed"
    assert [period.change.to_stage for period in response.context["stage_history"]] == ["adoption"]
    assert "Went live" in page
    assert response.context["can_edit"] and not response.context["can_reassign"]
    # The forms showing when the page opens are on it; the touchpoint and pulse tabs fetch theirs when opened.
    assert 'id="note-form"' in page and 'id="stage-form"' in page and 'id="checkin-form"' in page
    assert 'id="touchpoint-form"' not in page and 'id="pulse-form"' not in page
    touchpoint_url = reverse("touchpoint-add", args=[own_account.pk])
    assert f'hx-get="{touchpoint_url}" hx-trigger="show.bs.tab from:#log-touchpoint-tab once"' in page
    assert f'hx-get="{reverse("pulse", args=[own_account.pk])}" hx-trigger="show.bs.tab from:#pulse-tab once"' in page


def test_someone_who_cannot_change_the_account_reads_it_without_the_forms(client, other_csm, own_account):
    ContactFactory(account=own_account, first_name="Dana")
    client.force_login(other_csm)
    response = client.get(detail(own_account))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Dana" in page
    for marker in [
        'id="note-form"',
        'id="touchpoint-form"',
        reverse("touchpoint-add", args=[own_account.pk]),
        reverse("pulse", args=[own_account.pk]),
        'id="stage-form"',
        "Edit account",
        "Change coverage",
        "Add contact",
        ">Verify<",
    ]:
        assert marker not in page


def test_the_team_manager_sees_change_coverage(client, manager, own_account):
    client.force_login(manager)
    response = client.get(detail(own_account))
    assert response.context["can_reassign"]
    assert reverse("account-reassign", args=[own_account.pk]) in response.content.decode()


def test_the_timeline_pages_in_thirties_and_loads_older_entries_in_place(client, csm, own_account):
    base = timezone.now() - dt.timedelta(days=1)
    for minutes in range(65):
        TimelineEntryFactory(
            account=own_account, summary=f"Note {minutes:02d}", occurred_at=base - dt.timedelta(minutes=minutes)
        )
    client.force_login(csm)
    first = client.get(detail(own_account))
    assert len(first.context["timeline"]) == 30 and first.context["next_offset"] == 30
    second = client.get(reverse("timeline-page", args=[own_account.pk]), {"offset": 30})
    assert [e.summary for e in second.context["timeline"]][0] == "Note 30"
    assert second.context["next_offset"] == 60
    assert "<html" not in second.content.decode()
    third = client.get(reverse("timeline-page", args=[own_account.pk]), {"offset": 60})
    assert len(third.context["timeline"]) == 5 and third.context["next_offset"] is None
    garbage = client.get(reverse("timeline-page", args=[own_account.pk]), {"offset": "lots"})
    assert garbage.status_code == 200 and garbage.context["next_offset"] == 60


def test_the_people_map_draws_each_contact_as_a_box_that_opens_their_edit_form(client, csm, own_account):
    ceo = ContactFactory(account=own_account, first_name="Ceo", last_name="Zed", deal_role="economic_buyer")
    vp = ContactFactory(account=own_account, first_name="Vp", last_name="Young", reports_to=ceo, sentiment="negative")
    gone = ContactFactory(account=own_account, first_name="Gone", last_name="Away", reports_to=ceo, departed=True)
    client.force_login(csm)

    response = client.get(detail(own_account))

    page = response.content.decode()
    layout = response.context["org_chart_layout"]
    assert [box.contact for box in layout.boxes][0] == ceo
    assert '<title id="people-chart-title">Org chart of Acme Robotics</title>' in page
    for contact in (ceo, vp, gone):
        assert f'href="{reverse("contact-edit", args=[own_account.pk, contact.pk])}" aria-label="Edit {contact}' in page
    assert f'data-contact="{vp.pk}" data-manager="{ceo.pk}"' in page
    assert f'data-manager="{ceo.pk}" data-report="{vp.pk}"' in page  # the connector
    assert "sentiment-negative influence-medium" in page
    assert re.search(rf'class="org-node [^"]* departed" transform="[^"]*" data-contact="{gone.pk}"', page)
    assert ">Departed</text>" in page and ">Economic buyer</text>" in page
    # The indented list stays, behind "List", as the fallback.
    assert 'id="people-view-list"' in page and f'id="contact-{gone.pk}"' in page


def test_someone_who_cannot_change_the_account_sees_the_chart_without_links(client, other_csm, own_account):
    ContactFactory(account=own_account, first_name="Dana")
    client.force_login(other_csm)
    page = client.get(detail(own_account)).content.decode()
    assert 'id="people-chart"' in page and ">Dana" in page
    assert "/contacts/" not in page


def test_an_account_without_contacts_has_no_chart_to_switch_to(client, csm, own_account):
    client.force_login(csm)
    page = client.get(detail(own_account)).content.decode()
    assert 'id="people-chart"' not in page and 'id="people-view-list"' not in page
    assert "No contacts yet" in page
