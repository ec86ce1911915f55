from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Stage


class StageChange(models.Model):
    """Append-only history of an account's lifecycle stage."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=Stage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["account", "-changed_at"], name="stagechange_account_recent")]
        # Every change says why (the service asks a person for one; the system passes its own).
        constraints = [models.CheckConstraint(condition=~models.Q(reason=""), name="stagechange_reason_not_blank")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.from_stage or '—'} → {self.to_stage}"

    def duration(self, *, until=None):
        """How long the account stayed in `to_stage` after this change."""
        return (until or timezone.now()) - self.changed_at
