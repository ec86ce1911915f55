"""Outcomes from a CSV file: a dry run first, then the import of exactly what it showed.

The dry run reads the whole file and says either what it would record (a summary and the
rows) or every problem, by line and column; it writes nothing. The import reads the same
text again under the same rules, against the data as it is by then, and writes only if the
result is still exactly what the preview showed (the same fingerprint): all rows or none.

Columns: account (its id or its domain), kind, occurred_on, term_start, term_end, arr_before,
arr_after (not needed for a churn), currency (the account's when blank), reason (needed for a
churn), note. Dates are YYYY-MM-DD; amounts plain numbers such as 50000.00.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import BooleanField, Case, Q, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Account
from core.csv_files import CsvRow, RowError, read_csv
from users.models import User
from users.permissions import editable_accounts_q

from .forms import OutcomeRowForm
from .models import ChurnReason, Movement, Outcome, OutcomeKind, OutcomeSource
from .services import outcome_draft, outcomes_check, outcomes_record

COLUMNS = (
    "account",
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
REQUIRED_COLUMNS = ("account", "kind", "occurred_on", "term_start", "term_end", "arr_before")
MAX_ROWS = 5000
FORBIDDEN = "You cannot record outcomes for this account."
# A kind or a reason may be written as its code or as its label ("Went to a competitor").
_KINDS = {
    **{value: value for value in OutcomeKind.values},
    **{label.lower(): value for value, label in OutcomeKind.choices},
}
_REASONS = {
    **{value: value for value in ChurnReason.values},
    **{label.lower(): value for value, label in ChurnReason.choices},
}


@dataclass(frozen=True)
class PlannedOutcome:
    line: int
    outcome: Outcome  # unsaved, its account attached


@dataclass(frozen=True)
class ImportSummary:
    outcomes: int
    accounts: int
    by_kind: list[tuple[str, int]]
    by_movement: list[tuple[str, int]]
    arr: list[tuple[str, Decimal, Decimal]]  # currency, ARR before, ARR after


@dataclass
class OutcomeImport:
    planned: list[PlannedOutcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    written: list[Outcome] = field(default_factory=list)
    # The import found something else than its preview showed (the data changed meanwhile): nothing was written.
    stale: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def digest(self) -> str:
        """A fingerprint of what would be recorded: the import writes only when it matches the preview's."""
        rows = [
            [
                planned.line,
                planned.outcome.account_id,
                *(str(getattr(planned.outcome, name)) for name in COLUMNS[1:]),
            ]
            for planned in self.planned
        ]
        return hashlib.sha256(json.dumps(rows).encode()).hexdigest()

    def summary(self) -> ImportSummary:
        outcomes = [planned.outcome for planned in self.planned]
        kinds = Counter(outcome.kind for outcome in outcomes)
        movements = Counter(outcome.movement for outcome in outcomes)
        totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for outcome in outcomes:
            totals[outcome.currency][0] += outcome.arr_before
            totals[outcome.currency][1] += outcome.arr_after
        return ImportSummary(
            outcomes=len(outcomes),
            accounts=len({outcome.account_id for outcome in outcomes}),
            by_kind=[(label, kinds[value]) for value, label in OutcomeKind.choices if kinds[value]],
            by_movement=[(label, movements[value]) for value, label in Movement.choices if movements[value]],
            arr=[(currency, before, after) for currency, (before, after) in sorted(totals.items())],
        )


def _account_key(value: str) -> tuple[str, Any]:
    value = value.strip()
    return ("id", int(value)) if value.isdigit() else ("domain", value.lower())


def _accounts(actor: User, keys: set[tuple[str, Any]]) -> tuple[dict[int, Account], dict[str, list[Account]]]:
    """Every account the file names, by id and by domain, in one query; each says whether `actor` may change it."""
    ids = [value for kind, value in keys if kind == "id" and value < 2**63]
    domains = [value for kind, value in keys if kind == "domain"]
    if not ids and not domains:
        return {}, {}
    editable = editable_accounts_q(actor)
    found = (
        Account.objects.annotate(
            domain_key=Lower("domain"),
            may_edit=Case(When(editable, then=Value(True)), default=Value(False), output_field=BooleanField())
            if editable
            else Value(True),
        )
        .filter(Q(pk__in=ids) | Q(domain_key__in=domains))
        .only("pk", "name", "domain", "currency")
        .order_by("pk")
    )
    by_id: dict[int, Account] = {}
    by_domain: dict[str, list[Account]] = defaultdict(list)
    for account in found:
        by_id[account.pk] = account
        by_domain[account.domain_key].append(account)
    return by_id, by_domain


def _resolve(row: CsvRow, by_id: dict[int, Account], by_domain: dict[str, list[Account]]) -> Account | RowError:
    kind, value = _account_key(row.values["account"])
    if kind == "id":
        account = by_id.get(value)
        if account is None:
            return RowError(row.line, "account", f"No account has id {value}.")
    else:
        matches = by_domain.get(value, [])
        if not matches:
            return RowError(row.line, "account", f"No account has the domain {value}.")
        if len(matches) > 1:
            ids = ", ".join(str(account.pk) for account in matches)
            return RowError(
                row.line, "account", f"Accounts {ids} share the domain {value}: name the account by its id."
            )
        account = matches[0]
    if not account.may_edit:  # type: ignore[attr-defined]  # annotated in _accounts
        return RowError(row.line, "account", FORBIDDEN)
    return account


def _normalised(values: dict[str, str]) -> dict[str, str]:
    values = dict(values)
    for name, lookup in (("kind", _KINDS), ("reason", _REASONS)):
        typed = values.get(name, "").strip()
        values[name] = lookup.get(typed.lower(), typed)
    return values


def outcomes_csv_preview(*, actor: User, text: str) -> OutcomeImport:
    """The dry run: what the file would record, or every problem in it. Writes nothing.

    Queries: one for the accounts the file names, one for the outcomes they already have.
    """
    parsed = read_csv(text, columns=COLUMNS, required=REQUIRED_COLUMNS, max_rows=MAX_ROWS)
    result = OutcomeImport(errors=list(parsed.errors))
    if any(error.line is None or error.column == "header" for error in parsed.errors):
        return result
    if not parsed.rows and not parsed.errors:
        result.errors.append(RowError(None, "file", "The file names its columns but has no rows."))
        return result
    forms: list[tuple[CsvRow, OutcomeRowForm]] = []
    for row in parsed.rows:
        form = OutcomeRowForm(data=_normalised(row.values))
        if form.is_valid():
            forms.append((row, form))
        else:
            result.errors.extend(
                RowError(row.line, name, str(message)) for name, messages in form.errors.items() for message in messages
            )
    by_id, by_domain = _accounts(actor, {_account_key(form.cleaned_data["account"]) for _, form in forms})
    for row, form in forms:
        account = _resolve(row, by_id, by_domain)
        if isinstance(account, RowError):
            result.errors.append(account)
            continue
        draft = outcome_draft(account=account, source=OutcomeSource.CSV, **form.outcome_values())
        result.planned.append(PlannedOutcome(line=row.line, outcome=draft))
    problems = outcomes_check(
        [planned.outcome for planned in result.planned],
        today=timezone.localdate(),
        names=[f"line {planned.line}" for planned in result.planned],
    )
    for planned, errors in zip(result.planned, problems, strict=True):
        result.errors.extend(
            RowError(planned.line, "row" if name == NON_FIELD_ERRORS else name, message)
            for name, messages in errors.items()
            for message in messages
        )
    result.errors.sort(
        key=lambda error: (error.line or 0, COLUMNS.index(error.column) if error.column in COLUMNS else 99)
    )
    if result.errors:
        result.planned = []
    return result


@transaction.atomic
def outcomes_csv_import(*, actor: User, text: str, digest: str) -> OutcomeImport:
    """Record what the preview with fingerprint `digest` showed, checked again now: every row, or none.

    When the file now reads differently (an account's domain moved, an outcome was recorded
    meanwhile), nothing is written and the result is the new preview, marked `stale`.
    """
    result = outcomes_csv_preview(actor=actor, text=text)
    if not result.ok:
        return result
    if result.digest != digest:
        result.stale = True
        return result
    try:
        result.written = outcomes_record(actor=actor, outcomes=[planned.outcome for planned in result.planned])
    except ValidationError as error:
        # Someone recorded one of these outcomes between the check above and the lock in outcomes_record.
        result.errors = [RowError(None, "file", message) for message in error.messages]
    return result
