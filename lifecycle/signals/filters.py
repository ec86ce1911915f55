"""One FilterSet per signal model, shared by the API lists and the CSV export.

Every list filters by `account` and by a date window, `since` and `until`
(inclusive days), applied to the signal's own date: the usage day, the
ticket's opening, the survey response, the invoice date.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from lifecycle.models import (
    Invoice,
    ProductUsageDaily,
    SupportTicket,
    SurveyKind,
    SurveyResponse,
    TicketSeverity,
    UsageDaily,
)


class _SignalFilter(django_filters.FilterSet):
    date_field = ""  # the model's date or datetime field the window applies to

    since = django_filters.DateFilter(method="filter_since", label="On or after (YYYY-MM-DD)")
    until = django_filters.DateFilter(method="filter_until", label="On or before (YYYY-MM-DD)")

    def _is_datetime(self) -> bool:
        return self._meta.model._meta.get_field(self.date_field).get_internal_type() == "DateTimeField"

    def _start_of(self, day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time()))

    def filter_since(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        bound = self._start_of(value) if self._is_datetime() else value
        return queryset.filter(**{f"{self.date_field}__gte": bound})

    def filter_until(self, queryset: QuerySet, name: str, value: dt.date) -> QuerySet:
        # Datetimes: strictly before the next midnight, so the whole last day counts and the index is used.
        if self._is_datetime():
            return queryset.filter(**{f"{self.date_field}__lt": self._start_of(value + dt.timedelta(days=1))})
        return queryset.filter(**{f"{self.date_field}__lte": value})


class UsageDailyFilter(_SignalFilter):
    date_field = "day"

    class Meta:
        model = UsageDaily
        fields = ["account", "since", "until"]


class ProductUsageDailyFilter(_SignalFilter):
    """The per-product rows of a usage export, under the same filter as the whole-account rows."""

    date_field = "day"

    class Meta:
        model = ProductUsageDaily
        fields = ["account", "since", "until"]


class SupportTicketFilter(_SignalFilter):
    date_field = "opened_at"
    severity = django_filters.MultipleChoiceFilter(choices=TicketSeverity.choices)
    open = django_filters.BooleanFilter(field_name="closed_at", lookup_expr="isnull", label="Still open")

    class Meta:
        model = SupportTicket
        fields = ["account", "since", "until", "severity", "open", "external_id"]


class SurveyResponseFilter(_SignalFilter):
    date_field = "responded_at"
    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices)

    class Meta:
        model = SurveyResponse
        fields = ["account", "since", "until", "kind", "external_id"]


class InvoiceFilter(_SignalFilter):
    date_field = "issued_on"

    class Meta:
        model = Invoice
        fields = ["account", "since", "until", "external_id"]


FILTERS: dict[str, type[_SignalFilter]] = {
    "usage": UsageDailyFilter,
    "tickets": SupportTicketFilter,
    "surveys": SurveyResponseFilter,
    "invoices": InvoiceFilter,
}
