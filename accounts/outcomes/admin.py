"""Outcomes and the dated account terms in the admin: read-only lists, as both are history written by services."""

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import AccountTerms

from .models import Outcome


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Outcome)
class OutcomeAdmin(ReadOnlyAdmin):
    """Read-only: a wrong outcome is corrected by recording a new one that names it (Account 360 or API)."""

    list_display = [
        "occurred_on",
        "account",
        "kind",
        "arr_before",
        "arr_after",
        "currency",
        "reason",
        "term_start",
        "term_end",
        "corrects",
        "source",
        "recorded_by",
        "recorded_at",
    ]
    list_filter = ["kind", "reason", "source"]
    list_select_related = ["account", "recorded_by", "corrects"]
    search_fields = ["account__name", "note"]
    date_hierarchy = "occurred_on"
    show_full_result_count = False


@admin.register(AccountTerms)
class AccountTermsAdmin(ReadOnlyAdmin):
    """Read-only: written by the services that create an account or change its terms."""

    list_display = ["effective_at", "account", "arr", "currency", "tier", "contract_start", "renewal_date", "source"]
    list_filter = ["source", "tier"]
    list_select_related = ["account"]
    search_fields = ["account__name"]
    date_hierarchy = "effective_at"
    show_full_result_count = False
