"""CSV files Baton writes: every list's "Export CSV" (no domain app owns this module).

One writer for every export, so each file reads the same way:

- **Streamed.** `csv_response` hands Django a generator that writes one line at a time to an
  echo buffer; callers pass rows from `QuerySet.iterator(chunk_size=...)`, so an export of
  100,000 accounts never sits in memory, and the first bytes leave before the last row is read.
- **UTF-8 with a byte-order mark.** Excel opens a CSV without one in the machine's legacy code
  page and garbles accents ("Zürich" as "ZÃ¼rich"); with it, Excel, LibreOffice, Numbers and
  Google Sheets all read UTF-8, and Python's `utf-8-sig` and Baton's own imports skip it.
- **Human labels.** The header row is the column labels the pages show; callers pass choice
  labels and names, not codes and ids (each export's columns say which).
- **Cells neutralised.** A text cell a spreadsheet would run as a formula (starting with `=`,
  `+`, `-`, `@`, a tab or a carriage return: `=HYPERLINK(...)`, `@SUM(...)`) gets a leading
  apostrophe, as OWASP's "CSV injection" guidance advises: shown as text, never run. Real
  numbers (int, Decimal, float, negative ones too) are written as numbers, so the sheet still
  sums them; a number that arrives as text is text and is neutralised like any other.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.http import StreamingHttpResponse
from django.utils import timezone

T = TypeVar("T")

BOM = "\ufeff"
CONTENT_TYPE = "text/csv; charset=utf-8"
# Rows fetched per database round trip when an export walks a queryset.
CHUNK_SIZE = 2000
# What a spreadsheet takes as the start of a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | Decimal


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def neutralise(value: Any) -> Cell:
    """One cell as it is written: numbers as numbers, everything else as text a spreadsheet shows and never runs.

    None is blank, a boolean "Yes"/"No", a date ISO (2026-03-31), a date and time in the site's
    time zone to the minute (2026-03-31 14:05).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | Decimal | float):
        return value
    if isinstance(value, dt.datetime):
        moment = timezone.localtime(value) if timezone.is_aware(value) else value
        return moment.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The file, line by line: the byte-order mark and the header, then each row, every cell neutralised."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([neutralise(label) for label in header])
    for row in rows:
        yield writer.writerow([neutralise(value) for value in row])


def export_filename(name: str, *, on: dt.date | None = None) -> str:
    """`baton-<name>-<YYYY-MM-DD>.csv`, with only letters, digits, dots, dashes and underscores from `name`."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "export"
    return f"baton-{safe}-{(on or timezone.localdate()).isoformat()}.csv"


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """A streamed CSV download. `filename` is the file's name without date or extension ("accounts-all"):
    the download is named `baton-accounts-all-2026-03-31.csv`."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{export_filename(filename)}"'
    # Exports hold customer data: not for shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column of an export: its header label and how to read its cell from a row's object."""

    label: str
    value: Callable[[T], Any]


def column_rows(columns: Sequence[Column[T]], objects: Iterable[T]) -> Iterator[list[Any]]:
    """Each object as a row of `columns` (lazily: pass `queryset.iterator(chunk_size=CHUNK_SIZE)`)."""
    for obj in objects:
        yield [column.value(obj) for column in columns]


def columns_response(filename: str, columns: Sequence[Column[T]], objects: Iterable[T]) -> StreamingHttpResponse:
    """`csv_response` for objects read through `Column`s: the labels are the header."""
    return csv_response(filename, [column.label for column in columns], column_rows(columns, objects))
