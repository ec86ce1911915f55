from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Industry, Region, Tier


class TierRuleQuerySet(models.QuerySet):
    def in_order(self) -> TierRuleQuerySet:
        return self.order_by("position", "pk")


class TierRule(models.Model):
    """One line of the tier rules: accounts matching every condition given are served in `tier`.

    Rules are read in `position` order and the first that matches an account wins. ARR is the
    account's ARR in the reporting currency (`Account.arr_reporting`): at least `min_arr` and
    below `max_arr`; a blank condition matches every account.
    """

    position = models.PositiveIntegerField()
    tier = models.CharField(max_length=8, choices=Tier.choices)
    min_arr = models.DecimalField(
        "ARR at least", max_digits=16, decimal_places=2, null=True, blank=True, help_text="In the reporting currency."
    )
    max_arr = models.DecimalField(
        "ARR below", max_digits=16, decimal_places=2, null=True, blank=True, help_text="In the reporting currency."
    )
    industry = models.CharField(max_length=32, choices=Industry.choices, blank=True, help_text="Blank: any industry.")
    region = models.CharField(max_length=16, choices=Region.choices, blank=True, help_text="Blank: any region.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TierRuleQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["position"], name="tier_rule_unique_position"),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="tier_rule_tier_valid"),
            models.CheckConstraint(
                condition=Q(industry="") | Q(industry__in=Industry.values), name="tier_rule_industry_valid"
            ),
            models.CheckConstraint(condition=Q(region="") | Q(region__in=Region.values), name="tier_rule_region_valid"),
            models.CheckConstraint(
                condition=Q(min_arr__isnull=True) | Q(min_arr__gte=0), name="tier_rule_min_not_negative"
            ),
            models.CheckConstraint(condition=Q(max_arr__isnull=True) | Q(max_arr__gt=0), name="tier_rule_max_positive"),
            # "At least min and below max" matches nothing unless min < max.
            models.CheckConstraint(
                condition=Q(min_arr__isnull=True) | Q(max_arr__isnull=True) | Q(max_arr__gt=F("min_arr")),
                name="tier_rule_min_below_max",
                violation_error_message="“ARR below” must be more than “ARR at least”.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_tier_display()} when {self.conditions_text()}"

    @property
    def compares_arr(self) -> bool:
        return self.min_arr is not None or self.max_arr is not None

    def conditions_text(self, currency: str = "") -> str:
        """The conditions in words, e.g. "ARR at least 100,000 USD, region EMEA"."""
        unit = f" {currency}" if currency else ""
        parts = []
        if self.min_arr is not None and self.max_arr is not None:
            parts.append(f"ARR from {_money(self.min_arr)} to below {_money(self.max_arr)}{unit}")
        elif self.min_arr is not None:
            parts.append(f"ARR at least {_money(self.min_arr)}{unit}")
        elif self.max_arr is not None:
            parts.append(f"ARR below {_money(self.max_arr)}{unit}")
        if self.industry:
            parts.append(f"industry {self.get_industry_display()}")
        if self.region:
            parts.append(f"region {self.get_region_display()}")
        return ", ".join(parts) or "every account"


def _money(amount: Decimal) -> str:
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
