"""Outcome: what happened when a contract term closed (renewed, downgraded) or the customer left (churned).

Rows are only ever inserted, by accounts.outcomes.services; nothing updates or deletes one
(the admin lists them read-only). A wrong outcome is corrected by recording a new one that
names it in `corrects`: the newest of a chain is what happened, as far as anyone knows
(`OutcomeQuerySet.effective`). The database keeps the invariants: CheckConstraints below, and
a correction names an outcome of the same account (migration 0005: a composite foreign key on
PostgreSQL, triggers on SQLite, as Django cannot declare a foreign key over two columns).

The movement of ARR (expansion, flat, contraction, churn) is derived from the ARR before and
after, never stored: `Outcome.movement` for one row, `OutcomeQuerySet.with_movement` for SQL.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

# A month, on average, in days: 12 months of it make 365.25 days, so a 1-year term reads as
# 12 months, a leap year included, and a 31-day or a 28-day term as 1.
DAYS_PER_MONTH = 365.25 / 12


class OutcomeKind(models.TextChoices):
    RENEWED = "renewed", "Renewed"
    DOWNGRADED = "downgraded", "Downgraded"
    CHURNED = "churned", "Churned"


class ChurnReason(models.TextChoices):
    """Why a customer left (a churn needs one) or pays less (a downgrade may name one)."""

    BUDGET = "budget", "Budget cut"
    PRICE = "price", "Price"
    PRODUCT_FIT = "product_fit", "Product fit"
    POOR_ADOPTION = "poor_adoption", "Poor adoption"
    CHAMPION_LEFT = "champion_left", "Champion left"
    COMPETITOR = "competitor", "Went to a competitor"
    ACQUIRED = "acquired", "Acquired or merged"
    SUPPORT = "support", "Support experience"
    BUSINESS_CLOSED = "business_closed", "Business closed"
    OTHER = "other", "Other"


class Movement(models.TextChoices):
    """How the ARR moved: derived from the kind and the ARR before and after."""

    EXPANSION = "expansion", "Expansion"
    FLAT = "flat", "Flat"
    CONTRACTION = "contraction", "Contraction"
    CHURN = "churn", "Churn"


class OutcomeSource(models.TextChoices):
    PAGE = "page", "Account 360"
    API = "api", "API"
    CSV = "csv", "CSV import"
    STAGE_CHANGE = "stage_change", "Stage change"


def movement_of(kind: str, arr_before: Decimal, arr_after: Decimal) -> str:
    if kind == OutcomeKind.CHURNED:
        return Movement.CHURN
    if arr_after > arr_before:
        return Movement.EXPANSION
    if arr_after < arr_before:
        return Movement.CONTRACTION
    return Movement.FLAT


# The same rule as movement_of, for the database: filter, count or group by it.
MOVEMENT = Case(
    When(kind=OutcomeKind.CHURNED, then=Value(Movement.CHURN.value)),
    When(arr_after__gt=F("arr_before"), then=Value(Movement.EXPANSION.value)),
    When(arr_after__lt=F("arr_before"), then=Value(Movement.CONTRACTION.value)),
    default=Value(Movement.FLAT.value),
    output_field=models.CharField(),
)


class OutcomeQuerySet(models.QuerySet):
    def effective(self) -> OutcomeQuerySet:
        """Outcomes no later outcome corrects: what happened, taking every correction into account."""
        return self.filter(~Exists(Outcome.objects.filter(corrects=OuterRef("pk"))))

    def with_movement(self) -> OutcomeQuerySet:
        """Annotates `arr_movement` (a Movement value)."""
        return self.annotate(arr_movement=MOVEMENT)

    def between(self, start, end) -> OutcomeQuerySet:
        """Outcomes that happened from `start` to `end`, both days included."""
        return self.filter(occurred_on__gte=start, occurred_on__lte=end)


class Outcome(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="outcomes")
    kind = models.CharField(max_length=16, choices=OutcomeKind.choices)
    occurred_on = models.DateField(help_text="The day it happened: the renewal signed, the customer gone.")
    term_start = models.DateField(help_text="Start of the contract term this outcome closed.")
    term_end = models.DateField(help_text="End of that term: the renewal date it was due.")
    arr_before = models.DecimalField("ARR before", max_digits=14, decimal_places=2)
    arr_after = models.DecimalField("ARR after", max_digits=14, decimal_places=2, help_text="0 after a churn.")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=20, choices=ChurnReason.choices, blank=True)
    note = models.TextField(blank=True)
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        # Nothing deletes an outcome; an account's deletion takes its outcomes, corrections and all.
        on_delete=models.RESTRICT,
        related_name="corrections",
        db_index=False,  # outcome_corrected_once indexes it
        help_text="The earlier outcome of the same account this one replaces.",
    )
    source = models.CharField(max_length=16, choices=OutcomeSource.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = OutcomeQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_on", "-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=OutcomeKind.values), name="outcome_kind_valid"),
            models.CheckConstraint(condition=Q(source__in=OutcomeSource.values), name="outcome_source_valid"),
            models.CheckConstraint(
                condition=Q(reason="") | Q(reason__in=ChurnReason.values), name="outcome_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(term_end__gt=F("term_start")),
                name="outcome_term_end_after_start",
                violation_error_message="The term must end after it starts.",
            ),
            models.CheckConstraint(condition=Q(arr_before__gte=0, arr_after__gte=0), name="outcome_arr_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind=OutcomeKind.CHURNED) | (~Q(reason="") & Q(arr_after=0)),
                name="outcome_churn_has_reason_and_no_arr",
                violation_error_message="A churn needs a reason, and leaves no ARR.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=OutcomeKind.DOWNGRADED) | Q(arr_after__lt=F("arr_before")),
                name="outcome_downgrade_lowers_arr",
                violation_error_message="A downgrade lowers the ARR.",
            ),
            models.CheckConstraint(condition=~Q(corrects=F("pk")), name="outcome_not_own_correction"),
            # One correction per outcome: the chain stays a line, and its newest link is what happened.
            models.UniqueConstraint(fields=["corrects"], name="outcome_corrected_once"),
        ]
        indexes = [
            models.Index(fields=["account", "-occurred_on"], name="outcome_account_recent"),
            models.Index(fields=["occurred_on"], name="outcome_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.occurred_on:%Y-%m-%d} (account {self.account_id})"

    @property
    def movement(self) -> str:
        return movement_of(self.kind, self.arr_before, self.arr_after)

    def get_movement_display(self) -> str:
        return Movement(self.movement).label

    @property
    def arr_change(self) -> Decimal:
        return self.arr_after - self.arr_before

    @property
    def arr_change_percent(self) -> Decimal | None:
        """The change as a percentage of the ARR before; None when there was none to compare with."""
        if not self.arr_before:
            return None
        return (self.arr_change * 100 / self.arr_before).quantize(Decimal("0.1"))

    @property
    def term_months(self) -> int:
        """The term's length in whole months: 1 for a monthly contract, 12 annual, 36 for three years."""
        return max(1, round((self.term_end - self.term_start).days / DAYS_PER_MONTH))

    @property
    def term_label(self) -> str:
        months = self.term_months
        if months == 1:
            return "Monthly"
        if months == 12:
            return "Annual"
        if months % 12 == 0:
            return f"{months // 12}-year"
        return f"{months} months"
