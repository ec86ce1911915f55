"""What the accounts app announces (core.events); the apps above subscribe in their apps.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class AccountChanged(Event):
    """An account was created (`created`) or some of its fields changed (`fields`, names of model fields)."""

    account_id: int
    fields: frozenset[str]
    created: bool = False


@dataclass(frozen=True)
class ConvertedArrChanged(Event):
    """The ARR in the reporting currency of the accounts in these currencies was reconverted at a new rate."""

    currencies: frozenset[str]


@dataclass(frozen=True)
class AccountsChanged(Event):
    """The same fields of many accounts changed in one bulk write (the tier rules applied to the book).

    One event for all of them, so a subscriber reacts set-based instead of once per account.
    """

    account_ids: tuple[int, ...]
    fields: frozenset[str]


@dataclass(frozen=True)
class ContactChanged(Event):
    """A contact was added or changed; `departed` is True when this change marked them as gone."""

    contact_id: int
    account_id: int
    fields: frozenset[str]
    created: bool = False
    departed: bool = False


@dataclass(frozen=True)
class TimelineEntryLogged(Event):
    """A person logged a touchpoint or wrote a note (system events are not announced)."""

    entry_id: int
    account_id: int
    kind: str


@dataclass(frozen=True)
class OutcomeRecorded(Event):
    """An outcome (renewed, downgraded, churned) was recorded; `corrects_id` names the outcome it replaces, if any.

    `source` is an OutcomeSource value: page, api, csv or stage_change. A CSV import announces one per row.
    """

    outcome_id: int
    account_id: int
    kind: str
    occurred_on: dt.date
    source: str
    corrects_id: int | None = None
