"""An import of accounts or contacts from a file (or the bulk API), and the column mappings saved per source."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .columns import DateFormat, Kind


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded: map the columns"
    VALIDATING = "validating", "Dry run in progress"
    VALIDATED = "validated", "Dry run passed: ready to import"
    INVALID = "invalid", "Dry run found problems"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One file on its way in: uploaded, mapped, dry-run, then imported exactly as the dry run showed.

    The file stays on storage (never in a column) and every pass streams it, so a job's memory
    does not grow with its size. `digest` fingerprints the dry run's plan (each row's key,
    what it does and the values it writes): the import re-reads the file under the same mapping
    and writes only when it comes to the same fingerprint.
    """

    kind = models.CharField(max_length=16, choices=Kind.CHOICES)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    file = models.FileField(upload_to="imports/%Y/%m/")
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=16, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    header = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True, help_text='{"column": "field"}')
    date_format = models.CharField(max_length=8, choices=DateFormat.CHOICES, default=DateFormat.ISO)
    rows = models.PositiveIntegerField(default=0)
    to_create = models.PositiveIntegerField(default=0)
    to_update = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first problems: [{line, column, message}]")
    digest = models.CharField(max_length=64, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, help_text="Why the job failed, or what the import did.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=[Kind.ACCOUNTS, Kind.CONTACTS]), name="importjob_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="importjob_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.kind} ({self.filename})"

    @property
    def in_progress(self) -> bool:
        return self.status in {ImportStatus.VALIDATING, ImportStatus.RUNNING}

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class ImportMapping(models.Model):
    """How one source's columns map to Baton's fields, found again when a file with the same columns comes."""

    kind = models.CharField(max_length=16, choices=Kind.CHOICES)
    name = models.CharField(max_length=100, help_text="The source, e.g. “CRM export”.")
    headers_key = models.CharField(max_length=2000)
    mapping = models.JSONField(default=dict)
    date_format = models.CharField(max_length=8, choices=DateFormat.CHOICES, default=DateFormat.ISO)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "headers_key"], name="importmapping_unique_headers"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
