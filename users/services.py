"""People leave by deactivation, never deletion: their names stay on the history they wrote.

A deactivated person cannot sign in (Django refuses inactive users, their open sessions included), their
API tokens are revoked, and their accounts stay theirs until handed over: the manager sees them on the
handover board and moves them with a handover, which keeps the customer's story. Nothing is reassigned
silently here.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from users.models import User, UserAction, UserEvent, display_name
from users.permissions import can_deactivate_user
from users.tokens.models import ApiToken, TokenAction, TokenEvent

REASON_MIN_LENGTH = 3


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise ValidationError({"reason": f"Say why (at least {REASON_MIN_LENGTH} characters): it is kept on record."})
    return reason


@transaction.atomic
def user_deactivate(*, actor: User, user: User, reason: str) -> User:
    """Switch a person off: no sign-in, every token of theirs revoked, recorded with why; idempotent."""
    if not can_deactivate_user(actor, user):
        raise PermissionDenied("Only an admin deactivates people, and never themselves.")
    reason = _clean_reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    now = timezone.now()
    tokens = list(ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True).order_by("pk"))
    ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).update(revoked_at=now, revoked_by=actor)
    TokenEvent.objects.bulk_create(
        TokenEvent(
            token=token,
            actor=actor,
            action=TokenAction.REVOKED,
            details={"name": token.name, "kind": token.kind, "prefix": token.prefix, "why": "owner deactivated"},
            created_at=now,
        )
        for token in tokens
    )
    # Legacy keys have no history of their own: deleting one is how it stops (as in the admin).
    legacy = Token.objects.filter(user=user).delete()[0]
    UserEvent.objects.create(
        user=user,
        user_name=display_name(user),
        actor=actor,
        actor_name=display_name(actor),
        action=UserAction.DEACTIVATED,
        reason=reason,
        details={"tokens_revoked": len(tokens), "legacy_keys_deleted": legacy},
        created_at=now,
    )
    return user


@transaction.atomic
def user_reactivate(*, actor: User, user: User, reason: str) -> User:
    """Let a deactivated person sign in again; their old tokens stay revoked. Idempotent."""
    if not can_deactivate_user(actor, user):
        raise PermissionDenied("Only an admin reactivates people, and never themselves.")
    reason = _clean_reason(reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        return user
    user.is_active = True
    user.save(update_fields=["is_active"])
    UserEvent.objects.create(
        user=user,
        user_name=display_name(user),
        actor=actor,
        actor_name=display_name(actor),
        action=UserAction.REACTIVATED,
        reason=reason,
    )
    return user
