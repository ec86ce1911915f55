from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class Team(models.Model):
    """A group of CSMs led by a manager; also the pool that can share accounts."""

    name = models.CharField(max_length=100, unique=True)
    segment = models.CharField(max_length=100, blank=True, help_text="e.g. SMB, Mid-market, Enterprise")
    chat_webhook_url = models.URLField(
        blank=True, help_text="Slack-compatible incoming-webhook URL for this team's alerts (optional)."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    class Role(models.TextChoices):
        CSM = "csm", "CSM"
        MANAGER = "manager", "Manager"
        ADMIN = "admin", "Admin"
        # An integration token's own identity: never signs in, holds no book (users/tokens/).
        INTEGRATION = "integration", "Integration"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CSM)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    title = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_csm(self) -> bool:
        return self.role == self.Role.CSM

    @property
    def is_manager(self) -> bool:
        return self.role == self.Role.MANAGER

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN or self.is_superuser

    @property
    def is_integration(self) -> bool:
        return self.role == self.Role.INTEGRATION


def display_name(user: User | None) -> str:
    """How a person is named on history rows written now, kept should the user row ever go."""
    return (user.get_full_name() or user.username) if user is not None else ""


class UserAction(models.TextChoices):
    DEACTIVATED = "deactivated", "Deactivated"
    REACTIVATED = "reactivated", "Reactivated"


class UserEvent(models.Model):
    """Append-only: who deactivated or reactivated a person, when and why (users.services).

    People are deactivated, never deleted; the names are kept as they were all the same.
    """

    user = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="events")
    user_name = models.CharField(max_length=300)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=16, choices=UserAction.choices)
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~models.Q(reason=""), name="userevent_reason_not_blank")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.user_name}"


# API tokens are a concept of their own (users/tokens/); Django finds an app's models in its models module.
from users.tokens.models import ApiToken, TokenEvent  # noqa: E402, F401
