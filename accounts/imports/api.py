"""The bulk import API: accounts and contacts as a CSV file or as JSON rows; the state of a large file's job.

`POST /api/accounts/import/` and `POST /api/contacts/import/` take either a CSV file
(multipart, field `file`; its columns named as Baton's fields or as the import page would
match them, or as the mapping saved for those columns; dates ISO) or `{"rows": [{field: value}]}`
(at most MAX_API_ROWS). `?dry_run=1` checks and reports, writing nothing. Any invalid row:
400 with every problem, nothing written. A file larger than the page's inline limit is
checked (and, without dry_run, imported) by a worker: 202 with the job, polled at
`GET /api/imports/<id>/`.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import DRY_RUN, BatchErrorSerializer, batch_rows, dry_run_asked
from core.parsers import BatchJSONParser
from users.models import User
from users.permissions import can_import

from .columns import Kind
from .engine import Tally
from .models import ImportJob, ImportStatus
from .services import (
    MAX_API_ROWS,
    import_dry_run,
    import_execute,
    import_map,
    import_rows,
    import_upload,
    mapping_problems,
    runs_in_background,
)
from .tasks import import_dry_run_task


class CanImport(permissions.IsAuthenticated):
    message = "Only managers and admins import accounts and contacts."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and can_import(request.user)


class ImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField(help_text="Created, or in a dry run, to create.")
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    new_tags = serializers.ListField(child=serializers.CharField())


class ImportJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "filename",
            "rows",
            "to_create",
            "to_update",
            "unchanged",
            "error_count",
            "errors",
            "progress_done",
            "progress_total",
            "percent",
            "message",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


def _problems(errors: list[dict[str, Any]], *, rows: bool) -> list[dict[str, Any]]:
    """JSON rows are named by 0-based index and field (core.batches' shape); a file's rows by line and column."""
    if rows:
        return [
            {"index": -1 if e["line"] is None else e["line"], "field": e["column"], "message": e["message"]}
            for e in errors
        ]
    return errors


def _invalid(detail: str, errors: list[dict[str, Any]]) -> Response:
    return Response({"detail": detail, "errors": errors}, status=status.HTTP_400_BAD_REQUEST)


def _result(tally: Tally, *, dry_run: bool) -> dict[str, Any]:
    summary = tally.as_dict()
    return {key: summary[key] for key in ("rows", "created", "updated", "unchanged", "new_tags")} | {"dry_run": dry_run}


class BulkImportView(APIView):
    kind = Kind.ACCOUNTS
    permission_classes = [CanImport]
    parser_classes = [BatchJSONParser, MultiPartParser]

    @extend_schema(
        parameters=[DRY_RUN],
        request={"multipart/form-data": OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        responses={
            200: ImportResultSerializer,
            202: ImportJobSerializer,
            400: OpenApiResponse(BatchErrorSerializer, description="Some rows are invalid; nothing was written."),
            413: OpenApiResponse(BatchErrorSerializer, description="Too many rows."),
        },
    )
    def post(self, request: Request) -> Response:
        actor = cast(User, request.user)
        dry_run = dry_run_asked(request)
        upload = request.FILES.get("file")
        if upload is None:
            rows = batch_rows(request, max_rows=MAX_API_ROWS)
            if isinstance(rows, Response):
                return rows
            tally = import_rows(actor=actor, kind=self.kind, rows=rows, dry_run=dry_run)
            if not tally.ok:
                errors = _problems([error.as_dict() for error in tally.errors], rows=True)
                return _invalid(f"{tally.error_count} problem(s) found; nothing was written.", errors)
            return Response(_result(tally, dry_run=dry_run))
        try:
            job = import_upload(actor=actor, kind=self.kind, upload=upload)
            problems = mapping_problems(self.kind, job.mapping)
            if problems:
                raise ValidationError({"mapping": problems})
            import_map(actor=actor, job=job, mapping=job.mapping, date_format=job.date_format)
        except ValidationError as error:
            messages = error.messages
            return _invalid(" ".join(messages), [{"line": None, "column": "file", "message": m} for m in messages])
        if runs_in_background(job):
            ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.VALIDATING, updated_at=timezone.now())
            transaction.on_commit(lambda: import_dry_run_task.delay(job.pk, then_import=not dry_run))
            job.refresh_from_db()
            return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        job = import_dry_run(job_id=job.pk)
        if job.status == ImportStatus.VALIDATED and not dry_run:
            job = import_execute(job_id=job.pk)
        if job.status in {ImportStatus.INVALID, ImportStatus.FAILED}:
            detail = job.message or f"{job.error_count} problem(s) found; nothing was written."
            return _invalid(detail, job.errors)
        return Response(
            {
                "dry_run": dry_run,
                "rows": job.rows,
                "created": job.to_create,
                "updated": job.to_update,
                "unchanged": job.unchanged,
                "new_tags": [],
                "job": job.pk,
            }
        )


class AccountImportView(BulkImportView):
    """Create and update accounts in bulk (keyed by external id, else domain)."""

    kind = Kind.ACCOUNTS


class ContactImportView(BulkImportView):
    """Create and update contacts in bulk (keyed by account and email)."""

    kind = Kind.CONTACTS


class ImportJobView(APIView):
    """A file import's state: its dry run's counts and problems, and how far it got."""

    permission_classes = [CanImport]

    @extend_schema(responses={200: ImportJobSerializer})
    def get(self, request: Request, pk: int) -> Response:
        user = cast(User, request.user)
        jobs = ImportJob.objects.all() if user.is_admin else ImportJob.objects.filter(created_by=user)
        return Response(ImportJobSerializer(get_object_or_404(jobs, pk=pk)).data)
