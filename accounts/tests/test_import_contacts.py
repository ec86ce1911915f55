"""Importing contacts: keyed by account and email, `reports_to` by email (in any order), circles refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.imports.models import ImportStatus
from accounts.imports.services import import_dry_run, import_execute, import_upload
from accounts.models import AuditAction, AuditEvent, Contact, DealRole
from accounts.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def dry_run(actor, text: str):
    job = import_upload(actor=actor, kind="contacts", upload=SimpleUploadedFile("contacts.csv", text.encode()))
    return import_dry_run(job_id=job.pk)


@pytest.fixture
def acme(csm):
    return AccountFactory(name="Acme", domain="acme.example", external_id="CRM-1", owner=csm)


HEADER = "Account,Email,First name,Last name,Role,Manager"


def test_contacts_are_created_with_their_managers_whatever_the_order(admin, acme):
    text = "\n".join(
        [
            HEADER,
            "CRM-1,ana@acme.example,Ana,Lopez,Champion,bo@acme.example",
            "acme.example,BO@acme.example,Bo,Berg,Economic buyer,",
        ]
    )
    job = dry_run(admin, text)
    assert job.mapping["Manager"] == "reports_to" and job.mapping["Role"] == "deal_role"
    assert (job.status, job.to_create) == (ImportStatus.VALIDATED, 2), job.errors
    job = import_execute(job_id=job.pk)
    assert job.status == ImportStatus.DONE, job.message
    ana = Contact.objects.get(email="ana@acme.example")
    assert (ana.account, ana.deal_role, ana.reports_to.first_name) == (acme, DealRole.CHAMPION, "Bo")
    # Again: nothing changes, nothing is audited.
    audits = AuditEvent.objects.count()
    job = dry_run(admin, text)
    assert (job.to_create, job.to_update, job.unchanged) == (0, 0, 2)
    import_execute(job_id=job.pk)
    assert AuditEvent.objects.count() == audits


def test_an_existing_contact_is_updated_and_audited(admin, acme):
    contact = ContactFactory(account=acme, email="ana@acme.example", first_name="Ana", title="")
    job = dry_run(admin, "Account,Email,Title\nacme.example,ana@acme.example,VP Ops\n")
    assert (job.to_create, job.to_update) == (0, 1)
    import_execute(job_id=job.pk)
    contact.refresh_from_db()
    assert contact.title == "VP Ops"
    assert AuditEvent.objects.get(action=AuditAction.CONTACT_UPDATED).changes == {"title": ["", "VP Ops"]}


def test_a_circle_of_managers_is_refused(admin, acme, nothing_written):
    ContactFactory(account=acme, email="bo@acme.example", first_name="Bo")
    text = "\n".join(
        [
            HEADER,
            "CRM-1,ana@acme.example,Ana,,,bo@acme.example",
            "CRM-1,bo@acme.example,Bo,,,ana@acme.example",
        ]
    )
    with nothing_written():
        job = dry_run(admin, text)
    assert job.status == ImportStatus.INVALID
    assert {error["column"] for error in job.errors} == {"reports_to"}
    assert "circle" in job.errors[0]["message"]


def test_unknown_account_and_unknown_manager_are_row_errors(admin, acme):
    text = "\n".join(
        [
            HEADER,
            "nope.example,a@nope.example,A,,,",
            "CRM-1,c@acme.example,C,,,ghost@acme.example",
            "CRM-1,d@acme.example,,,,",
        ]
    )
    job = dry_run(admin, text)
    assert [(error["line"], error["column"]) for error in job.errors] == [
        (2, "account"),
        (4, "first_name"),
        (3, "reports_to"),
    ]


def test_a_manager_cannot_import_contacts_of_another_teams_account(manager, other_csm):
    AccountFactory(domain="other.example", owner=other_csm)
    job = dry_run(manager, "Account,Email,First name\nother.example,x@other.example,X\n")
    assert job.errors[0]["column"] == "account" and "cannot change" in job.errors[0]["message"]


def test_a_row_matching_an_archived_contact_is_refused_naming_them_and_changes_nothing(admin, acme, nothing_written):
    from accounts.services import contact_archive, contact_restore

    ana = ContactFactory(account=acme, email="ana@acme.example", first_name="Ana", last_name="Lopez", title="")
    contact_archive(actor=admin, contact=ana, reason="Left for a competitor")
    text = "Account,Email,First name,Title\nacme.example,ANA@acme.example,Ana,VP Ops\n"
    with nothing_written():
        job = dry_run(admin, text)
    assert job.status == ImportStatus.INVALID
    [error] = job.errors
    assert (error["line"], error["column"]) == (2, "email")
    assert "Ana Lopez" in error["message"] and "archived" in error["message"]
    assert "Left for a competitor" in error["message"] and "Restore" in error["message"]
    ana.refresh_from_db()
    assert ana.archived_at is not None and ana.title == ""
    # Once a person restores them, the same file updates them as any live contact.
    contact_restore(actor=admin, contact=ana)
    job = dry_run(admin, text)
    assert (job.status, job.to_update) == (ImportStatus.VALIDATED, 1), job.errors
    assert import_execute(job_id=job.pk).status == ImportStatus.DONE
    ana.refresh_from_db()
    assert (ana.title, ana.archived_at) == ("VP Ops", None)


def test_an_archived_contact_cannot_be_named_as_a_manager(admin, acme):
    from accounts.services import contact_archive

    bo = ContactFactory(account=acme, email="bo@acme.example", first_name="Bo")
    contact_archive(actor=admin, contact=bo, reason="Duplicate")
    job = dry_run(admin, f"{HEADER}\nCRM-1,ana@acme.example,Ana,,,bo@acme.example\n")
    assert [(error["line"], error["column"]) for error in job.errors] == [(2, "reports_to")]
    assert "archived" in job.errors[0]["message"]
