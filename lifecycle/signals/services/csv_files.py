"""CSV files of signals: the same columns as the API rows, checked by the same code.

The import page previews a file (dry run) and imports it only when every
line is valid; the export writes the columns the import reads, so a file
can make the round trip.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from lifecycle.signals.services.bulk import REQUIRED_COLUMNS, SPECS, IngestResult, RowError, signals_ingest
from users.models import User


@dataclass
class CsvRows:
    rows: list[dict[str, str]]
    errors: list[RowError]


def csv_rows(kind: str, text: str) -> CsvRows:
    """Rows from CSV text with a header line; header problems are reported once, as row -1."""
    spec = SPECS[kind]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in (reader.fieldnames or [])]
    errors = []
    if not header:
        return CsvRows([], [RowError(-1, "header", "The file is empty; the first line must name the columns.")])
    unknown = [name for name in header if name not in spec.columns]
    missing = [name for name in REQUIRED_COLUMNS[kind] if name not in header]
    if unknown:
        errors.append(
            RowError(-1, "header", f"Unknown columns: {', '.join(unknown)}. Expected: {', '.join(spec.columns)}.")
        )
    if missing:
        errors.append(RowError(-1, "header", f"Missing columns: {', '.join(missing)}."))
    if errors:
        return CsvRows([], errors)
    reader.fieldnames = header
    rows = []
    for row in reader:
        if None in row:
            errors.append(RowError(len(rows), "row", "This line has more values than the header has columns."))
            row.pop(None)
        rows.append({name: value for name, value in row.items() if value is not None})
    return CsvRows(rows, errors)


def csv_import(*, kind: str, text: str, actor: User | None, dry_run: bool) -> IngestResult:
    """A whole CSV file through the same checks as the API; with any error nothing is written."""
    parsed = csv_rows(kind, text)
    if parsed.errors:
        return IngestResult(kind=kind, dry_run=dry_run, errors=parsed.errors)
    return signals_ingest(kind=kind, rows=parsed.rows, actor=actor, dry_run=dry_run)
