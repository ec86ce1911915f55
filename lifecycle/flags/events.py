"""What red flags announce (core.events)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class FlagsRaised(Event):
    """Flags were raised (`raised_ids`) or woke from a snooze (`reopened_ids`) on the run for `day`.

    `notify` is False when history is back-filled (demo data, a replay): nobody
    should be woken for last month's flags.
    """

    raised_ids: tuple[int, ...]
    reopened_ids: tuple[int, ...]
    day: dt.date
    notify: bool = True


@dataclass(frozen=True)
class FlagsCleared(Event):
    """Unresolved flags whose rule stopped firing were cleared by the run for `day`.

    `notify` is False when history is back-filled, as for FlagsRaised.
    """

    flag_ids: tuple[int, ...]
    day: dt.date
    notify: bool = True


@dataclass(frozen=True)
class FlagAcknowledged(Event):
    flag_id: int
    account_id: int
    actor_id: int


@dataclass(frozen=True)
class FlagSnoozed(Event):
    flag_id: int
    account_id: int
    actor_id: int
    until: dt.date


@dataclass(frozen=True)
class FlagResolved(Event):
    flag_id: int
    account_id: int
    actor_id: int


@dataclass(frozen=True)
class FloodWarningsRaised(Event):
    """A nightly run's rules raised new flags on more than the flood share of the book (lifecycle.flags.models.FloodWarning).

    Every flag was raised all the same; admins should hear that one rule fired on much of the book
    (a threshold set too low, a broken feed) before the flags bury their teams. `warning_ids` are the
    warnings written or re-opened for `day`; `notify` is False for runs nobody should be woken for.
    """

    warning_ids: tuple[int, ...]
    day: dt.date
    notify: bool = True
