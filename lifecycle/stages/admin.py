from django.contrib import admin

from lifecycle.stages.models import StageChange


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "account", "from_stage", "to_stage", "changed_by", "reason"]
    list_filter = ["to_stage", "from_stage"]
    list_select_related = ["account", "changed_by"]
    search_fields = ["account__name"]
    date_hierarchy = "changed_at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
