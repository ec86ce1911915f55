"""The bulk import API: JSON rows or a CSV file, `?dry_run=1`, all or nothing, 202 for a large file; and the accounts
API's own `?dry_run=1`, which writes nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.imports import services
from accounts.imports.models import ImportJob
from accounts.models import Account, Contact, Tag
from accounts.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_json_rows_dry_run_writes_nothing_then_the_import_writes_them(api, admin, csm, nothing_written):
    client = api(admin)
    rows = [
        {
            "external_id": "CRM-1",
            "name": "Acme",
            "domain": "acme.example",
            "owner": csm.email,
            "arr": 1200,
            "tags": ["Pilot", "New"],
        },
        {
            "external_id": "CRM-2",
            "name": "Birch",
            "owner": csm.username,
            "industry": "unknown",
            "stage": "success",
            "stage_entered_at": "2024-05-01",
        },
    ]
    with nothing_written():
        response = client.post("/api/accounts/import/?dry_run=1", {"rows": rows}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "dry_run": True,
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "new_tags": ["New", "Pilot"],
    }
    response = client.post("/api/accounts/import/", {"rows": rows}, format="json")
    assert response.json()["created"] == 2
    assert set(Tag.objects.values_list("name", flat=True)) == {"New", "Pilot"}
    assert Account.objects.get(external_id="CRM-2").stage == "success"
    again = client.post("/api/accounts/import/", {"rows": rows}, format="json").json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_any_invalid_row_is_a_400_with_every_problem_and_nothing_written(api, admin, csm, nothing_written):
    rows = [
        {"domain": "good.example", "name": "Good", "owner": csm.email},
        {"domain": "bad.example", "name": "Bad", "owner": csm.email, "arr": "lots", "colour": "red"},
        {"domain": "bad2.example", "name": "Bad", "owner": csm.email, "arr": "lots"},
    ]
    with nothing_written():
        response = api(admin).post("/api/accounts/import/", {"rows": rows}, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "row"), (2, "arr")]


def test_too_many_rows_is_a_413(api, admin, monkeypatch):
    monkeypatch.setattr(services, "MAX_API_ROWS", 2)
    monkeypatch.setattr("accounts.imports.api.MAX_API_ROWS", 2)
    response = api(admin).post("/api/accounts/import/", {"rows": [{}, {}, {}]}, format="json")
    assert response.status_code == 413


def test_a_csv_file_over_the_api(api, admin, acme_file):
    response = api(admin).post("/api/accounts/import/", {"file": acme_file}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 1
    assert Account.objects.get().name == "Acme"


@pytest.fixture
def acme_file(csm):
    return SimpleUploadedFile("a.csv", f"name,domain,owner\nAcme,acme.example,{csm.username}\n".encode())


def test_a_malformed_file_over_the_api_is_a_400(api, admin):
    response = api(admin).post(
        "/api/accounts/import/", {"file": SimpleUploadedFile("a.csv", b"\x00\x00\x00")}, format="multipart"
    )
    assert response.status_code == 400
    assert "binary" in response.json()["detail"]


def test_a_large_file_over_the_api_is_a_202_and_its_job_is_polled(
    api, admin, csm, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "INLINE_BYTES", 10)
    monkeypatch.setattr("accounts.imports.api.runs_in_background", services.runs_in_background)
    rows = "".join(f"a{n}.example,A{n},{csm.username}\n" for n in range(50))
    with django_capture_on_commit_callbacks(execute=True):
        response = api(admin).post(
            "/api/accounts/import/",
            {"file": SimpleUploadedFile("a.csv", ("domain,name,owner\n" + rows).encode())},
            format="multipart",
        )
    assert response.status_code == 202
    job = api(admin).get(f"/api/imports/{response.json()['id']}/").json()
    assert (job["status"], job["to_create"], job["percent"]) == ("done", 50, 100)
    assert Account.objects.count() == 50


def test_contacts_over_the_api(api, admin, csm):
    AccountFactory(domain="acme.example", owner=csm)
    rows = [
        {"account": "acme.example", "email": "bo@acme.example", "first_name": "Bo"},
        {"account": "acme.example", "email": "ana@acme.example", "first_name": "Ana", "reports_to": "bo@acme.example"},
    ]
    response = api(admin).post("/api/contacts/import/", {"rows": rows}, format="json")
    assert response.status_code == 200, response.json()
    assert Contact.objects.get(email="ana@acme.example").reports_to.first_name == "Bo"


def test_a_csm_may_not_import_over_the_api(api, csm):
    assert api(csm).post("/api/accounts/import/", {"rows": []}, format="json").status_code == 403
    job = ImportJob.objects.create(kind="accounts", filename="x.csv", created_by=csm)
    assert api(csm).get(f"/api/imports/{job.pk}/").status_code == 403


def test_creating_an_account_with_dry_run_writes_nothing(
    api, manager, csm, nothing_written, django_capture_on_commit_callbacks
):
    payload = {"name": "Dry", "domain": "dry.example", "industry": "software", "region": "emea", "owner": csm.pk}
    with nothing_written(), django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api(manager).post("/api/accounts/?dry_run=1", payload, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["dry_run"] is True and response.json()["id"] is None and response.json()["name"] == "Dry"
    assert callbacks == []
    assert api(manager).post("/api/accounts/", payload, format="json").status_code == 201
