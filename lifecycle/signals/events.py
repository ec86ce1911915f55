"""What signal intake announces (core.events): new facts about customers that can move their health."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class SignalsIngested(Event):
    """Usage, tickets, surveys or invoices arrived (API or CSV) for these accounts."""

    account_ids: tuple[int, ...]


@dataclass(frozen=True)
class CheckInLogged(Event):
    checkin_id: int
    account_id: int


@dataclass(frozen=True)
class PulseRated(Event):
    rating_id: int
    account_id: int
