"""The account filter with the health band: what the account lists, the account API and bulk handover filter by."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from accounts.filters import AccountFilter
from lifecycle.health.models import Band

NOT_SCORED = "none"


class AccountHealthFilter(AccountFilter):
    """AccountFilter with `band`: health lives in lifecycle, above accounts, so the band filter is added here."""

    band = django_filters.MultipleChoiceFilter(
        choices=[*Band.choices, (NOT_SCORED, "Not scored")], method="filter_band", label="Health"
    )

    class Meta(AccountFilter.Meta):
        # Health right after stage, as the pages have always shown it.
        fields = ["q", "stage", "band", "tier", "industry", "region", "renewal_within", "owner", "pool"]

    def filter_band(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        bands = [band for band in value if band != NOT_SCORED]
        condition = Q(health__band__in=bands)
        if NOT_SCORED in value:
            condition |= Q(health__isnull=True) | Q(health__band="")
        return queryset.filter(condition)
