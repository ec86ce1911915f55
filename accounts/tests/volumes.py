"""Data in volume for the query budgets: a team's book of accounts, and one account's long history.

Shared by accounts' API budgets and desk's page budgets (each runs with 10 and 200 rows).
"""

import datetime as dt

import factory
from django.utils import timezone

from accounts.models import (
    Account,
    Contact,
    Coverage,
    Entitlement,
    Outcome,
    OutcomeKind,
    Product,
    Tag,
    TimelineEntry,
    TimelineKind,
)
from accounts.tests.factories import (
    AccountFactory,
    ContactFactory,
    EntitlementFactory,
    OutcomeFactory,
    ProductFactory,
    TimelineEntryFactory,
)
from lifecycle.models import StageChange
from users.models import Team, User
from users.tests.factories import CSMFactory

SIZES = [10, 200]


def build_book(n: int, team: Team) -> list[Account]:
    """`n` accounts on `team`'s desk: owned by three CSMs in turn, every fifth one pooled, all tagged."""
    owners = [CSMFactory(team=team) for _ in range(3)]
    accounts = AccountFactory.build_batch(n, owner=factory.Iterator(owners))
    for index, account in enumerate(accounts):
        if index % 5 == 0:
            account.coverage, account.owner, account.pool = Coverage.POOLED, None, team
    accounts = Account.objects.bulk_create(accounts)
    tags = Tag.objects.bulk_create([Tag(name="strategic"), Tag(name="reference")])
    Account.tags.through.objects.bulk_create(
        [Account.tags.through(account_id=a.pk, tag_id=t.pk) for a in accounts for t in tags]
    )
    return accounts


def build_history(n: int, account: Account, author: User) -> None:
    """`n` contacts in a two-level org chart and `n` touchpoints, each with two participants."""
    contacts = Contact.objects.bulk_create(ContactFactory.build_batch(n, account=account))
    boss = contacts[0]
    Contact.objects.filter(pk__in=[c.pk for c in contacts[1:]]).update(reports_to=boss)
    now = timezone.now()
    entries = TimelineEntry.objects.bulk_create(
        [
            TimelineEntryFactory.build(
                account=account,
                kind=TimelineKind.TOUCHPOINT,
                channel="call",
                author=author,
                occurred_at=now - dt.timedelta(hours=i + 1),
            )
            for i in range(n)
        ]
    )
    TimelineEntry.participants.through.objects.bulk_create(
        [
            TimelineEntry.participants.through(timelineentry_id=e.pk, contact_id=c.pk)
            for e in entries
            for c in contacts[:2]
        ]
    )
    StageChange.objects.bulk_create(
        [
            StageChange(
                account=account,
                from_stage="onboarding",
                to_stage="adoption",
                changed_by=author,
                changed_at=now - dt.timedelta(days=30),
                reason="Went live",
            ),
            StageChange(
                account=account,
                from_stage="adoption",
                to_stage="success",
                changed_by=author,
                changed_at=now - dt.timedelta(days=3),
                reason="Adopted",
            ),
        ]
    )


def build_outcomes(n: int, account: Account, author: User) -> list[Outcome]:
    """`n` yearly renewals of `account`, the last years' first; every third one corrected by a later outcome."""
    today = timezone.localdate()
    outcomes = Outcome.objects.bulk_create(
        [
            OutcomeFactory.build(
                account=account,
                occurred_on=today - dt.timedelta(days=365 * i + 1),
                term_end=today - dt.timedelta(days=365 * i + 1),
                term_start=today - dt.timedelta(days=365 * (i + 1) + 1),
                arr_after=50000 + 1000 * (i % 3),
                recorded_by=author,
            )
            for i in range(n)
        ]
    )
    corrections = Outcome.objects.bulk_create(
        [
            OutcomeFactory.build(
                account=account,
                kind=OutcomeKind.DOWNGRADED,
                occurred_on=outcome.occurred_on,
                term_start=outcome.term_start,
                term_end=outcome.term_end,
                arr_after=40000,
                corrects=outcome,
                recorded_by=author,
            )
            for outcome in outcomes[::3]
        ]
    )
    return outcomes + corrections


def build_entitlements(n: int, account: Account) -> list[Entitlement]:
    """`n` products, and `account` holding each of them: every other one ended last year."""
    products = Product.objects.bulk_create(ProductFactory.build_batch(n))
    year_start = timezone.localdate().replace(month=1, day=1)
    return Entitlement.objects.bulk_create(
        [
            EntitlementFactory.build(
                account=account,
                product=product,
                starts_on=year_start.replace(year=year_start.year - 2),
                ends_on=year_start - dt.timedelta(days=1) if index % 2 else None,
            )
            for index, product in enumerate(products)
        ]
    )
