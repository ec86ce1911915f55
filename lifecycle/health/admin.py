"""Scorecards in the Django admin: a read-only list. They change through the scorecard pages or the API,
whose services version, validate and audit every change."""

from django.contrib import admin
from django.http import HttpRequest

from lifecycle.models import Measure, Scorecard


class MeasureInline(admin.TabularInline):
    model = Measure
    fields = ["kind", "weight", "zero_at", "full_at", "validity_days", "when_missing"]
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "status", "tier", "stage", "green_min", "yellow_min", "activated_at"]
    list_filter = ["status", "tier", "stage"]
    search_fields = ["name"]
    inlines = [MeasureInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
