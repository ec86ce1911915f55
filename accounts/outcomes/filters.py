"""The outcome list's filters, for the API (and any page that lists outcomes)."""

from __future__ import annotations

import django_filters

from accounts.models import Account

from .models import Movement, Outcome, OutcomeKind, OutcomeQuerySet, OutcomeSource


class OutcomeFilter(django_filters.FilterSet):
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.all())
    kind = django_filters.MultipleChoiceFilter(choices=OutcomeKind.choices, distinct=False)
    movement = django_filters.MultipleChoiceFilter(
        choices=Movement.choices, method="filter_movement", help_text="How the ARR moved (derived)."
    )
    source = django_filters.MultipleChoiceFilter(choices=OutcomeSource.choices, distinct=False)
    occurred_after = django_filters.DateFilter(
        field_name="occurred_on", lookup_expr="gte", help_text="On or after this day (YYYY-MM-DD)."
    )
    occurred_before = django_filters.DateFilter(
        field_name="occurred_on", lookup_expr="lt", help_text="Before this day (YYYY-MM-DD)."
    )
    effective = django_filters.BooleanFilter(
        method="filter_effective",
        help_text="true: only what counts, after corrections; false: only outcomes a later one corrects.",
    )

    class Meta:
        model = Outcome
        fields = ["account", "kind", "movement", "source", "occurred_after", "occurred_before", "effective"]

    def filter_movement(self, queryset: OutcomeQuerySet, name: str, value: list[str]) -> OutcomeQuerySet:
        if not value:
            return queryset
        return queryset.with_movement().filter(arr_movement__in=value)

    def filter_effective(self, queryset: OutcomeQuerySet, name: str, value: bool | None) -> OutcomeQuerySet:
        if value is None:
            return queryset
        effective = queryset.effective()
        return effective if value else queryset.exclude(pk__in=effective.values("pk"))
