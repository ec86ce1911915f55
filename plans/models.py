"""Success plans: what the customer wants to achieve, how we measure it, what they achieved."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PlanScope(models.TextChoices):
    ACCOUNT = "account", "Whole account"
    PRODUCT = "product", "Product"
    DEPARTMENT = "department", "Department"
    LOCATION = "location", "Location"


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


class SuccessPlanQuerySet(models.QuerySet):
    def active(self) -> SuccessPlanQuerySet:
        return self.filter(status=PlanStatus.ACTIVE)


class SuccessPlan(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="success_plans")
    name = models.CharField(max_length=150)
    scope = models.CharField(max_length=16, choices=PlanScope.choices, default=PlanScope.ACCOUNT)
    scope_label = models.CharField(
        max_length=150,
        blank=True,
        help_text="Which product, department or location this plan covers.",
    )
    status = models.CharField(max_length=16, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    summary = models.TextField(blank=True, help_text="The customer's goals in their own words.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SuccessPlanQuerySet.as_manager()

    class Meta:
        ordering = ["account", "status", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope=PlanScope.ACCOUNT) | ~Q(scope_label=""),
                name="successplan_scoped_has_label",
                violation_error_message="Say which product, department or location the plan covers.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_display(self) -> str:
        if self.scope == PlanScope.ACCOUNT:
            return self.get_scope_display()
        return f"{self.get_scope_display()}: {self.scope_label}"


class ObjectiveStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    ACHIEVED = "achieved", "Achieved"
    MISSED = "missed", "Missed"


OPEN_OBJECTIVE_STATUSES = (
    ObjectiveStatus.NOT_STARTED,
    ObjectiveStatus.ON_TRACK,
    ObjectiveStatus.AT_RISK,
)


class ObjectiveQuerySet(models.QuerySet):
    def open(self) -> ObjectiveQuerySet:
        return self.filter(status__in=OPEN_OBJECTIVE_STATUSES)


class Objective(models.Model):
    plan = models.ForeignKey(SuccessPlan, on_delete=models.CASCADE, related_name="objectives")
    title = models.CharField(max_length=200)
    metric = models.CharField(
        max_length=150,
        blank=True,
        help_text="e.g. weekly active users, tickets per month",
    )
    baseline = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    target = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    current_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=16,
        choices=ObjectiveStatus.choices,
        default=ObjectiveStatus.NOT_STARTED,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="objectives",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ObjectiveQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "due_date", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def progress_percent(self) -> int | None:
        """How far current is from baseline towards target; None when any of the three is missing."""
        if self.baseline is None or self.target is None or self.current_value is None:
            return None
        span = self.target - self.baseline
        if span == 0:
            return 100 if self.current_value == self.target else 0
        return max(0, min(100, round(100 * (self.current_value - self.baseline) / span)))


class Achievement(models.Model):
    plan = models.ForeignKey(SuccessPlan, on_delete=models.CASCADE, related_name="achievements")
    objective = models.ForeignKey(
        Objective,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="achievements",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    achieved_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["plan", "-achieved_on", "-id"]

    def __str__(self) -> str:
        return self.title
