"""The import pages: upload, map, dry run, import; a large file on the worker with a progress bar; CSMs refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.imports import services
from accounts.imports.models import ImportJob, ImportMapping, ImportStatus
from accounts.models import Account

pytestmark = pytest.mark.django_db


def csv_file(text: str, name: str = "accounts.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_a_manager_uploads_maps_dry_runs_and_imports(client, manager, csm):
    client.force_login(manager)
    response = client.get(reverse("import-start"))
    assert response.status_code == 200
    response = client.post(
        reverse("import-start"),
        {"kind": "accounts", "file": csv_file(f"Company,Website,CSM\nAcme,acme.example,{csm.email}\n")},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("import-mapping", args=[job.pk])
    page = client.get(response.url)
    assert page.status_code == 200 and "Map the columns" in page.content.decode()
    response = client.post(
        reverse("import-mapping", args=[job.pk]),
        {"column_0": "name", "column_1": "domain", "column_2": "owner", "date_format": "iso", "save_as": "CRM export"},
    )
    assert response.status_code == 302
    assert ImportMapping.objects.get().name == "CRM export"
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert "All 1 row are valid" in page and "Import 1 row" in page
    assert Account.objects.count() == 0
    response = client.post(reverse("import-run", args=[job.pk]))
    assert response.status_code == 302
    assert Account.objects.get().name == "Acme"
    assert "Imported." in client.get(reverse("import-detail", args=[job.pk])).content.decode()


def test_problems_are_listed_and_downloaded(client, admin):
    client.force_login(admin)
    client.post(reverse("import-start"), {"kind": "accounts", "file": csv_file("Website,Company\nnot a domain,X\n")})
    job = ImportJob.objects.get()
    client.post(
        reverse("import-mapping", args=[job.pk]), {"column_0": "domain", "column_1": "name", "date_format": "iso"}
    )
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert "problem" in page and "is not a domain" in page
    download = client.get(reverse("import-errors", args=[job.pk]))
    assert download["Content-Type"].startswith("text/csv")
    assert "2,domain," in download.content.decode()
    assert client.post(reverse("import-run", args=[job.pk])).status_code == 302
    assert Account.objects.count() == 0


def test_a_mapping_without_a_key_is_refused(client, admin):
    client.force_login(admin)
    client.post(reverse("import-start"), {"kind": "accounts", "file": csv_file("Company\nX\n")})
    job = ImportJob.objects.get()
    response = client.post(reverse("import-mapping", args=[job.pk]), {"column_0": "name", "date_format": "iso"})
    assert response.status_code == 422
    assert "external id or the domain" in response.content.decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"\x00\x01binary" * 50, "binary"),
        (b"A,a\n1,2\n", "more than once"),
    ],
)
def test_a_malformed_file_is_a_clear_422_never_a_500(client, admin, content, message):
    client.force_login(admin)
    response = client.post(reverse("import-start"), {"kind": "accounts", "file": SimpleUploadedFile("x.csv", content)})
    assert response.status_code == 422
    assert message in response.content.decode()


def test_a_large_file_runs_on_the_worker_with_a_progress_bar(
    client, admin, csm, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "INLINE_BYTES", 10)
    client.force_login(admin)
    rows = "".join(f"a{n}.example,A{n},{csm.username}\n" for n in range(30))
    client.post(reverse("import-start"), {"kind": "accounts", "file": csv_file("Domain,Name,Owner\n" + rows)})
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(
            reverse("import-mapping", args=[job.pk]),
            {"column_0": "domain", "column_1": "name", "column_2": "owner", "date_format": "iso"},
        )
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATING
    bar = client.get(reverse("import-detail", args=[job.pk]) + "?progress=1", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in bar.content.decode() and "HX-Refresh" not in bar
    for callback in callbacks:
        callback()  # the worker (eager in tests) runs the dry run
    job.refresh_from_db()
    assert (job.status, job.to_create, job.progress_done, job.progress_total) == (ImportStatus.VALIDATED, 30, 31, 31)
    assert (
        client.get(reverse("import-detail", args=[job.pk]) + "?progress=1", HTTP_HX_REQUEST="true")["HX-Refresh"]
        == "true"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import-run", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and Account.objects.count() == 30


def test_a_task_that_raises_leaves_its_job_failed_with_the_reason(admin, csm, monkeypatch):
    from accounts.imports.tasks import import_execute_task

    job = services.import_dry_run(
        job_id=services.import_upload(
            actor=admin, kind="accounts", upload=csv_file(f"Domain,Name,Owner\na.example,A,{csm.username}\n")
        ).pk
    )

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("accounts.imports.tasks.import_execute", explode)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    with pytest.raises(RuntimeError):
        import_execute_task.delay(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "RuntimeError" in job.message


def test_a_csm_may_not_import(client, csm):
    client.force_login(csm)
    assert client.get(reverse("import-start")).status_code == 403
    assert "/import/" not in client.get(reverse("cockpit")).content.decode()


def test_a_manager_sees_only_their_own_imports(client, manager, other_manager, csm):
    job = services.import_upload(actor=other_manager, kind="accounts", upload=csv_file("Domain\na.example\n"))
    client.force_login(manager)
    assert client.get(reverse("import-detail", args=[job.pk])).status_code == 404
