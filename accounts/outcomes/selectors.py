"""Reads of outcomes: the Account 360's panel, the current contract term, and what a backtest checks scores against.

"What happened" always means the effective outcomes: an outcome that a later one corrects no
longer counts (OutcomeQuerySet.effective).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import Account

from .models import Outcome, OutcomeKind


@dataclass(frozen=True)
class OutcomeEntry:
    """One outcome as the Account 360 lists it, with the outcome that corrects it, if any (then it no longer counts)."""

    outcome: Outcome
    corrected_by: Outcome | None

    @property
    def effective(self) -> bool:
        return self.corrected_by is None


def account_outcomes(account: Account) -> list[OutcomeEntry]:
    """The account's outcomes newest first, corrected ones included and linked to their corrections: one query."""
    outcomes = list(
        Outcome.objects.filter(account=account)
        .select_related("recorded_by")
        .order_by("-occurred_on", "-recorded_at", "-id")
    )
    by_pk = {outcome.pk: outcome for outcome in outcomes}
    corrected_by = {outcome.corrects_id: outcome for outcome in outcomes if outcome.corrects_id}
    for outcome in outcomes:
        if outcome.corrects_id in by_pk:
            outcome.corrects = by_pk[outcome.corrects_id]  # from the list, not a query per row
    return [OutcomeEntry(outcome=outcome, corrected_by=corrected_by.get(outcome.pk)) for outcome in outcomes]


def current_term(
    account: Account, *, outcomes: Iterable[Outcome] | None = None
) -> tuple[dt.date | None, dt.date | None]:
    """The contract term the account is in: (start, end), either None when not known.

    It starts at the contract start or where the term its last renewal closed ended, whichever
    is later, and ends at the renewal date, if that comes after the start. `outcomes`: the
    account's outcomes (all of them) when already fetched; otherwise this asks the database once.
    """
    if outcomes is None:
        last_renewal = (
            Outcome.objects.effective()
            .filter(account=account, kind=OutcomeKind.RENEWED)
            .order_by("-term_end")
            .values_list("term_end", flat=True)
            .first()
        )
    else:
        outcomes = list(outcomes)
        corrected = {outcome.corrects_id for outcome in outcomes if outcome.corrects_id}
        last_renewal = max(
            (o.term_end for o in outcomes if o.kind == OutcomeKind.RENEWED and o.pk not in corrected), default=None
        )
    start = max((day for day in (account.contract_start, last_renewal) if day), default=None)
    end = account.renewal_date
    if end is not None and start is not None and end <= start:
        end = None
    return start, end


def outcomes_between(start: dt.date, end: dt.date, *, account_ids: Iterable[int] | None = None) -> QuerySet[Outcome]:
    """What happened from `start` to `end` (both included), oldest first: the outcomes a backtest scores against.

    Corrections taken into account (a corrected outcome is left out, its correction counts on
    its own day); each row carries `arr_movement`. One query when evaluated.
    """
    outcomes = Outcome.objects.effective().between(start, end).with_movement()
    if account_ids is not None:
        outcomes = outcomes.filter(account_id__in=list(account_ids))
    return outcomes.order_by("occurred_on", "account_id", "pk")


def outcome_for_term(account_id: int, term_end: dt.date) -> Outcome | None:
    """What happened at the renewal due on `term_end`, after every correction; None if nothing is recorded."""
    return (
        Outcome.objects.effective()
        .with_movement()
        .filter(account_id=account_id, term_end=term_end)
        .order_by("-occurred_on", "-recorded_at", "-pk")
        .first()
    )
