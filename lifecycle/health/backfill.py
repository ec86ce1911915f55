"""Back-filling health history: scoring past days again, after an import brought their signals.

One day at a time, oldest first, so each day's 7- and 30-day trends read the
snapshots of the days before it. A day is scored over every account in
chunks of consecutive ids, each chunk one transaction (the daily run's
`health_recompute_scope`), with the facts as they stood when that day ended.

Snapshots upsert, so scoring a day twice changes nothing the second time.
Current health moves only where the day is the latest one scored for the
account (see `health_recompute_scope`). Red flags are not raised unless asked
for; when they are, they are dated on the day they fired and nobody is
notified: last month's news wakes nobody.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from core.text import counted
from lifecycle.health.facts_query import AccountScope
from lifecycle.health.models import HealthBackfill, Scorecard
from lifecycle.health.recompute import DEFAULT_CHUNK_SIZE, chunk_boundaries, health_recompute_scope
from lifecycle.health.rollup import health_band_daily_write
from lifecycle.health.scoring import ScorecardConfig, load_scorecards
from users.models import User

logger = logging.getLogger(__name__)

# A request beyond this many days is refused: a mistyped year should not queue a decade of work.
MAX_BACKFILL_DAYS = 400
# Earlier days are refused: no signals go back that far, and the date arithmetic of the day's windows
# (a year back for NPS) must stay within the calendar.
EARLIEST_DAY = dt.date(1970, 1, 1)
# Ids are 64-bit; a larger number cannot name a scorecard and the database would refuse to look it up.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class DayOutcome:
    day: dt.date
    accounts: int
    scored: int
    flags_raised: int
    seconds: float


def days_between(first_day: dt.date, last_day: dt.date) -> Iterator[dt.date]:
    """Every day from `first_day` to `last_day`, both included, oldest first."""
    for offset in range((last_day - first_day).days + 1):
        yield first_day + dt.timedelta(days=offset)


def backfill_validate(*, first_day: dt.date, last_day: dt.date | None, scorecard_id: int | None) -> dict[str, str]:
    """What is wrong with a back-fill request, by field; empty when it can run."""
    errors: dict[str, str] = {}
    today = timezone.localdate()
    if first_day > today:
        errors["day"] = f"{first_day} is in the future; the last day that can be scored is today ({today})."
    elif first_day < EARLIEST_DAY:
        errors["day"] = f"{first_day} is before {EARLIEST_DAY}, the earliest day that can be scored."
    if last_day is not None:
        if last_day > today and first_day <= today:  # else the first day's error says it
            errors["until"] = f"{last_day} is in the future; the last day that can be scored is today ({today})."
        elif last_day < first_day:
            errors["until"] = f"{last_day} is before the first day {first_day}."
        elif (last_day - first_day).days + 1 > MAX_BACKFILL_DAYS:
            errors["until"] = f"At most {MAX_BACKFILL_DAYS} days at a time."
    if scorecard_id is not None and (
        not 1 <= scorecard_id <= MAX_ID or not Scorecard.objects.filter(pk=scorecard_id).exists()
    ):
        errors["scorecard"] = f"There is no scorecard with id {scorecard_id}."
    return errors


def forced_scorecards(scorecard_id: int | None) -> list[ScorecardConfig] | None:
    """The scorecards to score with: the one asked for, applying to every account; None for the usual choice.

    `scorecard_for` picks the most specific scorecard whose tier and stage match
    the account; a copy of the chosen one without tier and stage matches every
    account, on both the Python and the SQL path. An inactive scorecard may be
    asked for: back-filling with an earlier configuration is the point.
    """
    if scorecard_id is None:
        return None
    scorecard = Scorecard.objects.prefetch_related("measures").get(pk=scorecard_id)
    return [dataclasses.replace(ScorecardConfig.from_model(scorecard), tier="", stage="")]


def health_backfill_day(
    *,
    day: dt.date,
    scorecards: list[ScorecardConfig] | None = None,
    raise_flags: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> DayOutcome:
    """Score every account for `day`, a chunk of accounts per transaction."""
    started = time.monotonic()
    scorecards = load_scorecards() if scorecards is None else scorecards
    ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    accounts = scored = flags = 0
    for first, last, _ in chunk_boundaries(ids, chunk_size):
        outcome = health_recompute_scope(
            day=day,
            scope=AccountScope.between(first, last),
            scorecards=scorecards,
            notify=False,
            raise_flags=raise_flags,
        )
        accounts += outcome.accounts
        scored += outcome.scored
        flags += len(outcome.flags_raised)
    # The day's snapshots are rewritten: so is their roll-up, which the charts over time read.
    health_band_daily_write(day=day)
    return DayOutcome(day=day, accounts=accounts, scored=scored, flags_raised=flags, seconds=time.monotonic() - started)


def health_backfill_days(
    *,
    first_day: dt.date,
    last_day: dt.date,
    scorecard_id: int | None = None,
    raise_flags: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_day: Callable[[DayOutcome], object] | None = None,
) -> list[DayOutcome]:
    """Score every day from `first_day` to `last_day`, oldest first (the management command)."""
    errors = backfill_validate(first_day=first_day, last_day=last_day, scorecard_id=scorecard_id)
    if errors:
        raise ValidationError(errors)
    scorecards = forced_scorecards(scorecard_id)
    outcomes = []
    for day in days_between(first_day, last_day):
        outcome = health_backfill_day(day=day, scorecards=scorecards, raise_flags=raise_flags, chunk_size=chunk_size)
        outcomes.append(outcome)
        if on_day is not None:
            on_day(outcome)
    return outcomes


@transaction.atomic
def health_backfill_request(
    *,
    requested_by: User | None,
    first_day: dt.date,
    last_day: dt.date | None = None,
    scorecard_id: int | None = None,
    raise_flags: bool = False,
) -> HealthBackfill:
    """Record a back-fill and queue its work once the request is committed (the API)."""
    from lifecycle.tasks import health_backfill

    last_day = first_day if last_day is None else last_day
    errors = backfill_validate(first_day=first_day, last_day=last_day, scorecard_id=scorecard_id)
    if errors:
        raise ValidationError(errors)
    backfill = HealthBackfill.objects.create(
        first_day=first_day,
        last_day=last_day,
        scorecard_id=scorecard_id,
        raise_flags=raise_flags,
        requested_by=requested_by,
        days_total=(last_day - first_day).days + 1,
    )
    transaction.on_commit(lambda: health_backfill.delay(backfill.pk))
    return backfill


def health_backfill_step(*, backfill_id: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bool:
    """Score the next day of a recorded back-fill; True when days remain, for the caller to queue the next.

    One day per task keeps each task within the workers' time limit however
    long the range. A day is counted after its chunks commit, and only by the
    delivery that found it next, so a redelivered task redoes at most that day
    (writing the same rows) and a duplicate delivery stops instead of carrying
    on alongside. A failure is recorded on the request (the API shows it) and
    re-raised.
    """
    backfill = HealthBackfill.objects.filter(pk=backfill_id).first()
    if backfill is None or backfill.finished_at is not None:
        return False
    now = timezone.now()
    HealthBackfill.objects.filter(pk=backfill_id, started_at__isnull=True).update(started_at=now)
    done = backfill.days_done
    if done < backfill.days_total:
        day = backfill.first_day + dt.timedelta(days=done)
        try:
            outcome = health_backfill_day(
                day=day,
                scorecards=forced_scorecards(backfill.scorecard_id),
                raise_flags=backfill.raise_flags,
                chunk_size=chunk_size,
            )
        except Exception as error:
            HealthBackfill.objects.filter(pk=backfill_id).update(
                finished_at=timezone.now(), error=f"{type(error).__name__}: {error}"[:2000]
            )
            raise
        logger.info(
            "Health back-fill %s: %s, %s scored in %.1f s",
            backfill_id,
            day,
            counted(outcome.scored, "account"),
            outcome.seconds,
        )
        advanced = HealthBackfill.objects.filter(pk=backfill_id, days_done=done).update(
            days_done=done + 1, accounts_scored=F("accounts_scored") + outcome.scored
        )
        if not advanced:
            return False
        done += 1
    if done < backfill.days_total:
        return True
    HealthBackfill.objects.filter(pk=backfill_id, finished_at__isnull=True).update(finished_at=timezone.now())
    return False
