"""Writes to the product catalogue and to accounts' entitlements: one at a time, or many with a bulk upsert.

Each write runs in a transaction and records its own audit. A write to entitlements announces
AccountChanged (fields {"entitlements"}) for every account whose entitlements changed, so what
reads them (adoption breadth, in health) can recompute those accounts.

Rules every way in keeps (the pages, the API, the bulk upsert):
- a product's key is trimmed and lower-case (usage rows name products by it, in any case) and unique;
- an entitlement has a product and a start, ends on or after it, and counts seats from 1 (blank where
  the product is not sold by seat);
- an account holds a product once at a time: two entitlements of the same account and product
  never overlap (the database keeps only their starts apart, entitlement_unique_start).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, ProtectedError, Q, Value, When
from django.db.models.functions import Lower
from django.utils.dateparse import parse_date

from accounts.events import AccountChanged
from accounts.models import Account, AuditAction, AuditEvent, Entitlement, Product
from accounts.services import audit_event, audit_record
from core import events
from core.batches import RowError
from users.models import User
from users.permissions import editable_accounts_q

from .selectors import product_in_use

# Each write's `changes` say how (a creation's old values and a deletion's new ones are null).
PRODUCT_CREATED, PRODUCT_UPDATED, PRODUCT_DELETED = (
    AuditAction.PRODUCT_CREATED,
    AuditAction.PRODUCT_UPDATED,
    AuditAction.PRODUCT_DELETED,
)
ENTITLEMENT_CREATED, ENTITLEMENT_UPDATED, ENTITLEMENT_DELETED = (
    AuditAction.ENTITLEMENT_CREATED,
    AuditAction.ENTITLEMENT_UPDATED,
    AuditAction.ENTITLEMENT_DELETED,
)

PRODUCT_FIELDS = ("key", "name", "description")
ENTITLEMENT_FIELDS = ("product", "seats", "starts_on", "ends_on")
KEY_MAX_LENGTH = 100
NAME_MAX_LENGTH = 150
# The largest value a PositiveIntegerField holds on every supported database.
MAX_SEATS = 2_147_483_647
MAX_ROWS = 10_000
WRITE_BATCH = 1000
FORBIDDEN_MESSAGE = "You cannot change this account's entitlements."


class ProductInUse(ValidationError):
    """A product that entitlements or usage rows refer to cannot be deleted (answered 409)."""


def _day(day: dt.date | None) -> str:
    return "further notice" if day is None else f"{day.day} {day:%b %Y}"


def _changes(instance: Any, fields: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, tuple[Any, Any]]:
    """Set `fields` on `instance`; what changed, as (old, new)."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    changes = {}
    for name, new in fields.items():
        old = getattr(instance, name)
        if old != new:
            changes[name] = (old, new)
            setattr(instance, name, new)
    return changes


# --- The catalogue -------------------------------------------------------------------------------


def product_key_normalise(value: str) -> str:
    """As keys are stored and matched: without surrounding spaces, lower-case."""
    return value.strip().lower()


def _product_errors(product: Product) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    key, name = product.key, product.name
    if not key:
        errors["key"] = ["Give the product a key, as usage rows name it (e.g. reports)."]
    elif len(key) > KEY_MAX_LENGTH:
        errors["key"] = [f"At most {KEY_MAX_LENGTH} characters (got {len(key)})."]
    elif not key.isprintable():
        errors["key"] = ["Use letters, digits and punctuation only: no tabs or line breaks."]
    else:
        taken_by = Product.objects.filter(key=key).exclude(pk=product.pk).values_list("name", flat=True).first()
        if taken_by is not None:
            errors["key"] = [f"The key “{key}” is taken by {taken_by}: keys are unique, whatever their case."]
    if not name:
        errors["name"] = ["Give the product a name."]
    elif len(name) > NAME_MAX_LENGTH:
        errors["name"] = [f"At most {NAME_MAX_LENGTH} characters (got {len(name)})."]
    return errors


def _product_save(product: Product, **kwargs: Any) -> None:
    errors = _product_errors(product)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            product.save(**kwargs)
    except IntegrityError as error:
        # Someone saved the same key a moment ago (the check above passed for both).
        raise ValidationError({"key": f"The key “{product.key}” was taken a moment ago: choose another."}) from error


@transaction.atomic
def product_create(*, actor: User | None, key: str, name: str, description: str = "") -> Product:
    product = Product(key=product_key_normalise(key), name=name.strip(), description=description.strip())
    _product_save(product)
    audit_record(
        actor=actor,
        action=PRODUCT_CREATED,
        subject=product,
        changes={attribute: (None, getattr(product, attribute)) for attribute in PRODUCT_FIELDS},
    )
    return product


@transaction.atomic
def product_update(*, actor: User | None, product: Product, fields: Mapping[str, Any]) -> Product:
    """Rename a product, change its key (usage rows must then send the new one) or its description."""
    cleaned = dict(fields)
    if "key" in cleaned:
        cleaned["key"] = product_key_normalise(cleaned["key"] or "")
    for name in ("name", "description"):
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip()
    changes = _changes(product, cleaned, PRODUCT_FIELDS)
    if changes:
        try:
            _product_save(product, update_fields=list(changes))
        except ValidationError:
            for name, (old, _) in changes.items():
                setattr(product, name, old)
            raise
        audit_record(actor=actor, action=PRODUCT_UPDATED, subject=product, changes=changes)
    return product


@transaction.atomic
def product_delete(*, actor: User | None, product: Product) -> None:
    """Delete a product nothing refers to; one in use raises ProductInUse, saying what holds it."""
    # Held until commit: an entitlement added meanwhile waits for the delete, then fails on the missing product.
    Product.objects.select_for_update().filter(pk=product.pk).first()
    reason = product_in_use(product)
    if reason is not None:
        raise ProductInUse(reason)
    audit = audit_event(
        actor=actor,
        action=PRODUCT_DELETED,
        subject=product,
        changes={attribute: (getattr(product, attribute), None) for attribute in PRODUCT_FIELDS},
    )
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError as error:
        raise ProductInUse(product_in_use(product) or f"{product.name} is in use and cannot be deleted.") from error
    audit.save()


# --- One entitlement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    """An entitlement's span, stored or proposed. A proposal's `pk` is the stored row it replaces, if any."""

    account_id: int
    product_id: int
    starts_on: dt.date
    ends_on: dt.date | None
    pk: int | None = None

    def reaches(self, day: dt.date) -> bool:
        return self.ends_on is None or self.ends_on >= day

    def lasts_longer_than(self, other: _Period) -> bool:
        return other.ends_on is not None and (self.ends_on is None or self.ends_on > other.ends_on)


def _overlaps(proposed: Sequence[_Period], stored: Iterable[_Period], names: Mapping[int, str]) -> dict[int, str]:
    """Which proposals (by position) would overlap another entitlement of the same account and product, and why.

    No queries: `stored` holds the entitlements already kept for the proposals' accounts and products.
    A stored row a proposal replaces does not count; overlaps among stored rows alone are not reported.
    """
    replaced = {period.pk for period in proposed if period.pk is not None}
    groups: dict[tuple[int, int], list[tuple[_Period, int | None]]] = defaultdict(list)
    for period in stored:
        if period.pk not in replaced:
            groups[(period.account_id, period.product_id)].append((period, None))
    for position, proposal in enumerate(proposed):
        groups[(proposal.account_id, proposal.product_id)].append((proposal, position))
    problems: dict[int, str] = {}
    for periods in groups.values():
        if len(periods) < 2:
            continue
        periods.sort(key=lambda item: (item[0].starts_on, -1 if item[1] is None else item[1]))
        furthest: tuple[_Period, int | None] | None = None  # of the periods so far, the one that lasts longest
        for period, index in periods:
            if furthest is not None and furthest[0].reaches(period.starts_on):
                other, other_index = furthest
                culprit, held = (index, other) if index is not None else (other_index, period)
                if culprit is not None and culprit not in problems:
                    problems[culprit] = _overlap_message(held, names.get(held.product_id, "this product"))
            if furthest is None or period.lasts_longer_than(furthest[0]):
                furthest = (period, index)
    return problems


def _overlap_message(held: _Period, product: str) -> str:
    span = f"{product} from {_day(held.starts_on)} until {_day(held.ends_on)}"
    return (
        f"Overlaps {span}: an account holds a product once at a time. "
        "End that entitlement before this one starts, or change the dates."
    )


def entitlement_errors(entitlement: Entitlement) -> dict[str, list[str]]:
    """What is wrong with one entitlement on its own, by field; empty when it may be written. No queries."""
    errors: dict[str, list[str]] = {}
    if entitlement.product_id is None:
        errors["product"] = ["Choose a product."]
    seats = entitlement.seats
    if seats is not None and not 1 <= seats <= MAX_SEATS:
        errors["seats"] = ["At least 1 seat; leave it blank where the product is not sold by seat."]
    if entitlement.starts_on is None:
        errors["starts_on"] = ["Say from when the account holds the product."]
    elif entitlement.ends_on is not None and entitlement.ends_on < entitlement.starts_on:
        errors["ends_on"] = [f"It cannot end before it starts ({_day(entitlement.starts_on)})."]
    return errors


def _lock_accounts(account_ids: Iterable[int]) -> None:
    """Hold the accounts (in pk order) until commit, so two writes to one account's entitlements cannot both pass
    the overlap check."""
    list(Account.objects.select_for_update().filter(pk__in=set(account_ids)).order_by("pk").values_list("pk"))


def _check(entitlement: Entitlement) -> None:
    """Raise ValidationError unless `entitlement` may be written: its own rules, then the account's others."""
    errors = entitlement_errors(entitlement)
    if errors:
        raise ValidationError(errors)
    stored = Entitlement.objects.filter(account_id=entitlement.account_id, product_id=entitlement.product_id).exclude(
        pk=entitlement.pk
    )
    proposal = _Period(entitlement.account_id, entitlement.product_id, entitlement.starts_on, entitlement.ends_on)
    periods = [_Period(*row) for row in stored.values_list("account_id", "product_id", "starts_on", "ends_on", "pk")]
    same_start = next((period for period in periods if period.starts_on == entitlement.starts_on), None)
    if same_start is not None:
        raise ValidationError(
            {
                "starts_on": f"This account holds {entitlement.product.name} from {_day(same_start.starts_on)}"
                " already: change that entitlement instead."
            }
        )
    problems = _overlaps([proposal], periods, {entitlement.product_id: entitlement.product.name})
    if problems:
        raise ValidationError({"starts_on": problems[0]})


def _values(entitlement: Entitlement) -> dict[str, Any]:
    return {name: getattr(entitlement, name) for name in ENTITLEMENT_FIELDS}


def _announce(account_ids: Iterable[int]) -> None:
    for account_id in sorted(set(account_ids)):
        events.announce(AccountChanged(account_id=account_id, fields=frozenset({"entitlements"})))


@transaction.atomic
def entitlement_create(
    *,
    actor: User | None,
    account: Account,
    product: Product,
    seats: int | None = None,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
) -> Entitlement:
    """Record that `account` holds `product` from `starts_on` (until `ends_on`, or until further notice)."""
    entitlement = Entitlement(account=account, product=product, seats=seats, starts_on=starts_on, ends_on=ends_on)
    _lock_accounts([account.pk])
    _check(entitlement)
    entitlement.save()
    audit_record(
        actor=actor,
        action=ENTITLEMENT_CREATED,
        subject=entitlement,
        account=account,
        changes={name: (None, value) for name, value in _values(entitlement).items()},
    )
    _announce([account.pk])
    return entitlement


@transaction.atomic
def entitlement_update(*, actor: User | None, entitlement: Entitlement, fields: Mapping[str, Any]) -> Entitlement:
    """Change an entitlement's product, seats or dates; the account stays (delete and add to move one)."""
    _lock_accounts([entitlement.account_id])
    changes = _changes(entitlement, fields, ENTITLEMENT_FIELDS)
    if not changes:
        return entitlement
    try:
        _check(entitlement)
    except ValidationError:
        for name, (old, _) in changes.items():  # the caller's instance as it was, to show it again
            setattr(entitlement, name, old)
        raise
    entitlement.save(update_fields=list(changes))
    audit_record(
        actor=actor, action=ENTITLEMENT_UPDATED, subject=entitlement, account=entitlement.account, changes=changes
    )
    _announce([entitlement.account_id])
    return entitlement


def entitlement_end(*, actor: User | None, entitlement: Entitlement, ends_on: dt.date | None) -> Entitlement:
    """The customer stops holding the product: it is in force up to and including `ends_on`."""
    if ends_on is None:
        raise ValidationError({"ends_on": "Say on which day it ends."})
    return entitlement_update(actor=actor, entitlement=entitlement, fields={"ends_on": ends_on})


@transaction.atomic
def entitlement_delete(*, actor: User | None, entitlement: Entitlement) -> None:
    """Remove an entitlement recorded by mistake (one the customer held and gave up is ended instead)."""
    _lock_accounts([entitlement.account_id])
    audit = audit_event(
        actor=actor,
        action=ENTITLEMENT_DELETED,
        subject=entitlement,
        account=entitlement.account,
        changes={name: (value, None) for name, value in _values(entitlement).items()},
    )
    account_id = entitlement.account_id
    entitlement.delete()
    audit.save()
    _announce([account_id])


# --- Many entitlements at once ---------------------------------------------------------------------


@dataclass
class UpsertResult:
    dry_run: bool = False
    accepted: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    account_ids: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def forbidden(self) -> bool:
        """Some row names an account the actor may not change."""
        return any(error.message == FORBIDDEN_MESSAGE for error in self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "accepted": self.accepted,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "accounts": len(self.account_ids),
        }


class _RowReader:
    """One incoming row, read without raising: every problem becomes a RowError."""

    def __init__(self, index: int, row: Mapping[str, Any], errors: list[RowError]) -> None:
        self.index, self.row, self.errors = index, row, errors

    def error(self, name: str, message: str) -> None:
        self.errors.append(RowError(self.index, name, message))

    def raw(self, name: str) -> Any:
        value = self.row.get(name)
        if isinstance(value, str):
            return value.strip() or None
        return value

    def account(self) -> tuple[str, Any] | None:
        """("id", 12) or ("domain", "acme.example")."""
        value = self.raw("account")
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
            return ("id", value)
        if isinstance(value, str):
            return ("id", int(value)) if value.isdigit() and len(value) < 19 else ("domain", value.lower())
        self.error("account", "Name the account by its id or its domain.")
        return None

    def product(self) -> str | None:
        value = self.raw("product")
        if not isinstance(value, str):
            self.error("product", "Name the product by its key (e.g. reports).")
            return None
        return product_key_normalise(value)

    def seats(self) -> int | None:
        value = self.raw("seats")
        if value is None:
            return None
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            self.error("seats", f"A whole number of seats, or blank (got {value!r}).")
            return None
        if not 1 <= value <= MAX_SEATS:
            self.error("seats", f"At least 1 seat; leave it blank where the product is not sold by seat (got {value}).")
            return None
        return value

    def date(self, name: str, *, required: bool) -> dt.date | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.error(name, "This field is required.")
            return None
        try:
            day = parse_date(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None:
            self.error(name, f"Use a date like 2025-03-31 (got {value!r}).")
        return day


@dataclass(frozen=True)
class _AccountRef:
    pk: int
    writable: bool


def _resolve_accounts(
    actor: User | None, keys: Iterable[tuple[str, Any]], *, lock: bool
) -> tuple[dict[int, _AccountRef], dict[str, _AccountRef | None]]:
    """Every account the rows name, in one query (locked until commit when `lock`); a shared domain maps to None."""
    keys = set(keys)
    ids = {value for kind, value in keys if kind == "id"}
    domains = {value for kind, value in keys if kind == "domain"}
    if not keys:
        return {}, {}
    editable = Q() if actor is None else editable_accounts_q(actor)
    # An empty filter (Baton itself, an admin) selects every account; When() cannot take one.
    writable = Case(When(editable, then=Value(True)), default=Value(False)) if editable else Value(True)
    accounts = Account.objects.all()
    if lock:
        # OF self: a manager's `editable` joins the owner (to read their team), and PostgreSQL cannot lock the
        # nullable side of that outer join (it was a 500 for managers, found by tests/test_permission_matrix.py).
        accounts = accounts.select_for_update(of=("self",))
    rows = (
        accounts.annotate(domain_key=Lower("domain"), writable=writable)
        .filter(Q(pk__in=ids) | Q(domain_key__in=domains))
        .order_by("pk")
        .values_list("pk", "domain_key", "writable")
    )
    by_id: dict[int, _AccountRef] = {}
    by_domain: dict[str, _AccountRef | None] = {}
    for pk, domain, can_write in rows:
        ref = _AccountRef(pk=pk, writable=bool(can_write))
        by_id[pk] = ref
        if domain in domains:
            by_domain[domain] = None if domain in by_domain else ref
    return by_id, by_domain


def _read_rows(rows: Sequence[Any], errors: list[RowError]) -> list[dict[str, Any] | None]:
    """Each row's values, typed (None for a row that is not an object); no queries."""
    parsed: list[dict[str, Any] | None] = []
    for index, raw in enumerate(rows):
        if not isinstance(raw, Mapping):
            errors.append(RowError(index, "row", "Each row must be an object with named fields."))
            parsed.append(None)
            continue
        row = _RowReader(index, raw, errors)
        for unknown in sorted(set(map(str, raw)) - {"account", *ENTITLEMENT_FIELDS}):
            row.error(unknown, f"Unknown field; expected account, {', '.join(ENTITLEMENT_FIELDS)}.")
        values: dict[str, Any] = {
            "account": row.account(),
            "product": row.product(),
            "seats": row.seats(),
            "starts_on": row.date("starts_on", required=True),
            "ends_on": row.date("ends_on", required=False),
        }
        if values["starts_on"] and values["ends_on"] and values["ends_on"] < values["starts_on"]:
            row.error("ends_on", f"It cannot end before it starts ({values['starts_on'].isoformat()}).")
        parsed.append(values)
    return parsed


def _match(
    parsed: list[dict[str, Any] | None],
    errors: list[RowError],
    accounts: tuple[dict[int, _AccountRef], dict[str, _AccountRef | None]],
    products: Mapping[str, int],
) -> list[tuple[int, dict[str, Any]]]:
    """Rows whose account and product exist and may be written, with their ids; the others' errors recorded."""
    by_id, by_domain = accounts
    matched = []
    seen: dict[tuple[int, int, dt.date], int] = {}
    for index, values in enumerate(parsed):
        if values is None:
            continue
        account_id = None
        if values["account"] is not None:
            kind, value = values["account"]
            ref = by_id.get(value) if kind == "id" else by_domain.get(value)
            if kind == "domain" and value in by_domain and ref is None:
                errors.append(RowError(index, "account", f"Several accounts use the domain {value!r}: send the id."))
            elif ref is None:
                errors.append(RowError(index, "account", f"No account has {kind} {value!r}."))
            elif not ref.writable:
                errors.append(RowError(index, "account", FORBIDDEN_MESSAGE))
            else:
                account_id = ref.pk
        product_id = products.get(values["product"]) if values["product"] else None
        if values["product"] and product_id is None:
            errors.append(
                RowError(
                    index, "product", f"No product has the key {values['product']!r}: add it to the catalogue first."
                )
            )
        if account_id is None or product_id is None or values["starts_on"] is None:
            continue
        key = (account_id, product_id, values["starts_on"])
        if key in seen:
            errors.append(RowError(index, "starts_on", f"Row {seen[key]} has the same account, product and start."))
            continue
        seen[key] = index
        matched.append((index, {**values, "account_id": account_id, "product_id": product_id}))
    return matched


@transaction.atomic
def entitlements_upsert(*, actor: User | None, rows: Sequence[Any], dry_run: bool = False) -> UpsertResult:
    """Check a whole batch of entitlements, then write it; any invalid row means nothing is written.

    Rows are {account: id or domain, product: key, seats, starts_on, ends_on}. A row whose account,
    product and start match a stored entitlement updates its seats and end; the others are added.
    Set-based: three reads (the accounts, locked while writing; the products; the stored
    entitlements of those accounts and products), then the upsert and the audit records in
    batches of WRITE_BATCH. With `dry_run` the result says what would change and nothing is written.
    `actor` None is Baton itself, which may change every account.
    """
    result = UpsertResult(dry_run=dry_run)
    if len(rows) > MAX_ROWS:
        result.errors = [RowError(-1, "rows", f"At most {MAX_ROWS:,} rows per batch (got {len(rows):,}).")]
        return result
    errors: list[RowError] = []
    parsed = _read_rows(rows, errors)
    accounts = _resolve_accounts(actor, (v["account"] for v in parsed if v and v["account"]), lock=not dry_run)
    keys = {values["product"] for values in parsed if values and values["product"]}
    products = {
        key: (pk, name) for key, pk, name in Product.objects.filter(key__in=keys).values_list("key", "pk", "name")
    }
    matched = _match(parsed, errors, accounts, {key: pk for key, (pk, _) in products.items()})
    stored: dict[tuple[int, int, dt.date], tuple[int, int | None, dt.date | None]] = {}
    if matched:
        existing = Entitlement.objects.filter(
            account_id__in={values["account_id"] for _, values in matched},
            product_id__in={values["product_id"] for _, values in matched},
        ).values_list("pk", "account_id", "product_id", "starts_on", "seats", "ends_on")
        for pk, account_id, product_id, starts_on, seats, ends_on in existing:
            stored[(account_id, product_id, starts_on)] = (pk, seats, ends_on)
    proposed = [
        _Period(
            values["account_id"],
            values["product_id"],
            values["starts_on"],
            values["ends_on"],
            stored.get((values["account_id"], values["product_id"], values["starts_on"]), (None,))[0],
        )
        for _, values in matched
    ]
    kept = [
        _Period(account, product, start, ends_on, pk) for (account, product, start), (pk, _, ends_on) in stored.items()
    ]
    names = {pk: name for pk, name in products.values()}
    for position, message in _overlaps(proposed, kept, names).items():
        errors.append(RowError(matched[position][0], "starts_on", message))
    if errors:
        result.errors = sorted(errors, key=lambda error: error.index)
        return result

    result.accepted = len(rows)
    to_write: list[tuple[dict[str, Any], tuple[Any, ...] | None]] = []
    for _, values in matched:
        before = stored.get((values["account_id"], values["product_id"], values["starts_on"]))
        if before is None:
            result.created += 1
        elif before[1:] == (values["seats"], values["ends_on"]):
            result.unchanged += 1
            continue
        else:
            result.updated += 1
        to_write.append((values, before))
    result.account_ids = sorted({values["account_id"] for values, _ in to_write})
    if dry_run or not to_write:
        return result
    written = Entitlement.objects.bulk_create(
        [
            Entitlement(
                account_id=values["account_id"],
                product_id=values["product_id"],
                seats=values["seats"],
                starts_on=values["starts_on"],
                ends_on=values["ends_on"],
            )
            for values, _ in to_write
        ],
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=["account", "product", "starts_on"],
        update_fields=["seats", "ends_on"],
    )
    AuditEvent.objects.bulk_create(
        [_bulk_audit(actor, entitlement, before) for entitlement, (_, before) in zip(written, to_write, strict=True)],
        batch_size=WRITE_BATCH,
    )
    _announce(result.account_ids)
    return result


def _bulk_audit(actor: User | None, entitlement: Entitlement, before: tuple[Any, ...] | None) -> AuditEvent:
    """The audit record of one upserted row, from ids alone (no query per row)."""
    now = {"seats": entitlement.seats, "ends_on": entitlement.ends_on}
    if before is None:
        changes = {
            "product": (None, entitlement.product_id),
            "starts_on": (None, entitlement.starts_on),
            **{name: (None, value) for name, value in now.items()},
        }
    else:
        _, seats, ends_on = before
        changes = {name: (old, now[name]) for name, old in (("seats", seats), ("ends_on", ends_on)) if old != now[name]}
    action = ENTITLEMENT_CREATED if before is None else ENTITLEMENT_UPDATED
    event = audit_event(actor=actor, action=action, subject=entitlement, changes=changes)
    event.account_id = entitlement.account_id
    return event
