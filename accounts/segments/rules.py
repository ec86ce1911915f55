"""How the tier rules read an account: one CASE expression, so one account and a whole book are judged alike.

Apart from the services (which import the audit helpers of accounts.services) so that the account
services, which let the rules decide a tier on save, can import it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, CharField, IntegerField, Q, QuerySet, Value, When

from accounts.models import Account, TierSource

from .models import TierRule

# What the rules give an account whose currency has no rate when the first rule it could match compares ARR.
NO_RATE = "no_rate"
# The account fields the rules read: a change to one of them through the services lets the rules decide again.
RULE_INPUT_FIELDS = frozenset({"arr", "currency", "industry", "region"})


def tier_rules() -> list[TierRule]:
    return list(TierRule.objects.in_order())


def _whens(rules: Sequence[TierRule], result: str) -> list[When]:
    whens = []
    for rule in rules:
        given = Q(pk__isnull=False)  # a rule without conditions matches every account
        if rule.industry:
            given &= Q(industry=rule.industry)
        if rule.region:
            given &= Q(region=rule.region)
        if rule.compares_arr:
            # Without a rate the comparison cannot be made: the account stops here, unclassified,
            # rather than falling through to a later rule that would put it in the wrong tier.
            whens.append(
                When(given & Q(arr_reporting__isnull=True), then=Value(NO_RATE if result == "tier" else rule.pk))
            )
            if rule.min_arr is not None:
                given &= Q(arr_reporting__gte=rule.min_arr)
            if rule.max_arr is not None:
                given &= Q(arr_reporting__lt=rule.max_arr)
        whens.append(When(given, then=Value(rule.tier if result == "tier" else rule.pk)))
    return whens


def rule_tier_expression(rules: Sequence[TierRule]) -> Case:
    """The tier the rules give the row, NO_RATE, or null; `rules` must not be empty."""
    return Case(*_whens(rules, "tier"), default=None, output_field=CharField())


def with_rule_tier(accounts: QuerySet[Account], rules: Sequence[TierRule]) -> QuerySet[Any]:
    """`accounts` annotated with `rule_tier` (the tier the rules give, NO_RATE, or null: no rule matched)
    and `rule_id` (the rule that decided, or that needed a rate)."""
    if not rules:
        return accounts.annotate(
            rule_tier=Value(None, output_field=CharField()), rule_id=Value(None, output_field=IntegerField())
        )
    return accounts.annotate(
        rule_tier=rule_tier_expression(rules),
        rule_id=Case(*_whens(rules, "id"), default=None, output_field=IntegerField()),
    )


def ruled(accounts: QuerySet[Account] | None = None) -> QuerySet[Account]:
    """The accounts (all) whose tier the rules decide: not set by hand."""
    accounts = Account.objects.all() if accounts is None else accounts
    return accounts.filter(tier_source=TierSource.RULES)


@dataclass(frozen=True)
class TierDecision:
    """What the rules say of one account: a tier, or that it needs a rate, or nothing (no rule matched)."""

    tier: str | None
    rule: TierRule | None
    no_rate: bool = False

    def explain(self, currency: str = "") -> str:
        if self.rule is None:
            return "No tier rule matches."
        position = f"Rule {self.rule.position}" if self.rule.position else "A rule"
        if self.no_rate:
            return f"{position} compares ARR, and the account's currency has no exchange rate."
        return f"{position}: {self.rule.conditions_text(currency)} → {self.rule.get_tier_display()}."


def tier_by_rules(account_id: int, *, rules: Sequence[TierRule] | None = None) -> TierDecision:
    """What the rules give the stored account (its converted ARR as saved): two queries, one without rules."""
    rules = tier_rules() if rules is None else rules
    if not rules:
        return TierDecision(tier=None, rule=None)
    row = with_rule_tier(Account.objects.filter(pk=account_id), rules).values_list("rule_tier", "rule_id").first()
    tier, rule_id = row if row else (None, None)
    rule = next((rule for rule in rules if rule.pk == rule_id), None)
    if tier == NO_RATE:
        return TierDecision(tier=None, rule=rule, no_rate=True)
    return TierDecision(tier=tier, rule=rule)
