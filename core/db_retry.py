"""Run a write again when the database refused it for a lock held by another process.

SQLite, the embedded default (`make run`: web and worker share one file), has one writer at a time. With WAL,
a busy timeout and `BEGIN IMMEDIATE` (csm/settings/base.py) a writer waits its turn, but a wait longer than the
timeout still ends in `OperationalError: database is locked`. PostgreSQL's counterparts are a deadlock or a
serialization failure, where it aborts one side. In every case the work is sound and only its timing was
unlucky: the answer is to run the whole transaction again after a short random wait, a bounded number of times.

A unit of work is retried only when it is a whole transaction: inside a caller's transaction the error is
raised at once, since the caller's earlier writes went with it and only the caller can start again.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar, overload

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# How SQLite and PostgreSQL word a refusal that the same work, run again a moment later, gets past.
LOCK_CONFLICTS = (
    "database is locked",
    "database table is locked",
    "deadlock detected",
    "could not serialize access",
)

ATTEMPTS = 5
FIRST_WAIT = 0.05
MAX_WAIT = 2.0


def is_lock_conflict(error: BaseException) -> bool:
    """True for a database error that only says another transaction was in the way."""
    if not isinstance(error, OperationalError):
        return False
    message = str(error).lower()
    return any(words in message for words in LOCK_CONFLICTS)


def _wait(attempt: int, *, first_wait: float, max_wait: float) -> float:
    """ "Full jitter": a random wait up to a ceiling that doubles each time, so processes that collided once
    do not collide again in step."""
    return random.uniform(0, min(max_wait, first_wait * 2 ** (attempt - 1)))


@overload
def retry_when_locked(func: Callable[P, R]) -> Callable[P, R]: ...


@overload
def retry_when_locked(
    func: None = None,
    *,
    attempts: int = ATTEMPTS,
    first_wait: float = FIRST_WAIT,
    max_wait: float = MAX_WAIT,
    using: str = DEFAULT_DB_ALIAS,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def retry_when_locked(
    func: Callable[P, R] | None = None,
    *,
    attempts: int = ATTEMPTS,
    first_wait: float = FIRST_WAIT,
    max_wait: float = MAX_WAIT,
    using: str = DEFAULT_DB_ALIAS,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Call `func`; when the database refuses it for a lock (`is_lock_conflict`), wait a little and call it
    again, up to `attempts` calls in all, then let the last error through.

    `func` must be a whole unit of work: its own transaction (or autocommitted statements it is safe to
    repeat). Used bare (`@retry_when_locked`) or with arguments (`@retry_when_locked(attempts=3)`).
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")

    def decorate(work: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(work)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            attempt = 1
            while True:
                try:
                    return work(*args, **kwargs)
                except OperationalError as error:
                    if attempt >= attempts or not is_lock_conflict(error) or connections[using].in_atomic_block:
                        raise
                    wait = _wait(attempt, first_wait=first_wait, max_wait=max_wait)
                    logger.warning(
                        "%s found the database locked (attempt %s of %s): %s; trying again in %.2fs",
                        getattr(work, "__qualname__", work),
                        attempt,
                        attempts,
                        error,
                        wait,
                    )
                    time.sleep(wait)
                    attempt += 1

        return run

    return decorate(func) if func is not None else decorate
