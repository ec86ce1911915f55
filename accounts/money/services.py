"""Writes to exchange rates, and the refresh of every account's ARR in the reporting currency.

Each rate write runs in a transaction, records its own audit and refreshes the converted ARR
of the accounts in that currency in the same transaction, so a sum never mixes old and new rates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_date

from accounts.events import ConvertedArrChanged
from accounts.models import AuditAction, AuditEvent
from accounts.services import audit_event, audit_record
from core import events
from core.batches import RowError
from users.models import User

from .models import ExchangeRate
from .refresh import converted_arr_refresh
from .selectors import reporting_currency


def _reconvert(currencies: Iterable[str]) -> int:
    """Reconvert the ARR of these currencies' accounts and tell the apps above (the next-best rank reads it)."""
    currencies = frozenset(currencies)
    written = converted_arr_refresh(currencies=currencies)
    events.announce(ConvertedArrChanged(currencies=currencies))
    return written


CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_ROWS = 10_000
RATE_FIELDS = ("currency", "rate_to_reporting", "effective_on")
CSV_COLUMNS = ("currency", "rate", "effective_on")


def _clean_rate(*, currency: str, rate_to_reporting: Decimal, effective_on: dt.date) -> None:
    if not CURRENCY_RE.match(currency or ""):
        raise ValidationError({"currency": "A currency is three capital letters, e.g. EUR."})
    if currency == reporting_currency():
        raise ValidationError({"currency": f"{currency} is the reporting currency: it always converts at 1."})
    if rate_to_reporting is None or rate_to_reporting <= 0:
        raise ValidationError({"rate_to_reporting": "A rate is a number above zero."})


def _validated(rate: ExchangeRate) -> ExchangeRate:
    _clean_rate(currency=rate.currency, rate_to_reporting=rate.rate_to_reporting, effective_on=rate.effective_on)
    rate.full_clean()
    return rate


@transaction.atomic
def exchange_rate_create(
    *, actor: User, currency: str, rate_to_reporting: Decimal, effective_on: dt.date
) -> ExchangeRate:
    rate = _validated(
        ExchangeRate(
            currency=(currency or "").strip().upper(),
            rate_to_reporting=rate_to_reporting,
            effective_on=effective_on,
            created_by=actor,
        )
    )
    rate.save()
    audit_record(
        actor=actor,
        action=AuditAction.EXCHANGE_RATE_CREATED,
        subject=rate,
        changes={name: (None, getattr(rate, name)) for name in RATE_FIELDS},
    )
    _reconvert([rate.currency])
    return rate


@transaction.atomic
def exchange_rate_update(
    *, actor: User, rate: ExchangeRate, rate_to_reporting: Decimal, effective_on: dt.date
) -> ExchangeRate:
    changes = {
        name: (getattr(rate, name), new)
        for name, new in (("rate_to_reporting", rate_to_reporting), ("effective_on", effective_on))
        if getattr(rate, name) != new
    }
    if not changes:
        return rate
    rate.rate_to_reporting, rate.effective_on = rate_to_reporting, effective_on
    _validated(rate).save(update_fields=list(changes))
    audit_record(actor=actor, action=AuditAction.EXCHANGE_RATE_UPDATED, subject=rate, changes=changes)
    _reconvert([rate.currency])
    return rate


@transaction.atomic
def exchange_rate_delete(*, actor: User, rate: ExchangeRate) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.EXCHANGE_RATE_DELETED,
        subject=rate,
        changes={name: (getattr(rate, name), None) for name in RATE_FIELDS},
    )
    currency = rate.currency
    rate.delete()
    _reconvert([currency])


@dataclass
class RateImport:
    """What a CSV import of rates did (or, in a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False


def _parse_rows(text: str) -> tuple[list[tuple[str, Decimal, dt.date]], list[RowError]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        return [], [
            RowError(-1, "file", f"The file needs the columns {', '.join(CSV_COLUMNS)}; missing {', '.join(missing)}.")
        ]
    reader.fieldnames = header
    rows: list[tuple[str, Decimal, dt.date]] = []
    errors: list[RowError] = []
    seen: set[tuple[str, dt.date]] = set()
    for index, raw in enumerate(reader):
        if index >= MAX_ROWS:
            return [], [RowError(-1, "file", f"A file holds at most {MAX_ROWS:,} rates.")]
        currency = (raw.get("currency") or "").strip().upper()
        try:
            rate = Decimal((raw.get("rate") or "").strip())
        except InvalidOperation:
            errors.append(RowError(index, "rate", "A rate is a number above zero, e.g. 1.08."))
            continue
        try:
            effective_on = parse_date((raw.get("effective_on") or "").strip())
        except ValueError:
            effective_on = None
        if effective_on is None:
            errors.append(RowError(index, "effective_on", "A date is written YYYY-MM-DD."))
            continue
        if not rate.is_finite() or rate.as_tuple().exponent < -8 or rate.adjusted() >= 10:  # type: ignore[operator]
            errors.append(RowError(index, "rate", "A rate has at most 10 digits before the point and 8 after."))
            continue
        try:
            _clean_rate(currency=currency, rate_to_reporting=rate, effective_on=effective_on)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.append(RowError(index, "rate" if name == "rate_to_reporting" else name, " ".join(messages)))
            continue
        if (currency, effective_on) in seen:
            errors.append(RowError(index, "effective_on", f"{currency} from {effective_on} is in the file twice."))
            continue
        seen.add((currency, effective_on))
        rows.append((currency, rate, effective_on))
    return rows, errors


@transaction.atomic
def exchange_rates_import(*, actor: User, text: str, dry_run: bool = False) -> RateImport:
    """Add or change rates from CSV (currency, rate, effective_on): all rows or, when any row is wrong, none.

    A row naming a currency and date that already has a rate changes that rate. A dry run
    reports what would happen and writes nothing.
    """
    rows, errors = _parse_rows(text)
    result = RateImport(errors=errors, dry_run=dry_run)
    if errors or not rows:
        return result
    currencies = {currency for currency, _, _ in rows}
    existing = {
        (rate.currency, rate.effective_on): rate
        for rate in ExchangeRate.objects.select_for_update().filter(currency__in=currencies)
    }
    new: list[ExchangeRate] = []
    changed: list[tuple[ExchangeRate, Decimal]] = []
    for currency, value, effective_on in rows:
        rate = existing.get((currency, effective_on))
        if rate is None:
            new.append(
                ExchangeRate(currency=currency, rate_to_reporting=value, effective_on=effective_on, created_by=actor)
            )
        elif rate.rate_to_reporting != value:
            changed.append((rate, value))
        else:
            result.unchanged += 1
    result.created, result.updated = len(new), len(changed)
    if dry_run:
        return result
    ExchangeRate.objects.bulk_create(new)
    events = [
        audit_event(
            actor=actor,
            action=AuditAction.EXCHANGE_RATE_CREATED,
            subject=rate,
            changes={name: (None, getattr(rate, name)) for name in RATE_FIELDS},
        )
        for rate in new
    ]
    for rate, value in changed:
        events.append(
            audit_event(
                actor=actor,
                action=AuditAction.EXCHANGE_RATE_UPDATED,
                subject=rate,
                changes={"rate_to_reporting": (rate.rate_to_reporting, value)},
                reason="CSV import",
            )
        )
        rate.rate_to_reporting = value
    ExchangeRate.objects.bulk_update([rate for rate, _ in changed], ["rate_to_reporting"])
    AuditEvent.objects.bulk_create(events)
    _reconvert(currencies)
    return result
