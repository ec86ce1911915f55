"""Token lists for the pages: each one query, whatever the number of tokens."""

from __future__ import annotations

from users.models import User

from .models import ApiToken, ApiTokenQuerySet, TokenKind


def integration_tokens() -> ApiTokenQuerySet:
    return ApiToken.objects.integrations().select_related("created_by", "revoked_by").order_by("revoked_at", "name")


def personal_tokens(user: User) -> ApiTokenQuerySet:
    return ApiToken.objects.personal_of(user).select_related("revoked_by").order_by("revoked_at", "name")


def everyones_live_personal_tokens() -> ApiTokenQuerySet:
    """For admins, to stop a leaked one."""
    return (
        ApiToken.objects.filter(kind=TokenKind.PERSONAL, revoked_at__isnull=True)
        .select_related("user")
        .order_by("user__username", "name")
    )
