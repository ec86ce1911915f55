"""Accounts in the Django admin: read-only. Every change to an account, a contact or the timeline goes
through accounts.services (the pages and the API), which write the audit trail; nothing here deletes
history (accounts churn, contacts are archived, timeline entries stay)."""

from django.contrib import admin
from django.http import HttpRequest

from .models import Account, AuditEvent, Contact, Tag, TimelineEntry
from .outcomes import admin as outcomes_admin  # noqa: F401  (registers outcomes and account terms)
from .outcomes.admin import ReadOnlyAdmin


class ContactInline(admin.TabularInline):
    model = Contact
    fields = [
        "first_name",
        "last_name",
        "title",
        "email",
        "deal_role",
        "influence",
        "sentiment",
        "departed",
        "archived_at",
    ]
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    """Read-only: owner, coverage, stage, terms and tier change on the account's pages or through the API."""

    list_display = ["name", "tier", "stage", "arr", "currency", "renewal_date", "owner", "pool", "industry", "region"]
    list_filter = ["tier", "stage", "coverage", "industry", "region", "pool"]
    list_select_related = ["owner", "pool"]
    search_fields = ["name", "domain"]
    date_hierarchy = "renewal_date"
    inlines = [ContactInline]
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    """Read-only: contacts are edited, archived and restored on the Account 360 or through the API."""

    list_display = [
        "__str__",
        "account",
        "title",
        "deal_role",
        "influence",
        "sentiment",
        "last_verified_at",
        "departed",
        "archived_at",
    ]
    list_filter = ["deal_role", "influence", "sentiment", "departed", ("archived_at", admin.EmptyFieldListFilter)]
    list_select_related = ["account"]
    search_fields = ["first_name", "last_name", "email", "account__name"]
    show_full_result_count = False


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    """Read-only: the timeline is history, added to on the Account 360 or through the API."""

    list_display = ["occurred_at", "account", "kind", "channel", "risk_tag", "summary", "author"]
    list_filter = ["kind", "channel", "risk_tag"]
    list_select_related = ["account", "author"]
    search_fields = ["summary", "account__name"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the audit trail is written by services, never edited."""

    list_display = ["created_at", "action", "account", "actor_label", "subject_type", "subject_id", "reason"]
    list_filter = ["action", "subject_type"]
    list_select_related = ["account", "actor"]
    search_fields = ["account__name", "actor_name", "reason"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Actor")
    def actor_label(self, event: AuditEvent) -> str:
        return event.actor_label or "Baton"
