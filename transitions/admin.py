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

    def has_delete_permission(self, request, obj=None):
        return False  # runs name the playbook they follow; a playbook is archived on its page instead


@admin.register(Transition)
class TransitionAdmin(admin.ModelAdmin):
    """Read-only: handovers are started, re-targeted, confirmed and cancelled by transitions.services
    (the pages and the API), which write the audit trail; a wrong one is cancelled, not deleted."""

    list_display = ["account", "kind", "from_csm", "to_csm", "status", "target_date"]
    list_filter = ["status", "kind", "reason"]
    list_select_related = ["account", "from_csm", "to_csm"]
    readonly_fields = [f.name for f in Transition._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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

    def has_add_permission(self, request):
        # Customer emails are written from a handover step (transitions.services), never here: the add form had no
        # field to fill and saving it was a 500 (found by tests/test_permission_matrix.py).
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # what was sent to a customer, and when, is history


@admin.register(BulkHandover)
class BulkHandoverAdmin(admin.ModelAdmin):
    list_display = ["pk", "created_by", "total", "processed", "status", "created_at"]
    readonly_fields = [f.name for f in BulkHandover._meta.fields]

    def has_add_permission(self, request):
        # Bulk handovers are started on their page or the API (transitions.services.bulk), never here: the add form
        # had no field to fill and saving it was a 500 (found by tests/test_permission_matrix.py).
        return False

    def has_delete_permission(self, request, obj=None):
        return False
