"""Planning and writing an import of accounts, a chunk at a time.

Key: the external id when the mapping has one (an account with none yet is found by its
domain, and gets the id), else the domain (lower-case, no scheme, no www.). A blank cell leaves
the account's value as it is; a new account needs a name and an owner (or a pool), and takes
Unknown for a blank industry or region.

The stage: a new account starts in the file's stage, entered on the file's date (as
account_create does for an imported customer): no stage change is recorded and no playbook
starts, since the customer did not move today. An existing account in another stage (or with
another start) is a row error: stage changes go through lifecycle's stage change, which keeps
their history and starts their playbooks.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Case, F, Q, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.events import AccountsChanged
from accounts.models import (
    TERMS_FIELDS,
    Account,
    AuditAction,
    AuditEvent,
    Coverage,
    Industry,
    Region,
    Stage,
    Tag,
    TierSource,
)
from accounts.money.refresh import converted_arr_refresh
from accounts.segments.rules import NO_RATE, RULE_INPUT_FIELDS, rule_tier_expression, ruled, tier_rules, with_rule_tier
from accounts.services import audit_event
from core import events
from users.models import Team, User
from users.permissions import editable_accounts_q

from . import columns as c
from . import sql
from .engine import Problem, Record, Tally

CURRENCY_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# The fields a row may set, as stored on Account (owner and pool as ids).
STORED = (
    "external_id",
    "name",
    "domain",
    "industry",
    "region",
    "employee_band",
    "arr",
    "currency",
    "contract_start",
    "renewal_date",
    "tier",
    "fiscal_year_start_month",
    "why_they_bought",
    "tech_stack_notes",
    "owner_id",
    "pool_id",
    "coverage",
    "stage",
    "stage_entered_at",
    "tier_source",
)
MAX_LENGTHS = {"name": 200, "external_id": 100, "why_they_bought": 10_000, "tech_stack_notes": 10_000}
CLOCK_SKEW = dt.timedelta(minutes=5)
# Values that repeat down a file (an industry, an owner, a date) are read once: at most MEMO_LIMIT of each field kept.
MEMO_FIELDS = (
    "industry",
    "region",
    "employee_band",
    "tier",
    "stage",
    "owner",
    "pool",
    "currency",
    "tags",
    "fiscal_year_start_month",
    "contract_start",
    "renewal_date",
    "stage_entered_at",
)
MEMO_LIMIT = 20_000
_MISSING = object()


def _named(external_ids: list[str], domains: list[str]) -> list[int]:
    """The ids of the accounts with one of these external ids or (lower-cased) domains, in one query.

    On PostgreSQL each index is joined with its values passed as one array: Django would prepare each of
    thousands of values on its own, and an OR of two IN lists (or a join back to the table) leads the planner
    to scan the whole table, whose statistics lag behind the rows the import itself writes.
    """
    if connection.vendor != "postgresql":
        named = Account.objects.annotate(domain_key=Lower("domain")).filter(
            Q(external_id__in=external_ids, external_id__gt="") | Q(domain_key__in=domains)
        )
        return list(named.values_list("pk", flat=True))
    table = Account._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id FROM {table} a JOIN unnest(%s::text[]) AS k(v) ON a.external_id = k.v AND a.external_id <> '' "
            f"UNION SELECT a.id FROM {table} a JOIN unnest(%s::text[]) AS k(v) ON lower(a.domain) = k.v",
            [external_ids, domains],
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass
class AccountPlan:
    record: Record
    action: str  # "create", "update" or "unchanged"
    account: Account | None  # a new account is built only when written: the dry run keeps its values alone
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    tags: tuple[str, ...] | None = None  # the account's tags after the import, when they change
    old_tags: tuple[str, ...] = ()

    @property
    def saved(self) -> Account:
        """The account, once written (or found)."""
        assert self.account is not None
        return self.account


class People:
    """Owners by email or username, and teams by name: read once per import (the staff is small)."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        for user in User.objects.only(
            "pk", "username", "email", "is_active", "is_superuser", "team_id", "role"
        ).order_by("pk"):
            self.users.setdefault(user.username.casefold(), user)
            if user.email:
                self.users.setdefault(user.email.casefold(), user)
        self.teams = {team.name.casefold(): team for team in Team.objects.only("pk", "name")}


class AccountsPlanner:
    def __init__(
        self, *, actor: User, mapped: Iterable[str], date_format: str, reason: str, lock: bool = False
    ) -> None:
        self.actor = actor
        self.mapped = frozenset(mapped)
        self.date_format = date_format
        self.reason = reason
        self.lock = lock
        self.people = People()
        self.tags = {tag.name.casefold(): tag for tag in Tag.objects.all()}
        self.by_external_id = "external_id" in self.mapped
        self.seen: dict[str, int] = {}
        self.now = timezone.now()
        self.editable = editable_accounts_q(actor)
        self.whole_book = not self.editable  # an empty Q: the actor may change every account
        self.rules = tier_rules()
        self.changed_ids: list[int] = []
        self.memo: dict[str, dict[str, Any]] = {name: {} for name in MEMO_FIELDS}
        self.tz = timezone.get_current_timezone()

    # --- reading one row ------------------------------------------------------------------------------

    def _values(self, record: Record, tally: Tally) -> dict[str, Any] | None:
        """The row's non-blank values read into Python, or None after reporting its problems."""
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        memo = self.memo
        for name, raw in record.values.items():
            if not raw:
                continue
            cache = memo.get(name)
            value = _MISSING if cache is None else cache.get(raw, _MISSING)
            if value is _MISSING:
                try:
                    value = self._read(name, raw)
                except c.BadValue as error:
                    value = error
                if cache is not None and len(cache) < MEMO_LIMIT:
                    cache[raw] = value
            if isinstance(value, c.BadValue):
                problems.append(Problem(record.line, name, str(value)))
            else:
                values[name] = value
        if "stage_entered_at" in values and values["stage_entered_at"] > self.now + CLOCK_SKEW:
            problems.append(Problem(record.line, "stage_entered_at", "An account cannot enter a stage in the future."))
        if values.get("stage") == Stage.CHURNED:
            problems.append(
                Problem(record.line, "stage", "Churned is recorded with its reason on the account, not imported.")
            )
        for problem in problems:
            tally.problem(problem)
        return None if problems else values

    def _read(self, name: str, raw: str) -> Any:
        if name in ("name", "why_they_bought", "tech_stack_notes", "external_id"):
            if len(raw) > MAX_LENGTHS[name]:
                raise c.BadValue(f"At most {MAX_LENGTHS[name]:,} characters.")
            return raw
        if name == "domain":
            return c.parse_domain(raw)
        if name == "arr":
            return c.parse_amount(raw)
        if name == "currency":
            code = raw.upper()
            if len(code) != 3 or not set(code) <= CURRENCY_LETTERS:
                raise c.BadValue(f"“{raw}” is not a currency: three letters, e.g. EUR.")
            return code
        if name in ("contract_start", "renewal_date"):
            return c.parse_date(raw, self.date_format)
        if name == "stage_entered_at":
            day = c.parse_date(raw, self.date_format)
            return dt.datetime.combine(day, dt.time(9), tzinfo=self.tz)
        if name == "industry":
            return c.parse_choice(raw, c.INDUSTRIES, "industry")
        if name == "region":
            return c.parse_choice(raw, c.REGIONS, "region")
        if name == "employee_band":
            return c.parse_choice(raw, c.EMPLOYEE_BANDS, "number of employees")
        if name == "tier":
            return c.parse_choice(raw, c.TIERS, "tier")
        if name == "stage":
            return c.parse_choice(raw, c.STAGES, "stage")
        if name == "fiscal_year_start_month":
            if not raw.isdigit() or not 1 <= int(raw) <= 12:
                raise c.BadValue(f"“{raw}” is not a month number from 1 to 12.")
            return int(raw)
        if name == "tags":
            return c.parse_tags(raw)
        if name == "owner":
            user = self.people.users.get(raw.casefold())
            if user is None:
                raise c.BadValue(f"No one in Baton has the email or username “{raw}”.")
            if not user.is_active:
                raise c.BadValue(f"{user.username} is no longer active.")
            if (
                not (self.actor.is_admin or getattr(self.actor, "is_integration", False))
                and user.team_id != self.actor.team_id
            ):
                raise c.BadValue(f"{user.username} is not on your team.")
            return user
        if name == "pool":
            team = self.people.teams.get(raw.casefold())
            if team is None:
                raise c.BadValue(f"No team is called “{raw}”.")
            if (
                not (self.actor.is_admin or getattr(self.actor, "is_integration", False))
                and team.pk != self.actor.team_id
            ):
                raise c.BadValue(f"{team.name} is not your team.")
            return team
        raise c.BadValue(f"“{name}” is not a field of an account.")

    def _key(self, record: Record, values: dict[str, Any], tally: Tally) -> str | None:
        if self.by_external_id:
            key = values.get("external_id")
            if not key:
                tally.problem(Problem(record.line, "external_id", "Every row needs its external id: it is the key."))
                return None
            key = f"id:{key}"
        else:
            domain = values.get("domain")
            if not domain:
                tally.problem(Problem(record.line, "domain", "Every row needs a domain: it is the key."))
                return None
            key = f"domain:{domain}"
        first = self.seen.setdefault(key, record.line)
        if first != record.line:
            tally.problem(
                Problem(
                    record.line,
                    "external_id" if self.by_external_id else "domain",
                    f"Also on line {first}: one row per account.",
                )
            )
            return None
        return key

    # --- a chunk ----------------------------------------------------------------------------------------

    def _existing(
        self, rows: list[tuple[Record, dict[str, Any]]]
    ) -> tuple[dict[str, Account], dict[str, list[Account]]]:
        """The accounts the chunk's rows name, by external id and by domain: their ids, then (if any) the accounts
        and their tags; three queries at most whatever the chunk holds."""
        external_ids = [values["external_id"] for _, values in rows if values.get("external_id")]
        domains = [values["domain"] for _, values in rows if values.get("domain")]
        if not external_ids and not domains:
            return {}, {}
        ids = _named(external_ids, domains)
        if not ids:
            return {}, {}
        found = Account.objects.annotate(domain_key=Lower("domain")).filter(pk__in=ids)
        if not self.whole_book:
            found = found.annotate(
                may_edit=Case(When(self.editable, then=Value(True)), default=Value(False), output_field=BooleanField())
            )
        found = found.only(*STORED).order_by("pk")
        if self.lock:
            found = found.select_for_update(of=("self",))
        by_external: dict[str, Account] = {}
        by_domain: dict[str, list[Account]] = defaultdict(list)
        accounts = list(found)
        for account in accounts:
            if account.external_id:
                by_external[account.external_id] = account
            by_domain[account.domain_key].append(account)
        tags: dict[int, list[str]] = defaultdict(list)
        through = Account.tags.through
        for account_id, name in through.objects.filter(account_id__in=[a.pk for a in accounts]).values_list(
            "account_id", "tag__name"
        ):
            tags[account_id].append(name)
        for account in accounts:
            account.imported_tags = tuple(sorted(tags.get(account.pk, ()), key=str.casefold))  # type: ignore[attr-defined]
        return by_external, by_domain

    def plan(self, records: list[Record], tally: Tally) -> list[AccountPlan]:
        rows: list[tuple[Record, dict[str, Any], str]] = []
        for record in records:
            values = self._values(record, tally)
            if values is None:
                continue
            key = self._key(record, values, tally)
            if key is None:
                continue
            rows.append((record, values, key))
        by_external, by_domain = self._existing([(record, values) for record, values, _ in rows])
        plans = []
        for record, values, _key in rows:
            found, account = self._match(record, values, by_external, by_domain, tally)
            if not found:
                continue
            plan = self._plan_row(record, values, account, tally)
            if plan is None:
                continue
            plans.append(plan)
            # What the row writes follows from its values, the account it found and what differs there.
            tally.fingerprint(
                record.line,
                plan.action,
                account.pk if account else None,
                "|".join(plan.changes),
                "\x1f".join(record.values.values()),
            )
            if plan.action == "create":
                tally.to_create += 1
            elif plan.action == "update":
                tally.to_update += 1
            else:
                tally.unchanged += 1
        return plans

    def _match(
        self,
        record: Record,
        values: dict[str, Any],
        by_external: dict[str, Account],
        by_domain: dict[str, list[Account]],
        tally: Tally,
    ) -> tuple[bool, Account | None]:
        """(True, the account the row names, or None for a new one), or (False, None) after reporting why not."""
        account = None
        if self.by_external_id:
            account = by_external.get(values["external_id"])
        if account is None and values.get("domain"):
            matches = [a for a in by_domain.get(values["domain"], []) if not (self.by_external_id and a.external_id)]
            if len(matches) > 1:
                ids = ", ".join(str(a.pk) for a in matches)
                tally.problem(
                    Problem(
                        record.line,
                        "domain",
                        f"Accounts {ids} share the domain {values['domain']}: map an external id.",
                    )
                )
                return False, None
            account = matches[0] if matches else None
        if account is not None and not self.whole_book and not account.may_edit:  # type: ignore[attr-defined]
            tally.problem(Problem(record.line, "row", f"You cannot change {account.name} (account {account.pk})."))
            return False, None
        return True, account

    def _plan_row(
        self, record: Record, values: dict[str, Any], account: Account | None, tally: Tally
    ) -> AccountPlan | None:
        stored = {name: value for name, value in values.items() if name not in ("owner", "pool", "tags")}
        if "owner" in values:
            stored["owner_id"] = values["owner"].pk
            stored["coverage"] = Coverage.ASSIGNED
        elif "pool" in values:
            stored["pool_id"] = values["pool"].pk
            stored["coverage"] = Coverage.POOLED
            stored["owner_id"] = None
        if "tier" in values:
            stored["tier_source"] = TierSource.MANUAL
        tags = values.get("tags")
        if account is None:
            return self._plan_create(record, stored, tags, tally)
        problems = []
        if "stage" in stored and stored["stage"] != account.stage:
            problems.append(
                Problem(
                    record.line,
                    "stage",
                    f"The account is in {Stage(account.stage).label}: a stage change is made on the account "
                    "(it keeps the stage history and starts playbooks), not by an import.",
                )
            )
        if "stage_entered_at" in stored and timezone.localdate(stored["stage_entered_at"]) != timezone.localdate(
            account.stage_entered_at
        ):
            problems.append(
                Problem(
                    record.line,
                    "stage_entered_at",
                    f"The account entered {Stage(account.stage).label} on "
                    f"{timezone.localdate(account.stage_entered_at):%Y-%m-%d}; an import does not rewrite that.",
                )
            )
        stored.pop("stage", None)
        stored.pop("stage_entered_at", None)
        changes = {name: (getattr(account, name), new) for name, new in stored.items() if getattr(account, name) != new}
        if changes.get("tier_source") and "tier" not in changes:
            # The same tier as now, written in the file: it stays where it is, whoever set it.
            changes.pop("tier_source")
        contract_start = changes.get("contract_start", (None, account.contract_start))[1]
        renewal_date = changes.get("renewal_date", (None, account.renewal_date))[1]
        if contract_start and renewal_date and renewal_date <= contract_start:
            problems.append(
                Problem(record.line, "renewal_date", "The renewal date must come after the contract start.")
            )
        for problem in problems:
            tally.problem(problem)
        if problems:
            return None
        new_tags = None
        old_tags = account.imported_tags  # type: ignore[attr-defined]
        if tags is not None and [t.casefold() for t in tags] != [t.casefold() for t in old_tags]:
            new_tags = tags
            tally.new_tags.update(name for name in tags if name.casefold() not in self.tags)
        action = "update" if changes or new_tags is not None else "unchanged"
        return AccountPlan(
            record=record, action=action, account=account, changes=changes, tags=new_tags, old_tags=old_tags
        )

    def _plan_create(self, record: Record, stored: dict[str, Any], tags, tally: Tally) -> AccountPlan | None:
        problems = []
        if not stored.get("name"):
            problems.append(Problem(record.line, "name", "A new account needs a name."))
        if not stored.get("owner_id") and not stored.get("pool_id"):
            problems.append(Problem(record.line, "owner", "A new account needs an owner (or a pool team)."))
        if (
            stored.get("contract_start")
            and stored.get("renewal_date")
            and stored["renewal_date"] <= stored["contract_start"]
        ):
            problems.append(
                Problem(record.line, "renewal_date", "The renewal date must come after the contract start.")
            )
        for problem in problems:
            tally.problem(problem)
        if problems:
            return None
        stored.setdefault("industry", Industry.UNKNOWN)
        stored.setdefault("region", Region.UNKNOWN)
        if "stage_entered_at" in stored:
            stored.setdefault("stage", Stage.ONBOARDING)
            stored["stage_entered_at"] = min(stored["stage_entered_at"], self.now)
        if tags:
            tally.new_tags.update(name for name in tags if name.casefold() not in self.tags)
        changes = {name: (None, value) for name, value in stored.items()}
        return AccountPlan(record=record, action="create", account=None, changes=changes, tags=tags or None)

    # --- writing a chunk --------------------------------------------------------------------------------

    def _tag_ids(self, names: Iterable[str]) -> dict[str, int]:
        missing = {name.casefold(): name for name in names if name.casefold() not in self.tags}
        if missing:
            Tag.objects.bulk_create([Tag(name=name) for name in missing.values()], ignore_conflicts=True)
            for tag in Tag.objects.filter(name__in=list(missing.values())):
                self.tags[tag.name.casefold()] = tag
            still = [name for key, name in missing.items() if key not in self.tags]
            if still:  # a tag differing only in case from one Baton has: the existing one is used
                for tag in Tag.objects.all():
                    self.tags.setdefault(tag.name.casefold(), tag)
        return {key: tag.pk for key, tag in self.tags.items()}

    def write(self, plans: list[AccountPlan], tally: Tally) -> None:
        now = timezone.now()
        creates = [plan for plan in plans if plan.action == "create"]
        updates = [plan for plan in plans if plan.action == "update"]
        if not creates and not updates:
            return
        for plan in creates:
            plan.account = Account(
                **{name: new for name, (_, new) in plan.changes.items()}, created_at=now, updated_at=now
            )
        Account.objects.bulk_create([plan.saved for plan in creates])
        changed = [plan for plan in updates if plan.changes]
        fields = sorted({name for plan in changed for name in plan.changes})
        if changed:
            for plan in changed:
                for name, (_, new) in plan.changes.items():
                    setattr(plan.saved, name, new)
                plan.saved.updated_at = now
            Account.objects.bulk_update([plan.saved for plan in changed], [*fields, "updated_at"])
        tagged = [plan for plan in [*creates, *updates] if plan.tags is not None]
        if tagged:
            ids = self._tag_ids(name for plan in tagged for name in plan.tags or ())
            Account.tags.through.objects.filter(
                account_id__in=[plan.saved.pk for plan in tagged if plan.action == "update"]
            ).delete()
            sql.tag_links(
                sorted({(plan.saved.pk, ids[name.casefold()]) for plan in tagged for name in plan.tags or ()})
            )
        money = [plan.saved.pk for plan in creates] + [
            plan.saved.pk for plan in changed if {"arr", "currency"} & set(plan.changes)
        ]
        if money:
            converted_arr_refresh(account_ids=money)
        reasons = self._apply_tier_rules(creates, changed)
        # The history of the new accounts is copied from the rows just written, in one statement.
        actor_id = self.actor.pk
        created_ids = [plan.saved.pk for plan in creates]
        sql.terms_copy(
            [*created_ids, *(plan.saved.pk for plan in changed if set(plan.changes) & set(TERMS_FIELDS))],
            effective_at=now,
            actor_id=actor_id,
        )
        # Audit rows go through the model (not copied in SQL like the history), so whatever AuditEvent
        # derives as it is saved stays the model's to derive.
        audits = [
            audit_event(
                actor=self.actor,
                action=AuditAction.ACCOUNT_CREATED,
                subject=plan.saved,
                account=plan.saved,
                reason=f"{self.reason}, {plan.record.named}"
                + (f". {reasons[plan.saved.pk]}" if plan.saved.pk in reasons else ""),
            )
            for plan in creates
        ]
        for plan in updates:
            changes = dict(plan.changes)
            if plan.tags is not None:
                changes["tags"] = (list(plan.old_tags), list(plan.tags))
            reason = f"{self.reason}, {plan.record.named}"
            if plan.saved.pk in reasons:
                reason = f"{reason}. {reasons[plan.saved.pk]}"
            audits.append(
                audit_event(
                    actor=self.actor,
                    action=AuditAction.ACCOUNT_UPDATED,
                    subject=plan.saved,
                    account=plan.saved,
                    changes=changes,
                    reason=reason,
                )
            )
        AuditEvent.objects.bulk_create(audits)
        self.changed_ids.extend(plan.saved.pk for plan in [*creates, *updates])
        tally.changed_fields.update(fields)
        if creates:
            tally.changed_fields.update({"stage", *TERMS_FIELDS})
        if tagged:
            tally.changed_fields.add("tags")

    def _apply_tier_rules(self, creates: list[AccountPlan], changed: list[AccountPlan]) -> dict[int, str]:
        """The tier rules place the new accounts, and those whose ARR, currency, industry or region changed,
        unless the file (or a person) set their tier by hand: as account_create and account_update do."""
        if not self.rules:
            return {}
        plans = {
            plan.saved.pk: plan
            for plan in [*creates, *changed]
            if plan.saved.tier_source == TierSource.RULES
            and (plan.action == "create" or set(plan.changes) & RULE_INPUT_FIELDS)
        }
        if not plans:
            return {}
        moving = (
            with_rule_tier(ruled(Account.objects.filter(pk__in=list(plans))), self.rules)
            .filter(rule_tier__isnull=False)
            .exclude(rule_tier=NO_RATE)
            .exclude(rule_tier=F("tier"))
        )
        moved = dict(moving.values_list("pk", "rule_tier"))
        if not moved:
            return {}
        Account.objects.filter(pk__in=list(moved)).update(tier=rule_tier_expression(self.rules))
        reasons = {}
        for pk, tier in moved.items():
            plan = plans[pk]
            old = plan.changes.get("tier", (plan.saved.tier, None))[0]
            plan.changes["tier"] = (old, tier)
            plan.saved.tier = tier
            reasons[pk] = "Tier from the rules"
        return reasons

    def finish(self, tally: Tally, *, write: bool) -> None:
        if not write:
            return
        tally.account_ids = self.changed_ids
        if self.changed_ids:
            events.announce(
                AccountsChanged(account_ids=tuple(self.changed_ids), fields=frozenset(tally.changed_fields))
            )


def account_values(account: Account) -> dict[str, Any]:
    """For tests and the done page: what an account now holds of the importable fields."""
    return {name: getattr(account, name) for name in STORED}


__all__ = ["AccountsPlanner", "AccountPlan", "Decimal"]
