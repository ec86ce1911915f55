"""What every import shares: rows in, chunks through a planner, a tally and a fingerprint out.

A chunk is up to CHUNK_ROWS rows of a file (their values picked by the mapping) or objects of
the bulk API, as text in a column per Baton field. The planner of the kind (accounts.py,
contacts.py) reads a chunk at a time against the database (a few queries per chunk, whatever
its size), so memory stays flat in the size of the file; the dry run keeps only the tally, the
first problems and a running fingerprint of the plan. The real run plans again the same way inside its
transaction and writes each chunk as it goes.

A planner works in two steps: `read` turns a chunk's text into values without the database, then
`plan` (and `write`) use the database. A thread of its own reads the file and the next chunk's
values while the database looks up and writes the chunk before: PostgreSQL works in its own process,
so on a second core the two overlap (the database driver lets go of the interpreter while it waits).
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Protocol

from .reader import Batch, FileProblem

CHUNK_ROWS = 5000
MAX_LISTED_ERRORS = 1000


@dataclass(slots=True)
class Record:
    """One row on its own (a contacts import plans row by row)."""

    line: int  # the file's line (1 is the header), or for the API the 0-based index of the row
    values: dict[str, str]
    # How an audit reason names the row: a file's line, or the bulk API's 0-based row.
    where: str = "line"

    @property
    def named(self) -> str:
        return f"{self.where} {self.line}"


@dataclass(slots=True)
class Chunk:
    """Up to CHUNK_ROWS rows, a column per mapped field: the raw text of each row's value ("" where blank)."""

    lines: list[int]
    columns: dict[str, list[str]]
    where: str = "line"

    def __len__(self) -> int:
        return len(self.lines)

    def records(self) -> list[Record]:
        names = list(self.columns)
        rows = zip(*self.columns.values(), strict=True) if names else ((),) * len(self.lines)
        return [
            Record(line=line, values=dict(zip(names, values, strict=True)), where=self.where)
            for line, values in zip(self.lines, rows, strict=True)
        ]


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

    def fingerprint_lines(self, lines: list[str]) -> None:
        """A chunk's rows at once, one line of text each (what the row is and what it does)."""
        self._hash.update("\n".join(lines).encode("utf-8", "surrogatepass"))
        self._hash.update(b"\n")

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
    def read(self, chunk: Chunk) -> Any: ...

    def plan(self, chunk: Chunk, read: Any, tally: Tally) -> Any: ...

    def write(self, plans: Any, tally: Tally) -> None: ...

    def finish(self, tally: Tally, *, write: bool) -> None: ...


def file_chunks(
    batches: Iterable[Batch | FileProblem], header: tuple[str, ...], mapping: dict[str, str]
) -> Iterator[Chunk | Problem]:
    """The file's rows a chunk at a time, a column per mapped field (values stripped); unmapped columns left out."""
    picks = [(position, mapping[name]) for position, name in enumerate(header) if mapping.get(name)]
    for batch in batches:
        if isinstance(batch, FileProblem):
            yield Problem(batch.line, batch.column, batch.message)
            continue
        values = list(zip(*batch.rows, strict=True))  # by column
        yield Chunk(
            lines=batch.lines, columns={name: list(map(str.strip, values[position])) for position, name in picks}
        )


def record_chunks(records: Iterable[Record | Problem]) -> Iterator[Chunk | Problem]:
    """Records (the bulk API's rows) gathered into chunks; a field a row leaves out is blank there."""
    pending: list[Record] = []

    def chunk() -> Chunk:
        names = list(dict.fromkeys(name for record in pending for name in record.values))
        columns = {name: [record.values.get(name, "") for record in pending] for name in names}
        return Chunk(lines=[record.line for record in pending], columns=columns, where=pending[0].where)

    for record in records:
        if isinstance(record, Problem):
            yield record
            continue
        pending.append(record)
        if len(pending) >= CHUNK_ROWS:
            yield chunk()
            pending = []
    if pending:
        yield chunk()


_END = object()
# How many chunks the reading thread may have ready ahead of the one being planned (memory stays flat in the file).
READ_AHEAD = 1


def read_ahead(
    chunks: Iterable[Chunk | Problem], read: Callable[[Chunk], Any]
) -> Generator[tuple[Chunk | Problem, Any], None, None]:
    """Each chunk (or problem) with what `read` makes of it, produced by a thread of its own up to READ_AHEAD
    chunks ahead. `read` and the chunks' source must not use the database: the thread has no connection of
    its own, and the import's transaction is the caller's. An error in the thread is raised here, in order."""
    ready: queue.Queue[tuple[Any, Any]] = queue.Queue(maxsize=READ_AHEAD)
    stopped = threading.Event()

    def hand_over(item: tuple[Any, Any]) -> bool:
        while not stopped.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                value = read(chunk) if isinstance(chunk, Chunk) and chunk.lines else None
                if not hand_over((chunk, value)):
                    return
            hand_over((_END, None))
        except BaseException as error:  # handed to the caller, who raises it
            hand_over((_END, error))

    thread = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, value = ready.get()
            if item is _END:
                if value is not None:
                    raise value
                return
            yield item, value
    finally:
        stopped.set()
        thread.join()


def run(
    chunks: Iterable[Chunk | Problem],
    planner: Planner,
    *,
    write: bool,
    progress: Callable[[int], None] | None = None,
) -> Tally:
    """Plan chunk by chunk; when `write`, write each chunk's plans as it goes (the caller's transaction)."""
    tally = Tally()
    # Closed explicitly, not left to the garbage collector: a write that fails stops the reading thread before
    # the caller closes the file it reads.
    with closing(read_ahead(chunks, planner.read)) as ahead:
        for chunk, read in ahead:
            if isinstance(chunk, Problem):
                tally.problem(chunk)
                if chunk.column in {"file", "header"}:
                    tally.file_problem = True
                if chunk.line is not None:
                    tally.rows += 1
                continue
            if not chunk.lines:
                continue
            tally.rows += len(chunk)
            plans = planner.plan(chunk, read, tally)
            if write and tally.ok:
                planner.write(plans, tally)
            if progress is not None:
                progress(tally.rows)
    planner.finish(tally, write=write and tally.ok)
    return tally
