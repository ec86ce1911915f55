"""Signals in bulk: daily usage, support tickets, survey responses and invoices.

The API and the CSV import (lifecycle.signals.services.csv_files) both land here. Every row is checked before
anything is written: one bad row rejects the whole batch with row-level
errors (index, field, message), so an integration can fix and resend. Writes
upsert on each signal's natural key, so resending a payload is harmless —
rows whose values did not change are not even touched, and only accounts
whose data changed are queued for a health recompute.

The work is set-based whatever the batch size: one query resolves every
account, one reads the rows that already exist, and the writes go out in
batches of `WRITE_BATCH`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models, transaction
from django.db.models import Case, Max, Q, Sum, Value, When
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import Account, Contact, Product
from core import events
from core.batches import RowError
from lifecycle.models import (
    Invoice,
    ProductUsageDaily,
    SupportTicket,
    SurveyKind,
    SurveyResponse,
    TicketSeverity,
    UsageDaily,
)
from lifecycle.signals.events import SignalsIngested
from users.models import User
from users.permissions import can_write_signals_for_any_account, editable_accounts_q

MAX_ROWS = 10_000
WRITE_BATCH = 1000
# The largest value a PositiveIntegerField holds on every supported database.
MAX_COUNT = 2_147_483_647
# Clocks differ a little between systems; a timestamp this far ahead is still "now".
CLOCK_SKEW = dt.timedelta(minutes=5)


class SignalKind(models.TextChoices):
    USAGE = "usage", "Daily usage"
    TICKETS = "tickets", "Support tickets"
    SURVEYS = "surveys", "Survey responses (NPS/CSAT)"
    INVOICES = "invoices", "Invoices"


@dataclass
class IngestResult:
    kind: str
    accepted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    account_ids: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def forbidden(self) -> bool:
        """True when some row names an account the actor may not write signals for."""
        return any(error.field == "account" and error.message == FORBIDDEN_MESSAGE for error in self.errors)

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dry_run": self.dry_run,
            "accepted": self.accepted,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "accounts": len(self.account_ids),
        }


FORBIDDEN_MESSAGE = "You cannot write signals for this account."


# --- Reading one row ------------------------------------------------------------------------------


class _RowReader:
    """Typed access to one incoming row; every problem is recorded as a RowError, never raised."""

    def __init__(self, row: Mapping[str, Any], index: int, errors: list[RowError]) -> None:
        self.row, self.index, self.errors = row, index, errors

    def error(self, name: str, message: str) -> None:
        self.errors.append(RowError(self.index, name, message))

    def raw(self, name: str) -> Any:
        value = self.row.get(name)
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    def text(self, name: str, *, max_length: int, required: bool = False) -> str:
        value = self.raw(name)
        if value is None:
            if required:
                self.error(name, "This field is required.")
            return ""
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.error(name, "Must be text.")
            return ""
        value = str(value)
        if len(value) > max_length:
            self.error(name, f"At most {max_length} characters (got {len(value)}).")
        return value

    def count(
        self,
        name: str,
        *,
        default: int | None = None,
        required: bool = True,
        minimum: int = 0,
        maximum: int = MAX_COUNT,
    ) -> int | None:
        value = self.raw(name)
        if value is None:
            if default is None and required:
                self.error(name, "This field is required.")
            return default
        if isinstance(value, bool):
            self.error(name, "Must be a whole number.")
            return None
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                self.error(name, f"Must be a whole number (got {value!r}).")
                return None
        if not isinstance(value, int):
            self.error(name, f"Must be a whole number (got {value!r}).")
            return None
        if not minimum <= value <= maximum:
            if minimum == 0 and value < 0:
                self.error(name, f"Cannot be negative (got {value}).")
            else:
                self.error(name, f"Must be between {minimum} and {maximum} (got {value}).")
            return None
        return value

    def date(self, name: str, *, not_after: dt.date | None = None) -> dt.date | None:
        value = self.raw(name)
        if value is None:
            self.error(name, "This field is required.")
            return None
        try:
            parsed = parse_date(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            self.error(name, f"Use a date like 2025-03-31 (got {value!r}).")
            return None
        if not_after is not None and parsed > not_after:
            self.error(name, f"{parsed.isoformat()} is in the future.")
            return None
        return parsed

    def datetime(self, name: str, *, required: bool = True, not_after: dt.datetime | None = None) -> dt.datetime | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.error(name, "This field is required.")
            return None
        parsed = None
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
                if parsed is None and (day := parse_date(value)) is not None:
                    parsed = dt.datetime.combine(day, dt.time())
            except ValueError:
                parsed = None
        if parsed is None:
            self.error(name, f"Use an ISO 8601 time like 2025-03-31T14:30:00Z (got {value!r}).")
            return None
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        if not_after is not None and parsed > not_after:
            self.error(name, f"{parsed.isoformat()} is in the future.")
            return None
        return parsed

    def choice(self, name: str, choices: type[models.TextChoices], *, default: str | None = None) -> str | None:
        value = self.raw(name)
        if value is None:
            if default is None:
                self.error(name, "This field is required.")
            return default
        value = str(value).lower()
        if value not in choices.values:
            self.error(name, f"Must be one of {', '.join(choices.values)} (got {value!r}).")
            return None
        return value

    def amount(self, name: str) -> Decimal | None:
        value = self.raw(name)
        if value is None:
            self.error(name, "This field is required.")
            return None
        if isinstance(value, bool) or isinstance(value, float):
            # Floats cannot hold money exactly; integrations send amounts as strings.
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                self.error(name, 'Send money as a string like "1250.00".')
                return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.error(name, f"Must be an amount like 1250.00 (got {value!r}).")
            return None
        if not amount.is_finite():
            self.error(name, f"Must be an amount like 1250.00 (got {value!r}).")
            return None
        if amount < 0:
            self.error(name, f"Cannot be negative (got {amount}).")
            return None
        if amount != amount.quantize(Decimal("0.01")):
            self.error(name, f"At most two decimal places (got {amount}).")
            return None
        if amount >= Decimal("1e12"):
            self.error(name, f"Too large (got {amount}).")
            return None
        return amount.quantize(Decimal("0.01"))

    def currency(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None  # the account's currency
        value = str(value).upper()
        if len(value) != 3 or not value.isalpha():
            self.error(name, f"Use a three-letter ISO currency code such as USD (got {value!r}).")
            return None
        return value


# --- Per-kind row shapes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """How one kind of signal is read, keyed and written."""

    kind: str
    model: type[models.Model]
    columns: tuple[str, ...]
    key: tuple[str, ...]  # natural key after the account, as model field names
    values: tuple[str, ...]  # the fields an upsert overwrites
    read: Callable[[_RowReader, dt.datetime], dict[str, Any]]

    @property
    def unique_fields(self) -> list[str]:
        return ["account", *self.key]


USE_MEASURES = ("active_users", "key_events", "minutes")


def _read_usage(row: _RowReader, now: dt.datetime) -> dict[str, Any]:
    """One day of one account's use, of the whole product or (with `product`) of one product or module.

    Analytics tools count different things, so active users, key events and
    minutes are each optional, but a row must say something about use.
    A day without a row means no use that day.
    """
    if all(row.raw(name) is None for name in USE_MEASURES):
        row.error("active_users", "A usage row needs at least one of active_users, key_events or minutes.")
    return {
        "day": row.date("day", not_after=timezone.localdate(now)),
        "product": row.text("product", max_length=100).strip().lower(),
        "active_users": row.count("active_users", required=False),
        "key_events": row.count("key_events", default=0),
        "minutes": row.count("minutes", required=False),
        "licences_used": row.count("licences_used", default=0),
        "licences_owned": row.count("licences_owned", default=0),
        "from_products": False,
    }


def _read_ticket(row: _RowReader, now: dt.datetime) -> dict[str, Any]:
    opened_at = row.datetime("opened_at", not_after=now + CLOCK_SKEW)
    closed_at = row.datetime("closed_at", required=False, not_after=now + CLOCK_SKEW)
    if opened_at and closed_at and closed_at < opened_at:
        row.error("closed_at", "A ticket cannot close before it opened.")
    return {
        "external_id": row.text("external_id", max_length=100, required=True),
        "subject": row.text("subject", max_length=300),
        "severity": row.choice("severity", TicketSeverity, default=TicketSeverity.MEDIUM),
        "opened_at": opened_at,
        "closed_at": closed_at,
        "time_spent_minutes": row.count("time_spent_minutes", required=False),
    }


def _read_survey(row: _RowReader, now: dt.datetime) -> dict[str, Any]:
    kind = row.choice("kind", SurveyKind)
    score = row.count("score", maximum=10)  # NPS 0–10; CSAT narrows it below
    if score is not None and kind == SurveyKind.CSAT and not 1 <= score <= 5:
        row.error("score", f"A CSAT score is 1–5 (got {score}).")
    return {
        "external_id": row.text("external_id", max_length=100, required=True),
        "kind": kind,
        "score": score,
        "comment": row.text("comment", max_length=10_000),
        "responded_at": row.datetime("responded_at", not_after=now + CLOCK_SKEW),
        "contact_email": row.text("contact_email", max_length=254).lower(),
    }


def _read_invoice(row: _RowReader, now: dt.datetime) -> dict[str, Any]:
    return {
        "external_id": row.text("external_id", max_length=100, required=True),
        "issued_on": row.date("issued_on"),
        "amount": row.amount("amount"),
        "currency": row.currency("currency"),
    }


SPECS: dict[str, _Spec] = {
    SignalKind.USAGE: _Spec(
        kind=SignalKind.USAGE,
        model=UsageDaily,
        columns=(
            "account",
            "day",
            "product",
            "active_users",
            "key_events",
            "minutes",
            "licences_used",
            "licences_owned",
        ),
        # Rows with a product are one product's day: checked for duplicates on (product, day) and written
        # to ProductUsageDaily by _split_product_rows.
        key=("product", "day"),
        values=("active_users", "key_events", "minutes", "licences_used", "licences_owned", "from_products"),
        read=_read_usage,
    ),
    SignalKind.TICKETS: _Spec(
        kind=SignalKind.TICKETS,
        model=SupportTicket,
        columns=("account", "external_id", "subject", "severity", "opened_at", "closed_at", "time_spent_minutes"),
        key=("external_id",),
        values=("subject", "severity", "opened_at", "closed_at", "time_spent_minutes"),
        read=_read_ticket,
    ),
    SignalKind.SURVEYS: _Spec(
        kind=SignalKind.SURVEYS,
        model=SurveyResponse,
        columns=("account", "external_id", "kind", "score", "comment", "responded_at", "contact_email"),
        key=("kind", "external_id"),
        values=("contact", "score", "comment", "responded_at"),
        read=_read_survey,
    ),
    SignalKind.INVOICES: _Spec(
        kind=SignalKind.INVOICES,
        model=Invoice,
        columns=("account", "external_id", "issued_on", "amount", "currency"),
        key=("external_id",),
        values=("issued_on", "amount", "currency"),
        read=_read_invoice,
    ),
}
# How the two halves of a usage batch are written: rows naming a product, and rows for the whole account.
_ACCOUNT_USAGE = dataclasses.replace(SPECS[SignalKind.USAGE], key=("day",))
_PRODUCT_USAGE = dataclasses.replace(
    SPECS[SignalKind.USAGE],
    model=ProductUsageDaily,
    key=("product", "day"),
    values=("active_users", "key_events", "minutes"),
)
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    SignalKind.USAGE: ("account", "day"),
    SignalKind.TICKETS: ("account", "external_id", "opened_at"),
    SignalKind.SURVEYS: ("account", "external_id", "kind", "score", "responded_at"),
    SignalKind.INVOICES: ("account", "external_id", "issued_on", "amount"),
}


# --- Accounts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AccountRef:
    pk: int
    currency: str
    writable: bool


def _account_key(value: Any) -> tuple[str, Any] | None:
    """("id", 12) or ("domain", "acme.example") from what a row names its account by."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return ("id", value)
    if isinstance(value, str):
        value = value.strip()
        if value.isdigit():
            return ("id", int(value))
        if value:
            return ("domain", value.lower())
    return None


def _resolve_accounts(
    actor: User | None, keys: Iterable[tuple[str, Any]]
) -> tuple[dict[int, _AccountRef], dict[str, _AccountRef | None]]:
    """Every account the batch names, in one query; a domain two accounts share maps to None."""
    keys = set(keys)
    ids = [value for kind, value in keys if kind == "id" and value <= 2**63 - 1]
    domains = [value for kind, value in keys if kind == "domain"]
    if not ids and not domains:
        return {}, {}
    if can_write_signals_for_any_account(actor):
        writable = Value(True)
    else:
        writable = Case(When(editable_accounts_q(actor), then=Value(True)), default=Value(False))
    rows = (
        Account.objects.annotate(domain_key=Lower("domain"), writable=writable)
        .filter(Q(pk__in=ids) | Q(domain_key__in=domains))
        .values_list("pk", "domain_key", "currency", "writable", named=True)
    )
    by_id: dict[int, _AccountRef] = {}
    by_domain: dict[str, _AccountRef | None] = {}
    wanted_domains = set(domains)
    for row in rows:
        ref = _AccountRef(pk=row.pk, currency=row.currency, writable=bool(row.writable))
        by_id[row.pk] = ref
        if row.domain_key in wanted_domains:
            by_domain[row.domain_key] = None if row.domain_key in by_domain else ref
    return by_id, by_domain


# --- The ingest itself ---------------------------------------------------------------------------


def _validate(
    spec: _Spec, rows: Sequence[Any], actor: User | None
) -> tuple[list[dict[str, Any]], list[RowError], dict[int, _AccountRef]]:
    errors: list[RowError] = []
    if len(rows) > MAX_ROWS:
        return [], [RowError(-1, "rows", f"At most {MAX_ROWS:,} rows per batch (got {len(rows):,}).")], {}
    now = timezone.now()
    allowed = set(spec.columns)
    parsed: list[dict[str, Any]] = []
    account_keys: list[tuple[str, Any] | None] = []
    for index, raw in enumerate(rows):
        if not isinstance(raw, Mapping):
            errors.append(RowError(index, "row", "Each row must be an object with named fields."))
            parsed.append({})
            account_keys.append(None)
            continue
        row = _RowReader(raw, index, errors)
        for unknown in sorted(set(raw) - allowed):
            row.error(unknown, f"Unknown field; expected {', '.join(spec.columns)}.")
        key = _account_key(raw.get("account"))
        if key is None:
            row.error("account", "Name the account by its id or its domain.")
        account_keys.append(key)
        parsed.append(spec.read(row, now))

    by_id, by_domain = _resolve_accounts(actor, (key for key in account_keys if key))
    seen: dict[tuple, int] = {}
    for index, (key, values) in enumerate(zip(account_keys, parsed, strict=True)):
        if key is None:
            continue
        kind, value = key
        if kind == "id":
            ref = by_id.get(value)
            missing = f"No account has id {value}."
        else:
            ref = by_domain.get(value)
            missing = f"No account has domain {value!r}."
            if value in by_domain and ref is None:
                errors.append(RowError(index, "account", f"Several accounts use domain {value!r}; send the id."))
                continue
        if ref is None:
            errors.append(RowError(index, "account", missing))
            continue
        if not ref.writable:
            errors.append(RowError(index, "account", FORBIDDEN_MESSAGE))
            continue
        values["account_id"] = ref.pk
        natural_key = (ref.pk, *(values.get(name) for name in spec.key))
        if None in natural_key or ("" in natural_key and spec.model is not UsageDaily):
            continue  # already reported as a field error (a usage row's blank product is the whole account)
        if natural_key in seen:
            errors.append(
                RowError(
                    index,
                    spec.key[-1],
                    f"Row {seen[natural_key]} already has this {'/'.join(spec.key)} for the account.",
                )
            )
        else:
            seen[natural_key] = index
    errors.sort(key=lambda error: error.index)
    return parsed, errors, by_id


def _existing(spec: _Spec, rows: list[dict[str, Any]]) -> dict[tuple, tuple]:
    """The stored values of rows sharing a natural key with the batch, in one query."""
    account_ids = {row["account_id"] for row in rows}
    queryset = spec.model.objects.filter(account_id__in=account_ids)
    if spec.model in (UsageDaily, ProductUsageDaily):
        days = [row["day"] for row in rows]
        queryset = queryset.filter(day__range=(min(days), max(days)))
    else:
        queryset = queryset.filter(external_id__in={row["external_id"] for row in rows})
    value_columns = [f"{name}_id" if name == "contact" else name for name in spec.values]
    stored = {}
    for record in queryset.values_list("account_id", *spec.key, *value_columns):
        width = 1 + len(spec.key)
        stored[record[:width]] = record[width:]
    return stored


def _attach_contacts(rows: list[dict[str, Any]]) -> None:
    """Survey respondents by email, for all rows in one query; an unknown email leaves the contact blank."""
    wanted = {(row["account_id"], row["contact_email"]) for row in rows if row.get("contact_email")}
    found: dict[tuple[int, str], int] = {}
    if wanted:
        contacts = Contact.objects.annotate(email_key=Lower("email")).filter(
            account_id__in={account_id for account_id, _ in wanted}, email_key__in={email for _, email in wanted}
        )
        for pk, account_id, email in contacts.values_list("pk", "account_id", "email_key").order_by("departed", "pk"):
            found.setdefault((account_id, email), pk)
    for row in rows:
        row["contact"] = found.get((row["account_id"], row.pop("contact_email", "")))


@transaction.atomic
def signals_ingest(*, kind: str, rows: Sequence[Any], actor: User | None = None, dry_run: bool = False) -> IngestResult:
    """Validate a whole batch of one kind of signal, then upsert it; any invalid row means nothing is written.

    `rows` are mappings with the fields in `SPECS[kind].columns`; `account` is
    an account id or domain. With `dry_run` the result says what would
    happen (created / updated / unchanged) and nothing is written.
    """
    spec = SPECS[kind]
    result = IngestResult(kind=kind, dry_run=dry_run)
    parsed, errors, accounts = _validate(spec, rows, actor)
    if spec.model is UsageDaily and not errors:
        errors = _attach_products(parsed)
    if errors:
        result.errors = errors
        return result
    result.accepted = len(parsed)
    if not parsed:
        return result
    if spec.model is SurveyResponse:
        _attach_contacts(parsed)
    if spec.model is Invoice:
        for row in parsed:
            row["currency"] = row["currency"] or accounts[row["account_id"]].currency
    changed_accounts: set[int] = set()
    if spec.model is UsageDaily:
        account_rows = [row for row in parsed if row["product"] is None]
        product_rows = [row for row in parsed if row["product"] is not None]
        written = _upsert(_ACCOUNT_USAGE, account_rows, result, changed_accounts, dry_run=dry_run)
        written += _upsert(_PRODUCT_USAGE, product_rows, result, changed_accounts, dry_run=dry_run)
        if written and product_rows:
            _add_up_product_days(product_rows)
    else:
        written = _upsert(spec, parsed, result, changed_accounts, dry_run=dry_run)
    result.account_ids = sorted(changed_accounts)
    if not written:
        return result
    queue_account_recompute(result.account_ids)
    events.announce(SignalsIngested(account_ids=tuple(result.account_ids)))
    return result


def _upsert(
    spec: _Spec, rows: list[dict[str, Any]], result: IngestResult, changed_accounts: set[int], *, dry_run: bool
) -> int:
    """Count what `rows` would create, update or leave unchanged, and (unless a dry run) write the changes."""
    if not rows:
        return 0
    stored = _existing(spec, rows)
    to_write = []
    for row in rows:
        natural_key = (row["account_id"], *(row[name] for name in spec.key))
        incoming = tuple(row[name] for name in spec.values)
        previous = stored.get(natural_key)
        if previous is None:
            result.created += 1
        elif previous == incoming:
            result.unchanged += 1
            continue
        else:
            result.updated += 1
        changed_accounts.add(row["account_id"])
        to_write.append(row)
    if dry_run or not to_write:
        return 0
    attnames = {name: spec.model._meta.get_field(name).attname for name in (*spec.key, *spec.values)}
    spec.model.objects.bulk_create(
        [
            spec.model(account_id=row["account_id"], **{attname: row[name] for name, attname in attnames.items()})
            for row in to_write
        ],
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=spec.unique_fields,
        update_fields=list(spec.values),
    )
    return len(to_write)


def _attach_products(rows: list[dict[str, Any]]) -> list[RowError]:
    """Each usage row's product key as the product's id (None for the whole account), in one query."""
    keys = {row["product"] for row in rows if row.get("product")}
    known = dict(Product.objects.filter(key__in=keys).values_list("key", "pk")) if keys else {}
    errors = []
    for index, row in enumerate(rows):
        key = row.get("product")
        if not key:
            row["product"] = None
        elif key in known:
            row["product"] = known[key]
        else:
            errors.append(RowError(index, "product", f"No product has key {key!r}; add it to the products first."))
    return errors


def _add_up_product_days(product_rows: list[dict[str, Any]]) -> None:
    """Give each (account, day) of the product rows an account-wide row added up from all its products' rows.

    Only where the account's own row for the day is missing or was itself added up: a row the
    feed sent for the whole account is the truth. People use several modules in a day, so the
    day's active users are the busiest product's (a floor on the distinct people); key events and
    minutes add up. Licences stay 0: the usage level then counts the entitlements' seats. Set-based:
    one read of the product rows, one of the account rows, one upsert.
    """
    account_ids = {row["account_id"] for row in product_rows}
    days = [row["day"] for row in product_rows]
    touched = {(row["account_id"], row["day"]) for row in product_rows}
    sent = set(
        UsageDaily.objects.filter(
            account_id__in=account_ids, day__range=(min(days), max(days)), from_products=False
        ).values_list("account_id", "day")
    )
    wanted = touched - sent
    if not wanted:
        return
    totals = (
        ProductUsageDaily.objects.filter(account_id__in={a for a, _ in wanted}, day__range=(min(days), max(days)))
        .values("account_id", "day")
        .annotate(users=Max("active_users"), events=Sum("key_events"), minutes=Sum("minutes"))
        .values_list("account_id", "day", "users", "events", "minutes")
    )
    UsageDaily.objects.bulk_create(
        [
            UsageDaily(
                account_id=account_id,
                day=day,
                active_users=users,
                key_events=events or 0,
                minutes=minutes,
                from_products=True,
            )
            for account_id, day, users, events, minutes in totals
            if (account_id, day) in wanted
        ],
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=["account", "day"],
        update_fields=["active_users", "key_events", "minutes", "from_products"],
    )


def usage_ingest(*, rows: Sequence[Any], actor: User | None = None, dry_run: bool = False) -> IngestResult:
    return signals_ingest(kind=SignalKind.USAGE, rows=rows, actor=actor, dry_run=dry_run)


def tickets_ingest(*, rows: Sequence[Any], actor: User | None = None, dry_run: bool = False) -> IngestResult:
    return signals_ingest(kind=SignalKind.TICKETS, rows=rows, actor=actor, dry_run=dry_run)


def surveys_ingest(*, rows: Sequence[Any], actor: User | None = None, dry_run: bool = False) -> IngestResult:
    return signals_ingest(kind=SignalKind.SURVEYS, rows=rows, actor=actor, dry_run=dry_run)


def invoices_ingest(*, rows: Sequence[Any], actor: User | None = None, dry_run: bool = False) -> IngestResult:
    return signals_ingest(kind=SignalKind.INVOICES, rows=rows, actor=actor, dry_run=dry_run)


def queue_account_recompute(account_ids: Iterable[int]) -> None:
    """Ask the health engine to recompute exactly these accounts, as part of the caller's transaction.

    The engine records the request in the same transaction (so a crash after
    commit loses nothing) and starts its debounced task on commit. It is
    imported here, when called, because it pulls in the whole scoring engine,
    which the pages importing this module do not otherwise need.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return
    from lifecycle.health.recompute import enqueue_account_recompute

    enqueue_account_recompute(ids)
