"""Writes to the tier rules, and the preview and bulk apply of what they say of the whole book.

Each rule write runs in a transaction and records its own audit. Writing a rule moves no account:
the preview (`tiers_preview`) shows who would move, and `tiers_apply` moves them, set-based, with
a dated terms row and an audit row for each account moved, and one event for all of them so their
health is recomputed with the new tier's cadence and scorecard.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from accounts.events import AccountsChanged
from accounts.models import Account, AuditAction, Industry, Region, Tier, TierSource
from accounts.money.selectors import reporting_currency
from accounts.services import audit_record
from core import events
from core.text import counted
from users.models import User, display_name

from . import sql
from .models import TierRule
from .rules import NO_RATE, rule_tier_expression, ruled, tier_rules, with_rule_tier

RULE_FIELDS = ("tier", "min_arr", "max_arr", "industry", "region")
# Positions move out of the way first when rules are renumbered, so the unique position holds at every row.
RENUMBER_OFFSET = 1_000_000
# Largest amount a rule's threshold holds (DecimalField(16, 2)).
MAX_AMOUNT = Decimal("99999999999999.99")


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if values.get("tier") not in Tier.values:
        errors["tier"] = "Choose high-touch, low-touch or tech-touch."
    values["industry"] = values.get("industry") or ""
    values["region"] = values.get("region") or ""
    if values["industry"] and values["industry"] not in Industry.values:
        errors["industry"] = f"Unknown industry {values['industry']!r}."
    if values["region"] and values["region"] not in Region.values:
        errors["region"] = f"Unknown region {values['region']!r}."
    low, high = values.get("min_arr"), values.get("max_arr")
    for name, amount in (("min_arr", low), ("max_arr", high)):
        if amount is not None and (not Decimal(amount).is_finite() or amount < 0 or amount > MAX_AMOUNT):
            errors[name] = "An amount is zero or more, with at most 14 digits before the point."
    if "max_arr" not in errors and high is not None and high <= 0:
        errors["max_arr"] = "“ARR below” must be more than zero."
    if not errors and low is not None and high is not None and high <= low:
        errors["max_arr"] = "“ARR below” must be more than “ARR at least”."
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def tier_rule_create(
    *,
    actor: User,
    tier: str,
    min_arr: Decimal | None = None,
    max_arr: Decimal | None = None,
    industry: str = "",
    region: str = "",
) -> TierRule:
    """A new rule, read after the existing ones (move it up to make it win earlier)."""
    values = _clean({"tier": tier, "min_arr": min_arr, "max_arr": max_arr, "industry": industry, "region": region})
    # Lock the rules (an aggregate cannot be locked) so two new rules never take the same position.
    last = max(TierRule.objects.select_for_update().values_list("position", flat=True), default=0)
    rule = TierRule(position=last + 1, created_by=actor, **values)
    rule.full_clean()
    rule.save()
    audit_record(
        actor=actor,
        action=AuditAction.TIER_RULE_CREATED,
        subject=rule,
        changes={"position": (None, rule.position), **{name: (None, values[name]) for name in RULE_FIELDS}},
    )
    return rule


@transaction.atomic
def tier_rule_update(*, actor: User, rule: TierRule, **fields: Any) -> TierRule:
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    rule = TierRule.objects.select_for_update().get(pk=rule.pk)
    values = _clean({name: fields.get(name, getattr(rule, name)) for name in RULE_FIELDS})
    changes = {name: (getattr(rule, name), values[name]) for name in RULE_FIELDS if getattr(rule, name) != values[name]}
    if not changes:
        return rule
    for name, (_, new) in changes.items():
        setattr(rule, name, new)
    rule.full_clean()
    rule.save(update_fields=[*changes, "updated_at"])
    audit_record(actor=actor, action=AuditAction.TIER_RULE_UPDATED, subject=rule, changes=changes)
    return rule


def _renumber(ordered_ids: Sequence[int]) -> None:
    """Give the rules positions 1, 2, ... in this order: two UPDATEs whatever their number."""
    TierRule.objects.update(position=F("position") + RENUMBER_OFFSET)
    rules = [TierRule(pk=pk, position=index) for index, pk in enumerate(ordered_ids, start=1)]
    TierRule.objects.bulk_update(rules, ["position"])


@transaction.atomic
def tier_rule_delete(*, actor: User, rule: TierRule) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.TIER_RULE_DELETED,
        subject=rule,
        changes={"position": (rule.position, None), **{name: (getattr(rule, name), None) for name in RULE_FIELDS}},
    )
    rule.delete()
    _renumber(list(TierRule.objects.select_for_update().in_order().values_list("pk", flat=True)))


@transaction.atomic
def tier_rules_reorder(*, actor: User, rule_ids: Sequence[int]) -> list[TierRule]:
    """Read the rules in the order of `rule_ids`, which names every rule once."""
    current = list(TierRule.objects.select_for_update().in_order().values_list("pk", flat=True))
    wanted = [int(pk) for pk in rule_ids]
    if sorted(wanted) != sorted(current) or len(set(wanted)) != len(wanted):
        raise ValidationError({"order": "Name every tier rule exactly once."})
    if wanted != current:
        _renumber(wanted)
        first = TierRule(pk=wanted[0])
        audit_record(
            actor=actor, action=AuditAction.TIER_RULES_REORDERED, subject=first, changes={"order": (current, wanted)}
        )
    return tier_rules()


@transaction.atomic
def tier_rule_move(*, actor: User, rule: TierRule, up: bool) -> list[TierRule]:
    """Swap a rule with the one before it (`up`) or after it; at either end nothing moves."""
    order = list(TierRule.objects.select_for_update().in_order().values_list("pk", flat=True))
    index = order.index(rule.pk)
    other = index - 1 if up else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
    return tier_rules_reorder(actor=actor, rule_ids=order)


@dataclass(frozen=True)
class TierMove:
    from_tier: str
    to_tier: str
    count: int

    @property
    def from_label(self) -> str:
        return Tier(self.from_tier).label

    @property
    def to_label(self) -> str:
        return Tier(self.to_tier).label


@dataclass
class TierPreview:
    """What applying the rules now would do: who moves (from → to), and who they cannot place.

    `accounts` and `no_rate_accounts` are unevaluated querysets, largest converted ARR first,
    annotated with `rule_tier` and `rule_id`: a page slices them.
    """

    rules: list[TierRule]
    moves: list[TierMove]
    no_rate: int
    manual: int
    accounts: QuerySet[Account]
    no_rate_accounts: QuerySet[Account]
    currency: str = field(default_factory=reporting_currency)

    @property
    def moving(self) -> int:
        return sum(move.count for move in self.moves)

    def rule(self, rule_id: int | None) -> TierRule | None:
        return next((rule for rule in self.rules if rule.pk == rule_id), None)

    @staticmethod
    def to_tier(account: Account) -> str | None:
        """The tier the rules give an account of `accounts` (NO_RATE for one of `no_rate_accounts`)."""
        return getattr(account, "rule_tier", None)

    def to_label(self, account: Account) -> str:
        tier = self.to_tier(account)
        return Tier(tier).label if tier in Tier.values else ""

    def reason(self, account: Account) -> str:
        """Why the rules move `account` (annotated by the preview's querysets)."""
        rule = self.rule(getattr(account, "rule_id", None))
        if rule is None:
            return ""
        if self.to_tier(account) == NO_RATE:
            return f"Rule {rule.position} compares ARR; no exchange rate for {account.currency}"
        return f"Rule {rule.position}: {rule.conditions_text(self.currency)}"


def _moving(rules: Sequence[TierRule]) -> QuerySet[Any]:
    return (
        with_rule_tier(ruled(), rules)
        .filter(Q(rule_tier__isnull=False))
        .exclude(Q(rule_tier=NO_RATE) | Q(rule_tier=F("tier")))
    )


def tiers_preview(*, rules: Sequence[TierRule] | None = None) -> TierPreview:
    """The accounts the rules would move and those they cannot place: three aggregate queries and the rules'."""
    rules = tier_rules() if rules is None else list(rules)
    moves = [
        TierMove(from_tier=row["tier"], to_tier=row["rule_tier"], count=row["count"])
        for row in _moving(rules).order_by().values("tier", "rule_tier").annotate(count=Count("pk"))
    ]
    moves.sort(key=lambda move: (Tier.values.index(move.from_tier), Tier.values.index(move.to_tier)))
    no_rate_accounts = with_rule_tier(ruled(), rules).filter(Q(rule_tier=NO_RATE))
    order = (F("arr_reporting").desc(nulls_last=True), "pk")
    return TierPreview(
        rules=rules,
        moves=moves,
        no_rate=no_rate_accounts.count() if rules else 0,
        manual=Account.objects.filter(tier_source=TierSource.MANUAL).count(),
        accounts=_moving(rules).select_related("owner", "pool").order_by(*order),
        no_rate_accounts=no_rate_accounts.select_related("owner", "pool").order_by("currency", "-arr", "pk"),
    )


@dataclass(frozen=True)
class TierApply:
    moved: int
    no_rate: int
    moves: list[TierMove]


@transaction.atomic
def tiers_apply(*, actor: User, expected: int | None = None) -> TierApply:
    """Move every account the rules place in another tier, as the preview showed; accounts set by hand stay.

    `expected` is the number of accounts the preview showed: when the book changed since, nothing
    moves and the caller is told to look again. Fixed queries whatever the number of accounts:
    the history and audit records are written with INSERT ... SELECT (sql.py), then the tiers
    with one UPDATE, all three reading the same CASE the preview read.
    """
    rules = list(TierRule.objects.select_for_update().in_order())
    # Only what the caller is told comes back: the ids for the event, and each move for the counts.
    rows = list(_moving(rules).select_for_update(of=("self",)).order_by("pk").values_list("pk", "tier", "rule_tier"))
    if expected is not None and expected != len(rows):
        raise ValidationError(
            {
                "expected": f"The rules now move {counted(len(rows), 'account', grouped=True)}, not {expected:,}: "
                "look at the preview again."
            }
        )
    no_rate = with_rule_tier(ruled(), rules).filter(Q(rule_tier=NO_RATE)).count() if rules else 0
    if not rows:
        return TierApply(moved=0, no_rate=no_rate, moves=[])
    now = timezone.now()
    ids = [row[0] for row in rows]
    moving = sql.locked_only(_moving(rules), ids)
    currency = reporting_currency()
    sql.moves_record(
        moving,
        now=now,
        actor_id=actor.pk,
        actor_name=display_name(actor),
        reasons={rule.pk: f"Rule {rule.position}: {rule.conditions_text(currency)}" for rule in rules},
    )
    # Last: the records above read each account's tier before the move.
    moving.update(tier=rule_tier_expression(rules), updated_at=now)
    events.announce(AccountsChanged(account_ids=tuple(ids), fields=frozenset({"tier"})))
    # Counted from the locked rows rather than by another GROUP BY over the book: the same accounts, one pass fewer.
    counts = Counter((old, new) for _, old, new in rows)
    moves = [TierMove(from_tier=old, to_tier=new, count=count) for (old, new), count in sorted(counts.items())]
    return TierApply(moved=len(rows), no_rate=no_rate, moves=moves)
