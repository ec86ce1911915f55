"""What health announces (core.events)."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class ScoreOverrideChanged(Event):
    """A manager set (`in_force`) or cleared an override of an account's score."""

    account_id: int
    in_force: bool
