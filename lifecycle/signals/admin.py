"""Admin for signals: check-in questions are configuration; the rest is read-mostly history."""

from __future__ import annotations

from django.contrib import admin

from lifecycle.models import (
    CheckIn,
    CheckInAnswer,
    CheckInQuestion,
    Invoice,
    PulseRating,
    SupportTicket,
    SurveyResponse,
    UsageDaily,
)


@admin.register(CheckInQuestion)
class CheckInQuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "key", "position", "active"]
    list_editable = ["position", "active"]
    prepopulated_fields = {"key": ["text"]}
    ordering = ["position", "pk"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Answers keep their question (PROTECT); retire a question by unticking "active".
        return obj is None or not obj.answers.exists()


class CheckInAnswerInline(admin.TabularInline):
    model = CheckInAnswer
    extra = 0
    readonly_fields = ["question", "concern", "comment"]
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class _SignalAdmin(admin.ModelAdmin):
    """Signals arrive through the API and CSV import; the admin is for looking, not typing."""

    list_select_related = ["account"]
    search_fields = ["account__name", "account__domain"]
    show_full_result_count = False  # counting millions of usage rows on every page is slow
    raw_id_fields = ["account"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CheckIn)
class CheckInAdmin(_SignalAdmin):
    list_display = ["held_at", "account", "conducted_by"]
    list_select_related = ["account", "conducted_by"]
    date_hierarchy = "held_at"
    inlines = [CheckInAnswerInline]
    readonly_fields = ["account", "held_at", "conducted_by", "timeline_entry"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a check-in is on the account's timeline and in its health history


@admin.register(PulseRating)
class PulseRatingAdmin(_SignalAdmin):
    list_display = ["rated_at", "account", "rating", "rated_by", "expires_at"]
    list_select_related = ["account", "rated_by"]
    list_filter = ["rating"]
    # A pulse is written by its service (who rated, when, until when); a new rating replaces it.
    readonly_fields = [f.name for f in PulseRating._meta.fields]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a pulse is in the account's health history


@admin.register(UsageDaily)
class UsageDailyAdmin(_SignalAdmin):
    list_display = ["day", "account", "active_users", "key_events", "licences_used", "licences_owned"]
    date_hierarchy = "day"


@admin.register(SupportTicket)
class SupportTicketAdmin(_SignalAdmin):
    list_display = ["external_id", "account", "severity", "opened_at", "closed_at", "subject"]
    list_filter = ["severity"]
    search_fields = [*_SignalAdmin.search_fields, "external_id", "subject"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(_SignalAdmin):
    list_display = ["responded_at", "account", "kind", "score", "comment"]
    list_filter = ["kind", "score"]
    raw_id_fields = ["account", "contact"]


@admin.register(Invoice)
class InvoiceAdmin(_SignalAdmin):
    list_display = ["issued_on", "external_id", "account", "amount", "currency"]
    search_fields = [*_SignalAdmin.search_fields, "external_id"]
