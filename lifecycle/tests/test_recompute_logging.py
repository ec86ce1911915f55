"""The nightly recompute logs one line per chunk: its outcome, counts and duration (JSON fields under `extra`)."""

import datetime as dt
import logging

import pytest
import time_machine

from accounts.tests.factories import AccountFactory
from lifecycle.health.recompute import health_recompute_all_inline, health_recompute_chunk
from lifecycle.models import RecomputeChunk
from lifecycle.tests.test_flood_guard import NOON, silent_book

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 23)
LOGGER = "lifecycle.health.recompute"


def _chunk_lines(caplog):
    return [record for record in caplog.records if record.name == LOGGER and hasattr(record, "recompute_chunk")]


def test_each_chunk_of_a_run_logs_its_outcome_counts_and_duration(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    AccountFactory.create_batch(5)
    run = health_recompute_all_inline(day=DAY, chunk_size=2, notify=False)
    lines = _chunk_lines(caplog)
    assert len(lines) == run.chunks_total == 3
    details = [line.recompute_chunk for line in lines]
    assert {detail["outcome"] for detail in details} == {"done"}
    assert {detail["run_id"] for detail in details} == {run.pk}
    assert sorted(detail["chunk_id"] for detail in details) == sorted(run.chunks.values_list("pk", flat=True))
    assert sum(detail["accounts"] for detail in details) == 5
    assert sum(detail["scored"] for detail in details) == 5
    assert all(detail["duration_ms"] >= 0 and detail["attempt"] == 1 for detail in details)
    assert [detail.get("run_finished", False) for detail in details] == [False, False, True]
    assert all(line.levelno == logging.INFO for line in lines)
    assert "done: 2 accounts, 2 scored, 0 flags raised in" in lines[0].getMessage()
    assert lines[-1].getMessage().endswith("; the run is finished")


@pytest.mark.parametrize(
    ("accounts", "said"),
    [(1, "done: 1 account, 1 scored, 1 flag raised in"), (2, "done: 2 accounts, 2 scored, 2 flags raised in")],
)
def test_a_chunk_line_counts_its_accounts_and_flags_in_english(caplog, accounts, said):
    caplog.set_level(logging.INFO, logger=LOGGER)
    with time_machine.travel(NOON, tick=False):
        silent_book(accounts=accounts, silent=accounts)  # one rule, firing on every account
        health_recompute_all_inline(day=DAY, notify=False)
    (line,) = _chunk_lines(caplog)
    assert said in line.getMessage()


def test_a_chunk_sent_again_logs_that_it_was_already_done(caplog):
    AccountFactory.create_batch(2)
    run = health_recompute_all_inline(day=DAY, notify=False)
    chunk = RecomputeChunk.objects.get(run=run)
    caplog.set_level(logging.INFO, logger=LOGGER)
    caplog.clear()
    assert health_recompute_chunk(chunk_id=chunk.pk, notify=False) is False
    (line,) = _chunk_lines(caplog)
    assert line.recompute_chunk["outcome"] == "already_done"
    assert f"Recompute chunk {chunk.pk} of run {run.pk} already done in" in line.getMessage()


def test_a_chunk_that_fails_logs_a_warning_naming_the_error(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    with pytest.raises(RecomputeChunk.DoesNotExist):
        health_recompute_chunk(chunk_id=987654, notify=False)
    (line,) = _chunk_lines(caplog)
    assert line.levelno == logging.WARNING
    assert line.recompute_chunk["outcome"] == "failed"
    assert line.recompute_chunk["error"] == "DoesNotExist"
    assert "Recompute chunk 987654 of run None failed (DoesNotExist) in" in line.getMessage()
