"""Filters on health: the account filter with band and score (the account lists, the account API and bulk
handover filter by it), and the date range of an account's snapshots."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from accounts.filters import AccountFilter
from lifecycle.health.models import Band, HealthScore

NOT_SCORED = "none"


class AccountHealthFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        low, high = cleaned.get("score_min"), cleaned.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", "The highest score cannot be below the lowest.")
        return cleaned


class AccountHealthFilter(AccountFilter):
    """AccountFilter with `band` and a score range: health lives in lifecycle, above accounts, so it is added here.

    A score range leaves out accounts without a score (never scored, or no measure had data).
    """

    band = django_filters.MultipleChoiceFilter(
        choices=[*Band.choices, (NOT_SCORED, "Not scored")], method="filter_band", label="Health"
    )
    # The form's DecimalField answers "Enter a number." or names the bound; NaN and infinity are refused too.
    score_min = django_filters.NumberFilter(
        field_name="health__score", lookup_expr="gte", min_value=0, max_value=100, label="Score at least"
    )
    score_max = django_filters.NumberFilter(
        field_name="health__score", lookup_expr="lte", min_value=0, max_value=100, label="Score at most"
    )

    class Meta(AccountFilter.Meta):
        form = AccountHealthFilterForm
        # Health right after stage, as the pages have always shown it.
        fields = [
            "q",
            "stage",
            "band",
            "score_min",
            "score_max",
            "tier",
            "industry",
            "region",
            "renewal_within",
            "owner",
            "pool",
        ]

    def filter_band(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        bands = [band for band in value if band != NOT_SCORED]
        condition = Q(health__band__in=bands)
        if NOT_SCORED in value:
            condition |= Q(health__isnull=True) | Q(health__band="")
        return queryset.filter(condition)


class HealthScoreFilter(django_filters.FilterSet):
    """An account's snapshots between two days, both included."""

    since = django_filters.DateFilter(field_name="day", lookup_expr="gte", label="From this day (YYYY-MM-DD)")
    until = django_filters.DateFilter(field_name="day", lookup_expr="lte", label="Up to this day (YYYY-MM-DD)")

    class Meta:
        model = HealthScore
        fields = ["since", "until"]
