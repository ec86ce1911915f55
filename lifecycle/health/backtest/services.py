"""Backtests: asking for one, running it (a worker, or inline), and turning its suggested weights into a draft.

A run replays every outcome of the period at each horizon (`replay`), writing
its progress (days scored) on the Backtest row as it goes, then keeps the
figures (`report`) on the row. It reads only: no snapshot, no current health,
no flag is written, and nothing is ever activated. Running a finished backtest
again changes nothing; a run cut short by a lost worker starts over when its
task is redelivered.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.text import counted
from lifecycle.health.backtest import report as figures
from lifecycle.health.backtest.replay import DayDone, load_outcomes, replay, replay_days
from lifecycle.health.scoring import ScorecardConfig
from lifecycle.models import Backtest, Scorecard
from users.models import User

logger = logging.getLogger(__name__)

DEFAULT_HORIZONS = (30, 60, 90)
MAX_HORIZONS = 6
MAX_HORIZON_DAYS = 365
# A period beyond this is refused: ten years of outcomes is already more history than signals.
MAX_PERIOD_DAYS = 3660
MAX_ID = 2**63 - 1
MAX_SEED = 2**31 - 1
# Progress is written at most this often (seconds), and always at the end.
PROGRESS_EVERY = 0.5


def backtest_errors(
    *,
    scorecard_id: int | None,
    baseline_id: int | None,
    first_day: dt.date | None,
    last_day: dt.date | None,
    horizons: Sequence[int] | None,
) -> dict[str, list[str]]:
    """What is wrong with a backtest request, by field; empty when it can run."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    today = timezone.localdate()
    if scorecard_id is None:
        add("scorecard", "Choose the scorecard version to test.")
    elif not 1 <= scorecard_id <= MAX_ID or not Scorecard.objects.filter(pk=scorecard_id).exists():
        add("scorecard", f"There is no scorecard version with id {scorecard_id}.")
    if baseline_id is not None:
        if not 1 <= baseline_id <= MAX_ID or not Scorecard.objects.filter(pk=baseline_id).exists():
            add("baseline", f"There is no scorecard version with id {baseline_id}.")
        elif baseline_id == scorecard_id:
            add("baseline", "Compare with a different version, or leave the baseline empty.")
    if first_day is None:
        add("first_day", "Give the first day of outcomes to test against.")
    if last_day is None:
        add("last_day", "Give the last day of outcomes to test against.")
    if first_day is not None and last_day is not None:
        if last_day > today:
            add("last_day", f"{last_day} is in the future; outcomes up to today ({today}) can be tested.")
        if last_day < first_day:
            add("last_day", f"{last_day} is before the first day {first_day}.")
        elif (last_day - first_day).days + 1 > MAX_PERIOD_DAYS:
            add("last_day", f"At most {MAX_PERIOD_DAYS:,} days of outcomes at a time.")
        if first_day.year < 1971:
            add("first_day", "Outcomes before 1971 cannot be replayed.")
    if not horizons:
        add("horizons", "Give at least one horizon, in days before the outcome (e.g. 30, 60, 90).")
    else:
        if len(horizons) > MAX_HORIZONS:
            add("horizons", f"At most {MAX_HORIZONS} horizons.")
        if any(not 1 <= h <= MAX_HORIZON_DAYS for h in horizons):
            add("horizons", f"Each horizon is a number of days from 1 to {MAX_HORIZON_DAYS}.")
        if len(set(horizons)) != len(horizons):
            add("horizons", "Each horizon once.")
    return errors


@transaction.atomic
def backtest_request(
    *,
    requested_by: User | None,
    scorecard_id: int | None,
    first_day: dt.date | None,
    last_day: dt.date | None,
    horizons: Sequence[int] | None = DEFAULT_HORIZONS,
    baseline_id: int | None = None,
    bootstrap_seed: int = 0,
    queue: bool = True,
) -> Backtest:
    """Record a backtest and, once committed, queue its run on a worker."""
    from lifecycle.tasks import backtest_run as backtest_run_task

    errors = backtest_errors(
        scorecard_id=scorecard_id, baseline_id=baseline_id, first_day=first_day, last_day=last_day, horizons=horizons
    )
    if not 0 <= bootstrap_seed <= MAX_SEED:
        errors.setdefault("bootstrap_seed", []).append(f"A whole number from 0 to {MAX_SEED:,}.")
    if errors:
        raise ValidationError(errors)
    assert scorecard_id is not None and first_day is not None and last_day is not None and horizons  # checked above
    backtest = Backtest.objects.create(
        scorecard_id=scorecard_id,
        baseline_id=baseline_id,
        first_day=first_day,
        last_day=last_day,
        horizons=sorted(horizons),
        bootstrap_seed=bootstrap_seed,
        requested_by=requested_by,
    )
    if queue:
        transaction.on_commit(lambda: backtest_run_task.delay(backtest.pk))
    return backtest


def _config(scorecard_id: int) -> ScorecardConfig:
    # Every account is scored with the version asked for, whatever its tier and stage.
    card = Scorecard.objects.prefetch_related("measures").get(pk=scorecard_id)
    return dataclasses.replace(ScorecardConfig.from_model(card), tier="", stage="")


def backtest_run(*, backtest_id: int) -> Backtest | None:
    """Run a recorded backtest to the end in this process and keep its report; the task and the benchmark call it.

    Does nothing to a finished backtest. An unfinished one runs from the start, whether it was never
    started or its worker was lost (the broker redelivers at once when a worker process dies, so an
    earlier start time cannot tell a dead run from a live one; a duplicate run writes the same report).
    A failure is recorded on the row (the pages show it) and re-raised.
    """
    backtest = Backtest.objects.select_related("requested_by", "scorecard").filter(pk=backtest_id).first()
    if backtest is None or backtest.finished_at is not None:
        return backtest
    started = time.monotonic()
    Backtest.objects.filter(pk=backtest_id).update(started_at=timezone.now(), steps_done=0)
    try:
        report = _run(backtest)
        report["seconds"] = round(time.monotonic() - started, 2)
    except Exception as error:
        Backtest.objects.filter(pk=backtest_id).update(
            finished_at=timezone.now(), error=f"{type(error).__name__}: {error}"[:2000]
        )
        raise
    Backtest.objects.filter(pk=backtest_id, finished_at__isnull=True).update(
        report=report, finished_at=timezone.now(), steps_done=F("steps_total")
    )
    logger.info("Backtest %s finished in %.1f s", backtest_id, report["seconds"])
    backtest.refresh_from_db()
    return backtest


def backtest_run_inline(*, backtest_id: int) -> Backtest | None:
    """The benchmark's entry: the same run as the worker's, in the calling process."""
    return backtest_run(backtest_id=backtest_id)


def _run(backtest: Backtest) -> dict:
    cards = [_config(backtest.scorecard_id)]
    if backtest.baseline_id is not None:
        cards.append(_config(backtest.baseline_id))
    horizons = [int(h) for h in backtest.horizons]
    outcomes = load_outcomes(backtest.first_day, backtest.last_day)
    # One step per day replayed, and one for the figures.
    total = len(replay_days(outcomes, horizons)) + 1
    Backtest.objects.filter(pk=backtest.pk).update(steps_total=total, steps_done=0)
    last_written = [time.monotonic()]

    def progress(done: DayDone) -> None:
        now = time.monotonic()
        if now - last_written[0] >= PROGRESS_EVERY:
            Backtest.objects.filter(pk=backtest.pk).update(steps_done=done.done)
            last_written[0] = now

    tested = backtest.scorecard
    results = replay(outcomes, cards, horizons, on_day=progress, scope=(tested.tier, tested.stage))
    Backtest.objects.filter(pk=backtest.pk).update(steps_done=total - 1)
    return {
        "inputs": {
            "scorecard": {"id": cards[0].id, "label": cards[0].label, "scope": tested.scope_label},
            "baseline": {"id": cards[1].id, "label": cards[1].label} if len(cards) > 1 else None,
            "first_day": backtest.first_day.isoformat(),
            "last_day": backtest.last_day.isoformat(),
            "horizons": horizons,
            "bootstrap_seed": backtest.bootstrap_seed,
            "resamples": figures.RESAMPLES,
            "requested_by": backtest.requested_by.get_username() if backtest.requested_by else None,
        },
        "outcomes": figures.outcome_counts(outcomes),
        "horizons": [
            figures.horizon_report(horizon, results[h], outcomes, seed=backtest.bootstrap_seed)
            for h, horizon in enumerate(horizons)
        ],
        "notes": figures.NOTES,
    }


def suggested_weights_for(backtest: Backtest, horizon: int) -> dict[str, Decimal] | None:
    """The weights the report suggests at `horizon`, by measure kind; None when it suggests none."""
    for entry in (backtest.report or {}).get("horizons", []):
        if entry.get("days") == horizon:
            suggestion = entry.get("suggestion") or {}
            if not suggestion.get("ok"):
                return None
            return {row["kind"]: Decimal(row["suggested"]) for row in suggestion["weights"]}
    return None


def backtest_draft_from_suggestion(*, actor: User, backtest: Backtest, horizon: int) -> Scorecard:
    """A new draft version of the tested scorecard with the weights suggested at `horizon`. Never activates it.

    The scorecard services refuse (ValidationError) when the lineage already has a draft.
    """
    from lifecycle.health.scorecards.services import scorecard_new_version

    weights = suggested_weights_for(backtest, horizon)
    if weights is None:
        raise ValidationError({"horizon": f"This backtest suggests no weights at {counted(horizon, 'day')}."})
    return scorecard_new_version(
        actor=actor,
        source=backtest.scorecard,
        measure_weights=weights,
        reason=f"Weights suggested by backtest #{backtest.pk} ({counted(horizon, 'day')} ahead, "
        f"outcomes {backtest.first_day}–{backtest.last_day}).",
    )
