"""The entitlement list's filters, for the API (and any page that lists entitlements)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import QuerySet

from accounts.models import Account, Entitlement

from .selectors import in_force_q
from .services import product_key_normalise


class EntitlementFilter(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.all())
    product = django_filters.CharFilter(method="filter_product", help_text="The product's key, or its id.")
    in_force_on = django_filters.DateFilter(
        method="filter_in_force_on", help_text="Only entitlements in force on this day (YYYY-MM-DD)."
    )

    class Meta:
        model = Entitlement
        fields = ["account", "product", "in_force_on"]

    def filter_product(self, queryset: QuerySet[Entitlement], name: str, value: str) -> QuerySet[Entitlement]:
        value = value.strip()
        if value.isdigit() and len(value) < 19:  # an id fits in a 64-bit integer
            return queryset.filter(product_id=int(value))
        return queryset.filter(product__key=product_key_normalise(value))

    def filter_in_force_on(
        self, queryset: QuerySet[Entitlement], name: str, value: dt.date | None
    ) -> QuerySet[Entitlement]:
        return queryset if value is None else queryset.filter(in_force_q(value))
