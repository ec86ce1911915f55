"""Planning and writing an import of contacts.

Key: the account (its external id, else its domain, as the accounts import keys it) and the
contact's email within it. `reports_to` names the manager by email, a contact of the same
account already in Baton or anywhere in the file; it is resolved once every row is known
(so a manager may come after their report), and a chain that would go round in a circle is
refused. A blank cell leaves the contact's value as it is.

An archived contact (taken off the people map on purpose) is neither updated nor brought back by
an import: a row with their email, or naming them as a manager, is a row error that says who they
are, when and why they were archived, and that restoring them on the account lets the row in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.events import AccountsChanged
from accounts.models import Account, AuditAction, AuditEvent, Contact
from accounts.services import audit_event
from core import events
from users.models import User
from users.permissions import editable_accounts_q

from . import columns as c
from .engine import Chunk, Problem, Record, Tally

TEXT_LIMITS = {"first_name": 100, "last_name": 100, "title": 150, "phone": 40, "chat_handle": 100}
STORED = (
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "chat_handle",
    "deal_role",
    "influence",
    "sentiment",
    "departed",
)


@dataclass
class ContactPlan:
    record: Record
    action: str
    contact: Contact
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def _archived_message(contact: Contact, account: Account) -> str:
    when = timezone.localdate(contact.archived_at) if contact.archived_at else None
    why = f" ({contact.archive_reason.strip()})" if contact.archive_reason.strip() else ""
    return (
        f"{contact.email} is {contact.full_name}, archived from {account.name}'s people map on {when:%Y-%m-%d}{why}. "
        "Restore them on the account to import this row, or leave the row out."
    )


class ContactsPlanner:
    def __init__(
        self, *, actor: User, mapped: Iterable[str], date_format: str, reason: str, lock: bool = False
    ) -> None:
        self.actor = actor
        self.mapped = frozenset(mapped)
        self.reason = reason
        self.lock = lock
        self.editable = editable_accounts_q(actor)
        self.seen: dict[tuple[int, str], int] = {}
        # (line, account id, email, manager's email) of every row naming a manager: resolved when all rows are known.
        self.reports: list[tuple[int, int, str, str]] = []
        self.changed_accounts: set[int] = set()
        self.written = 0

    def _accounts(self, keys: set[str]) -> tuple[dict[str, Account], dict[str, list[Account]]]:
        if not keys:
            return {}, {}
        found = Account.objects.annotate(domain_key=Lower("domain")).filter(
            Q(external_id__in=keys) | Q(domain_key__in={key.casefold() for key in keys})
        )
        editable = set(found.filter(self.editable).values_list("pk", flat=True)) if self.editable else None
        by_external: dict[str, Account] = {}
        by_domain: dict[str, list[Account]] = defaultdict(list)
        for account in found.only("pk", "name", "domain", "external_id").order_by("pk"):
            account.may_edit = editable is None or account.pk in editable  # type: ignore[attr-defined]
            if account.external_id:
                by_external[account.external_id] = account
            by_domain[account.domain_key].append(account)
        return by_external, by_domain

    def _account(self, record, by_external, by_domain, tally) -> Account | None:
        key = record.values.get("account", "")
        account = by_external.get(key)
        if account is None:
            try:
                matches = by_domain.get(c.parse_domain(key), [])
            except c.BadValue:
                matches = []
            if len(matches) > 1:
                tally.problem(
                    Problem(
                        record.line, "account", f"Several accounts have the domain {key}: name it by its external id."
                    )
                )
                return None
            account = matches[0] if matches else None
        if account is None:
            tally.problem(Problem(record.line, "account", f"No account has the external id or domain “{key}”."))
            return None
        if not account.may_edit:
            tally.problem(Problem(record.line, "account", f"You cannot change {account.name}'s contacts."))
            return None
        return account

    def _values(self, record: Record, tally: Tally) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        problems = []
        for name, raw in record.values.items():
            if not raw or name == "account":
                continue
            try:
                if name in TEXT_LIMITS:
                    if len(raw) > TEXT_LIMITS[name]:
                        raise c.BadValue(f"At most {TEXT_LIMITS[name]} characters.")
                    values[name] = raw
                elif name in ("email", "reports_to"):
                    if "@" not in raw or " " in raw or len(raw) > 254:
                        raise c.BadValue(f"“{raw}” is not an email address.")
                    values[name] = raw.casefold()
                elif name == "deal_role":
                    values[name] = c.parse_choice(raw, c.DEAL_ROLES, "deal role")
                elif name == "influence":
                    values[name] = c.parse_choice(raw, c.INFLUENCES, "level of influence")
                elif name == "sentiment":
                    values[name] = c.parse_choice(raw, c.SENTIMENTS, "sentiment")
                elif name == "departed":
                    values[name] = c.parse_bool(raw)
            except c.BadValue as error:
                problems.append(Problem(record.line, name, str(error)))
        if not record.values.get("account"):
            problems.append(Problem(record.line, "account", "Every row needs its account."))
        if not values.get("email") and not problems:
            problems.append(Problem(record.line, "email", "Every row needs an email: it is the contact's key."))
        if values.get("reports_to") and values.get("reports_to") == values.get("email"):
            problems.append(Problem(record.line, "reports_to", "A contact cannot report to themselves."))
        for problem in problems:
            tally.problem(problem)
        return None if problems else values

    def read(self, chunk: Chunk) -> list[Record]:
        """The chunk's rows one by one (no database: engine.read_ahead runs this in a thread of its own)."""
        return chunk.records()

    def plan(self, chunk: Chunk, records: list[Record], tally: Tally) -> list[ContactPlan]:
        rows = [(record, values) for record in records if (values := self._values(record, tally)) is not None]
        by_external, by_domain = self._accounts({record.values["account"] for record, _ in rows})
        keyed = []
        for record, values in rows:
            account = self._account(record, by_external, by_domain, tally)
            if account is None:
                continue
            first = self.seen.setdefault((account.pk, values["email"]), record.line)
            if first != record.line:
                tally.problem(Problem(record.line, "email", f"Also on line {first}: one row per contact."))
                continue
            keyed.append((record, values, account))
        existing_qs = Contact.objects.annotate(
            email_key=Lower("email"), manager_email=Lower("reports_to__email")
        ).filter(
            account_id__in={account.pk for _, _, account in keyed},
            email_key__in={values["email"] for _, values, _ in keyed},
        )
        if self.lock:
            existing_qs = existing_qs.select_for_update(of=("self",))
        existing = {(contact.account_id, contact.email_key): contact for contact in existing_qs.order_by("pk")}
        plans = []
        for record, values, account in keyed:
            contact = existing.get((account.pk, values["email"]))
            stored = {name: value for name, value in values.items() if name in STORED}
            if contact is None:
                if not stored.get("first_name"):
                    tally.problem(Problem(record.line, "first_name", "A new contact needs a first name."))
                    continue
                new = Contact(account_id=account.pk, **stored)
                if stored.get("departed"):
                    new.departed_at = timezone.localdate()
                plan = ContactPlan(record, "create", new, {name: (None, v) for name, v in stored.items()})
            elif contact.archived_at is not None:
                # Archived on purpose (left the map, a duplicate): an import does not bring them back unasked,
                # nor change them out of sight. The row waits for a person to restore them (or is left out).
                tally.problem(Problem(record.line, "email", _archived_message(contact, account)))
                continue
            else:
                if "email" in stored and contact.email.casefold() == stored["email"]:
                    stored.pop("email")
                changes = {n: (getattr(contact, n), v) for n, v in stored.items() if getattr(contact, n) != v}
                manager = values.get("reports_to")
                moves = bool(manager) and manager != contact.manager_email
                plan = ContactPlan(record, "update" if changes or moves else "unchanged", contact, changes)
            if values.get("reports_to"):
                self.reports.append((record.line, account.pk, values["email"], values["reports_to"]))
            plans.append(plan)
            tally.fingerprint(
                record.line,
                plan.action,
                account.pk,
                values["email"],
                sorted((n, repr(v)) for n, (_, v) in plan.changes.items()),
                values.get("reports_to"),
            )
            if plan.action == "create":
                tally.to_create += 1
            elif plan.action == "update":
                tally.to_update += 1
            else:
                tally.unchanged += 1
        return plans

    def write(self, plans: list[ContactPlan], tally: Tally) -> None:
        now = timezone.now()
        creates = [plan for plan in plans if plan.action == "create"]
        updates = [plan for plan in plans if plan.action == "update"]
        for plan in creates:
            plan.contact.created_at = plan.contact.updated_at = now
        Contact.objects.bulk_create([plan.contact for plan in creates])
        fields = sorted({name for plan in updates for name in plan.changes})
        for plan in updates:
            if not plan.changes:
                continue  # only its manager changes: finish() writes that
            for name, (_, new) in plan.changes.items():
                setattr(plan.contact, name, new)
            if plan.changes.get("departed", (None, False))[1] and plan.contact.departed_at is None:
                plan.contact.departed_at = timezone.localdate()
            plan.contact.updated_at = now
        edited = [plan.contact for plan in updates if plan.changes]
        if edited:
            Contact.objects.bulk_update(edited, [*fields, "departed_at", "updated_at"])
        AuditEvent.objects.bulk_create(
            [
                audit_event(
                    actor=self.actor,
                    action=AuditAction.CONTACT_CREATED if plan.action == "create" else AuditAction.CONTACT_UPDATED,
                    subject=plan.contact,
                    account=Account(pk=plan.contact.account_id),
                    changes=plan.changes,
                    reason=f"{self.reason}, {plan.record.named}",
                )
                for plan in [*creates, *updates]
                if plan.changes
            ]
        )
        self.changed_accounts.update(plan.contact.account_id for plan in [*creates, *updates])
        tally.changed_fields.update(fields)

    def finish(self, tally: Tally, *, write: bool) -> None:
        """Resolve every `reports_to` now all rows are known; refuse unknown managers and circles."""
        if not self.reports:
            if write:
                self._announce()
            return
        account_ids = {account_id for _, account_id, _, _ in self.reports}
        # Each affected account's org chart as it stands, by email, then as the file would leave it.
        in_db: dict[tuple[int, str], tuple[int, int | None]] = {}
        by_id: dict[int, tuple[int, str]] = {}
        archived: set[tuple[int, str]] = set()
        for pk, account_id, email, manager_id, archived_at in (
            Contact.objects.filter(account_id__in=account_ids)
            .exclude(email="")
            .values_list("pk", "account_id", "email", "reports_to_id", "archived_at")
        ):
            in_db[(account_id, email.casefold())] = (pk, manager_id)
            by_id[pk] = (account_id, email.casefold())
            if archived_at is not None:
                archived.add((account_id, email.casefold()))
        chart: dict[tuple[int, str], tuple[int, str] | None] = {
            key: by_id.get(manager_id) if manager_id else None for key, (_, manager_id) in in_db.items()
        }
        for key in self.seen:
            chart.setdefault(key, None)
        good: list[tuple[int, int, str, str]] = []
        for line, account_id, email, manager in self.reports:
            if (account_id, manager) not in chart:
                tally.problem(Problem(line, "reports_to", f"No contact of this account has the email {manager}."))
                continue
            if (account_id, manager) in archived:
                tally.problem(
                    Problem(
                        line, "reports_to", f"{manager} is an archived contact: restore them first to report to them."
                    )
                )
                continue
            chart[(account_id, email)] = (account_id, manager)
            good.append((line, account_id, email, manager))
        for line, account_id, email, _ in good:
            node, steps = chart.get((account_id, email)), 0
            while node is not None and steps <= len(chart):
                if node == (account_id, email):
                    tally.problem(Problem(line, "reports_to", "That would make the org chart go round in a circle."))
                    break
                node, steps = chart.get(node), steps + 1
        if not write or not tally.ok:
            return
        ids = {
            (account_id, email.casefold()): pk
            for pk, account_id, email in Contact.objects.filter(account_id__in=account_ids)
            .exclude(email="")
            .values_list("pk", "account_id", "email")
        }
        contacts = Contact.objects.in_bulk([ids[(a, e)] for _, a, e, _ in good])
        changed = []
        audits = []
        for line, account_id, email, manager in good:
            contact = contacts[ids[(account_id, email)]]
            manager_id = ids[(account_id, manager)]
            if contact.reports_to_id != manager_id:
                audits.append(
                    audit_event(
                        actor=self.actor,
                        action=AuditAction.CONTACT_UPDATED,
                        subject=contact,
                        account=Account(pk=account_id),
                        changes={"reports_to": (contact.reports_to_id, manager_id)},
                        reason=f"{self.reason}, line {line}",
                    )
                )
                contact.reports_to_id = manager_id
                changed.append(contact)
                self.changed_accounts.add(account_id)
        Contact.objects.bulk_update(changed, ["reports_to"], batch_size=2000)
        AuditEvent.objects.bulk_create(audits, batch_size=2000)
        self._announce()

    def _announce(self) -> None:
        if self.changed_accounts:
            # The accounts' stakeholders changed: health reads who the champion is and who left.
            events.announce(
                AccountsChanged(account_ids=tuple(sorted(self.changed_accounts)), fields=frozenset({"contacts"}))
            )
