"""The daily health recompute on a real Celery worker, on Redis and PostgreSQL.

Run through the worker, the recompute must give exactly what the in-process
run gives: the same snapshots, current health, red flags, timeline events and
notifications. And a worker killed mid-run (SIGKILL of the whole worker, as
an OOM kill or a lost machine) must lose nothing and double nothing: each
chunk's writes commit together with its `done_at`, the chunk messages are
acknowledged only after the task (acks_late), so the killed worker's chunks
are still on the broker and run again, and a chunk that already ran is skipped.

How the killed worker's messages come back: `reject_on_worker_lost` only
helps when a pool child dies under a living main process. With the whole
worker gone nobody rejects anything, so its messages stay in Redis's
"unacked" set until their visibility timeout (`CELERY_VISIBILITY_TIMEOUT`,
an hour by default: longer than the 30-minute task limit, so a slow chunk is
never handed out twice) has passed; then a worker puts them back on the
queue when it starts, and every so often while it runs. The test does not
wait an hour: the restarted worker gets a one-second timeout, as if the hour
had passed.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal

import psycopg2
import pytest
import redis
from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection
from django.db.models import Count, DateTimeField, F
from django.db.models.functions import Cast
from django.test import override_settings
from django.utils import timezone

from accounts.models import (
    Account,
    Channel,
    Contact,
    Coverage,
    DealRole,
    Industry,
    Region,
    Stage,
    Tier,
    TimelineEntry,
    TimelineKind,
)
from csm.celery import app
from lifecycle.health.recompute import (
    health_recompute_all_inline,
    health_recompute_resume_stalled,
    health_recompute_start,
)
from lifecycle.models import (
    UNRESOLVED,
    AccountHealth,
    Band,
    HealthScore,
    Invoice,
    RecomputeChunk,
    RecomputeRun,
    RedFlag,
    RuleKind,
    SupportTicket,
    SurveyKind,
    SurveyResponse,
    TicketSeverity,
    UsageDaily,
)
from lifecycle.tasks import recompute_chunk
from notifications.models import Delivery, Notification
from tests.support import WaitTimeout, wait_until
from users.models import Team, User

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The worker cannot be sent back in time, so the signals are dated relative to
# a fixed day and the run is for that day: nothing depends on the wall clock.
DAY = dt.date(2026, 3, 2)
RECOMPUTE_TASK = recompute_chunk.name


@pytest.fixture(autouse=True)
def shipped_health_configuration(transactional_db):
    """The default scorecard, alert rules and cadences, as the data migration installs them.

    A transactional test empties every table when it ends, migration data
    included, so whatever ran before may have taken them away.
    """
    migration = importlib.import_module("lifecycle.migrations.0004_default_health_configuration")
    migration.create_defaults(django_apps, None)


# --- a book of accounts with varied signals ----------------------------------


def _at(days_back: int, hour: int = 10) -> dt.datetime:
    """An aware moment `days_back` days before DAY."""
    day = DAY - dt.timedelta(days=days_back)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def build_book(accounts: int, *, seed: int = 7) -> None:
    """`accounts` customers across tiers and stages, with 35 days of signals, set-based.

    Usage is steady, declining, collapsing, growing, stopped (a feed that goes on without the account) or
    missing; some survey answers are older than their validity; touchpoints
    are recent, late or absent; some customers answered NPS as detractors, some
    champions left, some have a ticket spike or rising spend, and some have
    last week's and yesterday's snapshots so score drops and band changes show.
    CSMs have no email address: each flag then makes one in-app notification
    and no email, so the worker's time goes to the recompute.
    """
    rng = random.Random(seed)
    team = Team.objects.create(name=f"Recompute book {seed}")
    csms = User.objects.bulk_create(
        User(username=f"recompute-csm-{seed}-{n}", role=User.Role.CSM, team=team) for n in range(8)
    )
    stages = [Stage.ONBOARDING, Stage.ADOPTION, Stage.SUCCESS, Stage.SUCCESS]
    rows = []
    for n in range(accounts):
        stage = rng.choice(stages)
        in_stage = rng.choice([10, 25, 45, 70, 120, 300])
        start = DAY - dt.timedelta(days=in_stage if stage == Stage.ONBOARDING else in_stage + 200)
        pooled = n % 25 == 0
        rows.append(
            Account(
                name=f"Customer {seed}-{n:05d}",
                industry=rng.choice(Industry.values),
                region=rng.choice(Region.values),
                tier=rng.choice(Tier.values),
                coverage=Coverage.POOLED if pooled else Coverage.ASSIGNED,
                owner=None if pooled else rng.choice(csms),
                pool=team if pooled else None,
                stage=stage,
                stage_entered_at=_at(in_stage, hour=9),
                contract_start=start,
                renewal_date=DAY + dt.timedelta(days=rng.choice([20, 60, 85, 150, 300])),
                arr=Decimal(rng.randrange(5_000, 500_000, 500)),
            )
        )
    accounts_made = Account.objects.bulk_create(rows, batch_size=1000)
    # Customers in Baton since their contracts began: rules count silence from then, not from today's insert.
    Account.objects.filter(pk__in=[account.pk for account in accounts_made]).update(
        created_at=Cast(F("contract_start"), DateTimeField())
    )

    usage, touchpoints, contacts, surveys, tickets, invoices, history = ([] for _ in range(7))
    for account in accounts_made:
        pk = account.pk
        pattern = rng.choices(
            ["steady", "declining", "collapsing", "growing", "stale", "none"],
            weights=[35, 25, 10, 10, 8, 12],
        )[0]
        if pattern != "none":
            before = rng.randint(4, 80)
            recent = {
                "steady": before,
                "declining": round(before * rng.uniform(0.45, 0.75)),
                "collapsing": round(before * 0.1),
                "growing": round(before * 1.4),
                "stale": before,
            }[pattern]
            owned = rng.choice([10, 25, 50, 100, 250])
            used = min(owned, max(1, round(owned * rng.uniform(0.1, 1.0))))
            first_back = 12 if pattern == "stale" else 0
            usage += [
                UsageDaily(
                    account_id=pk,
                    day=DAY - dt.timedelta(days=back),
                    active_users=recent if back < 7 else before,
                    key_events=(recent if back < 7 else before) * 9,
                    licences_used=used,
                    licences_owned=owned,
                )
                for back in range(first_back, 35)
            ]
        for back in rng.sample([1, 4, 9, 16, 24, 33, 47, 80, 200], k=rng.randint(0, 4)):
            touchpoints.append(
                TimelineEntry(
                    account_id=pk,
                    kind=TimelineKind.TOUCHPOINT,
                    channel=rng.choice(Channel.values),
                    occurred_at=_at(back, hour=rng.randint(8, 17)),
                    summary="Catch-up with the customer",
                )
            )
        if rng.random() < 0.75:
            departed = rng.random() < 0.15
            contacts.append(
                Contact(
                    account_id=pk,
                    first_name="Champion",
                    last_name=str(pk),
                    deal_role=DealRole.CHAMPION,
                    departed=departed,
                    departed_at=DAY - dt.timedelta(days=rng.choice([5, 20, 60])) if departed else None,
                )
            )
            if departed and rng.random() < 0.5:
                contacts.append(
                    Contact(
                        account_id=pk,
                        first_name="New champion",
                        last_name=str(pk),
                        deal_role=DealRole.CHAMPION,
                    )
                )
        if rng.random() < 0.5:
            contacts.append(
                Contact(
                    account_id=pk,
                    first_name="Decider",
                    last_name=str(pk),
                    deal_role=DealRole.DECISION_MAKER,
                )
            )
        if rng.random() < 0.4:
            detractor = rng.random() < 0.45
            surveys.append(
                SurveyResponse(
                    account_id=pk,
                    external_id=f"nps-{pk}",
                    kind=SurveyKind.NPS,
                    score=rng.randint(0, 6) if detractor else rng.randint(7, 10),
                    comment="Reports are slow every Monday" if detractor else "",
                    # An answer older than the survey measure's validity (180 days) is stale.
                    responded_at=_at(rng.choice([3, 12, 28, 45, 150, 200])),
                )
            )
        if rng.random() < 0.15:
            spike = rng.random() < 0.5
            opened = [rng.randint(0, 6) for _ in range(5)] if spike else [20, 30]
            tickets += [
                SupportTicket(
                    account_id=pk,
                    external_id=f"t-{pk}-{i}",
                    severity=rng.choice(TicketSeverity.values),
                    opened_at=_at(back),
                    closed_at=None if i % 2 else _at(back) + dt.timedelta(hours=5),
                )
                for i, back in enumerate(opened)
            ]
        if rng.random() < 0.2:
            rise = rng.choice([0.9, 1.1, 1.6])
            invoices += [
                Invoice(
                    account_id=pk,
                    external_id=f"inv-{pk}-old",
                    issued_on=DAY - dt.timedelta(days=120),
                    amount=Decimal("10000.00"),
                ),
                Invoice(
                    account_id=pk,
                    external_id=f"inv-{pk}-new",
                    issued_on=DAY - dt.timedelta(days=30),
                    amount=Decimal(10000 * rise).quantize(Decimal("0.01")),
                ),
            ]
        if rng.random() < 0.4:
            week_ago = rng.randint(55, 99)
            history += [
                HealthScore(
                    account_id=pk,
                    day=DAY - dt.timedelta(days=7),
                    score=Decimal(week_ago),
                    band=Band.GREEN if week_ago >= 70 else Band.YELLOW,
                ),
                HealthScore(
                    account_id=pk,
                    day=DAY - dt.timedelta(days=1),
                    score=Decimal(week_ago - 2),
                    band=Band.GREEN if week_ago - 2 >= 70 else Band.YELLOW,
                ),
            ]
    UsageDaily.objects.bulk_create(usage, batch_size=5000)
    TimelineEntry.objects.bulk_create(touchpoints, batch_size=5000)
    Contact.objects.bulk_create(contacts, batch_size=5000)
    SurveyResponse.objects.bulk_create(surveys, batch_size=5000)
    SupportTicket.objects.bulk_create(tickets, batch_size=5000)
    Invoice.objects.bulk_create(invoices, batch_size=5000)
    HealthScore.objects.bulk_create(history, batch_size=5000)


# --- what a run leaves behind ------------------------------------------------


def recompute_results() -> dict[str, list]:
    """Everything the day's run writes, as plain values in a stable order (duplicates kept)."""
    return {
        "snapshots": list(
            HealthScore.objects.filter(day=DAY)
            .order_by("account_id")
            .values_list("account_id", "scorecard_id", "score", "band", "measures")
        ),
        "health": list(
            AccountHealth.objects.order_by("account_id").values_list("account_id", *AccountHealth.RECOMPUTED_FIELDS)
        ),
        "flags": list(
            RedFlag.objects.order_by("account_id", "rule_id", "id").values_list(
                "account_id",
                "rule__kind",
                "owner_id",
                "severity",
                "status",
                "reason",
                "values",
            )
        ),
        "flag_events": list(
            TimelineEntry.objects.filter(kind=TimelineKind.SYSTEM, event="flag_raised")
            .order_by("account_id", "summary", "id")
            .values_list("account_id", "summary", "body")
        ),
        "notifications": list(
            Notification.objects.order_by("recipient_id", "flag__account_id", "flag__rule_id", "id").values_list(
                "recipient_id", "kind", "flag__account_id", "flag__rule__kind", "title"
            )
        ),
    }


def in_process_results() -> dict[str, list]:
    """The daily run in this process (tasks it queues run eagerly), then its output."""
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        run = health_recompute_all_inline(day=DAY)
    assert run.finished_at is not None
    return recompute_results()


def wipe_recompute_output() -> None:
    """Forget the day's run, keeping the signals and the earlier snapshots."""
    Delivery.objects.all().delete()
    Notification.objects.all().delete()
    TimelineEntry.objects.filter(kind=TimelineKind.SYSTEM, event="flag_raised").delete()
    RedFlag.objects.all().delete()
    AccountHealth.objects.all().delete()
    HealthScore.objects.filter(day=DAY).delete()
    RecomputeRun.objects.all().delete()
    assert not RecomputeChunk.objects.exists()


def wait_for(
    predicate: Callable[[], object],
    *,
    timeout: float,
    explain: Callable[[], str],
    interval: float = 0.1,
) -> None:
    """`wait_until`, explaining a timeout with the state at the end of the wait, not the start."""
    try:
        wait_until(predicate, timeout=timeout, interval=interval)
    except WaitTimeout:
        raise WaitTimeout(f"After {timeout:g}s: {explain()}") from None


def wait_for_run(run: RecomputeRun, worker, *, timeout: float) -> None:
    wait_for(
        lambda: RecomputeRun.objects.filter(pk=run.pk, finished_at__isnull=False).exists(),
        timeout=timeout,
        interval=0.2,
        explain=lambda: f"run {run.pk} has {chunks_done(run)} of {run.chunks_total} chunks done.\n{worker.log_tail()}",
    )


def wait_for_notifications(expected: int, worker, *, stalled_after: float = 30, at_most: float = 300) -> None:
    """Notifications are queued after each chunk commits, so they trail the run.

    Thousands of them go through a two-process worker, whose pace depends on
    the machine: the wait fails when no new notification has arrived for
    `stalled_after` seconds (one is lost or stuck), not after a fixed time.
    """
    started = last_progress = time.monotonic()
    seen = -1
    while (count := Notification.objects.count()) < expected:
        now = time.monotonic()
        if count > seen:
            seen, last_progress = count, now
        if now - last_progress >= stalled_after or now - started >= at_most:
            raise WaitTimeout(
                f"After {now - started:.0f}s, {now - last_progress:.0f}s without a new one: "
                f"{count} of {expected} notifications.\n{worker.log_tail()}"
            )
        time.sleep(0.2)


def chunks_done(run: RecomputeRun) -> int:
    return RecomputeChunk.objects.filter(run=run, done_at__isnull=False).count()


def worker_log_size(worker) -> int:
    return worker.log_path.stat().st_size


def worker_task_log(worker, task_name: str, *, since: int, outcome: str = "succeeded") -> list[str]:
    """Lines the worker logged for `task_name` after byte `since` (the log file is kept across runs)."""
    with worker.log_path.open("rb") as log:
        log.seek(since)
        lines = log.read().decode(errors="replace").splitlines()
    return [line for line in lines if f"{task_name}[" in line and outcome in line]


# --- the broker's view -------------------------------------------------------


def _broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _recompute_chunk_ids(messages: Iterable[dict]) -> set[int]:
    ids = set()
    for message in messages:
        if message["headers"].get("task") == RECOMPUTE_TASK:
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            ids.add(args[0])
    return ids


def chunk_ids_queued() -> set[int]:
    """Chunk ids of recompute messages waiting on the default queue."""
    queued = _broker().lrange(app.conf.task_default_queue, 0, -1)
    return _recompute_chunk_ids(json.loads(raw) for raw in queued)


def chunk_ids_unacked() -> set[int]:
    """Chunk ids of recompute messages delivered to a worker and not acknowledged."""
    # kombu keeps each one as [message, exchange, routing key] in the "unacked" hash.
    unacked = _broker().hvals("unacked")
    return _recompute_chunk_ids(json.loads(raw)[0] for raw in unacked)


def worker_waiting_for_a_lock() -> bool:
    """Another session on the test database (the worker) is waiting for a row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def worker_transaction_open(*, exclude: int | None = None) -> bool:
    """Another session on the test database (the worker) is inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid NOT IN (pg_backend_pid(), %s) AND xact_start IS NOT NULL",
            [exclude or 0],
        )
        return cursor.fetchone()[0] > 0


# --- the tests -----------------------------------------------------------------


def test_the_daily_recompute_on_a_worker_gives_exactly_the_in_process_result(
    celery_worker_process,
):
    log_start = worker_log_size(celery_worker_process)
    build_book(300)
    baseline = in_process_results()
    # The book is varied enough to mean something: every band, missing and
    # stale measures left out, and every shipped alert rule firing somewhere.
    bands = Counter(band for _, _, _, band, _ in baseline["snapshots"])
    assert set(bands) == {Band.GREEN, Band.YELLOW, Band.RED}, bands
    statuses = Counter(measure["status"] for *_, measures in baseline["snapshots"] for measure in measures.values())
    assert {"ok", "missing", "stale"} <= set(statuses), statuses
    fired = Counter(kind for _, kind, *_ in baseline["flags"])
    assert set(fired) == set(RuleKind.values), fired
    assert len(baseline["snapshots"]) == 300
    assert len(baseline["notifications"]) >= len(baseline["flags"])
    wipe_recompute_output()

    run = health_recompute_start(day=DAY, chunk_size=50)
    assert run.chunks_total == 6
    wait_for_run(run, celery_worker_process, timeout=60)
    wait_for_notifications(len(baseline["notifications"]), celery_worker_process)

    assert recompute_results() == baseline
    # The worker, not this process, ran every chunk, once.
    assert set(RecomputeChunk.objects.values_list("attempts", flat=True)) == {1}

    def chunks_the_worker_ran() -> int:
        return len(worker_task_log(celery_worker_process, RECOMPUTE_TASK, since=log_start))

    # It logs a task after committing it, so the last line may trail the run.
    wait_for(
        lambda: chunks_the_worker_ran() == run.chunks_total,
        timeout=10,
        explain=lambda: f"the worker logged {chunks_the_worker_ran()} of "
        f"{run.chunks_total} chunks.\n{celery_worker_process.log_tail()}",
    )


def test_a_worker_killed_mid_recompute_loses_nothing_and_the_rerun_doubles_nothing(celery_worker_process, monkeypatch):
    build_book(2000, seed=11)
    baseline = in_process_results()
    wipe_recompute_output()

    # Kill while a chunk is being written, a few chunks in. A chunk takes
    # milliseconds, so the moment is made rather than waited for: another
    # session holds the first account of the fourth chunk, and that chunk's
    # commit (where its deferred foreign-key checks run) waits for it with
    # every row already written.
    fourth_chunk_first_account = Account.objects.order_by("pk").values_list("pk", flat=True)[150]
    holder = psycopg2.connect(**connection.get_connection_params())
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1 FROM accounts_account WHERE id = %s FOR UPDATE", [fourth_chunk_first_account])
        run = health_recompute_start(day=DAY, chunk_size=50)
        assert run.chunks_total == 40
        wait_for(
            # Two at least: with two worker processes, the chunk beside the held one may
            # queue behind it for the run's row when it finishes.
            lambda: chunks_done(run) >= 2 and worker_waiting_for_a_lock(),
            timeout=60,
            interval=0.05,
            explain=lambda: f"{chunks_done(run)} chunks done; the worker never reached the held account.\n"
            f"{celery_worker_process.log_tail()}",
        )
        celery_worker_process.kill()
        killed_at = time.monotonic()
        # The machine is gone, not just the process: its sessions end with it, so the
        # chunk in flight rolls back instead of committing once the account is free.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid NOT IN (pg_backend_pid(), %s)",
                [holder.get_backend_pid()],
            )
        wait_for(
            lambda: not worker_transaction_open(exclude=holder.get_backend_pid()),
            timeout=10,
            interval=0.05,
            explain=lambda: "the killed worker's sessions did not end",
        )
    finally:
        holder.rollback()
        holder.close()

    # Killed part-way: some chunks are done, the run is not, and nothing of an
    # unfinished chunk was written (its snapshots, flags and done_at commit together).
    run.refresh_from_db()
    assert run.finished_at is None
    done = list(RecomputeChunk.objects.filter(run=run, done_at__isnull=False))
    assert 2 <= len(done) < run.chunks_total
    written = set(HealthScore.objects.filter(day=DAY).values_list("account_id", flat=True))
    assert written == {
        pk
        for chunk in done
        for pk in Account.objects.filter(pk__gte=chunk.first_account_id, pk__lte=chunk.last_account_id).values_list(
            "pk", flat=True
        )
    }
    assert set(RedFlag.objects.values_list("account_id", flat=True)) <= written

    # Nothing is lost: every unfinished chunk still has its message on the
    # broker, either waiting on the queue or taken by the dead worker and not
    # acknowledged. (A taken chunk may be done already: killed after its
    # commit, before its ack. Delivered again, it is skipped.)
    taken = chunk_ids_unacked()
    assert taken, "the killed worker held no recompute message"
    unfinished = set(RecomputeChunk.objects.filter(run=run, done_at__isnull=True).values_list("pk", flat=True))
    # Nearly always the broker still holds every unfinished chunk; kombu's Redis
    # transport can lose one taken in the instant of the kill, which is what the
    # beat's stalled-run sweep is for (run below, as beat would an hour later).
    assert unfinished & (taken | chunk_ids_queued())

    # "An hour later": the new worker's visibility timeout has passed for every
    # message the dead one took, so it puts them back on the queue as it starts.
    visibility_timeout = 1
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", str(visibility_timeout))
    time.sleep(max(0.0, visibility_timeout + 0.5 - (time.monotonic() - killed_at)))
    celery_worker_process.restart()
    health_recompute_resume_stalled(stalled_after=dt.timedelta(0))
    wait_for_run(run, celery_worker_process, timeout=90)
    wait_for_notifications(len(baseline["notifications"]), celery_worker_process)

    assert recompute_results() == baseline
    assert not RecomputeChunk.objects.filter(run=run, done_at__isnull=True).exists()
    duplicate_snapshots = HealthScore.objects.values("account_id", "day").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicate_snapshots.exists()
    assert HealthScore.objects.filter(day=DAY).count() == Account.objects.count()
    duplicate_flags = (
        RedFlag.objects.filter(status__in=UNRESOLVED)
        .values("rule_id", "account_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not duplicate_flags.exists()

    # A rerun changes nothing: every chunk delivered again is skipped, and a
    # second full run of the same day rewrites the same values and raises nothing.
    log_start = worker_log_size(celery_worker_process)
    for chunk_id in RecomputeChunk.objects.filter(run=run).values_list("pk", flat=True):
        recompute_chunk.delay(chunk_id)

    def chunk_outcomes(outcome: str) -> int:
        return len(worker_task_log(celery_worker_process, RECOMPUTE_TASK, since=log_start, outcome=outcome))

    wait_for(
        lambda: chunk_outcomes(": False") >= run.chunks_total,
        timeout=60,
        explain=lambda: f"{chunk_outcomes(': False')} of {run.chunks_total} chunks "
        f"delivered again were skipped.\n{celery_worker_process.log_tail()}",
    )
    assert chunk_outcomes(": True") == 0
    rerun = health_recompute_start(day=DAY, chunk_size=200)
    wait_for_run(rerun, celery_worker_process, timeout=90)
    assert recompute_results() == baseline
    assert HealthScore.objects.filter(day=DAY).count() == Account.objects.count()


def test_the_inline_run_on_two_connections_gives_exactly_the_one_connection_result():
    build_book(300, seed=5)
    baseline = in_process_results()
    wipe_recompute_output()

    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        run = health_recompute_all_inline(day=DAY, chunk_size=50, workers=2)

    assert run.finished_at is not None and run.chunks_total == 6
    assert recompute_results() == baseline
    assert set(RecomputeChunk.objects.values_list("attempts", flat=True)) == {1}


def test_a_failing_chunk_of_an_inline_run_is_raised_and_the_other_chunks_still_finish(monkeypatch):
    from lifecycle.health import recompute

    build_book(120, seed=6)
    failing_first_account = Account.objects.order_by("id").values_list("id", flat=True)[40]
    scope_recompute = recompute.health_recompute_scope

    def failing_on_one_chunk(*, scope, **kwargs):
        if scope.first_id == failing_first_account:
            raise RuntimeError("signal store unavailable")
        return scope_recompute(scope=scope, **kwargs)

    monkeypatch.setattr(recompute, "health_recompute_scope", failing_on_one_chunk)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True), pytest.raises(RuntimeError, match="signal store"):
        health_recompute_all_inline(day=DAY, chunk_size=20, workers=2)

    run = RecomputeRun.objects.get()
    assert run.finished_at is None
    undone = list(RecomputeChunk.objects.filter(done_at__isnull=True).values_list("first_account_id", flat=True))
    assert undone == [failing_first_account]
    assert HealthScore.objects.filter(day=DAY).count() == 100
