"""One FilterSet per model, shared by the pages and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from accounts.models import Stage
from users.models import Team, User

from .models import Account, Contact, DealRole, Industry, Region, Tier, TimelineEntry, TimelineKind

RENEWAL_WINDOWS = [
    ("30", "Next 30 days"),
    ("60", "Next 60 days"),
    ("90", "Next 90 days"),
    ("180", "Next 180 days"),
    ("365", "Next 12 months"),
]


class AccountFilter(django_filters.FilterSet):
    """The account's own columns. The health band (lifecycle's) is added above: lifecycle.health.filters.AccountHealthFilter."""

    # distinct=False: these are plain columns, so no row can repeat; the
    # default DISTINCT made PostgreSQL sort and hash every column of every
    # matching account (a stage filter on a 40,000-account desk took ~100 ms).
    q = django_filters.CharFilter(method="filter_search", label="Search")
    stage = django_filters.MultipleChoiceFilter(choices=Stage.choices, distinct=False)
    tier = django_filters.MultipleChoiceFilter(choices=Tier.choices, distinct=False)
    industry = django_filters.MultipleChoiceFilter(choices=Industry.choices, distinct=False)
    region = django_filters.MultipleChoiceFilter(choices=Region.choices, distinct=False)
    renewal_within = django_filters.ChoiceFilter(
        choices=RENEWAL_WINDOWS, method="filter_renewal_within", label="Renewal", empty_label="Any time"
    )
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.filter(is_active=True), empty_label="Anyone")
    pool = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), empty_label="Any team")

    class Meta:
        model = Account
        fields = ["q", "stage", "tier", "industry", "region", "renewal_within", "owner", "pool"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Short option lists read better as checkboxes than as a multi-select needing Ctrl-click.
        for form_field in self.form.fields.values():
            if isinstance(form_field.widget, forms.SelectMultiple):
                form_field.widget = forms.CheckboxSelectMultiple(
                    choices=form_field.choices, attrs={"class": "form-check-input"}
                )
            elif hasattr(form_field, "choices"):
                form_field.widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                form_field.widget.attrs.setdefault("class", "form-control form-control-sm")

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(domain__icontains=value))

    def filter_renewal_within(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.renewing_within(int(value))


class ContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    deal_role = django_filters.MultipleChoiceFilter(choices=DealRole.choices)
    # Left out, a list shows the contacts not archived (accounts.api.views.ContactViewSet.filter_queryset).
    archived = django_filters.ChoiceFilter(
        choices=[("true", "Only archived contacts"), ("false", "Only contacts not archived")],
        method="filter_archived",
        label="Archived",
    )

    class Meta:
        model = Contact
        fields = ["account", "q", "deal_role", "departed"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(first_name__icontains=value) | Q(last_name__icontains=value) | Q(email__icontains=value)
        )

    def filter_archived(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(archived_at__isnull=value != "true")


class TimelineEntryFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=TimelineKind.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = TimelineEntry
        fields = ["account", "kind", "channel", "occurred_after", "occurred_before"]
