from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "segment", "member_count"]
    search_fields = ["name", "segment"]

    @admin.display(description="Members")
    def member_count(self, team: Team) -> int:
        return team.members.count()


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role", "team", "is_active"]
    list_filter = ["role", "team", "is_active", "is_staff"]
    list_select_related = ["team"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Baton", {"fields": ["role", "team", "title"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        ("Baton", {"fields": ["first_name", "last_name", "email", "role", "team", "title"]}),
    ]
