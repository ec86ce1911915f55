from django.contrib import admin

from .models import BulkHandover, HandoverPolicy, OutboundEmail, Playbook, Transition


@admin.register(HandoverPolicy)
class HandoverPolicyAdmin(admin.ModelAdmin):
    list_display = ["work_follows_owner", "updated_at"]

    def has_add_permission(self, request):
        return not HandoverPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    """Read-only here: playbooks are edited on their own page so every edit bumps the version."""

    list_display = ["name", "kind", "version", "is_default", "archived"]
    readonly_fields = [f.name for f in Playbook._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Transition)
class TransitionAdmin(admin.ModelAdmin):
    list_display = ["account", "kind", "from_csm", "to_csm", "status", "target_date"]
    list_filter = ["status", "kind", "reason"]
    list_select_related = ["account", "from_csm", "to_csm"]
    raw_id_fields = ["account", "from_csm", "to_csm", "bulk", "created_by", "playbook"]
    readonly_fields = ["status", "completed_at", "cancelled_at"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = [
        "subject",
        "to_email",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status"]
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]


@admin.register(BulkHandover)
class BulkHandoverAdmin(admin.ModelAdmin):
    list_display = ["pk", "created_by", "total", "processed", "status", "created_at"]
    readonly_fields = [f.name for f in BulkHandover._meta.fields]
