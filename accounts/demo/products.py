"""The demo's product catalogue, and which of its modules each account holds (entitlements).

Every account holds the core platform from the day it became a customer; bigger tiers hold more
modules, some of them added at a renewal after the first. Seats follow the account's licences:
core covers all of them, reports and mobile a share, analytics a few analysts; automation and
integrations are sold as a platform fee, not by seat. The story has history to show: about a
third of the accounts that renewed grew their core seats at the last renewal (the old
entitlement ends the day before the new one starts), some gave a module up at a renewal, and a
churned account's entitlements end on its last day.

Product usage (ProductUsageDaily) is lifecycle's to write, from these entitlements.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence

from accounts.models import Account, Entitlement, Product, Stage, Tier

from .book import add_months
from .core import DemoBatch, DemoCompany, demo_seeder

CATALOGUE = (
    ("core", "Core platform", "Accounts, projects and the shared workspace: what every customer starts with."),
    ("reports", "Reports", "Scheduled and ad-hoc reports, dashboards and exports."),
    ("automation", "Automation", "Workflows, triggers and scheduled jobs that run without anyone clicking."),
    ("integrations", "Integrations", "Connectors to CRMs, help desks and data warehouses, and the API."),
    ("mobile", "Mobile", "The iOS and Android apps for people away from their desks."),
    ("analytics", "Analytics", "Self-serve analysis for data teams, on top of the warehouse sync."),
)
# The modules beyond core each tier tends to buy: (key, share of the tier's accounts holding it).
ADD_ONS: dict[str, tuple[tuple[str, float], ...]] = {
    Tier.HIGH_TOUCH: (
        ("reports", 0.95),
        ("integrations", 0.85),
        ("analytics", 0.7),
        ("automation", 0.6),
        ("mobile", 0.45),
    ),
    Tier.LOW_TOUCH: (
        ("reports", 0.8),
        ("integrations", 0.45),
        ("automation", 0.35),
        ("mobile", 0.3),
        ("analytics", 0.1),
    ),
    Tier.TECH_TOUCH: (("reports", 0.25), ("mobile", 0.15)),
}
# Seats of a module as a share of the account's licences (lowest, highest); None: not sold by seat.
SEAT_SHARE: dict[str, tuple[float, float] | None] = {
    "core": (1.0, 1.0),
    "reports": (0.3, 0.7),
    "analytics": (0.03, 0.1),
    "mobile": (0.15, 0.5),
    "automation": None,
    "integrations": None,
}
# Licences by tier, for an account the caller gives none for (the range lifecycle's usage draws from).
LICENCES: dict[str, tuple[int, int]] = {Tier.HIGH_TOUCH: (80, 600), Tier.LOW_TOUCH: (20, 150), Tier.TECH_TOUCH: (5, 40)}
ADDED_AT_RENEWAL = 0.35  # of the modules of an account that has renewed: bought at a renewal, not at the start
GIVEN_UP = 0.12  # of the modules of a current customer that has renewed since buying them: dropped at a renewal
CORE_GREW = 0.3  # of the accounts that have renewed: more core seats from the last renewal


def catalogue_create() -> dict[str, Product]:
    """The demo catalogue by key; products already there (an admin's, or an earlier seed's) are kept as they are.

    Two queries at most: the products there, and one INSERT of those missing.
    """
    existing = {product.key: product for product in Product.objects.filter(key__in=[key for key, _, _ in CATALOGUE])}
    missing = [
        Product(key=key, name=name, description=description)
        for key, name, description in CATALOGUE
        if key not in existing
    ]
    return {**existing, **{product.key: product for product in Product.objects.bulk_create(missing)}}


def seed_products(
    accounts: Sequence[Account],
    *,
    today: dt.date,
    rng: random.Random | None = None,
    customer_since: Mapping[int, dt.date] | None = None,
    licences: Mapping[int, int] | None = None,
    catalogue: Mapping[str, Product] | None = None,
) -> list[Entitlement]:
    """Insert the entitlements of `accounts` (saved accounts) with bulk_create and return them, ids set.

    `customer_since`: the day each account became a customer (default its contract start);
    `licences`: its licences owned, which its seats follow (default a draw by tier);
    `catalogue`: the products by key (default `catalogue_create()`). Nothing starts after `today`.
    Set-based: the catalogue's queries, then one INSERT per 2,000 entitlements.
    """
    rng = rng or random.Random("products")
    catalogue = catalogue if catalogue is not None else catalogue_create()
    rows: list[Entitlement] = []
    for account in accounts:
        since = (customer_since or {}).get(account.pk) or account.contract_start or today
        owned = (licences or {}).get(account.pk) or rng.randint(*LICENCES.get(account.tier, LICENCES[Tier.LOW_TOUCH]))
        rows.extend(_holdings(rng, account, catalogue, today=today, since=min(since, today), licences=owned))
    return Entitlement.objects.bulk_create(rows, batch_size=2000)


def _renewals(account: Account, since: dt.date, until: dt.date) -> list[dt.date]:
    """The days the account renewed between `since` and `until` (both excluded), oldest first: yearly back from its
    current term's start."""
    days, day = [], account.contract_start
    while day is not None and day > since:
        if day < until:
            days.append(day)
        day = add_months(day, -12)
    return sorted(days)


def _seats(rng: random.Random, key: str, licences: int) -> int | None:
    share = SEAT_SHARE.get(key)
    if share is None:
        return None
    return max(1, round(licences * rng.uniform(*share)))


def _holdings(
    rng: random.Random,
    account: Account,
    catalogue: Mapping[str, Product],
    *,
    today: dt.date,
    since: dt.date,
    licences: int,
) -> list[Entitlement]:
    churned = account.stage == Stage.CHURNED
    # A churned customer held its products up to the end of the term it left at.
    last_day = max(since, min(account.renewal_date or today, today)) if churned else None
    renewals = _renewals(account, since, last_day or today + dt.timedelta(days=1))

    def holding(key: str, seats: int | None, starts_on: dt.date, ends_on: dt.date | None) -> Entitlement:
        return Entitlement(
            account_id=account.pk, product=catalogue[key], seats=seats, starts_on=starts_on, ends_on=ends_on
        )

    rows = []
    if renewals and rng.random() < CORE_GREW:
        grew_on = renewals[-1]
        before = max(1, round(licences * rng.uniform(0.6, 0.9)))
        rows.append(holding("core", before, since, grew_on - dt.timedelta(days=1)))
        rows.append(holding("core", licences, grew_on, last_day))
    else:
        rows.append(holding("core", licences, since, last_day))
    for key, share in ADD_ONS.get(account.tier, ()):
        if rng.random() >= share:
            continue
        starts_on = rng.choice(renewals) if renewals and rng.random() < ADDED_AT_RENEWAL else since
        ends_on = last_day
        later = [day for day in renewals if day > starts_on]
        if not churned and later and rng.random() < GIVEN_UP:
            ends_on = rng.choice(later) - dt.timedelta(days=1)
        rows.append(holding(key, _seats(rng, key, licences), starts_on, ends_on))
    return rows


@demo_seeder("products", order=37)
def seed_entitlements(company: DemoCompany, batch: DemoBatch) -> None:
    """The batch's entitlements: after the contract history (35), before lifecycle's signals (40) that may read them."""
    entitlements = seed_products(
        batch.accounts,
        today=company.today,
        rng=batch.rng("products"),
        customer_since={pk: plan.customer_since for pk, plan in batch.plans.items()},
    )
    company.rows[Entitlement._meta.label] += len(entitlements)
