"""Recording outcomes: one from the Account 360, the API or a stage change to "churned"; many from a CSV file.

Every outcome passes the same rules (`outcome_errors`: the database's constraints in words, and
a few more) and is written with an audit record, a timeline system event and an
OutcomeRecorded event, in the transaction that writes it. Nothing here updates or deletes an
outcome: a correction is a new outcome naming the one it corrects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.events import OutcomeRecorded
from accounts.models import Account, AuditAction, AuditEvent, TimelineEntry
from accounts.services import audit_event, timeline_system_entry
from core import events
from users.models import User

from .models import ChurnReason, Outcome, OutcomeKind, OutcomeSource
from .selectors import current_term

# The ARR columns hold 14 digits, 2 of them after the point.
MAX_ARR = Decimal("1e12")
# What an audit record of an outcome lists, and what a correction compares with the outcome it corrects.
AUDITED_FIELDS = (
    "kind",
    "occurred_on",
    "term_start",
    "term_end",
    "arr_before",
    "arr_after",
    "currency",
    "reason",
    "note",
)


def outcome_draft(
    *,
    account: Account,
    kind: str,
    occurred_on: dt.date,
    term_start: dt.date,
    term_end: dt.date,
    arr_before: Decimal,
    arr_after: Decimal | None = None,
    currency: str = "",
    reason: str = "",
    note: str = "",
    corrects: Outcome | None = None,
    source: str,
) -> Outcome:
    """An unsaved outcome, defaults filled in: the account's currency, and no ARR left after a churn."""
    if arr_after is None and kind == OutcomeKind.CHURNED:
        arr_after = Decimal(0)
    return Outcome(
        account=account,
        kind=kind,
        occurred_on=occurred_on,
        term_start=term_start,
        term_end=term_end,
        arr_before=arr_before,
        arr_after=arr_after,  # type: ignore[misc]  # None is reported by outcome_errors before any write
        currency=(currency or account.currency).strip().upper(),
        reason=reason or "",
        note=(note or "").strip(),
        corrects=corrects,
        source=source,
    )


def _money(value: Decimal | None) -> str | None:
    """What is wrong with an amount of ARR, if anything."""
    if value is None:
        return "This field is required."
    if not value.is_finite() or value < 0:
        return "ARR cannot be negative."
    if value >= MAX_ARR:
        return "That is more than Baton can hold (under 1,000,000,000,000)."
    if value != value.quantize(Decimal("0.01")):
        return "At most two decimal places."
    return None


def outcome_errors(outcome: Outcome, *, today: dt.date) -> dict[str, list[str]]:
    """What is wrong with an unsaved outcome, by field; empty when it may be written. No queries."""
    errors: dict[str, list[str]] = {}

    def error(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    kind = outcome.kind
    for field in ("occurred_on", "term_start", "term_end"):
        if getattr(outcome, field) is None:
            error(field, "This field is required.")
    if kind not in OutcomeKind.values:
        error("kind", "Choose what happened: renewed, downgraded or churned.")
    if outcome.occurred_on and outcome.occurred_on > today:
        error("occurred_on", "That day has not come yet: record an outcome once it has happened.")
    if outcome.term_start and outcome.term_end and outcome.term_end <= outcome.term_start:
        error("term_end", "The term must end after it starts.")
    for field in ("arr_before", "arr_after"):
        if (problem := _money(getattr(outcome, field))) is not None:
            if field == "arr_after" and problem == "This field is required.":
                problem = "Say what the customer pays from now on."
            error(field, problem)
    currency = outcome.currency
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        error("currency", "Use a three-letter ISO currency code such as USD or EUR.")
    if outcome.reason and outcome.reason not in ChurnReason.values:
        error("reason", f"Unknown reason {outcome.reason!r}: use one of {', '.join(ChurnReason.values)}.")
    before, after = outcome.arr_before, outcome.arr_after
    amounts_ok = "arr_before" not in errors and "arr_after" not in errors
    if kind == OutcomeKind.CHURNED:
        if not outcome.reason:
            error("reason", "Say why the customer left.")
        if amounts_ok and after != 0:
            error("arr_after", "A churned customer pays nothing: the ARR after is 0.")
    if kind == OutcomeKind.DOWNGRADED and amounts_ok and after >= before:
        error(
            "arr_after",
            f"A downgrade lowers the ARR: it must end below {outcome.currency} {before:,.2f}"
            " (for a renewal at the same or a higher price, record “renewed”).",
        )
    return errors


def _key(outcome: Outcome) -> tuple[Any, ...]:
    """Two outcomes with this in common record the same event twice."""
    return (outcome.account_id, outcome.kind, outcome.occurred_on, outcome.term_end)


def outcomes_check(
    outcomes: Sequence[Outcome], *, today: dt.date, names: Sequence[str] | None = None
) -> list[dict[str, list[str]]]:
    """Each draft's problems by field (empty when fine): the rules, then whether it is recorded already.

    One query, for any number of drafts: the effective outcomes of their accounts. A draft that
    repeats a recorded outcome (same account, kind, day and term end) or an earlier draft is
    refused, so importing a file twice records nothing twice. `names` says how to refer to the
    drafts in messages ("line 4"); by default their position.
    """
    problems = [outcome_errors(outcome, today=today) for outcome in outcomes]
    account_ids = {outcome.account_id for outcome in outcomes}
    recorded = {
        _key(outcome): outcome
        for outcome in Outcome.objects.effective().filter(account_id__in=account_ids).order_by("pk")
    }
    seen: dict[tuple[Any, ...], int] = {}
    for index, (outcome, errors) in enumerate(zip(outcomes, problems, strict=True)):
        key = _key(outcome)
        earlier = recorded.get(key)
        if earlier is not None and earlier.pk != outcome.corrects_id:
            errors.setdefault(NON_FIELD_ERRORS, []).append(
                f"Already recorded: {earlier.get_kind_display().lower()} on {_day(earlier.occurred_on)} for the term"
                f" ending {_day(earlier.term_end)}. To change it, record a correction on the Account 360."
            )
        elif key in seen:
            name = names[seen[key]] if names else f"item {seen[key] + 1}"
            errors.setdefault(NON_FIELD_ERRORS, []).append(f"The same outcome as {name}.")
        else:
            seen[key] = index
    return problems


def _lock_accounts(account_ids: set[int]) -> None:
    """Hold the accounts (in pk order) until commit, so a second recording of the same outcome, a
    double click or a file imported twice at once, waits and then sees the first instead of repeating it."""
    list(Account.objects.select_for_update().filter(pk__in=account_ids).order_by("pk").values_list("pk", flat=True))


def _correction_errors(outcome: Outcome, corrected: Outcome) -> dict[str, list[str]]:
    if corrected.account_id != outcome.account_id:
        return {"corrects": ["An outcome can only correct another outcome of the same account."]}
    # Locked, so two people correcting the same outcome at once cannot both succeed
    # (outcome_corrected_once would refuse the second with an error nobody could read).
    Outcome.objects.select_for_update().filter(pk=corrected.pk).first()
    newer = Outcome.objects.filter(corrects=corrected).first()
    if newer is not None:
        return {
            "corrects": [
                f"That outcome was corrected already, on {_day(timezone.localtime(newer.recorded_at).date())}:"
                " correct the newer one instead."
            ]
        }
    return {}


@transaction.atomic
def outcome_record(
    *,
    actor: User | None,
    account: Account,
    kind: str,
    occurred_on: dt.date,
    term_start: dt.date,
    term_end: dt.date,
    arr_before: Decimal,
    arr_after: Decimal | None = None,
    currency: str = "",
    reason: str = "",
    note: str = "",
    corrects: Outcome | None = None,
    source: str,
) -> Outcome:
    """Record what happened at a renewal or at churn; `corrects` names the outcome of the same account it replaces."""
    outcome = outcome_draft(
        account=account,
        kind=kind,
        occurred_on=occurred_on,
        term_start=term_start,
        term_end=term_end,
        arr_before=arr_before,
        arr_after=arr_after,
        currency=currency,
        reason=reason,
        note=note,
        corrects=corrects,
        source=source,
    )
    _lock_accounts({account.pk})
    errors = _correction_errors(outcome, corrects) if corrects is not None else {}
    for field, messages in outcomes_check([outcome], today=timezone.localdate())[0].items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return _write([outcome], actor=actor)[0]


@transaction.atomic
def outcomes_record(*, actor: User | None, outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Write many drafts at once (the CSV import), each checked again here: all are written, or none.

    Set-based: one query checks them, three INSERTs write the outcomes, their audit records
    and their timeline entries. Corrections go one by one through `outcome_record`.
    """
    if any(outcome.corrects_id for outcome in outcomes):
        raise ValidationError({"corrects": "Record corrections one at a time."})
    _lock_accounts({outcome.account_id for outcome in outcomes})
    problems = outcomes_check(outcomes, today=timezone.localdate())
    failed = [(index, errors) for index, errors in enumerate(problems) if errors]
    if failed:
        raise ValidationError(
            [
                f"Item {index + 1}, {field}: {message}"
                for index, errors in failed[:20]
                for field, messages in errors.items()
                for message in messages
            ]
        )
    return _write(outcomes, actor=actor)


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _amount(outcome: Outcome, value: Decimal) -> str:
    return f"{outcome.currency} {value:,.0f}"


def timeline_summary(outcome: Outcome) -> str:
    """One line for the timeline: what happened, how the ARR moved, and the term it closed."""
    arr = f"{_amount(outcome, outcome.arr_before)} → {outcome.arr_after:,.0f}"
    reason = f" ({outcome.get_reason_display()})" if outcome.reason else ""
    if outcome.kind == OutcomeKind.RENEWED:
        what = f"Renewed, {outcome.get_movement_display().lower()}: {arr}"
    elif outcome.kind == OutcomeKind.DOWNGRADED:
        what = f"Downgraded: {arr}{reason}"
    else:
        what = f"Churned{reason}: {_amount(outcome, outcome.arr_before)} lost"
    term = f"{outcome.term_label.lower()} term to {_day(outcome.term_end)}"
    prefix = "Outcome corrected" if outcome.corrects_id else "Outcome"
    return f"{prefix}: {what}; {term}"[:200]


def _audit_changes(outcome: Outcome) -> dict[str, tuple[Any, Any]]:
    """A new outcome's values; a correction's differences from the outcome it corrects."""
    corrected = outcome.corrects
    changes: dict[str, tuple[Any, Any]] = {}
    for field in AUDITED_FIELDS:
        old = getattr(corrected, field) if corrected is not None else None
        new = getattr(outcome, field)
        if corrected is None or old != new:
            changes[field] = (old, new)
    return changes


def _write(outcomes: Sequence[Outcome], *, actor: User | None) -> list[Outcome]:
    now = timezone.now()
    for outcome in outcomes:
        outcome.recorded_by = actor
        outcome.recorded_at = now
    written = Outcome.objects.bulk_create(outcomes)
    AuditEvent.objects.bulk_create(
        audit_event(
            actor=actor,
            action=AuditAction.OUTCOME_CORRECTED if outcome.corrects_id else AuditAction.OUTCOME_RECORDED,
            subject=outcome,
            account=outcome.account,
            changes=_audit_changes(outcome),
            reason=outcome.note,
        )
        for outcome in written
    )
    TimelineEntry.objects.bulk_create(
        timeline_system_entry(
            account=outcome.account,
            event="outcome_corrected" if outcome.corrects_id else "outcome_recorded",
            summary=timeline_summary(outcome),
            body=outcome.note,
            actor=actor,
        )
        for outcome in written
    )
    for outcome in written:
        events.announce(
            OutcomeRecorded(
                outcome_id=outcome.pk,
                account_id=outcome.account_id,
                kind=str(outcome.kind),
                occurred_on=outcome.occurred_on,
                source=str(outcome.source),
                corrects_id=outcome.corrects_id,
            )
        )
    return written


@transaction.atomic
def churn_record(
    *, actor: User | None, account: Account, reason: str, note: str = "", source: str = OutcomeSource.STAGE_CHANGE
) -> Outcome:
    """Record today's churn of `account`, closing its current term at its current ARR.

    The term runs from the contract start or the last renewal, whichever is later, to the
    renewal date. Without a start, it starts when the account was created; without a renewal
    date after the start, it ends today, as the customer left.
    """
    today = timezone.localdate()
    start, end = current_term(account)
    start = start or timezone.localtime(account.created_at).date()
    if end is None and today > start:
        end = today
    if end is None:
        raise ValidationError(
            "The account has no contract term to close: set its contract start and renewal date, then mark it churned."
        )
    return outcome_record(
        actor=actor,
        account=account,
        kind=OutcomeKind.CHURNED,
        occurred_on=today,
        term_start=start,
        term_end=end,
        arr_before=account.arr,
        arr_after=Decimal(0),
        currency=account.currency,
        reason=reason,
        note=note,
        source=source,
    )
