"""The import pages: upload → map the columns → dry run → import → done, with a progress bar for large files.

Views are thin: access through `_job`, the work in accounts.imports.services (or its tasks).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.csv_export import CONTENT_TYPE as CSV_CONTENT_TYPE
from core.csv_export import csv_lines
from core.forms import INVALID
from users.models import User
from users.permissions import can_import

from .columns import FIELDS
from .forms import ImportMappingForm, ImportUploadForm
from .models import ImportJob, ImportStatus
from .reader import MAX_FIELD_CHARS, MAX_FILE_BYTES, MAX_ROWS
from .services import import_dry_run, import_execute, import_map, import_upload, runs_in_background, saved_mapping
from .tasks import import_dry_run_task, import_execute_task

SHOWN_ERRORS = 200


def _importer(request: HttpRequest) -> User:
    if not can_import(request.user):
        raise PermissionDenied("Only managers and admins import accounts and contacts.")
    return cast(User, request.user)


def _job(request: HttpRequest, pk: int) -> ImportJob:
    """The job, if the user may see it: its author, or any admin."""
    user = _importer(request)
    jobs = ImportJob.objects.select_related("created_by")
    if not user.is_admin:
        jobs = jobs.filter(created_by=user)
    return get_object_or_404(jobs, pk=pk)


def import_start(request: HttpRequest) -> HttpResponse:
    actor = _importer(request)
    form = ImportUploadForm()
    status = 200
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = import_upload(actor=actor, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"])
            except ValidationError as error:
                for message in error.message_dict.get("file", error.messages):
                    form.add_error("file", message)
            else:
                return redirect("import-mapping", pk=job.pk)
        status = INVALID
    recent = ImportJob.objects.select_related("created_by").order_by("-created_at")
    if not actor.is_admin:
        recent = recent.filter(created_by=actor)
    context = {
        "form": form,
        "recent": recent[:10],
        "fields": FIELDS,
        "max_rows": MAX_ROWS,
        "max_mb": MAX_FILE_BYTES // 1024**2,
        "max_field": MAX_FIELD_CHARS,
    }
    return render(request, "accounts/imports/start.html", context, status=status)


def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    actor = cast(User, request.user)
    form = ImportMappingForm(job=job)
    status = 200
    if request.method == "POST":
        form = ImportMappingForm(request.POST, job=job)
        if form.is_valid():
            try:
                import_map(
                    actor=actor,
                    job=job,
                    mapping=form.mapping(),
                    date_format=form.cleaned_data["date_format"],
                    save_as=form.cleaned_data["save_as"],
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                if runs_in_background(job):
                    ImportJob.objects.filter(pk=job.pk).update(
                        status=ImportStatus.VALIDATING, progress_done=0, updated_at=timezone.now()
                    )
                    transaction.on_commit(lambda: import_dry_run_task.delay(job.pk))
                else:
                    import_dry_run(job_id=job.pk)
                return redirect("import-detail", pk=job.pk)
        status = INVALID
    fields = {field.name: field for field in FIELDS[job.kind]}
    context = {"job": job, "form": form, "saved": saved_mapping(job), "fields": fields}
    return render(request, "accounts/imports/mapping.html", context, status=status)


def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if request.htmx and request.GET.get("progress"):  # type: ignore[attr-defined]
        response = render(request, "accounts/imports/partials/progress.html", {"job": job})
        if not job.in_progress:
            response["HX-Refresh"] = "true"
        return response
    mapped = [(column, field) for column, field in job.mapping.items() if field]
    context = {"job": job, "errors": job.errors[:SHOWN_ERRORS], "mapped": mapped, "ImportStatus": ImportStatus}
    return render(request, "accounts/imports/detail.html", context)


@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if job.status != ImportStatus.VALIDATED:
        messages.error(request, "Only a file whose dry run passed is imported.")
        return redirect("import-detail", pk=job.pk)
    if runs_in_background(job):
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.RUNNING, progress_done=0, updated_at=timezone.now()
        )
        transaction.on_commit(lambda: import_execute_task.delay(job.pk))
    else:
        job = import_execute(job_id=job.pk)
        if job.status == ImportStatus.DONE:
            messages.success(request, job.message)
    return redirect("import-detail", pk=job.pk)


@require_POST
def import_recheck(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the dry run again (after a failed import, or to see the data as it is now)."""
    job = _job(request, pk)
    if job.in_progress or job.status == ImportStatus.DONE:
        return redirect("import-detail", pk=job.pk)
    if runs_in_background(job):
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.VALIDATING, progress_done=0, updated_at=timezone.now()
        )
        transaction.on_commit(lambda: import_dry_run_task.delay(job.pk))
    else:
        import_dry_run(job_id=job.pk)
    return redirect("import-detail", pk=job.pk)


def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    rows: list[list[Any]] = [[error["line"], error["column"], error["message"]] for error in job.errors]
    if job.error_count > len(job.errors):
        rows.append(["", "", f"… and {job.error_count - len(job.errors):,} more: fix these and run the dry run again."])
    # The shared writer neutralises cells a spreadsheet would run: a column is named by the uploaded file's header.
    # The kept problems are few (job.errors is capped), so the file is written whole rather than streamed.
    response = HttpResponse("".join(csv_lines(["line", "column", "message"], rows)), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-problems.csv"'
    return response
