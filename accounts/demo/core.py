"""The demo company builder: shared state, the seeder registry, the main loop.

Accounts are built in batches of `BATCH_ACCOUNTS`; every registered seeder
then adds its rows for that batch. Nothing is saved row by row: each part
hands whole lists to `DemoCompany.bulk_create`, so 100,000 accounts fit in a
few minutes and a few hundred in a second or two.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

if TYPE_CHECKING:
    from accounts.models import Account, Contact, Tag
    from users.models import Team, User

BATCH_ACCOUNTS = 2000
INSERT_BATCH_SIZE = 2000
# Up to this many accounts every account gets the full story (months of
# touchpoints, 3–8 contacts). Beyond it, contacts and timeline entries per
# account shrink so 100,000 accounts stay a few minutes of work while each
# account still has an org chart and a believable history.
FULL_DETAIL_ACCOUNTS = 2000


@dataclass(frozen=True)
class RiskDrivers:
    """The latent reasons a contract term went well or badly (accounts/demo/outcomes.py draws them).

    Each continuous driver is on a standard scale, higher is worse; `champion_lost`
    says the champion left during the term. The signals of the term are generated
    from them, and so is the outcome at its end.
    """

    usage: float
    surveys: float
    support: float
    checkins: float
    champion_lost: bool


@dataclass(frozen=True)
class TermEnd:
    """A past contract term and what happened at its end.

    `drivers` is set for the terms whose outcome falls inside the modelled window
    (the last two years, at demo sizes); older terms and benchmark-sized
    companies carry none.
    """

    term_start: dt.date
    term_end: dt.date
    occurred_on: dt.date
    churned: bool
    drivers: RiskDrivers | None = None


@dataclass
class AccountPlan:
    """What the generator decided about one account before any row exists.

    `path` is the stage history, oldest first, as (stage, entered_at); its
    last item is the account's current stage and `stage_entered_at`.
    `term_ends` (past terms, oldest first) is filled by the churn model in
    accounts/demo/outcomes.py the first time a part asks for it.
    """

    customer_since: dt.date
    path: list[tuple[str, dt.datetime]]
    champion_departs: bool = False
    term_ends: list[TermEnd] | None = None


@dataclass
class DemoBatch:
    """One slice of accounts, already inserted, handed to every seeder in turn."""

    index: int
    seed: int
    accounts: list[Account]
    plans: dict[int, AccountPlan]
    # Filled by the contacts part (order 10), so later parts can name people.
    contacts: dict[int, list[Contact]] = field(default_factory=lambda: defaultdict(list))

    def rng(self, part: str) -> random.Random:
        """A generator private to one part and batch: adding a part never changes another's output."""
        return random.Random(f"{self.seed}:{part}:{self.index}")


@dataclass
class DemoCompany:
    seed: int
    size: int
    now: dt.datetime
    stdout: TextIO
    teams: dict[str, Team] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    tags: list[Tag] = field(default_factory=list)
    rows: Counter = field(default_factory=Counter)
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @property
    def detail(self) -> float:
        """1.0 for a demo-sized company, smaller for benchmark sizes (see FULL_DETAIL_ACCOUNTS)."""
        return 1.0 if self.size <= FULL_DETAIL_ACCOUNTS else 0.4

    @property
    def signal_history(self) -> bool:
        """Whether signals go back two years before today (demo sizes) or only 90 days (benchmark sizes)."""
        return self.size <= FULL_DETAIL_ACCOUNTS

    @property
    def csms(self) -> list[User]:
        from users.models import User

        return [user for user in self.users.values() if user.role == User.Role.CSM]

    def rng(self, part: str) -> random.Random:
        return random.Random(f"{self.seed}:{part}")

    def bulk_create(self, model: type[models.Model], objects: Sequence[models.Model]) -> list:
        """Insert `objects` in batches and count them for the summary."""
        if not objects:
            return []
        created = model.objects.bulk_create(objects, batch_size=INSERT_BATCH_SIZE)
        self.rows[model._meta.label] += len(objects)
        return created

    def say(self, message: str) -> None:
        self.stdout.write(message + "\n")


@dataclass(frozen=True)
class Seeder:
    """A part of the demo company.

    `seed_batch(company, batch)` adds rows for one batch of accounts;
    `setup(company)` runs once before the first batch (configuration rows),
    `finish(company)` once after the last (set-based recomputes).
    """

    name: str
    seed_batch: Callable[[DemoCompany, DemoBatch], None] | None = None
    order: int = 100
    setup: Callable[[DemoCompany], None] | None = None
    finish: Callable[[DemoCompany], None] | None = None


_SEEDERS: dict[str, Seeder] = {}


def register_seeder(seeder: Seeder) -> Seeder:
    """Add (or replace, by name) a part of the demo company."""
    _SEEDERS[seeder.name] = seeder
    return seeder


def demo_seeder(
    name: str,
    *,
    order: int = 100,
    setup: Callable[[DemoCompany], None] | None = None,
    finish: Callable[[DemoCompany], None] | None = None,
) -> Callable:
    """Decorator form of `register_seeder` for a per-batch function."""

    def decorate(
        function: Callable[[DemoCompany, DemoBatch], None],
    ) -> Callable[[DemoCompany, DemoBatch], None]:
        register_seeder(Seeder(name=name, seed_batch=function, order=order, setup=setup, finish=finish))
        return function

    return decorate


def registered_seeders() -> list[Seeder]:
    """Every part, after importing each installed app's `demo` module, in `order`."""
    autodiscover_modules("demo")
    return sorted(_SEEDERS.values(), key=lambda seeder: seeder.order)


class _Timer:
    def __init__(self, company: DemoCompany, name: str) -> None:
        self.company, self.name = company, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        self.company.timings[self.name] += time.perf_counter() - self.started


# The tables that take the demo's bulk loads (millions of rows at 100,000 accounts).
# Only theirs: handover progress is written from a second connection, which must
# not queue behind a lock on the tables it updates.
BULK_LOADED_MODELS = (
    "accounts.Account",
    "accounts.Contact",
    "accounts.TimelineEntry",
    "accounts.Entitlement",
    "lifecycle.StageChange",
    "lifecycle.UsageDaily",
    "lifecycle.ProductUsageDaily",
    "lifecycle.SupportTicket",
    "lifecycle.SurveyResponse",
    "lifecycle.Invoice",
    "lifecycle.CheckIn",
    "lifecycle.CheckInAnswer",
    "lifecycle.PulseRating",
)


@contextmanager
def _foreign_keys_checked_once() -> Iterator[None]:
    """On PostgreSQL, check the bulk-loaded tables' foreign keys once, at the end, not row by row.

    Each row inserted under a deferred foreign key queues a check that runs at
    commit: at 100,000 accounts, most of a minute. Dropping the keys for the
    load and adding them back validates each with one join, as PostgreSQL's
    advice for bulk loads has it. It all happens in the seed's transaction, so
    a failed seed leaves the keys exactly as they were.
    """
    if connection.vendor != "postgresql":
        yield
        return
    bulk_models = [apps.get_model(label) for label in BULK_LOADED_MODELS]
    tables = [model._meta.db_table for model in bulk_models] + [
        field.remote_field.through._meta.db_table
        for model in bulk_models
        for field in model._meta.many_to_many
        if field.remote_field.through._meta.auto_created
    ]
    with connection.cursor() as cursor:
        # Rows written earlier in this transaction must have their pending checks run before
        # their keys can be dropped.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY conrelid::regclass::text, conname",
            [tables],
        )
        keys = cursor.fetchall()
        for table, name, _ in keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    yield
    with connection.cursor() as cursor:
        for table, name, definition in keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")


def build_demo_company(*, seed: int = 42, accounts: int = 300, stdout: TextIO | None = None) -> DemoCompany:
    """Build the whole demo company in one transaction and return what was made.

    The caller checks first that the database holds no Baton data
    (`demo_data_exists`); the command does this for you.
    """
    from . import book, staff

    if accounts < 1:
        raise ValueError("The demo company needs at least one account.")
    company = DemoCompany(seed=seed, size=accounts, now=timezone.now(), stdout=stdout or sys.stdout)
    seeders = registered_seeders()
    started = time.perf_counter()
    with transaction.atomic(), _foreign_keys_checked_once():
        with _Timer(company, "people"):
            staff.create_staff(company)
        with _Timer(company, "tags"):
            book.create_tags(company)
        for seeder in seeders:
            if seeder.setup:
                with _Timer(company, seeder.name):
                    seeder.setup(company)
        plans = book.AccountPlanner(company)
        for index, start in enumerate(range(0, accounts, BATCH_ACCOUNTS)):
            with _Timer(company, "accounts"):
                batch = plans.create_batch(index, min(BATCH_ACCOUNTS, accounts - start))
            for seeder in seeders:
                if seeder.seed_batch:
                    with _Timer(company, seeder.name):
                        seeder.seed_batch(company, batch)
            done = start + len(batch.accounts)
            if accounts > BATCH_ACCOUNTS:
                company.say(f"  {done:>7,} / {accounts:,} accounts  ({time.perf_counter() - started:.1f} s)")
        for seeder in seeders:
            if seeder.finish:
                with _Timer(company, seeder.name):
                    seeder.finish(company)
    company.timings["total"] = time.perf_counter() - started
    _print_summary(company)
    return company


def _print_summary(company: DemoCompany) -> None:
    company.say(f"Demo company built with seed {company.seed}:")
    for label, count in sorted(company.rows.items()):
        company.say(f"  {label:<34} {count:>10,}")
    company.say("Timings:")
    for name, seconds in company.timings.items():
        company.say(f"  {name:<34} {seconds:>9.2f} s")


def demo_data_exists() -> bool:
    from accounts.models import Account
    from users.models import User

    from .staff import USERNAMES

    return Account.objects.exists() or User.objects.filter(username__in=USERNAMES).exists()


@transaction.atomic
def delete_demo_data() -> dict[str, int]:
    """Remove Baton's business data: accounts (and all that hangs off them), tags, teams, demo people.

    Configuration rows that other apps ship as defaults are left alone.
    Deletes go through the ORM so every app's cascades and SET_NULLs apply.
    """
    from accounts.models import Account, AuditEvent, Tag
    from users.models import Team, User

    from .staff import USERNAMES

    demo_people = User.objects.filter(username__in=USERNAMES)
    # Accounts before people: an account's owner is PROTECTed, and so are the
    # rows other parts record as made by a demo person (e.g. a bulk handover).
    querysets = [
        AuditEvent.objects.all(),
        Account.objects.all(),
        *_made_by(demo_people),
        Tag.objects.all(),
        demo_people,
        Team.objects.all(),
    ]
    deleted: dict[str, int] = {}
    for queryset in querysets:
        label = queryset.model._meta.label
        deleted[label] = deleted.get(label, 0) + queryset.delete()[0]
    return deleted


def _made_by(people: models.QuerySet) -> list[models.QuerySet]:
    """Rows in any app that point at these people through a PROTECTed foreign key."""
    querysets = []
    for model in apps.get_models():
        for fk in model._meta.concrete_fields:
            if (
                fk.is_relation
                and fk.related_model is people.model
                and fk.remote_field.on_delete is models.PROTECT
                and model is not people.model
            ):
                querysets.append(model._default_manager.filter(**{f"{fk.name}__in": people}))
    return querysets
