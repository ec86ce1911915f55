"""The red-flag FilterSet, shared by the alerts inbox and the API; the flood warnings' for the API."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Tier
from core.filters import IdFilter
from lifecycle.flags.models import FloodWarning
from lifecycle.models import UNRESOLVED, AlertRule, FlagStatus, RedFlag, Severity

NEEDING_ACTION = "action"
STATUS_CHOICES = [
    (NEEDING_ACTION, "Needing action"),
    *FlagStatus.choices,
    ("unresolved", "All unresolved"),
    ("any", "Any status"),
]


class RedFlagFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", empty_label=None)
    rule = django_filters.ModelChoiceFilter(queryset=AlertRule.objects.all(), empty_label="Any rule")
    severity = django_filters.ChoiceFilter(choices=Severity.choices, empty_label="Any severity")
    tier = django_filters.ChoiceFilter(field_name="account__tier", choices=Tier.choices, empty_label="Any tier")
    account = IdFilter(field_name="account_id")
    owner = IdFilter(field_name="owner_id")

    class Meta:
        model = RedFlag
        fields = ["status", "rule", "severity", "tier", "account", "owner"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for form_field in self.form.fields.values():
            is_select = hasattr(form_field, "choices")
            form_field.widget.attrs.setdefault(
                "class", "form-select form-select-sm" if is_select else "form-control form-control-sm"
            )

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == NEEDING_ACTION:
            return queryset.needing_action(at=timezone.now())
        if value == "unresolved":
            return queryset.filter(status__in=UNRESOLVED)
        if value == "any":
            return queryset
        return queryset.filter(status=value)


class FloodWarningFilter(django_filters.FilterSet):
    acknowledged = django_filters.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", exclude=True, label="Acknowledged"
    )

    class Meta:
        model = FloodWarning
        fields = ["rule", "day", "acknowledged"]
