"""API tokens and their history.

A token acts as `user`: its owner for a personal token, or for an integration
token a service identity of its own (role Integration, no password), so an
integration's writes are attributed to it and outlive the admin who made it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .scopes import Scope

if TYPE_CHECKING:
    from users.models import User

# last_used_at is written at most this often per token, so a busy integration costs no write per request.
LAST_USED_EVERY = dt.timedelta(minutes=1)


class TokenKind(models.TextChoices):
    INTEGRATION = "integration", "Integration"
    PERSONAL = "personal", "Personal"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)

    def integrations(self) -> ApiTokenQuerySet:
        return self.filter(kind=TokenKind.INTEGRATION)

    def personal_of(self, user: User) -> ApiTokenQuerySet:
        return self.filter(kind=TokenKind.PERSONAL, user=user)


class ApiToken(models.Model):
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=TokenKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="Whom requests with this token act as: the owner, or the integration's service identity.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prefix = models.CharField(max_length=16, unique=True, help_text="Public part of the token; finds the row.")
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 of the secret part, hex.")
    scope_read = models.BooleanField(default=False)
    scope_write_signals = models.BooleanField(default=False)
    scope_write_accounts = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope_read=True) | Q(scope_write_signals=True) | Q(scope_write_accounts=True),
                name="api_token_has_a_scope",
            ),
            models.UniqueConstraint(
                fields=["user", "name"], condition=Q(revoked_at__isnull=True), name="api_token_live_name_unique"
            ),
            # Each integration token has an identity of its own, so the rule above does not cover them.
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(kind="integration", revoked_at__isnull=True),
                name="api_token_live_integration_name_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (baton_{self.prefix}_…)"

    @property
    def scopes(self) -> frozenset[Scope]:
        held = {
            Scope.READ: self.scope_read,
            Scope.WRITE_SIGNALS: self.scope_write_signals,
            Scope.WRITE_ACCOUNTS: self.scope_write_accounts,
        }
        return frozenset(scope for scope, on in held.items() if on)

    @property
    def scope_labels(self) -> list[str]:
        return [scope.value for scope in Scope if scope in self.scopes]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def has_expired(self) -> bool:
        return self.is_expired()

    @property
    def masked(self) -> str:
        return f"baton_{self.prefix}_…"


def scope_fields(scopes: frozenset[Scope] | set[Scope]) -> dict[str, bool]:
    """The model's flags for a set of scopes."""
    return {
        "scope_read": Scope.READ in scopes,
        "scope_write_signals": Scope.WRITE_SIGNALS in scopes,
        "scope_write_accounts": Scope.WRITE_ACCOUNTS in scopes,
    }


class TokenAction(models.TextChoices):
    CREATED = "created", "Created"
    ROTATED = "rotated", "Rotated"
    REVOKED = "revoked", "Revoked"


class TokenEvent(models.Model):
    """Append-only: who created, rotated or revoked a token, and when.

    Tokens keep their own history rather than accounts' AuditEvent, which sits
    in an app above users.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=TokenAction.choices)
    details = models.JSONField(default=dict, blank=True, help_text="name, kind and scopes at the time")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.token}"
