"""Health: admin-configured scorecards, daily score snapshots, overrides."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Stage, Tier
from core.text import counted
from lifecycle.health.fields import WrittenJSONField
from lifecycle.health.numbers import round_half_up


class Band(models.TextChoices):
    GREEN = "green", "Green"
    YELLOW = "yellow", "Yellow"
    RED = "red", "Red"


class MeasureKind(models.TextChoices):
    USAGE_TREND = "usage_trend", "Usage trend"
    LICENCE_UTILISATION = "licence_utilisation", "Licence utilisation"
    ENGAGEMENT_RECENCY = "engagement_recency", "Engagement recency"
    CHECKIN_CADENCE = "checkin_cadence", "Check-in cadence adherence"
    SUPPORT_BURDEN = "support_burden", "Support burden"
    NPS = "nps", "NPS"
    OPEN_RED_FLAGS = "open_red_flags", "Open red flags"
    STAKEHOLDER_COVERAGE = "stakeholder_coverage", "Stakeholder coverage"
    CSM_PULSE = "csm_pulse", "CSM pulse"
    CHECKIN_CONCERNS = "checkin_concerns", "Check-in concerns"
    USAGE_LEVEL = "usage_level", "Usage level"
    SURVEY_SENTIMENT = "survey_sentiment", "Survey sentiment"
    SUPPORT_LOAD = "support_load", "Support load"
    TENURE = "tenure", "Tenure"
    ADOPTION_BREADTH = "adoption_breadth", "Adoption breadth"


class ScorecardStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class ScorecardQuerySet(models.QuerySet):
    def active(self) -> ScorecardQuerySet:
        return self.filter(status=ScorecardStatus.ACTIVE)


class Scorecard(models.Model):
    """One version of a scorecard: which measures make up health, for a scope of accounts.

    The versions of one scorecard share a `lineage`. A version is a draft until
    activated; then it is frozen, and editing it means a new draft version, so
    every snapshot it produced still names what produced it. Activating a draft
    retires the lineage's active version. The most specific active scorecard
    applies: tier and stage, then tier, then stage, then the default (neither).
    """

    lineage = models.UUIDField(default=uuid.uuid4, editable=False, help_text="Shared by every version.")
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=8, choices=ScorecardStatus.choices, default=ScorecardStatus.DRAFT)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    tier = models.CharField(max_length=8, choices=Tier.choices, blank=True, help_text="Blank: any tier.")
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, help_text="Blank: any stage.")
    green_min = models.PositiveSmallIntegerField(
        default=70, validators=[MaxValueValidator(100)], help_text="Scores at or above are green."
    )
    yellow_min = models.PositiveSmallIntegerField(
        default=40, validators=[MaxValueValidator(100)], help_text="Scores at or above (and below green) are yellow."
    )
    based_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version this one was cloned or edited from.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    activation_note = models.TextField(blank=True, help_text="Why this version went live.")
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = ScorecardQuerySet.as_manager()

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.CheckConstraint(condition=Q(yellow_min__lt=models.F("green_min")), name="scorecard_band_order"),
            models.CheckConstraint(condition=Q(version__gte=1), name="scorecard_version_positive"),
            models.UniqueConstraint(fields=["lineage", "version"], name="scorecard_version_unique"),
            models.UniqueConstraint(
                fields=["tier", "stage"], condition=Q(status="active"), name="scorecard_one_active_per_scope"
            ),
            models.UniqueConstraint(
                fields=["lineage"], condition=Q(status="active"), name="scorecard_one_active_per_lineage"
            ),
            models.UniqueConstraint(
                fields=["lineage"], condition=Q(status="draft"), name="scorecard_one_draft_per_lineage"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(activated_at__isnull=False), name="scorecard_went_live_when"
            ),
            models.CheckConstraint(
                condition=~Q(status="retired") | Q(retired_at__isnull=False), name="scorecard_retired_when"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def label(self) -> str:
        """How people name a version: "Standard health v3"."""
        return f"{self.name} v{self.version}"

    @property
    def active(self) -> bool:
        return self.status == ScorecardStatus.ACTIVE

    @property
    def is_draft(self) -> bool:
        return self.status == ScorecardStatus.DRAFT

    @property
    def scope_label(self) -> str:
        parts = [self.get_tier_display() if self.tier else "", self.get_stage_display() if self.stage else ""]
        return " · ".join(p for p in parts if p) or "All accounts"

    def band_for(self, score: float | None) -> str:
        if score is None:
            return ""
        if score >= self.green_min:
            return Band.GREEN
        if score >= self.yellow_min:
            return Band.YELLOW
        return Band.RED


class WhenMissing(models.TextChoices):
    SKIP = "skip", "Leave out"
    WORST = "worst", "Count as 0"
    NEUTRAL = "neutral", "Count as 50"


# Points a missing or stale measure scores under each policy; absent: it drops out.
MISSING_POINTS: dict[str, float] = {WhenMissing.WORST: 0.0, WhenMissing.NEUTRAL: 50.0}


class Measure(models.Model):
    """One ingredient of a scorecard.

    A raw value is normalised to 0–100 on a straight line from `zero_at`
    (scores 0) to `full_at` (scores 100), clamped at both ends; when `full_at`
    is below `zero_at` lower raw values are better (e.g. days since contact).
    Data older than `validity_days` is stale; a stale or missing value is
    left out or scores a fixed number of points, as `when_missing` says.
    """

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="measures")
    kind = models.CharField(max_length=24, choices=MeasureKind.choices)
    weight = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(Decimal("0.01"))]
    )
    zero_at = models.DecimalField(max_digits=12, decimal_places=2, help_text="Raw value that scores 0.")
    full_at = models.DecimalField(max_digits=12, decimal_places=2, help_text="Raw value that scores 100.")
    validity_days = models.PositiveSmallIntegerField(default=30, help_text="Older data is stale.")
    when_missing = models.CharField(
        max_length=8,
        choices=WhenMissing.choices,
        default=WhenMissing.SKIP,
        help_text="What a missing or stale value counts as.",
    )

    class Meta:
        ordering = ["scorecard", "-weight", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "kind"], name="measure_once_per_scorecard"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="measure_weight_positive"),
            models.CheckConstraint(condition=~Q(zero_at=models.F("full_at")), name="measure_thresholds_differ"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ×{self.weight}"

    def normalise(self, raw: float) -> float:
        zero, full = float(self.zero_at), float(self.full_at)
        fraction = (raw - zero) / (full - zero)
        return round_half_up(max(0.0, min(1.0, fraction)) * 100)


class CheckInCadence(models.Model):
    """How often adoption-stage accounts of a tier should have a check-in call."""

    tier = models.CharField(max_length=8, choices=Tier.choices, unique=True)
    every_days = models.PositiveSmallIntegerField(default=14, validators=[MinValueValidator(1)])

    def __str__(self) -> str:
        return f"{self.get_tier_display()}: every {counted(self.every_days, 'day')}"


class HealthScore(models.Model):
    """One snapshot per account per day, with the measure values that made it."""

    # No index of its own: the unique (account, day) index serves lookups by account.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="health_scores", db_index=False
    )
    day = models.DateField()
    scorecard = models.ForeignKey(Scorecard, null=True, on_delete=models.SET_NULL, related_name="+")
    score = models.DecimalField(max_digits=5, decimal_places=1, null=True, help_text="Null: no measure had data.")
    band = models.CharField(max_length=8, choices=Band.choices, blank=True)
    measures = WrittenJSONField(
        default=dict, help_text='{"kind": {"raw": x, "score": 0-100|null, "weight": w, "status": "ok|missing|stale"}}'
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="health_one_score_per_account_day"),
        ]
        indexes = [
            # Each night reads every account's scores of 1, 7 and 30 days ago, a chunk of
            # accounts at a time. On (account, day) that walked each account's whole history,
            # so the run slowed as history grew; here it is three short ranges, read from the
            # index alone. Still the index for "every snapshot of a day".
            models.Index(fields=["day", "account"], include=["score", "band"], name="health_day_account"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.score} {self.band}"


class HealthBandDaily(models.Model):
    """A day's snapshots added up per owner, pool, tier and band: what charts over time read instead of every snapshot.

    Written set-based for a day by `lifecycle.health.rollup.health_band_daily_write` when the
    nightly run finishes (and once for every past day by migration 0024), from that day's
    snapshots of the accounts not churned, as covered (owner, pool) and tiered then. A chart
    of a team's health over 90 days reads a few hundred of these rows, not a million snapshots.
    """

    day = models.DateField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    pool = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    tier = models.CharField(max_length=8, choices=Tier.choices)
    band = models.CharField(max_length=8, choices=Band.choices, blank=True)
    accounts = models.PositiveIntegerField(default=0)
    scored = models.PositiveIntegerField(default=0, help_text="Accounts with a score (the rest had no measure data).")
    score_sum = models.DecimalField(max_digits=12, decimal_places=1, default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="healthbanddaily_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.owner_id or '-'}/{self.pool_id or '-'} {self.tier} {self.band}: {self.accounts}"


class AccountHealth(models.Model):
    """The current health of an account, kept beside it for fast lists.

    Written by the recompute from the latest snapshot and the active override;
    lists sort and filter on it without touching the snapshot history.
    """

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, primary_key=True, related_name="health"
    )
    day = models.DateField()
    computed_score = models.DecimalField(max_digits=5, decimal_places=1, null=True)
    computed_band = models.CharField(max_length=8, choices=Band.choices, blank=True)
    score = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, help_text="Override if active, else computed."
    )
    band = models.CharField(max_length=8, choices=Band.choices, blank=True)
    delta_7d = models.DecimalField(max_digits=5, decimal_places=1, null=True)
    delta_30d = models.DecimalField(max_digits=5, decimal_places=1, null=True)
    overridden = models.BooleanField(default=False)
    open_flags = models.PositiveIntegerField(default=0)
    priority = models.FloatField(default=0, help_text="Next-best rank; see lifecycle.health.scoring.account_priority.")
    # No index: only deleting a scorecard looks rows up by it, and then a scan of one row per account is cheap,
    # while every nightly update paid for the index entry.
    scorecard = models.ForeignKey(Scorecard, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)

    # What every recompute writes (all but the key), on either path.
    RECOMPUTED_FIELDS = (
        "day",
        "computed_score",
        "computed_band",
        "score",
        "band",
        "delta_7d",
        "delta_30d",
        "overridden",
        "open_flags",
        "priority",
        "scorecard",
    )

    class Meta:
        indexes = [
            models.Index(fields=["band"], name="accounthealth_band"),
            models.Index(fields=["score"], name="accounthealth_score"),
            models.Index(fields=["-priority"], name="accounthealth_priority"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.score} {self.band}"


class ScoreOverrideQuerySet(models.QuerySet):
    def in_force(self, *, at=None) -> ScoreOverrideQuerySet:
        at = at or timezone.now()
        return self.filter(cleared_at__isnull=True, expires_at__gt=at)


class ScoreOverride(models.Model):
    """A manager's judgement that beats the computed score until it expires."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="score_overrides")
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    reason = models.TextField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScoreOverrideQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=100), name="override_score_0_100"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="override_expires_later"),
            models.UniqueConstraint(
                fields=["account"], condition=Q(cleared_at__isnull=True), name="override_one_uncleared_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.score} until {self.expires_at:%Y-%m-%d}"


class RecomputeRun(models.Model):
    """One run of the health recompute, split into chunks of accounts.

    Progress is the share of chunks done; a chunk's writes and its `done_at`
    commit together, so a worker killed mid-chunk leaves nothing half-written
    and the redelivered chunk simply runs again.
    """

    class Kind(models.TextChoices):
        FULL = "full", "Full (daily)"
        ACCOUNTS = "accounts", "Selected accounts"

    day = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FULL)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    accounts_total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} recompute for {self.day}"


class RecomputeChunk(models.Model):
    run = models.ForeignKey(RecomputeRun, on_delete=models.CASCADE, related_name="chunks")
    first_account_id = models.BigIntegerField()
    last_account_id = models.BigIntegerField()
    accounts = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "first_account_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "first_account_id"], name="recompute_chunk_unique_start"),
            models.CheckConstraint(
                condition=Q(last_account_id__gte=models.F("first_account_id")), name="recompute_chunk_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Accounts {self.first_account_id}–{self.last_account_id} of run {self.run_id}"


class PendingRecompute(models.Model):
    """Accounts with new signals waiting for the debounced recompute."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, primary_key=True, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Recompute account {self.account_id}"


class HealthBackfill(models.Model):
    """A request to score past days again (after an import), worked through day by day, oldest first.

    Progress is the days done; each day's writes commit before it is counted, so
    a worker that dies mid-way leaves the request to resume at the next day.
    """

    first_day = models.DateField()
    last_day = models.DateField()
    scorecard = models.ForeignKey(
        Scorecard,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Blank: each account's applicable scorecard.",
    )
    raise_flags = models.BooleanField(
        default=False, help_text="Raise the red flags that fire, dated on their day and notifying nobody."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    days_total = models.PositiveIntegerField()
    days_done = models.PositiveIntegerField(default=0)
    accounts_scored = models.PositiveIntegerField(default=0, help_text="Snapshots written, summed over the days.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=Q(last_day__gte=models.F("first_day")), name="backfill_day_order"),
            models.CheckConstraint(condition=Q(days_done__lte=models.F("days_total")), name="backfill_done_le_total"),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(started_at__isnull=False), name="backfill_finished_started"
            ),
        ]

    def __str__(self) -> str:
        return f"Health back-fill {self.first_day}–{self.last_day}"

    @property
    def state(self) -> str:
        if self.finished_at is not None:
            return "failed" if self.error else "finished"
        return "running" if self.started_at is not None else "queued"


class Backtest(models.Model):
    """A scorecard version replayed against known renewals and churn, and what it found.

    For every outcome in the period the account is scored as of `horizon` days
    before it, from the signals stored then, so a draft that never ran can be
    tested. The report keeps the figures for later comparison; the inputs stay
    beside it, so a report always says what it measured.
    """

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="backtests")
    baseline = models.ForeignKey(
        Scorecard,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Scored on the same outcomes, side by side.",
    )
    first_day = models.DateField(help_text="Outcomes on or after this day.")
    last_day = models.DateField(help_text="Outcomes on or before this day.")
    horizons = models.JSONField(
        default=list, help_text="Days before each outcome to score the account, e.g. [30, 60, 90]."
    )
    bootstrap_seed = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    steps_total = models.PositiveIntegerField(default=0)
    steps_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=Q(last_day__gte=models.F("first_day")), name="backtest_day_order"),
            models.CheckConstraint(condition=Q(steps_done__lte=models.F("steps_total")), name="backtest_done_le_total"),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(started_at__isnull=False), name="backtest_finished_started"
            ),
            models.CheckConstraint(condition=~Q(baseline=models.F("scorecard")), name="backtest_baseline_differs"),
        ]

    def __str__(self) -> str:
        return f"Backtest of {self.scorecard_id} on {self.first_day}–{self.last_day}"

    @property
    def state(self) -> str:
        if self.finished_at is not None:
            return "failed" if self.error else "finished"
        return "running" if self.started_at is not None else "queued"

    @property
    def percent_done(self) -> int:
        return int(100 * self.steps_done / self.steps_total) if self.steps_total else 0
