"""One FilterSet per model, shared by the manager board and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.filters import IdFilter
from users.models import User

from .models import (
    ACTIVE_STATUSES,
    PlaybookKind,
    TaskStatus,
    Transition,
    TransitionReason,
    TransitionStatus,
    TransitionTask,
)

STATUS_CHOICES = [("active", "Active"), *TransitionStatus.choices]


def _people():
    return User.objects.filter(role__in=[User.Role.CSM, User.Role.MANAGER])


class TransitionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Account")
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", empty_label="Any status")
    kind = django_filters.ChoiceFilter(choices=PlaybookKind.choices, empty_label="Any kind")
    reason = django_filters.ChoiceFilter(choices=TransitionReason.choices, empty_label="Any reason")
    from_csm = django_filters.ModelChoiceFilter(queryset=_people(), label="Outgoing CSM", empty_label="Anyone")
    to_csm = django_filters.ModelChoiceFilter(queryset=_people(), label="Incoming CSM", empty_label="Anyone")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="With overdue tasks")
    bulk = IdFilter(field_name="bulk_id", label="Bulk handover")

    class Meta:
        model = Transition
        fields = [
            "q",
            "status",
            "kind",
            "reason",
            "from_csm",
            "to_csm",
            "overdue",
            "bulk",
            "account",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for form_field in self.form.fields.values():
            is_select = hasattr(form_field, "choices")
            form_field.widget.attrs.setdefault(
                "class",
                "form-select form-select-sm" if is_select else "form-control form-control-sm",
            )
        self.form.fields["overdue"].widget.choices = [
            ("unknown", "Any"),
            ("true", "Yes"),
            ("false", "No"),
        ]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(account__name__icontains=value) if value else queryset

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "active":
            return queryset.filter(status__in=ACTIVE_STATUSES)
        return queryset.filter(status=value) if value else queryset

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = Q(tasks__status=TaskStatus.OPEN, tasks__due_date__lt=timezone.localdate())
        matching = Transition.objects.filter(overdue).values("pk")
        return queryset.filter(pk__in=matching) if value else queryset.exclude(pk__in=matching)


class TransitionTaskFilter(django_filters.FilterSet):
    mine = django_filters.BooleanFilter(method="filter_mine", label="Assigned to me")
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)

    class Meta:
        model = TransitionTask
        fields = ["transition", "status", "assignee", "mine"]

    def filter_mine(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value:
            return queryset.filter(assignee=self.request.user)
        return queryset
