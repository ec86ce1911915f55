"""The file is read a chunk ahead, in a thread of its own, while the database works on the chunk before."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from accounts.imports.engine import Chunk, Problem, Tally, read_ahead, run


def chunks(count: int, *, fail_after: int | None = None) -> Iterator[Chunk | Problem]:
    for n in range(count):
        if n == fail_after:
            raise ValueError(f"unreadable at chunk {n}")
        yield Chunk(lines=[n + 2], columns={"name": [f"Company {n}"]})
    yield Problem(None, "file", "The last line is cut short.")


def test_every_chunk_comes_in_order_with_what_was_read_of_it_in_another_thread():
    readers: set[str] = set()

    def read(chunk: Chunk) -> str:
        readers.add(threading.current_thread().name)
        return chunk.columns["name"][0].upper()

    got = list(read_ahead(chunks(5), read))
    assert [(chunk.lines, value) for chunk, value in got[:-1]] == [([n + 2], f"COMPANY {n}") for n in range(5)]
    assert isinstance(got[-1][0], Problem) and got[-1][1] is None  # a problem is passed on, not read
    assert readers == {"import-read-ahead"}


def test_an_error_while_reading_is_raised_to_the_caller_after_the_chunks_before_it():
    seen = []
    with pytest.raises(ValueError, match="unreadable at chunk 3"):
        for chunk, _ in read_ahead(chunks(5, fail_after=3), lambda chunk: None):
            seen.append(chunk.lines[0])
    assert seen == [2, 3, 4]
    assert not any(thread.name == "import-read-ahead" for thread in threading.enumerate())


def test_a_caller_that_stops_early_leaves_no_reading_thread_behind():
    for _chunk, _ in read_ahead(chunks(50), lambda chunk: None):
        break
    assert not any(thread.name == "import-read-ahead" for thread in threading.enumerate())


class FailingWriter:
    """A planner whose second write fails, as a database error would."""

    def __init__(self) -> None:
        self.written = 0

    def read(self, chunk: Chunk) -> None:
        return None

    def plan(self, chunk: Chunk, read: None, tally: Tally) -> None:
        return None

    def write(self, plans: None, tally: Tally) -> None:
        self.written += 1
        if self.written == 2:
            raise RuntimeError("the database refused the chunk")

    def finish(self, tally: Tally, *, write: bool) -> None:
        pass


def test_a_write_that_fails_stops_the_reading_thread_before_the_error_reaches_the_caller():
    with pytest.raises(RuntimeError, match="refused"):
        run(chunks(50), FailingWriter(), write=True)
    assert not any(thread.name == "import-read-ahead" for thread in threading.enumerate())
