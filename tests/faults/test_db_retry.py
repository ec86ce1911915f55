"""core.db_retry: a write refused for a lock is run again, a bounded number of times, and only as a whole."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from core import db_retry
from core.db_retry import is_lock_conflict, retry_when_locked


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(db_retry.time, "sleep", waits.append)
    return waits


def flaky(failures: list[BaseException]):
    calls = []

    def work(value):
        calls.append(value)
        if failures:
            raise failures.pop(0)
        return value * 2

    return work, calls


@pytest.mark.parametrize(
    "message",
    [
        "database is locked",
        "database table is locked: transitions_bulkhandover",
        "deadlock detected\nDETAIL:  Process 1 waits for ShareLock on transaction 2",
        "could not serialize access due to concurrent update",
    ],
)
def test_sqlite_locks_and_postgresql_deadlocks_count_as_lock_conflicts(message):
    assert is_lock_conflict(OperationalError(message))


def test_other_database_errors_are_not_lock_conflicts():
    assert not is_lock_conflict(OperationalError("no such table: accounts_account"))
    assert not is_lock_conflict(RuntimeError("database is locked"))


def test_a_write_refused_for_a_lock_is_run_again_after_a_growing_random_wait(no_waiting):
    work, calls = flaky([OperationalError("database is locked"), OperationalError("database is locked")])

    assert retry_when_locked(first_wait=0.1, max_wait=1.0)(work)(21) == 42

    assert calls == [21, 21, 21]
    assert len(no_waiting) == 2
    assert 0 <= no_waiting[0] <= 0.1 and 0 <= no_waiting[1] <= 0.2


def test_it_gives_up_after_the_last_attempt_and_lets_the_error_through(no_waiting):
    work, calls = flaky([OperationalError("database is locked") for _ in range(5)])

    with pytest.raises(OperationalError, match="locked"):
        retry_when_locked(attempts=3)(work)(1)

    assert len(calls) == 3 and len(no_waiting) == 2


def test_other_errors_are_not_retried(no_waiting):
    work, calls = flaky([OperationalError("disk I/O error")])

    with pytest.raises(OperationalError, match="disk"):
        retry_when_locked(work)(1)

    assert calls == [1] and no_waiting == []


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_error_goes_to_the_caller_at_once(no_waiting):
    """The caller's earlier writes were lost with the lock: only the caller can start again."""
    work, calls = flaky([OperationalError("database is locked")])

    with pytest.raises(OperationalError), transaction.atomic():
        retry_when_locked(work)(1)

    assert calls == [1] and no_waiting == []


def test_at_least_one_attempt():
    with pytest.raises(ValueError):
        retry_when_locked(attempts=0)
