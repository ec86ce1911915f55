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

How it stays fast: a chunk is read a column at a time, each value that repeats down a file
(an owner, an industry, a date, a set of tags) read once for the whole import and looked up
after that; only the rows that name an existing account are planned one by one. New accounts
are written with a handful of statements per chunk (sql.py): their converted ARR and their tier
from the rules are computed in the INSERT itself, and their history, tags and audit records
follow set-based.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Case, Q, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.events import AccountsChanged
from accounts.models import (
    TERMS_FIELDS,
    Account,
    AuditAction,
    Coverage,
    Industry,
    Region,
    Stage,
    Tag,
    TermsSource,
    Tier,
    TierSource,
)
from accounts.segments.rules import RULE_INPUT_FIELDS, tier_rules
from accounts.sql import ACCOUNT_SUBJECT
from core import events
from users.models import Team, User, display_name
from users.permissions import editable_accounts_q

from . import columns as c
from . import sql
from .engine import Chunk, Problem, Tally

CURRENCY_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# The fields a row may set, as stored on Account (owner and pool as ids): the columns the import stages.
STORED = sql.STAGED
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
# What the import reads of an account a row names: what it may change, and what a change is checked against.
READ = (*STORED, "arr_reporting")
# The readers of the fields whose values rarely repeat down a file.
UNIQUE_READERS: dict[str, Callable[[str], Any]] = {"domain": c.parse_domain, "arr": c.parse_amount}


def _named(external_ids: list[str], domains: list[str]) -> list[int]:
    """The ids of the accounts with one of these external ids or (lower-cased) domains, in one query.

    On PostgreSQL the values are passed as one array each (Django would prepare each of thousands of values
    on its own) and every value looks up its index on its own (a LATERAL subquery that the planner may not
    flatten, OFFSET 0): an OR of two IN lists, or a plain join, leads the planner to scan the whole table
    and sort it, as its statistics lag behind the rows the import itself writes (an empty table's have none:
    the real run's lookups then grew with every chunk written before them).
    """
    if connection.vendor != "postgresql":
        named = Account.objects.annotate(domain_key=Lower("domain")).filter(
            Q(external_id__in=external_ids, external_id__gt="") | Q(domain_key__in=domains)
        )
        return list(named.values_list("pk", flat=True))
    table = Account._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id FROM unnest(%s::text[]) AS k(v) CROSS JOIN LATERAL "
            f"(SELECT id FROM {table} WHERE external_id = k.v AND external_id <> '' OFFSET 0) a "
            f"UNION SELECT a.id FROM unnest(%s::text[]) AS k(v) CROSS JOIN LATERAL "
            f"(SELECT id FROM {table} WHERE lower(domain) = k.v OFFSET 0) a",
            [external_ids, domains],
        )
        return [row[0] for row in cursor.fetchall()]


def _among(field: str, ids: list[int]) -> Q:
    """`field` is one of `ids`. On PostgreSQL the ids travel as one array (Django would prepare thousands of
    parameters one by one)."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", (ids,))})
    return Q(**{f"{field}__in": ids})


@dataclass
class AccountPlan:
    """What one row does to the account it names (an update, or nothing)."""

    line: int
    named: str  # how an audit reason names the row ("line 7", "row 6")
    action: str  # "update" or "unchanged"
    account: Found
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    tags: tuple[str, ...] | None = None  # the account's tags after the import, when they change
    old_tags: tuple[str, ...] = ()
    ruled: bool = False  # the tier rules moved its tier when it was written


class Found:
    """An account a row names, as the import reads it (plain values, not a model instance: a chunk finds thousands)."""

    __slots__ = ("pk", "values", "domain_key", "may_edit", "tags")

    def __init__(self, pk: int, values: dict[str, Any], domain_key: str, may_edit: bool) -> None:
        self.pk = pk
        self.values = values  # READ's fields
        self.domain_key = domain_key
        self.may_edit = may_edit
        self.tags: tuple[str, ...] = ()


@dataclass
class ChunkPlan:
    """A chunk's plan: its rows' values by field (None where blank), the rows that create, the rows that update."""

    chunk: Chunk
    columns: dict[str, list[Any]]
    creates: list[int]  # positions in the chunk
    updates: list[AccountPlan]


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
        self.tz = timezone.get_current_timezone()
        self.sees_every_team = actor.is_admin or getattr(actor, "is_integration", False)
        # Per field: every raw value read so far (up to MEMO_LIMIT), blank as None; and the raw values found bad.
        self.memo: dict[str, dict[str, Any]] = {name: {"": None} for name in MEMO_FIELDS}
        self.bad: dict[str, set[str]] = defaultdict(set)
        self.staged = False
        self.written_fields: set[str] = set()

    # --- reading values -----------------------------------------------------------------------------

    def _read(self, name: str, raw: str) -> Any:
        """One non-blank value read into Python; BadValue says what was expected."""
        if name in MAX_LENGTHS:
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
            moment = dt.datetime.combine(day, dt.time(9), tzinfo=self.tz)
            if moment > self.now + CLOCK_SKEW:
                raise c.BadValue("An account cannot enter a stage in the future.")
            return moment
        if name == "industry":
            return c.parse_choice(raw, c.INDUSTRIES, "industry")
        if name == "region":
            return c.parse_choice(raw, c.REGIONS, "region")
        if name == "employee_band":
            return c.parse_choice(raw, c.EMPLOYEE_BANDS, "number of employees")
        if name == "tier":
            return c.parse_choice(raw, c.TIERS, "tier")
        if name == "stage":
            stage = c.parse_choice(raw, c.STAGES, "stage")
            if stage == Stage.CHURNED:
                raise c.BadValue("Churned is recorded with its reason on the account, not imported.")
            return stage
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
            if not self.sees_every_team and user.team_id != self.actor.team_id:
                raise c.BadValue(f"{user.username} is not on your team.")
            return user
        if name == "pool":
            team = self.people.teams.get(raw.casefold())
            if team is None:
                raise c.BadValue(f"No team is called “{raw}”.")
            if not self.sees_every_team and team.pk != self.actor.team_id:
                raise c.BadValue(f"{team.name} is not your team.")
            return team
        raise c.BadValue(f"“{name}” is not a field of an account.")

    def _value(self, name: str, raw: str) -> Any:
        """The value, or the BadValue itself (remembered in `bad`, so a chunk knows to look for it)."""
        try:
            value = self._read(name, raw)
        except c.BadValue as error:
            self.bad[name].add(raw)
            value = error
        memo = self.memo.get(name)
        if memo is not None and len(memo) < MEMO_LIMIT:
            memo[raw] = value
        return value

    def _column(self, name: str, raw: list[str]) -> list[Any]:
        """A column's values read: None where blank, a BadValue where unreadable."""
        memo = self.memo.get(name)
        if memo is not None:
            try:
                return list(map(memo.__getitem__, raw))
            except KeyError:
                return [memo[value] if value in memo else self._value(name, value) for value in raw]
        if name in MAX_LENGTHS:
            if max(map(len, raw), default=0) > MAX_LENGTHS[name]:
                return [self._value(name, value) if value else None for value in raw]
            return [value or None for value in raw]
        read = UNIQUE_READERS.get(name)
        if read is None:
            return [self._value(name, value) if value else None for value in raw]
        # A value that rarely repeats (a domain, an amount) is read straight away, not remembered.
        values: list[Any] = []
        append = values.append
        for value in raw:
            if not value:
                append(None)
                continue
            try:
                append(read(value))
            except c.BadValue as error:
                self.bad[name].add(value)
                append(error)
        return values

    def _columns(self, chunk: Chunk, problems: list[tuple[int, int, Problem]]) -> dict[str, list[Any]]:
        """The chunk's values by field (every mapped field, None where blank), its bad values reported."""
        columns: dict[str, list[Any]] = {}
        for position, (name, raw) in enumerate(chunk.columns.items()):
            values = self._column(name, raw)
            bad = self.bad.get(name)
            if bad and not bad.isdisjoint(raw):
                for index, value in enumerate(values):
                    if isinstance(value, c.BadValue):
                        problems.append((index, position, Problem(chunk.lines[index], name, str(value))))
                        values[index] = None
            columns[name] = values
        blank = [None] * len(chunk)
        for name in (*STORED, "owner", "pool", "tags"):
            columns.setdefault(name, blank)
        return columns

    # --- a chunk ----------------------------------------------------------------------------------------

    def read(self, chunk: Chunk) -> tuple[dict[str, list[Any]], list[tuple[int, int, Problem]]]:
        """The chunk's values by field and the problems with them: no database (engine.read_ahead runs this in a
        thread of its own, a chunk ahead)."""
        problems: list[tuple[int, int, Problem]] = []
        return self._columns(chunk, problems), problems

    def plan(
        self, chunk: Chunk, read: tuple[dict[str, list[Any]], list[tuple[int, int, Problem]]], tally: Tally
    ) -> ChunkPlan:
        columns, problems = read
        after = len(chunk.columns) + 1  # problems past the values sort after them
        failed = {index for index, _, _ in problems}
        key_field = "external_id" if self.by_external_id else "domain"
        keys = columns[key_field]
        keyed: list[int] = []
        seen = self.seen
        lines = chunk.lines
        for index, line in enumerate(lines):
            if index in failed:
                continue
            key = keys[index]
            if key is None:
                message = (
                    "Every row needs its external id: it is the key."
                    if self.by_external_id
                    else "Every row needs a domain: it is the key."
                )
                problems.append((index, after, Problem(line, key_field, message)))
                continue
            first = seen.setdefault(key, line)
            if first != line:
                problems.append((index, after, Problem(line, key_field, f"Also on line {first}: one row per account.")))
                continue
            keyed.append(index)
        external_ids = [key for key in (columns["external_id"][index] for index in keyed) if key]
        domains = [key for key in (columns["domain"][index] for index in keyed) if key]
        by_external, by_domain = self._existing(external_ids, domains)
        creates: list[int] = []
        updates: list[AccountPlan] = []
        names, owners, pools = columns["name"], columns["owner"], columns["pool"]
        starts, renewals = columns["contract_start"], columns["renewal_date"]
        for index in keyed:
            line = lines[index]
            if not by_external and not by_domain:
                account = None
            else:
                found, account = self._match(index, line, columns, by_external, by_domain, problems, after)
                if not found:
                    continue
            if account is None:
                start, renewal = starts[index], renewals[index]
                if (
                    names[index] is None
                    or (owners[index] is None and pools[index] is None)
                    or (start and renewal and renewal <= start)
                ):
                    self._not_creatable(index, line, columns, problems, after)
                else:
                    creates.append(index)
                continue
            plan = self._plan_update(index, line, chunk.where, columns, account, tally, problems, after)
            if plan is not None:
                updates.append(plan)
        problems.sort(key=lambda problem: (problem[0], problem[1]))
        for _, _, problem in problems:
            tally.problem(problem)
        # What the chunk writes follows from its rows' values (and the mapping that picked them), which rows
        # create, and what each update finds and changes.
        tally.fingerprint_lines(
            [
                "\x1f".join(chunk.columns),
                ",".join(map(str, lines)),
                *("\x1f".join(values) for values in chunk.columns.values()),
                "create " + ",".join(map(str, creates)),
                *(f"{plan.line} {plan.action} {plan.account.pk} {'|'.join(plan.changes)}" for plan in updates),
            ]
        )
        tally.to_create += len(creates)
        for plan in updates:
            if plan.action == "update":
                tally.to_update += 1
            else:
                tally.unchanged += 1
        tags = columns["tags"]
        for names in {tags[index] for index in creates if tags[index]}:
            tally.new_tags.update(name for name in names if name.casefold() not in self.tags)
        return ChunkPlan(chunk=chunk, columns=columns, creates=creates, updates=updates)

    def _existing(self, external_ids: list[str], domains: list[str]) -> tuple[dict[str, Found], dict[str, list[Found]]]:
        """The accounts the chunk's rows name, by external id and by domain: their ids, then (if any) the accounts
        and their tags; three queries at most whatever the chunk holds."""
        if not external_ids and not domains:
            return {}, {}
        ids = _named(external_ids, domains)
        if not ids:
            return {}, {}
        found = Account.objects.annotate(
            domain_key=Lower("domain"),
            may_edit=Value(True)
            if self.whole_book
            else Case(When(self.editable, then=Value(True)), default=Value(False), output_field=BooleanField()),
        ).filter(_among("pk", ids))
        if self.lock:
            found = found.select_for_update(of=("self",))
        by_external: dict[str, Found] = {}
        by_domain: dict[str, list[Found]] = defaultdict(list)
        accounts: dict[int, Found] = {}
        for pk, domain_key, may_edit, *values in found.order_by("pk").values_list(
            "pk", "domain_key", "may_edit", *READ
        ):
            account = Found(pk, dict(zip(READ, values, strict=True)), domain_key, may_edit)
            accounts[pk] = account
            if account.values["external_id"]:
                by_external[account.values["external_id"]] = account
            by_domain[domain_key].append(account)
        # Their tags by id, named from the tags read when the import began (a join to the tags' table leads the
        # planner to walk every link in tag order).
        links = list(
            Account.tags.through.objects.filter(_among("account_id", list(accounts))).values_list(
                "account_id", "tag_id"
            )
        )
        names = {tag.pk: tag.name for tag in self.tags.values()}
        unknown = {tag_id for _, tag_id in links} - set(names)
        if unknown:  # tags added since the import began
            for tag in Tag.objects.filter(pk__in=unknown):
                self.tags.setdefault(tag.name.casefold(), tag)
                names[tag.pk] = tag.name
        tags: dict[int, list[str]] = defaultdict(list)
        for account_id, tag_id in links:
            tags[account_id].append(names[tag_id])
        for pk, tag_names in tags.items():
            accounts[pk].tags = tuple(sorted(tag_names, key=str.casefold))
        return by_external, by_domain

    def _match(
        self,
        index: int,
        line: int,
        columns: dict[str, list[Any]],
        by_external: dict[str, Found],
        by_domain: dict[str, list[Found]],
        problems: list[tuple[int, int, Problem]],
        after: int,
    ) -> tuple[bool, Found | None]:
        """(True, the account the row names, or None for a new one), or (False, None) after reporting why not."""
        account = None
        if self.by_external_id:
            account = by_external.get(columns["external_id"][index])
        domain = columns["domain"][index]
        if account is None and domain:
            matches = [a for a in by_domain.get(domain, []) if not (self.by_external_id and a.values["external_id"])]
            if len(matches) > 1:
                ids = ", ".join(str(a.pk) for a in matches)
                problems.append(
                    (
                        index,
                        after,
                        Problem(line, "domain", f"Accounts {ids} share the domain {domain}: map an external id."),
                    )
                )
                return False, None
            account = matches[0] if matches else None
        if account is not None and not account.may_edit:
            name = account.values["name"]
            problems.append((index, after, Problem(line, "row", f"You cannot change {name} (account {account.pk}).")))
            return False, None
        return True, account

    def _not_creatable(
        self,
        index: int,
        line: int,
        columns: dict[str, list[Any]],
        problems: list[tuple[int, int, Problem]],
        after: int,
    ) -> None:
        """Why a row cannot create its account."""
        found = []
        if columns["name"][index] is None:
            found.append(Problem(line, "name", "A new account needs a name."))
        if columns["owner"][index] is None and columns["pool"][index] is None:
            found.append(Problem(line, "owner", "A new account needs an owner (or a pool team)."))
        start, renewal = columns["contract_start"][index], columns["renewal_date"][index]
        if start and renewal and renewal <= start:
            found.append(Problem(line, "renewal_date", "The renewal date must come after the contract start."))
        problems.extend((index, after, problem) for problem in found)

    def _plan_update(
        self,
        index: int,
        line: int,
        where: str,
        columns: dict[str, list[Any]],
        account: Found,
        tally: Tally,
        problems: list[tuple[int, int, Problem]],
        after: int,
    ) -> AccountPlan | None:
        values = {name: column[index] for name, column in columns.items() if column[index] is not None}
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
        found = []
        now = account.values
        if "stage" in stored and stored["stage"] != now["stage"]:
            found.append(
                Problem(
                    line,
                    "stage",
                    f"The account is in {Stage(now['stage']).label}: a stage change is made on the account "
                    "(it keeps the stage history and starts playbooks), not by an import.",
                )
            )
        if "stage_entered_at" in stored:
            entered = now["stage_entered_at"].astimezone(self.tz).date()
            if stored["stage_entered_at"].date() != entered:  # a file's moment is in the current time zone
                found.append(
                    Problem(
                        line,
                        "stage_entered_at",
                        f"The account entered {Stage(now['stage']).label} on {entered:%Y-%m-%d}; "
                        "an import does not rewrite that.",
                    )
                )
        stored.pop("stage", None)
        stored.pop("stage_entered_at", None)
        changes = {name: (now[name], new) for name, new in stored.items() if now[name] != new}
        if changes.get("tier_source") and "tier" not in changes:
            # The same tier as now, written in the file: it stays where it is, whoever set it.
            changes.pop("tier_source")
        contract_start = changes.get("contract_start", (None, now["contract_start"]))[1]
        renewal_date = changes.get("renewal_date", (None, now["renewal_date"]))[1]
        if contract_start and renewal_date and renewal_date <= contract_start:
            found.append(Problem(line, "renewal_date", "The renewal date must come after the contract start."))
        if found:
            problems.extend((index, after, problem) for problem in found)
            return None
        tags = values.get("tags")
        new_tags = None
        old_tags = account.tags
        if tags is not None and [t.casefold() for t in tags] != [t.casefold() for t in old_tags]:
            new_tags = tags
            tally.new_tags.update(name for name in tags if name.casefold() not in self.tags)
        action = "update" if changes or new_tags is not None else "unchanged"
        return AccountPlan(
            line=line,
            named=f"{where} {line}",
            action=action,
            account=account,
            changes=changes,
            tags=new_tags,
            old_tags=old_tags,
        )

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

    def write(self, plan: ChunkPlan, tally: Tally) -> None:
        now = timezone.now()
        if plan.creates:
            self._write_creates(plan, now)
        self._write_updates(plan.updates, now)
        tally.changed_fields.update(self.written_fields)

    def _stage_rows(self, plan: ChunkPlan, ids: list[int], now: dt.datetime) -> Iterator[tuple[Any, ...]]:
        """The new accounts as rows of the staging table (reserved id, line, then sql.STAGED), defaults filled in."""
        rows = plan.creates
        columns = plan.columns

        def pick(name: str, default: Any = None, convert: Callable[[Any], Any] | None = None) -> list[Any]:
            values = columns[name]
            if convert is None:
                return [default if values[i] is None else values[i] for i in rows]
            return [default if values[i] is None else convert(values[i]) for i in rows]

        def pick_text(name: str, text: Callable[[Any], str], default: Any = None) -> list[Any]:
            """Values many rows share (dates, moments) as text, each written once."""
            texts: dict[Any, str] = {}
            values = columns[name]
            picked = []
            for i in rows:
                value = values[i]
                if value is None:
                    picked.append(default)
                elif value in texts:
                    picked.append(texts[value])
                else:
                    picked.append(texts.setdefault(value, text(value)))
            return picked

        owners = [columns["owner"][i] for i in rows]
        pools = [columns["pool"][i] for i in rows]
        tiers = [columns["tier"][i] for i in rows]
        stamp = sql.moment_text(now)
        return zip(
            ids,
            [plan.chunk.lines[i] for i in rows],
            pick("external_id", ""),
            pick("name", ""),
            pick("domain", ""),
            pick("industry", Industry.UNKNOWN),
            pick("region", Region.UNKNOWN),
            pick("employee_band", ""),
            pick("arr", Decimal("0.00")),
            pick("currency", "USD"),
            pick_text("contract_start", dt.date.isoformat),
            pick_text("renewal_date", dt.date.isoformat),
            [tier or Tier.LOW_TOUCH for tier in tiers],
            [TierSource.RULES if tier is None else TierSource.MANUAL for tier in tiers],
            pick("fiscal_year_start_month", 1),
            pick("why_they_bought", ""),
            pick("tech_stack_notes", ""),
            [owner.pk if owner else None for owner in owners],
            [pool.pk if pool and not owner else None for owner, pool in zip(owners, pools, strict=True)],
            [
                Coverage.ASSIGNED if owner or not pool else Coverage.POOLED
                for owner, pool in zip(owners, pools, strict=True)
            ],
            pick("stage", Stage.ONBOARDING),
            pick_text("stage_entered_at", lambda moment: sql.moment_text(min(moment, now)), stamp),
            strict=True,
        )

    def _write_creates(self, plan: ChunkPlan, now: dt.datetime) -> None:
        """The chunk's new accounts, their terms, tags and audit records: a handful of statements whatever its size."""
        if not self.staged:
            sql.stage_create()
            self.staged = True
        ids = sql.account_ids_reserve(len(plan.creates))
        sql.accounts_insert(
            self._stage_rows(plan, ids, now),
            rules=self.rules,
            now=now,
            actor_id=self.actor.pk,
            actor_name=display_name(self.actor),
            reason=f"{self.reason}, {plan.chunk.where} ",
        )
        tag_column = plan.columns["tags"]
        tagged = [(account_id, tag_column[i]) for account_id, i in zip(ids, plan.creates, strict=True) if tag_column[i]]
        if tagged:
            tag_ids = self._tag_ids({name for _, names in tagged for name in names})
            sql.tag_links(
                sorted({(account_id, tag_ids[name.casefold()]) for account_id, names in tagged for name in names})
            )
            self.written_fields.add("tags")
        self.changed_ids.extend(ids)
        self.written_fields.update({"stage", *TERMS_FIELDS})

    def _write_updates(self, plans: list[AccountPlan], now: dt.datetime) -> None:
        """The chunk's changed accounts in one UPDATE (their converted ARR and, where the rules decide it, their tier
        computed set-based as for new accounts), then their history, tags and audit records, one statement each."""
        updates = [plan for plan in plans if plan.action == "update"]
        if not updates:
            return
        if not self.staged:
            sql.stage_create()
            self.staged = True
        changed = [plan for plan in updates if plan.changes]
        rows = []
        for plan in changed:
            after = {
                name: plan.changes[name][1] if name in plan.changes else plan.account.values[name] for name in READ
            }
            reconvert = bool({"arr", "currency"} & set(plan.changes))
            # The rules decide again when what they read changed, unless the tier is (now) set by hand.
            rules_decide = after["tier_source"] == TierSource.RULES and bool(set(plan.changes) & RULE_INPUT_FIELDS)
            rows.append(
                (
                    plan.account.pk,
                    *(after[name] for name in sql.UPDATED),
                    after["arr_reporting"],
                    reconvert,
                    rules_decide,
                )
            )
        ruled = sql.accounts_update(rows, rules=self.rules, now=now) if rows else {}
        terms = []
        stamp = sql.moment_text(now)
        for plan in changed:
            tier = ruled.get(plan.account.pk)
            moved = tier is not None and tier != plan.changes.get("tier", (None, plan.account.values["tier"]))[1]
            if moved:
                old = plan.changes.get("tier", (plan.account.values["tier"], None))[0]
                plan.changes["tier"] = (old, tier)
                plan.ruled = True
            if set(plan.changes) & set(TERMS_FIELDS):
                value = {
                    name: plan.changes[name][1] if name in plan.changes else plan.account.values[name]
                    for name in TERMS_FIELDS
                }
                terms.append(
                    (
                        plan.account.pk,
                        stamp,
                        self.actor.pk,
                        TermsSource.IMPORTED,
                        *(value[name] for name in TERMS_FIELDS),
                    )
                )
        sql.terms_load(terms)
        tagged = [plan for plan in updates if plan.tags is not None]
        if tagged:
            ids = self._tag_ids(name for plan in tagged for name in plan.tags or ())
            Account.tags.through.objects.filter(account_id__in=[plan.account.pk for plan in tagged]).delete()
            sql.tag_links(
                sorted({(plan.account.pk, ids[name.casefold()]) for plan in tagged for name in plan.tags or ()})
            )
        actor_id, actor_name = self.actor.pk, display_name(self.actor)
        audits = []
        for plan in updates:
            changes = dict(plan.changes)
            if plan.tags is not None:
                changes["tags"] = (list(plan.old_tags), list(plan.tags))
            reason = f"{self.reason}, {plan.named}"
            if plan.ruled:
                reason += ". Tier from the rules"
            audits.append(
                (
                    plan.account.pk,
                    actor_id,
                    actor_name,
                    AuditAction.ACCOUNT_UPDATED,
                    ACCOUNT_SUBJECT,
                    plan.account.pk,
                    json.dumps({name: [_jsonable(old), _jsonable(new)] for name, (old, new) in changes.items()}),
                    reason,
                    stamp,
                )
            )
        sql.audits_load(audits)
        self.changed_ids.extend(plan.account.pk for plan in updates)
        self.written_fields.update(name for plan in changed for name in plan.changes)
        if tagged:
            self.written_fields.add("tags")

    def finish(self, tally: Tally, *, write: bool) -> None:
        if self.staged:
            sql.stage_drop()
        if not write:
            return
        tally.account_ids = self.changed_ids
        if self.changed_ids:
            events.announce(
                AccountsChanged(account_ids=tuple(self.changed_ids), fields=frozenset(tally.changed_fields))
            )


def _jsonable(value: Any) -> Any:
    """A value as accounts.services writes it into an audit record's changes."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def account_values(account: Account) -> dict[str, Any]:
    """For tests and the done page: what an account now holds of the importable fields."""
    return {name: getattr(account, name) for name in STORED}


__all__ = ["AccountsPlanner", "AccountPlan", "ChunkPlan"]
