"""Contacts are archived, never deleted: on the page and through the API, audited, history kept."""

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, Contact, DealRole, TimelineKind
from accounts.services import contact_archive, contact_restore, touchpoint_log
from accounts.tests.conftest import *  # noqa: F403  (accounts, people and nothing_written)
from accounts.tests.factories import ContactFactory
from lifecycle.health.facts_query import AccountScope, facts_for

pytestmark = pytest.mark.django_db


def test_archiving_keeps_the_row_audits_and_says_so_on_the_timeline(csm, own_account):
    contact = ContactFactory(account=own_account, first_name="Ada", last_name="Lee")
    contact_archive(actor=csm, contact=contact, reason="Duplicate of Ada L.")
    contact.refresh_from_db()
    assert contact.archived_at is not None and contact.archived_by == csm
    assert contact.archive_reason == "Duplicate of Ada L."
    audit = AuditEvent.objects.get(action=AuditAction.CONTACT_ARCHIVED)
    assert (audit.actor, audit.actor_name, audit.subject_id, audit.reason) == (
        csm,
        csm.get_full_name() or csm.username,
        contact.pk,
        "Duplicate of Ada L.",
    )
    assert own_account.timeline.filter(kind=TimelineKind.SYSTEM, event="contact_archived").exists()
    assert Contact.objects.current().count() == 0 and Contact.objects.archived().get() == contact


def test_archiving_twice_changes_nothing_and_restoring_brings_them_back(csm, own_account):
    contact = ContactFactory(account=own_account)
    contact_archive(actor=csm, contact=contact)
    contact_archive(actor=csm, contact=contact)
    assert AuditEvent.objects.filter(action=AuditAction.CONTACT_ARCHIVED).count() == 1
    contact_restore(actor=csm, contact=contact)
    contact.refresh_from_db()
    assert (contact.archived_at, contact.archived_by, contact.archive_reason) == (None, None, "")
    assert AuditEvent.objects.filter(action=AuditAction.CONTACT_RESTORED).count() == 1


def test_touchpoints_and_reports_keep_pointing_at_an_archived_contact(csm, own_account):
    boss = ContactFactory(account=own_account)
    report = ContactFactory(account=own_account, reports_to=boss)
    entry = touchpoint_log(
        actor=csm,
        account=own_account,
        channel="call",
        occurred_at=own_account.created_at,
        summary="QBR",
        participants=[boss],
    )
    contact_archive(actor=csm, contact=boss)
    report.refresh_from_db()
    assert report.reports_to == boss
    assert list(entry.participants.all()) == [boss]


def test_stakeholder_coverage_leaves_archived_contacts_out(csm, own_account):
    champion = ContactFactory(account=own_account, deal_role=DealRole.CHAMPION)
    ContactFactory(account=own_account, deal_role=DealRole.DECISION_MAKER)
    day = own_account.created_at.date()
    assert facts_for(day=day, scope=AccountScope.of([own_account.pk]))[own_account.pk].champion_known
    contact_archive(actor=csm, contact=champion)
    facts = facts_for(day=day, scope=AccountScope.of([own_account.pk]))[own_account.pk]
    assert not facts.champion_known and facts.decision_maker_known


# The API ----------------------------------------------------------------------------------------------


def test_delete_through_the_api_archives_the_contact(api, csm, own_account):
    contact = ContactFactory(account=own_account)
    client = api(csm)
    response = client.delete(reverse("api:contact-detail", args=[contact.pk]))
    assert response.status_code == 204
    contact.refresh_from_db()
    assert contact.archived_at is not None
    assert AuditEvent.objects.get(action=AuditAction.CONTACT_ARCHIVED).reason == "Deleted through the API"
    assert client.delete(reverse("api:contact-detail", args=[contact.pk])).status_code == 204  # idempotent
    assert client.get(reverse("api:contact-detail", args=[contact.pk])).json()["archived_at"] is not None


def test_a_contact_deleted_by_another_request_meanwhile_is_a_404_not_a_500(api, csm, own_account, monkeypatch):
    from accounts.api.views import ContactViewSet

    contact = ContactFactory(account=own_account)
    found = ContactViewSet.get_object

    def found_then_gone(view):
        # The view finds the contact, then another request deletes its account before the archive locks it.
        instance = found(view)
        Contact.objects.filter(pk=instance.pk).delete()
        return instance

    monkeypatch.setattr(ContactViewSet, "get_object", found_then_gone)
    response = api(csm).delete(reverse("api:contact-detail", args=[contact.pk]))
    assert response.status_code == 404
    assert "deleted while the request was being served" in response.json()["detail"]


def test_lists_leave_archived_contacts_out_unless_asked(api, csm, own_account):
    kept, archived = ContactFactory(account=own_account), ContactFactory(account=own_account)
    contact_archive(actor=csm, contact=archived)
    client = api(csm)

    def ids(**params) -> list[int]:
        return [row["id"] for row in client.get(reverse("api:contact-list"), params).json()["results"]]

    assert ids() == [kept.pk]
    assert ids(archived="true") == [archived.pk]
    assert ids(archived="false") == [kept.pk]
    assert client.get(reverse("api:contact-list"), {"archived": "perhaps"}).status_code == 400


def test_restore_through_the_api(api, csm, own_account):
    contact = ContactFactory(account=own_account)
    contact_archive(actor=csm, contact=contact)
    response = api(csm).post(reverse("api:contact-restore", args=[contact.pk]))
    assert response.status_code == 200 and response.json()["archived_at"] is None


def test_another_teams_contact_cannot_be_archived_or_restored(api, csm, other_team_account, nothing_written):
    contact = ContactFactory(account=other_team_account)
    client = api(csm)
    with nothing_written():
        assert client.delete(reverse("api:contact-detail", args=[contact.pk])).status_code == 403
        assert client.post(reverse("api:contact-restore", args=[contact.pk])).status_code == 403


def test_a_new_touchpoint_cannot_name_an_archived_contact(api, csm, own_account):
    contact = ContactFactory(account=own_account)
    contact_archive(actor=csm, contact=contact)
    response = api(csm).post(
        reverse("api:timeline-list"),
        {
            "account": own_account.pk,
            "kind": "touchpoint",
            "channel": "call",
            "summary": "Hi",
            "participants": [contact.pk],
        },
        format="json",
    )
    assert response.status_code == 400 and "participants" in response.json()


# The pages --------------------------------------------------------------------------------------------


def test_archive_and_restore_on_the_pages(client, csm, own_account):
    contact = ContactFactory(account=own_account, first_name="Ada")
    client.force_login(csm)
    url = reverse("contact-archive", args=[own_account.pk, contact.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "Wrong account"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.archive_reason == "Wrong account"

    page = client.get(reverse("account-detail", args=[own_account.pk]))
    assert page.context["contacts"] == [] and page.context["archived_contacts"] == [contact]
    assert "Archived (1)" in page.content.decode()

    restored = client.post(reverse("contact-restore", args=[own_account.pk, contact.pk]))
    assert restored.status_code == 302
    contact.refresh_from_db()
    assert contact.archived_at is None


def test_the_org_chart_draws_reports_of_an_archived_contact_under_their_manager(client, csm, own_account):
    top = ContactFactory(account=own_account, first_name="Top")
    middle = ContactFactory(account=own_account, first_name="Middle", reports_to=top)
    bottom = ContactFactory(account=own_account, first_name="Bottom", reports_to=middle)
    contact_archive(actor=csm, contact=middle)
    client.force_login(csm)
    page = client.get(reverse("account-detail", args=[own_account.pk]))
    assert [(depth, contact.pk) for depth, contact in page.context["org_chart"]] == [(0, top.pk), (1, bottom.pk)]


def test_someone_who_cannot_edit_the_account_cannot_archive_or_restore(
    client, csm, other_team_account, nothing_written
):
    contact = ContactFactory(account=other_team_account)
    client.force_login(csm)
    with nothing_written():
        assert client.post(reverse("contact-archive", args=[other_team_account.pk, contact.pk])).status_code == 403
        assert client.post(reverse("contact-restore", args=[other_team_account.pk, contact.pk])).status_code == 403


def test_an_unknown_or_already_archived_contact_is_a_404_on_the_archive_page(client, csm, own_account):
    contact = ContactFactory(account=own_account)
    contact_archive(actor=csm, contact=contact)
    client.force_login(csm)
    assert client.get(reverse("contact-archive", args=[own_account.pk, contact.pk])).status_code == 404
    assert client.get(reverse("contact-archive", args=[own_account.pk, 99999])).status_code == 404


def test_a_handovers_email_recipients_and_readiness_leave_archived_contacts_out(csm, own_account):
    from transitions.selectors import email_contacts

    kept, archived = ContactFactory(account=own_account), ContactFactory(account=own_account)
    contact_archive(actor=csm, contact=archived)
    assert email_contacts([own_account.pk]) == {own_account.pk: [kept]}
