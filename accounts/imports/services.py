"""Imports of accounts and contacts: upload, map the columns, dry run, then import exactly what it showed.

- `import_upload` keeps the file on storage, learns how it is written (encoding, delimiter,
  header) and proposes a mapping: the one saved for these columns, else matched by name.
- `import_dry_run` reads the whole file under the mapping and records what it would do (rows
  to create, update and leave unchanged) or every problem (line, column, message; the first
  MAX_LISTED_ERRORS listed, all counted). It writes nothing but the job's own row.
- `import_execute` reads the file again in one transaction, plans each chunk against the data
  as it is by then and writes it; when the plan's fingerprint differs from the dry run's (the
  file, the mapping or the accounts changed meanwhile) or a row has become invalid, everything
  is rolled back and the job says so. All rows or none.

Files larger than INLINE_BYTES run both passes as Celery tasks (accounts.imports.tasks), the
page polling the job's progress.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, cast

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditAction
from users.models import User

from .accounts import AccountsPlanner
from .columns import FIELDS, IGNORE, DateFormat, Kind, auto_mapping, headers_key, normalised
from .contacts import ContactsPlanner
from .engine import CHUNK_ROWS, Chunk, Problem, Record, Tally, file_chunks, record_chunks, run
from .models import ImportJob, ImportMapping, ImportStatus
from .reader import FileProblem, file_format, read_batches
from .sql import without_jit

logger = logging.getLogger(__name__)

# Files up to this size are checked and imported while the page waits; larger ones by a worker.
INLINE_BYTES = 256 * 1024
MAX_API_ROWS = 10_000


class Stale(Exception):
    """The real run found another plan than the dry run showed: nothing was written."""


def import_upload(*, actor: User, kind: str, upload: UploadedFile) -> ImportJob:
    """A job for the uploaded file, its format read and its mapping proposed; ValidationError when it is not CSV."""
    if kind not in FIELDS:
        raise ValidationError({"kind": "Import accounts or contacts."})
    try:
        fmt = file_format(cast(IO[bytes], upload), size=upload.size)
    except FileProblem as problem:
        raise ValidationError({"file": problem.message}) from None
    saved = ImportMapping.objects.filter(kind=kind, headers_key=headers_key(fmt.header)).first()
    if saved is not None:
        by_name = {normalised(column): name for column, name in saved.mapping.items()}
        mapping = {column: by_name.get(normalised(column), IGNORE) for column in fmt.header}
        date_format = saved.date_format
    else:
        mapping = {column: auto_mapping(kind, fmt.header).get(column, IGNORE) for column in fmt.header}
        date_format = DateFormat.ISO
    upload.seek(0)
    job = ImportJob(
        kind=kind,
        filename=(upload.name or "upload.csv")[:255],
        size=upload.size or 0,
        encoding=fmt.encoding,
        delimiter=fmt.delimiter,
        header=list(fmt.header),
        mapping=mapping,
        date_format=date_format,
        created_by=actor,
    )
    job.file.save(f"{kind}.csv", upload, save=False)
    job.save()
    return job


def saved_mapping(job: ImportJob) -> ImportMapping | None:
    return ImportMapping.objects.filter(kind=job.kind, headers_key=headers_key(job.header)).first()


def mapping_problems(kind: str, mapping: dict[str, str]) -> list[str]:
    known = {field.name for field in FIELDS[kind]}
    chosen = [name for name in mapping.values() if name]
    problems = [f"“{name}” is not a field of {kind}." for name in chosen if name not in known]
    repeated = sorted({name for name in chosen if chosen.count(name) > 1})
    if repeated:
        problems.append(f"Each field takes one column; chosen more than once: {', '.join(repeated)}.")
    if kind == Kind.ACCOUNTS and not {"external_id", "domain"} & set(chosen):
        problems.append("Map the external id or the domain: it is how a row finds its account.")
    if kind == Kind.CONTACTS and not {"account", "email"} <= set(chosen):
        problems.append("Map the account and the email: they are how a row finds its contact.")
    return problems


@transaction.atomic
def import_map(
    *, actor: User, job: ImportJob, mapping: dict[str, str], date_format: str, save_as: str = ""
) -> ImportJob:
    """Set the job's mapping (and save it for the next file with these columns when `save_as` names the source)."""
    if job.status not in {ImportStatus.UPLOADED, ImportStatus.VALIDATED, ImportStatus.INVALID, ImportStatus.FAILED}:
        raise ValidationError("This import is under way or done: its mapping can no longer change.")
    mapping = {column: mapping.get(column, IGNORE) for column in job.header}
    problems = mapping_problems(job.kind, mapping)
    if problems:
        raise ValidationError({"mapping": problems})
    job.mapping, job.date_format = mapping, date_format
    job.status = ImportStatus.UPLOADED
    job.save(update_fields=["mapping", "date_format", "status", "updated_at"])
    if save_as.strip():
        ImportMapping.objects.update_or_create(
            kind=job.kind,
            headers_key=headers_key(job.header),
            defaults={
                "name": save_as.strip()[:100],
                "mapping": mapping,
                "date_format": date_format,
                "updated_by": actor,
            },
        )
    return job


def runs_in_background(job: ImportJob) -> bool:
    return job.size > INLINE_BYTES


def _planner(job_kind: str, *, actor: User, mapped: Iterable[str], date_format: str, reason: str, lock: bool) -> Any:
    cls = AccountsPlanner if job_kind == Kind.ACCOUNTS else ContactsPlanner
    return cls(actor=actor, mapped=mapped, date_format=date_format, reason=reason, lock=lock)


def _chunks(job: ImportJob, file: IO[bytes]) -> Iterator[Chunk | Problem]:
    fmt = file_format(file, size=job.size)
    if list(fmt.header) != list(job.header):
        raise FileProblem("The stored file no longer has the columns it was mapped with.")
    return file_chunks(read_batches(file, fmt, size=CHUNK_ROWS), fmt.header, job.mapping)


def _progress_writer(job: ImportJob, *, outside_transaction: bool) -> Callable[[int], None]:
    """Record how far a pass got. Inside the real run's transaction, on PostgreSQL, through a connection of
    its own (a thread's), so the page sees the bar move before the import commits."""
    job_id = job.pk

    def write(done: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(progress_done=done, updated_at=timezone.now())

    if not outside_transaction or connection.vendor != "postgresql":
        return write

    def write_elsewhere(done: int) -> None:
        def target() -> None:
            from django.db import connections

            try:
                write(done)
            finally:
                connections.close_all()

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join()

    return write_elsewhere


def _count_rows(job: ImportJob) -> int:
    """A quick count of the file's lines, for the progress bar (a value with a newline counts twice: it is a bar)."""
    with job.file.open("rb") as file:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1024 * 1024), b""))
    return max(lines, 1)


def _store(job: ImportJob, tally: Tally) -> None:
    job.rows, job.to_create, job.to_update, job.unchanged = (
        tally.rows,
        tally.to_create,
        tally.to_update,
        tally.unchanged,
    )
    job.error_count = tally.error_count
    job.errors = [error.as_dict() for error in tally.errors]


def import_dry_run(*, job_id: int) -> ImportJob:
    """Check the whole file under the job's mapping and record what the import would do; writes no domain row."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    job.status, job.progress_done, job.progress_total = ImportStatus.VALIDATING, 0, _count_rows(job)
    job.save(update_fields=["status", "progress_done", "progress_total", "updated_at"])
    planner = _planner(
        job.kind,
        actor=job.created_by,
        mapped=[name for name in job.mapping.values() if name],
        date_format=job.date_format,
        reason="",
        lock=False,
    )
    with job.file.open("rb") as file, without_jit():
        try:
            tally = run(
                _chunks(job, file), planner, write=False, progress=_progress_writer(job, outside_transaction=False)
            )
        except FileProblem as problem:
            tally = Tally()
            tally.problem(Problem(problem.line, problem.column, problem.message))
    if tally.rows == 0 and tally.ok:
        tally.problem(Problem(None, "file", "The file names its columns but has no rows."))
    _store(job, tally)
    job.digest = tally.digest if tally.ok else ""
    job.status = ImportStatus.VALIDATED if tally.ok else ImportStatus.INVALID
    job.progress_done = job.progress_total
    job.message = ""
    job.save()
    return job


def import_execute(*, job_id: int) -> ImportJob:
    """Import what the dry run showed, in one transaction: all rows or none (see the module's docstring)."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status == ImportStatus.DONE:
        return job  # a task delivered twice imports once
    if job.status not in {ImportStatus.VALIDATED, ImportStatus.RUNNING}:
        raise ValidationError("Run the dry run first; only a file without problems is imported.")
    expected = (job.digest, job.to_create, job.to_update, job.unchanged)
    job.status, job.progress_done = ImportStatus.RUNNING, 0
    job.progress_total = job.progress_total or _count_rows(job)
    job.save(update_fields=["status", "progress_done", "progress_total", "updated_at"])
    reason = f"Import #{job.pk} ({job.filename})"
    # Called inside a caller's transaction (a test, the bench), the job's row may be locked by it: a second
    # connection writing the progress would wait for it for ever, so the progress is written in line.
    progress = _progress_writer(job, outside_transaction=not connection.in_atomic_block)
    try:
        with transaction.atomic(), job.file.open("rb") as file, without_jit():
            planner = _planner(
                job.kind,
                actor=job.created_by,
                mapped=[name for name in job.mapping.values() if name],
                date_format=job.date_format,
                reason=reason,
                lock=True,
            )
            tally = run(_chunks(job, file), planner, write=True, progress=progress)
            if not tally.ok or (tally.digest, tally.to_create, tally.to_update, tally.unchanged) != expected:
                raise Stale(tally)
    except Stale as stale:
        tally = stale.args[0]
        job.refresh_from_db()
        _store(job, tally)
        job.status = ImportStatus.FAILED
        job.digest = ""
        job.message = (
            "Nothing was imported: the file now reads differently from its dry run (the accounts or the mapping "
            f"changed meanwhile): {tally.to_create:,} to create, {tally.to_update:,} to update, "
            f"{tally.unchanged:,} unchanged, {tally.error_count:,} problems. Run the dry run again."
        )
        job.finished_at = timezone.now()
        job.save()
        return job
    except FileProblem as problem:
        job.refresh_from_db()
        job.status, job.message, job.finished_at = ImportStatus.FAILED, problem.message, timezone.now()
        job.save()
        return job
    job.refresh_from_db()
    job.status = ImportStatus.DONE
    job.progress_done = job.progress_total
    job.message = f"Created {tally.to_create:,}, updated {tally.to_update:,}, left {tally.unchanged:,} unchanged."
    job.finished_at = timezone.now()
    job.save()
    return job


def import_fail(*, job_id: int, error: BaseException) -> None:
    """A task that raised leaves its job failed with the reason, never stuck in progress."""
    ImportJob.objects.filter(pk=job_id, status__in=[ImportStatus.VALIDATING, ImportStatus.RUNNING]).update(
        status=ImportStatus.FAILED,
        message=f"The import stopped with an error ({type(error).__name__}); nothing was written. Try again, or ask "
        "an admin to look at the logs.",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


# --- the bulk API's JSON rows ------------------------------------------------------------------------------


def _json_records(kind: str, rows: list[Any]) -> Iterator[Record | Problem]:
    known = {field.name for field in FIELDS[kind]}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            yield Problem(index, "row", "Each row is an object keyed by field name.")
            continue
        unknown = sorted(set(row) - known)
        if unknown:
            yield Problem(
                index, "row", f"Unknown fields: {', '.join(unknown)}. The fields are: {', '.join(sorted(known))}."
            )
            continue
        values: dict[str, str] = {}
        for name, value in row.items():
            if value is None:
                values[name] = ""
            elif isinstance(value, list):
                values[name] = ";".join(str(item) for item in value)
            elif isinstance(value, bool):
                values[name] = "yes" if value else "no"
            else:
                values[name] = str(value).strip()
        yield Record(line=index, values=values, where="row")


def import_rows(*, actor: User, kind: str, rows: list[Any], dry_run: bool) -> Tally:
    """Import JSON rows keyed by field name (the bulk API): all or none; a dry run writes nothing.

    Keys as for files: the external id when any row has one, else the domain (accounts); the
    account and the email (contacts). Dates are ISO.
    """
    mapped = sorted({name for row in rows if isinstance(row, dict) for name in row})
    if kind == Kind.ACCOUNTS and any(isinstance(row, dict) and row.get("external_id") for row in rows):
        mapped = sorted({*mapped, "external_id"})
    with transaction.atomic(), without_jit():
        planner = _planner(
            kind, actor=actor, mapped=mapped, date_format=DateFormat.ISO, reason="Bulk import (API)", lock=not dry_run
        )
        tally = run(record_chunks(_json_records(kind, rows)), planner, write=not dry_run)
        if not tally.ok and not dry_run:
            transaction.set_rollback(True)
    return tally


__all__ = ["AuditAction", "import_dry_run", "import_execute", "import_map", "import_rows", "import_upload"]
