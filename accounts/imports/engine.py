"""What every import shares: records in, chunks through a planner, a tally and a fingerprint out.

A record is one row of a file (its values picked by the mapping) or one object of the bulk
API, as text keyed by Baton field. The planner of the kind (accounts.py, contacts.py) reads a
chunk at a time against the database (a few queries per chunk, whatever its size), so memory
stays flat in the size of the file; the dry run keeps only the tally, the first problems and
a running fingerprint of the plan. The real run plans again the same way inside its
transaction and writes each chunk as it goes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .reader import FileProblem, Row

CHUNK_ROWS = 2000
MAX_LISTED_ERRORS = 1000


@dataclass(frozen=True)
class Record:
    line: int  # the file's line (1 is the header), or for the API the 0-based index of the row
    index: int
    values: dict[str, str]
    # How an audit reason names the row: a file's line, or the bulk API's 0-based row.
    where: str = "line"

    @property
    def named(self) -> str:
        return f"{self.where} {self.line}"


@dataclass(frozen=True)
class Problem:
    line: int | None
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class Tally:
    """What a pass found (dry run) or did (real run): counts, the first problems, the plan's fingerprint."""

    rows: int = 0
    to_create: int = 0
    to_update: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[Problem] = field(default_factory=list)
    file_problem: bool = False
    new_tags: set[str] = field(default_factory=set)
    account_ids: list[int] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def problem(self, problem: Problem) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(problem)

    def fingerprint(self, *parts: Any) -> None:
        self._hash.update(f"{parts}\n".encode())

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.to_create,
            "updated": self.to_update,
            "unchanged": self.unchanged,
            "new_tags": sorted(self.new_tags),
            "error_count": self.error_count,
            "errors": [error.as_dict() for error in self.errors],
        }


class Planner(Protocol):
    def plan(self, records: list[Record], tally: Tally) -> list[Any]: ...

    def write(self, plans: list[Any], tally: Tally) -> None: ...

    def finish(self, tally: Tally, *, write: bool) -> None: ...


def file_records(
    rows: Iterable[Row | FileProblem], header: tuple[str, ...], mapping: dict[str, str]
) -> Iterator[Record | Problem]:
    """The file's rows as records keyed by field; the unmapped columns are left out."""
    picks = [(position, mapping[name]) for position, name in enumerate(header) if mapping.get(name)]
    for row in rows:
        if isinstance(row, FileProblem):
            yield Problem(row.line, row.column, row.message)
            continue
        yield Record(line=row.line, index=row.index, values={name: row.values[position] for position, name in picks})


def run(
    records: Iterable[Record | Problem],
    planner: Planner,
    *,
    write: bool,
    progress: Callable[[int], None] | None = None,
) -> Tally:
    """Plan every record chunk by chunk; when `write`, write each chunk's plans as it goes (the caller's transaction)."""
    tally = Tally()
    chunk: list[Record] = []

    def flush() -> None:
        plans = planner.plan(chunk, tally)
        if write and tally.ok:
            planner.write(plans, tally)
        chunk.clear()
        if progress is not None:
            progress(tally.rows)

    for record in records:
        if isinstance(record, Problem):
            tally.problem(record)
            if record.column in {"file", "header"}:
                tally.file_problem = True
            if record.line is not None:
                tally.rows += 1
            continue
        tally.rows += 1
        chunk.append(record)
        if len(chunk) >= CHUNK_ROWS:
            flush()
    if chunk:
        flush()
    planner.finish(tally, write=write and tally.ok)
    return tally
