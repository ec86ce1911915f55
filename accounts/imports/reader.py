"""Reading an uploaded CSV file as a stream of rows, whatever spreadsheet wrote it.

The file is read twice at most, never held whole: once to learn its encoding (UTF-8 with or
without a byte-order mark, UTF-16 with one, else Latin-1, which reads any byte and is what
older spreadsheets write), then row by row through the csv module, which keeps quoted newlines
inside their value. The delimiter (comma, semicolon, tab or bar) is sniffed from the first
lines. Every problem with the file as a whole (empty, binary, too large, a repeated column
name, a value past the size limit, too many rows) is a `FileProblem` with a message a person
can act on, never a crash.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.core.files.base import File

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
# A value longer than this is refused by name (row and column); the csv module's own limit, far above it,
# still guards against a stray quote swallowing the rest of the file.
MAX_FIELD_CHARS = 10_000
DELIMITERS = ",;\t|"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
SNIFF_BYTES = 64 * 1024
READ_BYTES = 1024 * 1024
# Characters below space other than tab, newline and carriage return do not occur in text.
_CONTROL = {chr(code) for code in range(32)} - {"\t", "\n", "\r"}


class FileProblem(Exception):
    """The file cannot be read as CSV; the message says why and what to do."""

    def __init__(self, message: str, *, line: int | None = None, column: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class FileFormat:
    """How a file is written: what `read_rows` needs to read it again the same way."""

    encoding: str
    delimiter: str
    header: tuple[str, ...]

    @property
    def encoding_label(self) -> str:
        return {
            "utf-8-sig": "UTF-8 (with byte-order mark)",
            "utf-8": "UTF-8",
            "utf-16": "UTF-16",
            "latin-1": "Latin-1 (the file is not UTF-8: accented letters read as Western European)",
        }.get(self.encoding, self.encoding)

    @property
    def delimiter_label(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, self.delimiter)


def _encoding(file: IO[bytes]) -> str:
    """The file's encoding, from its byte-order mark or by reading it through as UTF-8 once."""
    file.seek(0)
    start = file.read(4)
    if start.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    else:
        encoding = "utf-8"
    file.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := file.read(READ_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        if encoding == "utf-8-sig":
            raise FileProblem("The file says it is UTF-8 but is not: save it again as “CSV UTF-8”.") from None
        return "latin-1"
    return encoding


def _text(file: IO[bytes], encoding: str) -> io.TextIOWrapper:
    # Django's File objects wrap the file in Python properties the text layer consults on every line read:
    # the file they hold is read directly (same position: the wrappers keep none of their own).
    while not isinstance(file, io.IOBase) and isinstance(getattr(file, "file", None), io.IOBase | File):
        file = file.file  # type: ignore[attr-defined]
    file.seek(0)
    # newline="" lets the csv module see the line ends itself, so a quoted newline stays in its value.
    return io.TextIOWrapper(file, encoding=encoding, newline="")


def _looks_binary(sample: str) -> bool:
    if "\x00" in sample:
        return True
    controls = sum(1 for char in sample[:8192] if char in _CONTROL)
    return controls > max(8, len(sample[:8192]) // 100)


def _delimiter(sample: str) -> str:
    # The sample ends mid-line: keep whole lines only, so the sniffer does not count a cut row.
    if "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = sample.split("\n", 1)[0]
        counts = {delimiter: first_line.count(delimiter) for delimiter in DELIMITERS}
        best = max(counts, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","


def _header(raw: list[str]) -> tuple[str, ...]:
    header = tuple(name.strip() for name in raw)
    seen: dict[str, int] = {}
    repeated: list[str] = []
    for name in header:
        key = name.casefold()
        if key in seen and name not in repeated:
            repeated.append(name)
        seen[key] = seen.get(key, 0) + 1
    if repeated:
        raise FileProblem(
            f"The header names {', '.join(f'“{name}”' for name in repeated)} more than once: "
            "rename or delete the repeated column so each name is used once.",
            line=1,
            column="header",
        )
    if any(len(name) > 200 for name in header):
        raise FileProblem("A column name is longer than 200 characters: is the first line the header?", line=1)
    return header


def file_format(file: IO[bytes], *, size: int | None = None) -> FileFormat:
    """Learn how the file is written and read its header; FileProblem when it cannot be read as CSV."""
    if size is None:
        file.seek(0, io.SEEK_END)
        size = file.tell()
    if size == 0:
        raise FileProblem("The file is empty: its first line must name the columns.")
    if size > MAX_FILE_BYTES:
        raise FileProblem(f"The file is larger than {MAX_FILE_BYTES // 1024**2} MB: split it into smaller files.")
    file.seek(0)
    head = file.read(8)
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF")):
        raise FileProblem(
            "This is a spreadsheet or document, not CSV text: in the spreadsheet, “Save as” "
            "“CSV UTF-8 (comma delimited)” and upload that."
        )
    encoding = _encoding(file)
    text = _text(file, encoding)
    try:
        sample = text.read(SNIFF_BYTES)
        if _looks_binary(sample):
            raise FileProblem("The file holds binary data, not CSV text: export the data as CSV and upload that.")
        if not sample.strip():
            raise FileProblem("The file is empty: its first line must name the columns.")
        delimiter = _delimiter(sample)
        text.seek(0)
        header = next(_rows(text, delimiter), None)
    finally:
        text.detach()
    if header is None or not any(name.strip() for name in header[1]):
        raise FileProblem("The file is empty: its first line must name the columns.")
    return FileFormat(encoding=encoding, delimiter=delimiter, header=_header(header[1]))


def _csv_problem(error: csv.Error, line: int) -> FileProblem:
    if "field larger than field limit" in str(error):
        return FileProblem(
            f"A value starting on line {line} is longer than {MAX_FIELD_CHARS:,} characters (is a quote left open?).",
            line=line,
        )
    return FileProblem(f"Line {line} cannot be read as CSV: {error}.", line=line)


def _rows(text: IO[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line the row starts on, values) for every non-blank row, the header first."""
    reader = csv.reader(text, delimiter=delimiter)
    line = 1
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _csv_problem(error, line) from None
        start, line = line, reader.line_num + 1
        if "".join(raw).strip():  # a row of blank values is no row
            yield start, raw


@dataclass(slots=True)
class Batch:
    """Consecutive data rows: the line each starts on (1 is the header) and its values, padded to the header's width."""

    lines: list[int]
    rows: list[list[str]]


def read_batches(file: IO[bytes], fmt: FileFormat, *, size: int) -> Iterator[Batch | FileProblem]:
    """Every data row of the file, `size` rows a batch, values as written (unstripped) and padded to the header.

    Problems of one row (more values than columns, a value past MAX_FIELD_CHARS) are yielded in
    its place, so a dry run lists them all; a problem of the whole file (too many rows, a
    broken quote) ends the stream with a FileProblem yielded last. The loop is `_rows` written
    out, as it runs once a row.
    """
    width = len(fmt.header)
    text = _text(file, fmt.encoding)
    lines: list[int] = []
    batch: list[list[str]] = []
    try:
        reader = csv.reader(text, delimiter=fmt.delimiter)
        line, index, header = 1, 0, True
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                if batch:
                    yield Batch(lines, batch)
                yield _csv_problem(error, line)
                return
            start, line = line, reader.line_num + 1
            joined = "".join(raw)
            if not joined.strip():  # a row of blank values is no row
                continue
            if header:
                header = False
                continue
            if index == MAX_ROWS:
                if batch:
                    yield Batch(lines, batch)
                yield FileProblem(f"The file has more than {MAX_ROWS:,} rows: split it into smaller files.")
                return
            index += 1
            count = len(raw)
            if count > width:
                yield FileProblem(
                    f"{count} values for {width} columns: is a delimiter (“{fmt.delimiter_label}”) unquoted "
                    "inside a value?",
                    line=start,
                    column="row",
                )
                continue
            if len(joined) > MAX_FIELD_CHARS and max(map(len, raw)) > MAX_FIELD_CHARS:
                for position, value in enumerate(raw):
                    if len(value) > MAX_FIELD_CHARS:
                        yield FileProblem(
                            f"{len(value):,} characters; at most {MAX_FIELD_CHARS:,}.",
                            line=start,
                            column=fmt.header[position] or f"column {position + 1}",
                        )
                        break
                continue
            if count < width:
                raw.extend([""] * (width - count))
            lines.append(start)
            batch.append(raw)
            if len(batch) >= size:
                yield Batch(lines, batch)
                lines, batch = [], []
        if batch:
            yield Batch(lines, batch)
    finally:
        text.detach()
