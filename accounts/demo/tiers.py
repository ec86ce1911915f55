"""The demo's tier rules: high-touch from 80,000 of ARR, low-touch from 15,000, tech-touch below, in the reporting currency.

The thresholds are the demo book's own (accounts/demo/book.py draws each tier's ARR from those ranges,
in the account's currency), so the preview at /settings/tiers/ opens on the accounts that conversion
puts in another tier. Rules are configuration: an install that already has some keeps them, and the
seed moves no account (an admin previews and applies).
"""

from __future__ import annotations

from decimal import Decimal

from accounts.models import Tier, TierRule

from .core import DemoBatch, DemoCompany, demo_seeder

DEFAULT_RULES = (
    (Tier.HIGH_TOUCH, Decimal("80000")),
    (Tier.LOW_TOUCH, Decimal("15000")),
    (Tier.TECH_TOUCH, None),
)


def default_tier_rules_install() -> int:
    """Add the default rules unless there are rules already; returns how many were added."""
    if TierRule.objects.exists():
        return 0
    rules = [
        TierRule(position=position, tier=tier, min_arr=min_arr)
        for position, (tier, min_arr) in enumerate(DEFAULT_RULES, start=1)
    ]
    return len(TierRule.objects.bulk_create(rules))


def seed_tier_rules(company: DemoCompany) -> None:
    company.rows[TierRule._meta.label] += default_tier_rules_install()


@demo_seeder("tier rules", order=6, setup=seed_tier_rules)
def no_rows_per_batch(company: DemoCompany, batch: DemoBatch) -> None:
    """The rules are set up once; no batch adds to them."""
