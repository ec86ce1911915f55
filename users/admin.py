from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from core.net import UnsafeURL, check_url

from . import services
from .models import ApiToken, Team, User, UserEvent


class TeamAdminForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = "__all__"

    def clean_chat_webhook_url(self) -> str:
        # The same rule as the API's: the chat URL goes to public addresses only, unless the install allows private.
        url = self.cleaned_data.get("chat_webhook_url", "")
        if url:
            try:
                check_url(url)
            except UnsafeURL as error:
                raise forms.ValidationError(str(error)) from error
        return url


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamAdminForm
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
    # People are deactivated, never deleted: their names stay on what they did, their book waits for a handover.
    readonly_fields = ["is_active", "last_login", "date_joined"]
    actions = ["deactivate", "reactivate"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def _each(self, request: HttpRequest, users: QuerySet[User], change, verb: str) -> None:
        done, refused = 0, []
        for user in users.order_by("pk"):
            try:
                change(actor=request.user, user=user, reason=f"{verb} in the admin by {request.user}")
            except (PermissionDenied, ValidationError) as error:
                refused.append(f"{user}: {' '.join(getattr(error, 'messages', [str(error)]))}")
            else:
                done += 1
        messages.success(request, f"{verb}: {done}.")
        for line in refused:
            messages.error(request, line)

    @admin.action(description="Deactivate the selected people (tokens revoked; hand their accounts over)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, services.user_deactivate, "Deactivated")

    @admin.action(description="Reactivate the selected people")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, services.user_reactivate, "Reactivated")


@admin.register(UserEvent)
class UserEventAdmin(admin.ModelAdmin):
    """Read-only: written by users.services when someone is deactivated or reactivated."""

    list_display = ["created_at", "action", "user_name", "actor_name", "reason"]
    list_filter = ["action"]
    search_fields = ["user_name", "actor_name", "reason"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# Legacy keys (`Token <40 hex>`) keep working until replaced by scoped tokens, but no new ones are made here:
# tokens are created on /settings/tokens/ and /me/tokens/. Deleting one here still stops it.
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class LegacyTokenAdmin(TokenAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens are made, rotated and revoked by users.tokens.services, which keep their history."""

    list_display = ["name", "kind", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["kind"]
    search_fields = ["name", "prefix"]
    list_select_related = ["user"]
    exclude = ["secret_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
