"""What Baton hears about a customer: usage, tickets, surveys, invoices, check-ins, pulse."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class UsageDaily(models.Model):
    # No index of its own: the unique (account, day) index serves lookups by account.
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="usage_days", db_index=False)
    day = models.DateField()
    # Blank where the customer's analytics counts events but not people.
    active_users = models.PositiveIntegerField(null=True, blank=True)
    key_events = models.PositiveIntegerField(default=0)
    minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Time in the product, where measured.")
    # True when Baton added this row up from the day's per-product rows (no account-wide row was sent):
    # an account-wide row sent later replaces it, and later product rows refresh it.
    from_products = models.BooleanField(default=False, db_default=False)
    licences_used = models.PositiveIntegerField(default=0)
    licences_owned = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily usage"
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="usage_one_row_per_account_day"),
        ]
        indexes = [
            # By day (the API's ordering, newest first walks it backwards), the account making a keyset position one row.
            models.Index(fields=["day", "account"], name="usage_day_account"),
            # The recompute's usage figures read only these columns of a few weeks of rows
            # per account: with them in the index, PostgreSQL never visits the table.
            # (Other databases build it as a plain index; see SILENCED_SYSTEM_CHECKS.)
            models.Index(
                fields=["account", "day"],
                include=["active_users", "key_events", "licences_used", "licences_owned"],
                name="usage_recent_covering",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.active_users} active"


class ProductUsageDaily(models.Model):
    """One account's use of one product (module) on one day, as a per-product usage feed sends it.

    No row for a day means the product was not used that day. Adoption breadth
    counts the bought products with activity in a window.
    """

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="product_usage_days", db_index=False
    )
    product = models.ForeignKey("accounts.Product", on_delete=models.PROTECT, related_name="usage_days")
    day = models.DateField()
    active_users = models.PositiveIntegerField(null=True, blank=True)
    key_events = models.PositiveIntegerField(default=0)
    minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "daily product usage"
        constraints = [
            # Leading with the account: adoption breadth probes (account, product, day range) per entitlement.
            models.UniqueConstraint(fields=["account", "product", "day"], name="product_usage_one_row_per_day"),
        ]
        indexes = [
            # By day (the API's ordering, newest first walks it backwards), account and product making a keyset
            # position one row; it serves every "latest day" look-up the plain day index did.
            models.Index(fields=["day", "account", "product"], name="product_usage_day_account"),
            # With the activity columns in it, PostgreSQL answers adoption breadth's probe from the index alone.
            # A separate index, not the unique constraint's: SQLite cannot build a covering unique index, and
            # Django would then leave the uniqueness out there (other databases build this one plain).
            models.Index(
                fields=["account", "product", "day"],
                include=["active_users", "key_events", "minutes"],
                name="product_usage_covering",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.product_id} {self.day}"

    @property
    def active(self) -> bool:
        return bool(self.active_users or self.key_events or self.minutes)


class TicketSeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class SupportTicket(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="support_tickets")
    external_id = models.CharField(max_length=100)
    subject = models.CharField(max_length=300, blank=True)
    severity = models.CharField(max_length=8, choices=TicketSeverity.choices, default=TicketSeverity.MEDIUM)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    time_spent_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Support's working time on the ticket, where the help desk records it."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="ticket_unique_external_id"),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=F("opened_at")),
                name="ticket_closed_after_opened",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "opened_at"], name="ticket_account_opened"),
            # The API's ordering over every ticket, ending in the id for keyset pages.
            models.Index(fields=["opened_at", "id"], name="ticket_api_opened"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} ({self.severity})"


class SurveyKind(models.TextChoices):
    NPS = "nps", "NPS"
    CSAT = "csat", "CSAT"


class SurveyResponse(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="survey_responses")
    contact = models.ForeignKey("accounts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    external_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=4, choices=SurveyKind.choices)
    score = models.PositiveSmallIntegerField(help_text="NPS 0–10; CSAT 1–5.")
    comment = models.TextField(blank=True)
    responded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "external_id"], name="survey_unique_external_id"),
            models.CheckConstraint(
                condition=(Q(kind="nps") & Q(score__lte=10)) | (Q(kind="csat") & Q(score__gte=1, score__lte=5)),
                name="survey_score_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "kind", "responded_at"], name="survey_account_recent"),
            # The API's ordering over every response, ending in the id for keyset pages.
            models.Index(fields=["responded_at", "id"], name="survey_api_responded"),
        ]

    def __str__(self) -> str:
        return f"{self.kind.upper()} {self.score}"

    @property
    def is_detractor(self) -> bool:
        return self.kind == SurveyKind.NPS and self.score <= 6


class Invoice(models.Model):
    """Spend: one row per invoice; spend trend compares recent periods."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="invoices")
    external_id = models.CharField(max_length=100)
    issued_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="invoice_unique_external_id"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="invoice_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["account", "issued_on"], name="invoice_account_issued"),
            # The API's ordering over every invoice, ending in the id for keyset pages.
            models.Index(fields=["issued_on", "id"], name="invoice_api_issued"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.amount} {self.currency}"


class CheckInQuestion(models.Model):
    """Admin-configured questions for the adoption check-in call (field notes §1)."""

    key = models.SlugField(max_length=50, unique=True)
    text = models.CharField(max_length=300)
    help_text = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text


class CheckIn(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="check_ins")
    held_at = models.DateTimeField(default=timezone.now)
    conducted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.TextField(blank=True)
    timeline_entry = models.OneToOneField(
        "accounts.TimelineEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="check_in"
    )

    class Meta:
        ordering = ["-held_at"]
        indexes = [models.Index(fields=["account", "-held_at"], name="checkin_account_recent")]

    def __str__(self) -> str:
        return f"Check-in {self.account_id} {self.held_at:%Y-%m-%d}"


class CheckInAnswer(models.Model):
    check_in = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(CheckInQuestion, on_delete=models.PROTECT, related_name="answers")
    concern = models.BooleanField(help_text="Yes, this is a concern.")
    comment = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["check_in", "question"], name="checkin_one_answer_per_question"),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {'concern' if self.concern else 'fine'}"


class PulseReason(models.TextChoices):
    RELATIONSHIP = "relationship", "Relationship"
    PRODUCT_FIT = "product_fit", "Product fit"
    VALUE = "value", "Value realised"
    EXECUTIVE = "executive", "Executive sponsorship"
    SUPPORT = "support", "Support experience"
    BUDGET = "budget", "Budget"
    COMPETITION = "competition", "Competition"
    TEAM = "team", "Our team's performance"


class PulseRating(models.Model):
    """The owner's gut feel, 1 (very negative) to 6 (very positive).

    Gut feel goes stale: a rating expires after 90 days, the extremes after 30,
    because an extreme rating should be re-confirmed sooner.
    """

    NORMAL_LIFETIME_DAYS = 90
    EXTREME_LIFETIME_DAYS = 30

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="pulse_ratings")
    rated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(6)])
    reasons = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True)
    rated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-rated_at"]
        constraints = [models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=6), name="pulse_rating_1_to_6")]
        indexes = [models.Index(fields=["account", "-rated_at"], name="pulse_account_recent")]

    def __str__(self) -> str:
        return f"Pulse {self.rating}/6 for {self.account_id}"

    @classmethod
    def lifetime_for(cls, rating: int) -> dt.timedelta:
        days = cls.EXTREME_LIFETIME_DAYS if rating in (1, 6) else cls.NORMAL_LIFETIME_DAYS
        return dt.timedelta(days=days)
