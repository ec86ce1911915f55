"""What health announces (core.events)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class ScoreOverrideChanged(Event):
    """A manager set (`in_force`) or cleared an override of an account's score."""

    account_id: int
    in_force: bool


@dataclass(frozen=True)
class BandsChanged(Event):
    """Accounts' current health band moved on `day`: (account id, band before, band now) each.

    Announced by a live recompute and by an override that moves the band; a back-fill of past
    days, and an account's first score (it had no band before), announce nothing.
    """

    changes: tuple[tuple[int, str, str], ...]
    day: dt.date
