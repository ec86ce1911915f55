"""CSV files people upload, shared by every app's import page (no domain app owns this module).

What every import does before it reads a single value: decode the upload (UTF-8 with or
without a byte-order mark, and not a spreadsheet saved under another name), check the header
against the columns the import knows, and hand over the rows as text keyed by column, each
with the line it came from. Problems are `RowError`s (line, column, message), so a preview can
list every one of them at once and nothing is written until there are none.

lifecycle.signals reads its files with an older copy of the same steps
(`lifecycle/signals/services/csv_files.py`, `SignalImportForm.clean_file`); it can move to these.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django import forms

# Below DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): a preview's confirm step posts the text back as a form field.
MAX_CSV_BYTES = 2 * 1024 * 1024
CSV_EXTENSIONS = {"", ".csv", ".txt"}
NOT_CSV = "The file is not CSV text: save it as “CSV UTF-8 (comma delimited)” and upload that."


@dataclass(frozen=True)
class RowError:
    """What is wrong with one line of a file; `line` is the file's line number (1 is the header), None the whole file."""

    line: int | None
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]


@dataclass
class CsvRows:
    rows: list[CsvRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def read_csv(text: str, *, columns: Sequence[str], required: Sequence[str], max_rows: int) -> CsvRows:
    """The rows of CSV `text` whose first line names its columns (any order, any case).

    Header problems (empty file, unknown or missing columns) are reported once and no row is
    read. Blank lines are skipped; values are stripped; a missing trailing value reads as "".
    Spreadsheets saved in some locales separate values with semicolons: a header with more
    semicolons than commas is read that way.
    """
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] = []
    for raw_header in reader:
        header = [name.strip().lower() for name in raw_header]
        if any(header):
            break
    if not any(header):
        return CsvRows(errors=[RowError(None, "file", "The file is empty: its first line must name the columns.")])
    header_line = reader.line_num
    errors = []
    unknown = list(dict.fromkeys(name for name in header if name not in columns))
    missing = [name for name in required if name not in header]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if unknown:
        errors.append(
            RowError(
                header_line,
                "header",
                f"Unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown) or '(blank)'}. "
                f"The columns are: {', '.join(columns)}.",
            )
        )
    if missing:
        errors.append(
            RowError(header_line, "header", f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.")
        )
    if repeated:
        errors.append(RowError(header_line, "header", f"Named twice: {', '.join(repeated)}."))
    if errors:
        return CsvRows(errors=errors)
    result = CsvRows()
    for raw in reader:
        if not any(value.strip() for value in raw):
            continue
        if len(result.rows) == max_rows:
            result.errors.append(RowError(None, "file", f"At most {max_rows:,} rows per file: split it."))
            return CsvRows(errors=result.errors)
        if len(raw) > len(header):
            result.errors.append(
                RowError(reader.line_num, "row", f"{len(raw)} values for {len(header)} columns: is a comma unquoted?")
            )
            continue
        values = {name: value.strip() for name, value in zip(header, raw, strict=False)}
        result.rows.append(CsvRow(line=reader.line_num, values={name: values.get(name, "") for name in header}))
    return result


class CsvFileField(forms.FileField):
    """An uploaded CSV file, cleaned to its text; says plainly what is wrong with anything else."""

    default_error_messages = {
        **forms.FileField.default_error_messages,
        "empty": "The file is empty: its first line must name the columns.",
    }

    def __init__(self, *, max_bytes: int = MAX_CSV_BYTES, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        kwargs.setdefault("help_text", f"UTF-8 text, first line naming the columns, at most {max_bytes // 1024**2} MB.")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", ".csv,text/csv")

    def clean(self, data: Any, initial: Any = None) -> str:
        """The file's text (not the upload): what a preview and its import both read."""
        upload = super().clean(data, initial)
        if not upload:
            return ""
        extension = PurePath(upload.name or "").suffix.lower()
        if extension not in CSV_EXTENSIONS:
            raise forms.ValidationError(
                f"{upload.name} is not a CSV file. In the spreadsheet, “Save as” “CSV UTF-8 (comma delimited)” "
                "and upload that."
            )
        if upload.size > self.max_bytes:
            raise forms.ValidationError(f"The file is larger than {self.max_bytes // 1024**2} MB: split it.")
        content = upload.read()
        try:
            # utf-8-sig drops the byte-order mark Excel writes in front of “CSV UTF-8” files.
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise forms.ValidationError(NOT_CSV) from error
        if "\x00" in text:
            raise forms.ValidationError(NOT_CSV)
        if not text.strip():
            raise forms.ValidationError(self.error_messages["empty"], code="empty")
        return text
