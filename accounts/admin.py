from django.contrib import admin

from .models import Account, AuditEvent, Contact, Tag, TimelineEntry
from .outcomes import admin as outcomes_admin  # noqa: F401  (registers outcomes and account terms)


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["first_name", "last_name", "title", "email", "deal_role", "influence", "sentiment", "departed"]
    extra = 0
    show_change_link = True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "tier", "stage", "arr", "currency", "renewal_date", "owner", "pool", "industry", "region"]
    list_filter = ["tier", "stage", "coverage", "industry", "region", "pool"]
    list_select_related = ["owner", "pool"]
    search_fields = ["name", "domain"]
    date_hierarchy = "renewal_date"
    autocomplete_fields = ["owner"]
    filter_horizontal = ["tags"]
    readonly_fields = ["stage", "stage_entered_at", "created_at", "updated_at"]
    inlines = [ContactInline]
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "account",
        "title",
        "deal_role",
        "influence",
        "sentiment",
        "last_verified_at",
        "departed",
    ]
    list_filter = ["deal_role", "influence", "sentiment", "departed"]
    list_select_related = ["account"]
    search_fields = ["first_name", "last_name", "email", "account__name"]
    raw_id_fields = ["account", "reports_to"]
    show_full_result_count = False


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "account", "kind", "channel", "risk_tag", "summary", "author"]
    list_filter = ["kind", "channel", "risk_tag"]
    list_select_related = ["account", "author"]
    search_fields = ["summary", "account__name"]
    raw_id_fields = ["account", "participants"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is written by services, never edited."""

    list_display = ["created_at", "action", "account", "actor", "subject_type", "subject_id", "reason"]
    list_filter = ["action", "subject_type"]
    list_select_related = ["account", "actor"]
    search_fields = ["account__name", "reason"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
