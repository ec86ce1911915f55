"""Admin for alert rules (configuration, with params checked), red flags (read-mostly history) and flood warnings."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from lifecycle.flags.models import FloodWarning
from lifecycle.flags.rules import DEFAULT_PARAMS, validate_params
from lifecycle.models import AlertRule, RedFlag


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind:
            try:
                validate_params(kind, cleaned.get("params") or {})
            except ValidationError as error:
                self.add_error("params", error.message_dict.get("params") or error.messages)
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ["name", "kind", "severity", "tier", "stage", "active", "params", "updated_at"]
    list_filter = ["active", "kind", "severity", "tier", "stage"]
    list_editable = ["active"]
    search_fields = ["name"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        defaults = "; ".join(f"{kind}: {params or '{}'}" for kind, params in DEFAULT_PARAMS.items())
        form.base_fields["params"].help_text = f"Only what differs from the defaults. Defaults — {defaults}"
        return form

    def has_delete_permission(self, request, obj=None) -> bool:
        # A rule's flags and flood warnings go with it (CASCADE): retire a rule that fired by unticking "active".
        return obj is None or not (obj.flags.exists() or obj.flood_warnings.exists())


@admin.register(RedFlag)
class RedFlagAdmin(admin.ModelAdmin):
    list_display = [
        "raised_at",
        "account",
        "rule",
        "severity",
        "status",
        "owner",
        "snoozed_until",
        "resolved_at",
        "cleared_at",
    ]
    list_filter = ["status", "severity", "rule"]
    list_select_related = ["account", "rule", "owner"]
    search_fields = ["account__name", "reason"]
    date_hierarchy = "raised_at"
    show_full_result_count = False
    readonly_fields = [f.name for f in RedFlag._meta.fields]

    # Flags change only through the workflow (inbox, API), which records who did what on the timeline.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FloodWarning)
class FloodWarningAdmin(admin.ModelAdmin):
    """Read-only: written by the nightly run, acknowledged on the alerts inbox; the flood share is set on its page."""

    list_display = ["day", "rule", "fired", "book_size", "share", "limit", "acknowledged_at", "acknowledged_by"]
    list_filter = ["rule"]
    list_select_related = ["rule", "acknowledged_by"]
    date_hierarchy = "day"
    readonly_fields = [f.name for f in FloodWarning._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
