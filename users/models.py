from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


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


# API tokens are a concept of their own (users/tokens/); Django finds an app's models in its models module.
from users.tokens.models import ApiToken, TokenEvent  # noqa: E402, F401
