from django.contrib import admin

from .models import Achievement, Objective, SuccessPlan


class ObjectiveInline(admin.TabularInline):
    model = Objective
    extra = 0


@admin.register(SuccessPlan)
class SuccessPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "scope", "status"]
    raw_id_fields = ["account"]
    inlines = [ObjectiveInline]


admin.site.register(Achievement)
