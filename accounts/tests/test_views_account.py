"""Account 360, account create/edit and change coverage pages."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AuditAction, AuditEvent, Coverage
from accounts.tests.conftest import account_form_data
from accounts.tests.factories import ContactFactory, TimelineEntryFactory
from lifecycle.stages.services import account_stage_change

pytestmark = pytest.mark.django_db


def detail(account) -> str:
    return reverse("account-detail", args=[account.pk])


# Account 360 ------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in_from_every_account_page(client, own_account):
    contact = ContactFactory(account=own_account)
    pk = own_account.pk
    for url in [
        detail(own_account),
        reverse("account-create"),
        reverse("account-edit", args=[pk]),
        reverse("account-reassign", args=[pk]),
        reverse("contact-create", args=[pk]),
        reverse("contact-edit", args=[pk, contact.pk]),
        reverse("timeline-page", args=[pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login") + "?next="), url


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
    assert 'style="padding-left: 3.0rem" id="contact-' in page
    # Newest first: the system entry from the stage change, then the notes.
    assert [entry.summary for entry in response.context["timeline"]][1:] == ["Newer note", "Older note"]
    assert response.context["timeline"][0].event == "stage_changed"
    assert [period.change.to_stage for period in response.context["stage_history"]] == ["adoption"]
    assert "Went live" in page
    assert response.context["can_edit"] and not response.context["can_reassign"]
    assert 'id="note-form"' in page and 'id="touchpoint-form"' in page and 'id="stage-form"' in page


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


# Account create -----------------------------------------------------------------------------------


def test_a_manager_creates_an_account_for_a_csm_on_their_team(client, manager, csm):
    client.force_login(manager)
    data = account_form_data(**{"cov-coverage": "assigned", "cov-owner": csm.pk})
    response = client.post(reverse("account-create"), data)
    account = Account.objects.get(name="Echo Media")
    assert response.status_code == 302 and response.url == detail(account)
    assert (account.owner, account.currency, account.fiscal_year_start_month) == (csm, "EUR", 4)
    assert AuditEvent.objects.get().action == AuditAction.ACCOUNT_CREATED


def test_a_manager_creates_a_pooled_account_for_their_team(client, manager, team):
    client.force_login(manager)
    response = client.post(
        reverse("account-create"), account_form_data(**{"cov-coverage": "pooled", "cov-pool": team.pk})
    )
    assert response.status_code == 302
    assert Account.objects.get(name="Echo Media").pool == team


def test_the_new_account_form_renders_for_a_manager(client, manager):
    client.force_login(manager)
    response = client.get(reverse("account-create"))
    assert response.status_code == 200
    assert "Fiscal year starts in" in response.content.decode() and "April" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"currency": "E1"}, "currency", "three-letter ISO currency code"),
        ({"renewal_date": "2024-06-01"}, "renewal_date", "must come after the contract start"),
        ({"arr": "-5"}, "arr", "ARR cannot be negative."),
        ({"industry": "piracy"}, "industry", "Select a valid choice"),
        ({"cov-owner": ""}, "owner", "Choose the CSM who owns this account."),
        ({"cov-coverage": "pooled", "cov-owner": ""}, "pool", "Choose the team whose pool shares this account."),
    ],
)
def test_a_bad_new_account_is_shown_again_with_a_clear_error_and_nothing_saved(
    client, manager, csm, nothing_written, overrides, field, message
):
    client.force_login(manager)
    data = account_form_data(**{"cov-coverage": "assigned", "cov-owner": csm.pk})
    data.update(overrides)
    with nothing_written():
        response = client.post(reverse("account-create"), data)
    assert response.status_code == 422
    form = response.context["coverage_form" if field in {"owner", "pool"} else "form"]
    assert message in " ".join(form.errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")


def test_a_manager_cannot_add_an_account_to_another_teams_book(client, manager, other_csm, nothing_written):
    client.force_login(manager)
    with nothing_written():
        response = client.post(
            reverse("account-create"), account_form_data(**{"cov-coverage": "assigned", "cov-owner": other_csm.pk})
        )
    assert response.status_code == 422
    assert "your own team" in response.content.decode()


def test_an_admin_adds_an_account_to_any_team(client, admin, other_csm):
    client.force_login(admin)
    response = client.post(
        reverse("account-create"), account_form_data(**{"cov-coverage": "assigned", "cov-owner": other_csm.pk})
    )
    assert response.status_code == 302
    assert Account.objects.get(name="Echo Media").owner == other_csm


def test_a_csm_cannot_create_accounts(client, csm, nothing_written):
    client.force_login(csm)
    assert client.get(reverse("account-create")).status_code == 403
    with nothing_written():
        response = client.post(reverse("account-create"), account_form_data(**{"cov-owner": csm.pk}))
    assert response.status_code == 403


# Account edit -------------------------------------------------------------------------------------


def test_the_owner_edits_their_account_and_the_change_is_audited(client, csm, own_account):
    client.force_login(csm)
    assert client.get(reverse("account-edit", args=[own_account.pk])).status_code == 200
    data = account_form_data(own_account, tier="high", arr="75000")
    response = client.post(reverse("account-edit", args=[own_account.pk]), data)
    assert response.status_code == 302 and response.url == detail(own_account)
    own_account.refresh_from_db()
    assert (own_account.tier, str(own_account.arr)) == ("high", "75000.00")
    audit = AuditEvent.objects.get()
    assert audit.changes == {"arr": ["50000.00", "75000"], "tier": ["low", "high"]}


def test_a_bad_edit_is_shown_again_and_saves_nothing(client, csm, own_account, nothing_written):
    client.force_login(csm)
    with nothing_written():
        response = client.post(
            reverse("account-edit", args=[own_account.pk]), account_form_data(own_account, name="", currency="euro")
        )
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"name", "currency"}
    own_account.refresh_from_db()
    assert own_account.name == "Acme Robotics"


def test_someone_elses_account_cannot_be_edited(client, csm, other_team_account, nothing_written):
    client.force_login(csm)
    url = reverse("account-edit", args=[other_team_account.pk])
    assert client.get(url).status_code == 403
    with nothing_written():
        assert client.post(url, account_form_data(other_team_account, name="Hijacked")).status_code == 403
    assert client.get(reverse("account-edit", args=[99999])).status_code == 404


# Change coverage ----------------------------------------------------------------------------------


def test_the_team_manager_moves_an_account_to_a_teammate_with_a_reason(client, manager, own_account, teammate):
    client.force_login(manager)
    url = reverse("account-reassign", args=[own_account.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"coverage": "assigned", "owner": teammate.pk, "reason": "Alex moves to Enterprise"})
    assert response.status_code == 302
    own_account.refresh_from_db()
    assert own_account.owner == teammate
    audit = AuditEvent.objects.get()
    assert (audit.actor, audit.reason, audit.action) == (manager, "Alex moves to Enterprise", AuditAction.OWNER_CHANGED)
    assert own_account.timeline.get().event == "owner_changed"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"coverage": "assigned", "owner": "teammate", "reason": ""}, "reason", "This field is required."),
        ({"coverage": "assigned", "owner": "", "reason": "x"}, "owner", "Choose the CSM"),
        ({"coverage": "pooled", "pool": "", "reason": "x"}, "pool", "Choose the team"),
        ({"coverage": "assigned", "owner": "csm", "reason": "x"}, "__all__", "already covered that way"),
    ],
)
def test_a_bad_coverage_change_is_refused_with_a_clear_error(
    client, request, manager, own_account, teammate, nothing_written, data, field, message
):
    if data.get("owner") in {"teammate", "csm"}:
        data = {**data, "owner": request.getfixturevalue(data["owner"]).pk}
    client.force_login(manager)
    with nothing_written():
        response = client.post(reverse("account-reassign", args=[own_account.pk]), data)
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])


@pytest.mark.parametrize("role", ["csm", "other_manager"])
def test_only_the_teams_manager_or_an_admin_changes_coverage(
    client, request, role, own_account, teammate, nothing_written
):
    client.force_login(request.getfixturevalue(role))
    url = reverse("account-reassign", args=[own_account.pk])
    assert client.get(url).status_code == 403
    with nothing_written():
        response = client.post(url, {"coverage": "assigned", "owner": teammate.pk, "reason": "grab"})
    assert response.status_code == 403


def test_an_admin_moves_an_account_into_another_teams_pool(client, admin, own_account, other_team):
    client.force_login(admin)
    response = client.post(
        reverse("account-reassign", args=[own_account.pk]),
        {"coverage": "pooled", "pool": other_team.pk, "reason": "Segment change"},
    )
    assert response.status_code == 302
    own_account.refresh_from_db()
    assert (own_account.coverage, own_account.owner, own_account.pool) == (Coverage.POOLED, None, other_team)
