"""Red flags: admin-configured rules and the flags they raise."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts.models import Stage, Tier


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# The one severity order: higher is more severe. Sorting, digests and subscription thresholds all read it.
SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


def severity_rank_expression() -> Case:
    """SEVERITY_RANK as SQL, most severe first (RedFlag.severity_rank keeps it as a stored column)."""
    ranked = sorted(SEVERITY_RANK.items(), key=lambda item: item[1], reverse=True)
    return Case(
        *(When(severity=severity, then=Value(rank)) for severity, rank in ranked if rank),
        default=Value(0),
    )


class RuleKind(models.TextChoices):
    BAND_RED = "band_red", "Band turned red"
    SCORE_DROP = "score_drop", "Score fell by ≥ X points in 7 days"
    NO_TOUCHPOINT = "no_touchpoint", "No touchpoint in N days"
    MISSED_CHECKIN = "missed_checkin", "Missed check-in cadence (adoption)"
    ONBOARDING_NOT_ENGAGED = "onboarding_not_engaged", "Onboarding not engaged by day 30/60/90"
    USAGE_DROP = "usage_drop", "Usage down ≥ X% vs previous 4 weeks"
    NPS_DETRACTOR = "nps_detractor", "NPS detractor"
    CHAMPION_DEPARTED = "champion_departed", "Champion departed"
    TICKET_SPIKE = "ticket_spike", "Support ticket spike"
    RENEWAL_NOT_GREEN = "renewal_not_green", "Renewal within 90 days while not green"
    SPEND_RISING = "spend_rising", "Spend rising ≥ X%"


class AlertRule(models.Model):
    """A condition over signals and scores; `params` holds its thresholds.

    Parameters by kind (defaults in lifecycle.flags.rules.DEFAULT_PARAMS):
    score_drop {"points"}, no_touchpoint {"days"}, onboarding_not_engaged
    {"checkpoints": [30, 60, 90], "min_touchpoints", "min_active_users"},
    usage_drop {"percent"}, nps_detractor {"days"}, ticket_spike {"days",
    "factor", "min_tickets"}, renewal_not_green {"days"}, spend_rising
    {"percent"}.
    """

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=32, choices=RuleKind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    params = models.JSONField(default=dict, blank=True)
    tier = models.CharField(max_length=8, choices=Tier.choices, blank=True, help_text="Blank: any tier.")
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, help_text="Blank: any stage.")
    active = models.BooleanField(default=True)
    start_playbook = models.BooleanField(default=False, help_text="Start the risk playbook when this fires.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"
    # The rule stopped firing for the account: closed by the recompute, not by a person.
    CLEARED = "cleared", "Cleared"


UNRESOLVED = [FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED, FlagStatus.SNOOZED]
ACTIVE = [FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED]


class RedFlagQuerySet(models.QuerySet):
    def unresolved(self) -> RedFlagQuerySet:
        return self.filter(status__in=UNRESOLVED)

    def needing_action(self, *, at=None) -> RedFlagQuerySet:
        """Open or acknowledged flags, and snoozed ones whose snooze has run out."""
        at = at or timezone.now()
        return self.filter(
            Q(status__in=[FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED])
            | Q(status=FlagStatus.SNOOZED, snoozed_until__lte=at)
        )


class RedFlag(models.Model):
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="flags")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="red_flags")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="red_flags"
    )
    severity = models.CharField(max_length=8, choices=Severity.choices)
    # Kept by the database beside `severity`, so "most severe first" can walk an index.
    severity_rank = models.GeneratedField(
        expression=severity_rank_expression(),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )
    status = models.CharField(max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    reason = models.TextField(help_text="What fired it, with the numbers.")
    values = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField(
        default=timezone.now, help_text="When it last fired as news: re-opening restamps it."
    )
    first_raised_at = models.DateTimeField(
        null=True, blank=True, help_text="When it first fired, kept once a snooze ran out and it re-opened."
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    cleared_at = models.DateTimeField(
        null=True, blank=True, help_text="When the recompute found the rule no longer fires for the account."
    )
    cleared_reason = models.TextField(blank=True, help_text="What no longer holds, and on which day.")

    objects = RedFlagQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "account"],
                condition=Q(status__in=UNRESOLVED),
                name="redflag_one_unresolved_per_rule_account",
                violation_error_message="This account already has an unresolved flag for this rule.",
            ),
            models.CheckConstraint(
                condition=~Q(status=FlagStatus.SNOOZED) | Q(snoozed_until__isnull=False),
                name="redflag_snoozed_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status=FlagStatus.RESOLVED) | Q(resolved_at__isnull=False),
                name="redflag_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status=FlagStatus.CLEARED, cleared_at__isnull=False)
                | (~Q(status=FlagStatus.CLEARED) & Q(cleared_at__isnull=True)),
                name="redflag_cleared_iff_cleared_at",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status"], name="redflag_owner_status"),
            models.Index(fields=["account", "status"], name="redflag_account_status"),
            # "Flags to act on", most severe and newest first: mine, and everyone's (pool, team, all).
            models.Index(
                fields=["owner", "-severity_rank", "-raised_at"],
                condition=Q(status__in=ACTIVE),
                name="redflag_owner_attention",
            ),
            models.Index(
                fields=["-severity_rank", "-raised_at"], condition=Q(status__in=ACTIVE), name="redflag_attention"
            ),
            # The API's orderings over every flag, ending in the id for keyset pages.
            models.Index(fields=["severity_rank", "raised_at", "id"], name="redflag_api_severity"),
            models.Index(fields=["raised_at", "id"], name="redflag_api_raised"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.account_id} ({self.status})"


# --- the flood guard ------------------------------------------------------------------

DEFAULT_FLOOD_SHARE = Decimal("0.20")


def as_percent(share: Decimal) -> str:
    """0.2 as "20%", 0.2004 as "20.04%": as many places as it takes, up to two."""
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + "%"


class AlertSettingsQuerySet(models.QuerySet["AlertSettings"]):
    def current(self) -> AlertSettings:
        """The settings in force (1 query): the saved row, or the defaults until an admin saves any."""
        return self.filter(pk=AlertSettings.SINGLETON_PK).first() or AlertSettings(pk=AlertSettings.SINGLETON_PK)


class AlertSettings(models.Model):
    """Options for all alert rules, set by admins: one row (pk 1), read with `lifecycle.flags.selectors.alert_settings`.

    The flood guard never holds a flag back (a silent cap would hide exactly the night something went
    wrong); it tells admins when one rule raised flags on more than `flood_share` of the book in a night.
    """

    SINGLETON_PK = 1

    flood_share = models.DecimalField(
        "flood share",
        max_digits=4,
        decimal_places=3,
        default=DEFAULT_FLOOD_SHARE,
        help_text="Warn admins when one rule raises new flags on more than this share of the book (0.2 = 20%) "
        "in one nightly run; the flags are raised all the same.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AlertSettingsQuerySet.as_manager()

    class Meta:
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="alertsettings_single_row"),
            models.CheckConstraint(
                condition=Q(flood_share__gt=0, flood_share__lte=1),
                name="alertsettings_flood_share_is_a_share",
                violation_error_message="The flood share is a share of the book: above 0 and at most 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"Alert settings (flood share {self.flood_percent})"

    @property
    def flood_percent(self) -> str:
        return as_percent(self.flood_share)


class FloodWarningQuerySet(models.QuerySet):
    def unacknowledged(self) -> FloodWarningQuerySet:
        return self.filter(acknowledged_at__isnull=True)


class FloodWarning(models.Model):
    """One rule raised new flags on more than the flood share of the book in one night: every flag stands.

    Written by `lifecycle.flags.services.flood_guard_check` when a nightly run finishes; shown on the
    alerts inbox to admins and managers until one of them acknowledges it.
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="flood_warnings")
    day = models.DateField(help_text="The day the nightly run was for.")
    fired = models.PositiveIntegerField(help_text="New flags the rule raised that night.")
    book_size = models.PositiveIntegerField(help_text="Accounts in the book (all but churned) at the time.")
    share = models.DecimalField(max_digits=7, decimal_places=4, help_text="fired / book size.")
    limit = models.DecimalField(max_digits=4, decimal_places=3, help_text="The flood share in force then.")
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = FloodWarningQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "-share", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "day"], name="floodwarning_one_per_rule_day"),
            models.CheckConstraint(condition=Q(book_size__gt=0, fired__gt=0), name="floodwarning_counts_positive"),
            models.CheckConstraint(condition=Q(share__gt=F("limit")), name="floodwarning_share_above_limit"),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=False) | Q(acknowledged_by__isnull=True),
                name="floodwarning_acknowledged_by_has_time",
            ),
        ]
        indexes = [
            # The inbox's banner: the unacknowledged warnings, newest first.
            models.Index(fields=["-day"], condition=Q(acknowledged_at__isnull=True), name="floodwarning_open"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.day}: {self.fired} of {self.book_size}"

    @property
    def share_percent(self) -> str:
        return as_percent(self.share)

    @property
    def limit_percent(self) -> str:
        return as_percent(self.limit)
