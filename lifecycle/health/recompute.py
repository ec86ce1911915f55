"""Recompute health: the daily run over every account, and quick runs after new signals.

A run is split into chunks of consecutive account ids. Each chunk is one
transaction that reads facts set-based, scores, upserts the day's snapshot
(unique per account and day), refreshes AccountHealth, raises red flags and
marks itself done. Running a chunk again the same day rewrites the same
values, so retries and redeliveries are harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar, cast

from django.db import connection, connections, transaction
from django.db.models import Count, F
from django.utils import timezone

from accounts.models import Account
from core import events
from core.text import counted
from lifecycle.health.events import BandsChanged
from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_query import AccountScope, facts_for
from lifecycle.health.numbers import round_half_up
from lifecycle.health.rollup import health_band_daily_write
from lifecycle.health.scoring import ScorecardConfig, account_priority, load_scorecards, score_account, scorecard_for
from lifecycle.models import (
    UNRESOLVED,
    AccountHealth,
    HealthScore,
    PendingRecompute,
    RecomputeChunk,
    RecomputeRun,
    RedFlag,
    ScoreOverride,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_CHUNK_SIZE = 5000
WRITE_BATCH_SIZE = 2000


@dataclass
class ScopeOutcome:
    accounts: int = 0
    scored: int = 0
    flags_raised: list[int] = field(default_factory=list)


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def previous_scores(scope: AccountScope, day: dt.date) -> dict[tuple[int, dt.date], tuple[float | None, str]]:
    days = [day - dt.timedelta(days=n) for n in (1, 7, 30)]
    rows = HealthScore.objects.filter(scope.q(), day__in=days).values_list("account_id", "day", "score", "band")
    return {
        (account_id, row_day): (float(score) if score is not None else None, band)
        for account_id, row_day, score, band in rows.iterator(chunk_size=5000)
    }


def _raise_flags(facts: Iterable[AccountFacts], *, day: dt.date, notify: bool = True) -> list[int]:
    """Evaluate the admin's red-flag rules on today's facts: clear flags that no longer fire, raise new ones."""
    from lifecycle.flags.rules import evaluate_rules, load_rule_context
    from lifecycle.flags.services import flags_clear, flags_sync

    facts = list(facts)
    context = load_rule_context()
    firings = evaluate_rules(context.rules, facts, today=day, cadences=context.cadences)
    flags_clear(
        firings=firings,
        account_ids=[item.account_id for item in facts],
        rule_ids=[rule.pk for rule in context.rules],
        today=day,
        notify=notify,
    )
    return flags_sync(firings=firings, today=day, notify=notify).raised_ids


@transaction.atomic
def health_recompute_scope(
    *,
    day: dt.date,
    scope: AccountScope,
    scorecards: list[ScorecardConfig] | None = None,
    notify: bool = True,
    raise_flags: bool = True,
) -> ScopeOutcome:
    """Score every account in `scope` for `day` and raise the flags that fire.

    `raise_flags=False` only scores: for back-filling past days, whose flags
    would be stale news today. Current health (AccountHealth) only moves where
    `day` is the latest day scored for the account, so back-filling an earlier
    day writes its snapshots and leaves today's current health alone. On
    PostgreSQL the work runs inside the database (lifecycle.health.recompute_sql);
    elsewhere in Python, the reference.
    """
    scorecards = load_scorecards() if scorecards is None else scorecards
    recompute = _recompute_scope_in_database if connection.vendor == "postgresql" else _recompute_scope_in_python
    if not (notify and raise_flags):
        return recompute(day=day, scope=scope, scorecards=scorecards, notify=notify, raise_flags=raise_flags)
    # A live run tells the apps above whose band moved: the current bands before and after, compared.
    before = _current_bands(scope)
    outcome = recompute(day=day, scope=scope, scorecards=scorecards, notify=notify, raise_flags=raise_flags)
    _announce_band_changes(before, _current_bands(scope), day=day)
    return outcome


def _current_bands(scope: AccountScope) -> dict[int, str]:
    return dict(AccountHealth.objects.filter(scope.q()).exclude(band="").values_list("account_id", "band"))


def _announce_band_changes(before: dict[int, str], after: dict[int, str], *, day: dt.date) -> None:
    changes = tuple(
        (account_id, band, after[account_id])
        for account_id, band in sorted(before.items())
        # No band on either side (unscored) is no move: a first score is not news.
        if band and after.get(account_id) and after[account_id] != band
    )
    if changes:
        events.announce(BandsChanged(changes=changes, day=day))


def _recompute_scope_in_database(
    *, day: dt.date, scope: AccountScope, scorecards: list[ScorecardConfig], notify: bool, raise_flags: bool
) -> ScopeOutcome:
    from lifecycle.health import recompute_sql

    now = timezone.now()
    outcome = ScopeOutcome(accounts=recompute_sql.create_facts_table(day=day, scope=scope))
    if outcome.accounts:
        outcome.scored = recompute_sql.create_scores_table(day=day, scorecards=scorecards)
        recompute_sql.upsert_snapshots(day=day, now=now)
        if raise_flags:
            outcome.flags_raised = _raise_new_flags_in_database(day=day, scope=scope, notify=notify)
        recompute_sql.upsert_account_health(day=day, scope=scope, now=now)
    # On failure the rollback takes the scratch tables with it; dropping them then would hide the error.
    recompute_sql.drop_scratch_tables()
    return outcome


def _raise_new_flags_in_database(*, day: dt.date, scope: AccountScope, notify: bool) -> list[int]:
    """Clear the flags that no longer fire in one statement, then raise flags for new firings.

    Only the pairs that fire without an unresolved flag come back to Python for their reasons.
    """
    from lifecycle.flags.rules import evaluate_rules, load_rule_context
    from lifecycle.flags.services import flags_cleared_announce, flags_sync
    from lifecycle.health import recompute_sql

    context = load_rule_context()
    cleared = recompute_sql.clear_flags_not_firing(day=day, scope=scope, rules=context.rules, cadences=context.cadences)
    flags_cleared_announce(flag_ids=cleared, today=day, notify=notify)
    facts, pairs = recompute_sql.new_firing_facts(day=day, scope=scope, rules=context.rules, cadences=context.cadences)
    if not pairs:
        return []
    firings = [
        firing
        for firing in evaluate_rules(context.rules, facts, today=day, cadences=context.cadences)
        if (firing.rule_id, firing.account_id) in pairs
    ]
    return flags_sync(firings=firings, today=day, notify=notify).raised_ids


def _recompute_scope_in_python(
    *, day: dt.date, scope: AccountScope, scorecards: list[ScorecardConfig], notify: bool, raise_flags: bool
) -> ScopeOutcome:
    facts = facts_for(day=day, scope=scope)
    outcome = ScopeOutcome(accounts=len(facts))
    if not facts:
        return outcome
    previous = previous_scores(scope, day)
    now = timezone.now()
    snapshots: list[HealthScore] = []
    for account_id, item in facts.items():
        card = scorecard_for(scorecards, tier=item.tier, stage=item.stage)
        if card is None:
            continue
        result = score_account(card, item, day=day)
        item.score, item.band = result.score, result.band
        item.score_7d_ago = previous.get((account_id, day - dt.timedelta(days=7)), (None, ""))[0]
        item.band_yesterday = previous.get((account_id, day - dt.timedelta(days=1)), (None, ""))[1]
        item.extra["scorecard"] = card
        snapshots.append(
            HealthScore(
                account_id=account_id,
                day=day,
                scorecard_id=card.id,
                score=_decimal(result.score),
                band=result.band,
                measures=result.measures,
                computed_at=now,
            )
        )
    HealthScore.objects.bulk_create(
        snapshots,
        batch_size=WRITE_BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["account", "day"],
        update_fields=["scorecard", "score", "band", "measures"],
    )
    outcome.scored = len(snapshots)
    if raise_flags:
        outcome.flags_raised = _raise_flags(facts.values(), day=day, notify=notify)
    _refresh_account_health(facts, scope=scope, day=day, previous=previous, now=now)
    return outcome


def _score_change(
    previous: dict[tuple[int, dt.date], tuple[float | None, str]],
    account_id: int,
    score: float | None,
    day: dt.date,
    *,
    days_back: int,
) -> Decimal | None:
    before = previous.get((account_id, day - dt.timedelta(days=days_back)), (None, ""))[0]
    return None if before is None or score is None else _decimal(round_half_up(score - before))


def _refresh_account_health(
    facts: dict[int, AccountFacts],
    *,
    scope: AccountScope,
    day: dt.date,
    previous: dict[tuple[int, dt.date], tuple[float | None, str]],
    now: dt.datetime,
) -> None:
    # Current health follows the latest day scored: a back-fill of an earlier day leaves a later one alone.
    later = set(AccountHealth.objects.filter(scope.q(), day__gt=day).values_list("account_id", flat=True))
    overrides = dict(ScoreOverride.objects.in_force(at=now).filter(scope.q()).values_list("account_id", "score"))
    open_flags = dict(
        RedFlag.objects.filter(scope.q(), status__in=UNRESOLVED)
        .values("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    rows = []
    for account_id, item in facts.items():
        card: ScorecardConfig | None = item.extra.get("scorecard")
        if card is None or account_id in later:
            continue
        override = overrides.get(account_id)
        effective = float(override) if override is not None else item.score

        rows.append(
            AccountHealth(
                account_id=account_id,
                day=day,
                computed_score=_decimal(item.score),
                computed_band=item.band,
                score=_decimal(effective),
                band=card.band_for(effective),
                delta_7d=_score_change(previous, account_id, item.score, day, days_back=7),
                delta_30d=_score_change(previous, account_id, item.score, day, days_back=30),
                overridden=override is not None,
                open_flags=open_flags.get(account_id, 0),
                priority=account_priority(
                    score=effective, renewal_date=item.renewal_date, arr=item.arr, stage=item.stage, today=day
                ),
                scorecard_id=card.id,
            )
        )
    AccountHealth.objects.bulk_create(
        rows,
        batch_size=WRITE_BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["account"],
        update_fields=AccountHealth.RECOMPUTED_FIELDS,
    )


def account_health_refresh_override(*, account_id: int) -> None:
    """Apply a new or cleared override to the current health row without recomputing signals."""
    health = AccountHealth.objects.select_related("scorecard", "account").filter(account_id=account_id).first()
    if health is None:
        return
    override = ScoreOverride.objects.in_force().filter(account_id=account_id).first()
    effective = Decimal(override.score) if override else health.computed_score
    band = health.scorecard.band_for(effective) if health.scorecard else health.computed_band
    account = health.account
    priority = account_priority(
        score=None if effective is None else float(effective),
        renewal_date=account.renewal_date,
        arr=float(account.arr if account.arr_reporting is None else account.arr_reporting),  # as facts_query
        stage=account.stage,
        today=timezone.localdate(),
    )
    AccountHealth.objects.filter(account_id=account_id).update(
        score=effective, band=band, overridden=override is not None, priority=priority
    )
    _announce_band_changes({account_id: health.band}, {account_id: band}, day=timezone.localdate())


def chunk_boundaries(ids: list[int], size: int) -> list[tuple[int, int, int]]:
    """(first id, last id, count) for consecutive slices of sorted ids."""
    return [(ids[i], ids[min(i + size, len(ids)) - 1], min(size, len(ids) - i)) for i in range(0, len(ids), size)]


@transaction.atomic
def health_recompute_start(*, day: dt.date | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE) -> RecomputeRun:
    """Plan the daily run over every account and queue its chunks once the plan is committed."""
    from lifecycle.tasks import recompute_chunk

    day = day or timezone.localdate()
    ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    bounds = chunk_boundaries(ids, chunk_size)
    run = RecomputeRun.objects.create(
        day=day, kind=RecomputeRun.Kind.FULL, chunks_total=len(bounds), accounts_total=len(ids)
    )
    chunks = RecomputeChunk.objects.bulk_create(
        RecomputeChunk(run=run, first_account_id=first, last_account_id=last, accounts=count)
        for first, last, count in bounds
    )
    chunk_ids = [chunk.pk for chunk in chunks]
    if not chunk_ids:
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
    transaction.on_commit(lambda: [recompute_chunk.delay(chunk_id) for chunk_id in chunk_ids])
    return run


def health_recompute_chunk(
    *, chunk_id: int, scorecards: list[ScorecardConfig] | None = None, notify: bool = True
) -> bool:
    """Run one chunk; False when it was already done (a redelivery).

    Logs one line per attempt with its outcome (done, already done, failed), counts and duration.
    """
    started = time.monotonic()
    log: dict[str, object] = {"chunk_id": chunk_id, "run_id": None, "outcome": "failed"}
    try:
        # Counted outside the chunk's transaction, so an attempt that dies still shows.
        RecomputeChunk.objects.filter(pk=chunk_id, done_at__isnull=True).update(attempts=F("attempts") + 1)
        with transaction.atomic():
            # OF self: locking the run row too would make every worker wait for the others' chunks.
            chunk = RecomputeChunk.objects.select_for_update(of=("self",)).select_related("run").get(pk=chunk_id)
            log.update(run_id=chunk.run_id, attempt=chunk.attempts)
            if chunk.done_at is not None:
                log["outcome"] = "already_done"
                return False
            outcome = health_recompute_scope(
                day=chunk.run.day,
                scope=AccountScope.between(chunk.first_account_id, chunk.last_account_id),
                scorecards=scorecards,
                notify=notify,
            )
            log.update(accounts=outcome.accounts, scored=outcome.scored, flags_raised=len(outcome.flags_raised))
            now = timezone.now()
            RecomputeChunk.objects.filter(pk=chunk_id).update(done_at=now)
            run = RecomputeRun.objects.select_for_update().get(pk=chunk.run_id)
            if run.finished_at is None and not run.chunks.filter(done_at__isnull=True).exists():
                run.finished_at = now
                run.save(update_fields=["finished_at"])
                log["run_finished"] = True
                # Every flag of the night is raised; admins are told of a rule that flagged much of the book.
                from lifecycle.flags.services import flood_guard_check

                flood_guard_check(day=run.day, run_started_at=run.started_at, notify=notify)
                # The night's snapshots are all written: the charts over time read them added up.
                health_band_daily_write(day=run.day)
        log["outcome"] = "done"
        return True
    except Exception as error:
        log["error"] = type(error).__name__
        raise
    finally:
        log["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        _log_chunk(log)


def _log_chunk(log: dict[str, object]) -> None:
    level = logging.WARNING if log["outcome"] == "failed" else logging.INFO
    counts = (
        f": {counted(cast(int, log['accounts']), 'account')}, {log['scored']} scored, "
        f"{counted(cast(int, log['flags_raised']), 'flag')} raised"
        if "accounts" in log and log["outcome"] == "done"
        else ""
    )
    error = f" ({log['error']})" if "error" in log else ""
    finished = "; the run is finished" if log.get("run_finished") else ""
    logger.log(
        level,
        "Recompute chunk %s of run %s %s%s%s in %.0f ms%s",
        log["chunk_id"],
        log["run_id"],
        str(log["outcome"]).replace("_", " "),
        error,
        counts,
        log["duration_ms"],
        finished,
        extra={"recompute_chunk": log},
    )


def health_recompute_all_inline(
    *, day: dt.date, chunk_size: int = DEFAULT_CHUNK_SIZE, notify: bool = True, workers: int = 1
) -> RecomputeRun:
    """The daily run in this process, chunk by chunk (benchmarks, tests).

    `workers` > 1 runs that many chunks at a time, each on its own database
    connection, as that many Celery worker processes would; the work is in
    the database, so threads are enough. `notify=False` raises flags without
    queueing their notifications (a benchmark measures the recompute, not the
    mail server).
    """
    with transaction.atomic():
        ids = list(Account.objects.order_by("id").values_list("id", flat=True))
        bounds = chunk_boundaries(ids, chunk_size)
        run = RecomputeRun.objects.create(
            day=day, kind=RecomputeRun.Kind.FULL, chunks_total=len(bounds), accounts_total=len(ids)
        )
        chunks = RecomputeChunk.objects.bulk_create(
            RecomputeChunk(run=run, first_account_id=first, last_account_id=last, accounts=count)
            for first, last, count in bounds
        )
    scorecards = load_scorecards()
    run_in_parallel(
        [chunk.pk for chunk in chunks],
        workers=workers,
        work=lambda chunk_id: health_recompute_chunk(chunk_id=chunk_id, scorecards=scorecards, notify=notify),
    )
    run.refresh_from_db()
    return run


def run_in_parallel(items: Iterable[T], *, workers: int, work: Callable[[T], object]) -> None:
    """work(item) for every item, `workers` at a time in this process, each worker on its own connection.

    One connection per worker for all its items, as a worker process keeps its own
    (CONN_MAX_AGE): a new server process for every chunk cost a tenth of the run.
    """
    if workers <= 1:
        for item in items:
            work(item)
        return
    pending: queue.SimpleQueue[T] = queue.SimpleQueue()
    for item in items:
        pending.put(item)

    def work_through_items() -> None:
        try:
            while True:
                try:
                    item = pending.get_nowait()
                except queue.Empty:
                    return
                work(item)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        # result() re-raises a worker's failure here rather than dropping it.
        for future in [pool.submit(work_through_items) for _ in range(workers)]:
            future.result()


def health_recompute_resume_stalled(*, stalled_after: dt.timedelta = dt.timedelta(minutes=45)) -> int:
    """Queue again every unfinished chunk of runs started more than `stalled_after` ago.

    The broker redelivers a dead worker's messages after its visibility
    timeout, but a message can still be lost (a worker killed between taking
    it and recording it as taken). A chunk sent twice is harmless: the chunk
    row is locked while it runs and a done chunk is skipped. Returns how many
    chunks were queued.
    """
    from lifecycle.tasks import recompute_chunk

    cutoff = timezone.now() - stalled_after
    chunk_ids = list(
        RecomputeChunk.objects.filter(
            run__finished_at__isnull=True, run__started_at__lte=cutoff, done_at__isnull=True
        ).values_list("pk", flat=True)
    )
    for chunk_id in chunk_ids:
        recompute_chunk.delay(chunk_id)
    return len(chunk_ids)


def run_progress(run: RecomputeRun) -> tuple[int, int]:
    """(chunks done, chunks total)."""
    return run.chunks.filter(done_at__isnull=False).count(), run.chunks_total


class _SendPendingRecompute:
    """Sends the debounced task once its transaction commits; at most one waits on a transaction at a time."""

    def __init__(self) -> None:
        self.sent = False
        # Django names a failing on-commit callback by its __qualname__ when it logs the error.
        self.__qualname__ = "enqueue_account_recompute.send"

    def __call__(self) -> None:
        from lifecycle.tasks import RECOMPUTE_DEBOUNCE_SECONDS, recompute_pending_accounts

        self.sent = True
        recompute_pending_accounts.apply_async(countdown=RECOMPUTE_DEBOUNCE_SECONDS)


def _sends_after_commit() -> bool:
    """This transaction already sends the debounced task when it commits.

    Read off the connection's on-commit list (as Django's captureOnCommitCallbacks does), so a
    send queued in a savepoint that was rolled back no longer counts.
    """
    # Each entry is (savepoint ids, callback, robust).
    callbacks = [entry[1] for entry in connection.run_on_commit]
    return any(isinstance(callback, _SendPendingRecompute) and not callback.sent for callback in callbacks)


def _pending_insert(ids: list[int]) -> list[int]:
    """Insert a PendingRecompute row for each id without one; return the ids inserted."""
    table = connection.ops.quote_name(PendingRecompute._meta.db_table)
    requested_at = connection.ops.adapt_datetimefield_value(timezone.now())
    inserted: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(ids), WRITE_BATCH_SIZE):
            batch = ids[start : start + WRITE_BATCH_SIZE]
            cursor.execute(
                f"INSERT INTO {table} (account_id, requested_at) VALUES {', '.join(['(%s, %s)'] * len(batch))} "
                "ON CONFLICT (account_id) DO NOTHING RETURNING account_id",
                [value for pk in batch for value in (pk, requested_at)],
            )
            inserted += [pk for (pk,) in cursor.fetchall()]
    return inserted


def enqueue_account_recompute(account_ids: Iterable[int]) -> None:
    """Ask for a recompute of these accounts soon: one PendingRecompute row each, one debounced task per commit.

    Inside a transaction (lifecycle's own writes) the rows are part of the change and the
    task is sent once it commits; a later call in the same transaction that adds no new
    row sends nothing more. Outside one (a handler of an accounts event, after its change
    committed) a task is sent only for a row this call inserted: a row already waiting
    has its task on the way, and that task, not started yet, will read the change. A
    task claims its rows before it reads any fact (health_recompute_pending), so a
    request made while one runs waits for the claim, then inserts a row of its own.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return
    inserted = _pending_insert(ids)
    # A new row always gets a send: at worst a second task finds nothing left. Only a
    # request that adds nothing is folded into the send this transaction has pending.
    if inserted or (connection.in_atomic_block and not _sends_after_commit()):
        transaction.on_commit(_SendPendingRecompute())


def health_recompute_pending(*, day: dt.date | None = None, limit: int = 5000) -> int:
    """Recompute the accounts waiting in PendingRecompute; returns how many were done."""
    day = day or timezone.localdate()
    with transaction.atomic():
        ids = list(
            PendingRecompute.objects.select_for_update(skip_locked=True)
            .order_by("account_id")
            .values_list("account_id", flat=True)[:limit]
        )
        if not ids:
            return 0
        # Claimed by deleting them before any fact is read: a request for one of these accounts
        # made meanwhile waits for this transaction, then inserts a new row and sends its own task.
        PendingRecompute.objects.filter(account_id__in=ids).delete()
        health_recompute_scope(day=day, scope=AccountScope.of(ids))
    return len(ids)
