from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Lower, Trim
from django.utils import timezone

from accounts.money.models import DescNullsLastIndex
from users.models import User, display_name
from users.permissions import editable_accounts_q, sees_whole_book_on_desk


class Industry(models.TextChoices):
    SOFTWARE = "software", "Software"
    FINANCIAL_SERVICES = "financial_services", "Financial services"
    HEALTHCARE = "healthcare", "Healthcare"
    EDUCATION = "education", "Education"
    RETAIL = "retail", "Retail"
    MANUFACTURING = "manufacturing", "Manufacturing"
    MEDIA = "media", "Media"
    PUBLIC_SECTOR = "public_sector", "Public sector"
    LOGISTICS = "logistics", "Logistics"
    ENERGY = "energy", "Energy"
    # Where the real world has no answer (an import from a CRM that never recorded it); a group like any other.
    UNKNOWN = "unknown", "Unknown"


class Region(models.TextChoices):
    NORTH_AMERICA = "na", "North America"
    EMEA = "emea", "EMEA"
    APAC = "apac", "APAC"
    LATAM = "latam", "LATAM"
    UNKNOWN = "unknown", "Unknown"


class EmployeeBand(models.TextChoices):
    MICRO = "1-50", "1–50"
    SMALL = "51-200", "51–200"
    MEDIUM = "201-1000", "201–1,000"
    LARGE = "1001-5000", "1,001–5,000"
    ENTERPRISE = "5000+", "5,000+"


class Tier(models.TextChoices):
    HIGH_TOUCH = "high", "High-touch"
    LOW_TOUCH = "low", "Low-touch"
    TECH_TOUCH = "tech", "Tech-touch"


class TierSource(models.TextChoices):
    """Who decides an account's tier: the tier rules (accounts/segments/), or a person who set it by hand."""

    RULES = "rules", "Follows the tier rules"
    MANUAL = "manual", "Set by hand"


class Coverage(models.TextChoices):
    ASSIGNED = "assigned", "Assigned CSM"
    POOLED = "pooled", "Pooled team"


class Stage(models.TextChoices):
    """Where a customer is in its life with us (product.md §3); lifecycle keeps the history of changes."""

    ONBOARDING = "onboarding", "Onboarding"
    ADOPTION = "adoption", "Adoption"
    SUCCESS = "success", "Success"
    AT_RISK = "at_risk", "Renewal at risk"
    CHURNED = "churned", "Churned"


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccountQuerySet(models.QuerySet):
    def editable_by(self, user) -> AccountQuerySet:
        return self.filter(editable_accounts_q(user))

    def covered_by(self, user) -> AccountQuerySet:
        """The accounts on `user`'s desk: their own and their team's pool.

        Managers see their whole team's book; admins, with no book of their
        own, see every account.
        """
        if sees_whole_book_on_desk(user):
            return self.all()
        return self.editable_by(user)

    def renewing_within(self, days: int, *, today: dt.date | None = None) -> AccountQuerySet:
        today = today or timezone.localdate()
        return self.filter(renewal_date__gte=today, renewal_date__lte=today + dt.timedelta(days=days))

    def active(self) -> AccountQuerySet:
        return self.exclude(stage=Stage.CHURNED)

    def with_list_columns(self) -> AccountQuerySet:
        return self.select_related("owner", "pool", "health")


# The API's sort keys for two nullable columns (accounts/api/views.py): coalesced, so their indexes below hold no
# NULLs and a keyset cursor is a plain value. Unconverted ARR sorts as -1, no renewal date as the last day there is.
ARR_REPORTING_SORT_KEY = Coalesce("arr_reporting", Value(Decimal("-1")))
RENEWAL_DATE_SORT_KEY = Coalesce("renewal_date", Value(dt.date(9999, 12, 31)))


class Account(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True)
    # The account's id in the system it came from (the CRM); an import finds the account by it (accounts/imports/).
    external_id = models.CharField("External id", max_length=100, blank=True)
    industry = models.CharField(max_length=32, choices=Industry.choices)
    region = models.CharField(max_length=16, choices=Region.choices)
    employee_band = models.CharField(max_length=16, choices=EmployeeBand.choices, blank=True)
    arr = models.DecimalField("ARR", max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    # ARR in the reporting currency at the rate in force, null while its currency has no rate
    # (accounts/money/); written only by money.services.converted_arr_refresh.
    arr_reporting = models.DecimalField(
        "ARR (reporting currency)", max_digits=16, decimal_places=2, null=True, blank=True, editable=False
    )
    contract_start = models.DateField(null=True, blank=True)
    renewal_date = models.DateField(null=True, blank=True)
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)], help_text="1 = January"
    )
    tier = models.CharField(max_length=8, choices=Tier.choices, default=Tier.LOW_TOUCH)
    # A tier set by hand overrides the rules until someone lets the rules decide again (accounts/segments/).
    tier_source = models.CharField("Tier set", max_length=8, choices=TierSource.choices, default=TierSource.RULES)
    tier_reason = models.CharField(
        "Why this tier", max_length=200, blank=True, help_text="Why the tier was set by hand."
    )
    coverage = models.CharField(max_length=16, choices=Coverage.choices, default=Coverage.ASSIGNED)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_accounts",
        help_text="The assigned CSM.",
        db_index=False,  # account_owner_renewal leads with it
    )
    pool = models.ForeignKey(
        "users.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pooled_accounts",
        help_text="The team that shares a pooled account.",
        db_index=False,  # account_pool_owner leads with it
    )
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.ONBOARDING)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    tags = models.ManyToManyField(Tag, blank=True, related_name="accounts")
    why_they_bought = models.TextField(blank=True, help_text="From the original sale.")
    tech_stack_notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(coverage=Coverage.ASSIGNED) | Q(owner__isnull=False),
                name="account_assigned_has_owner",
                violation_error_message="An account with an assigned CSM needs an owner.",
            ),
            models.CheckConstraint(
                condition=~Q(coverage=Coverage.POOLED) | Q(pool__isnull=False),
                name="account_pooled_has_pool",
                violation_error_message="A pooled account needs a team.",
            ),
            models.CheckConstraint(condition=Q(arr__gte=0), name="account_arr_not_negative"),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="account_unique_external_id",
                violation_error_message="Another account has this external id.",
            ),
            models.CheckConstraint(condition=Q(tier_source__in=TierSource.values), name="account_tier_source_valid"),
            models.CheckConstraint(
                condition=Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="account_fiscal_month_valid",
            ),
            models.CheckConstraint(
                condition=Q(contract_start__isnull=True)
                | Q(renewal_date__isnull=True)
                | Q(renewal_date__gt=F("contract_start")),
                name="account_renewal_after_contract_start",
                violation_error_message="The renewal date must come after the contract start.",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "renewal_date"], name="account_owner_renewal"),
            models.Index(fields=["pool", "renewal_date"], name="account_pool_renewal"),
            # Holds both columns of a desk (own accounts or the team's pool), so counting a desk
            # reads this small index alone instead of visiting every page of the table.
            models.Index(fields=["pool", "owner"], name="account_pool_owner"),
            models.Index(fields=["renewal_date"], name="account_renewal"),
            models.Index(fields=["stage"], name="account_stage"),
            # An import finds accounts by domain without regard to case.
            models.Index(Lower("domain"), name="account_domain_lower"),
            # Sorting by converted ARR (largest first, unconverted last, ties by id) walks this index.
            DescNullsLastIndex(F("arr_reporting").desc(nulls_last=True), F("id"), name="account_arr_reporting_desc"),
            # The API's orderings, each with the id that makes a keyset position one row (walked backwards for "-").
            models.Index(fields=["name", "id"], name="account_api_name"),
            # Walked backwards it is also the largest-ARR-first order of the bulk page (transitions).
            models.Index(fields=["arr", "id"], name="account_api_arr"),
            models.Index(ARR_REPORTING_SORT_KEY, F("id"), name="account_api_arr_reporting"),
            models.Index(RENEWAL_DATE_SORT_KEY, F("id"), name="account_api_renewal"),
            models.Index(fields=["created_at", "id"], name="account_api_created"),
            # The portfolio's low-ARR quartile walks converted ARR in order; its book GROUP BY, stage funnel and
            # per-CSM counts read every column they group or filter by from here too. The table's rows carry long
            # free text (about 800 bytes each), so a scan of this index reads about a sixth of the pages a scan
            # of the table does, and they stay in shared buffers.
            models.Index(
                fields=["arr_reporting", "id"],
                include=[
                    "stage",
                    "owner",
                    "pool",
                    "industry",
                    "region",
                    "tier",
                    "renewal_date",
                    "stage_entered_at",
                ],
                name="account_portfolio_arr",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def days_in_stage(self) -> int:
        return (timezone.now() - self.stage_entered_at).days

    @property
    def days_to_renewal(self) -> int | None:
        if self.renewal_date is None:
            return None
        return (self.renewal_date - timezone.localdate()).days

    @property
    def covered_by_label(self) -> str:
        if self.owner_id:
            return str(self.owner)
        if self.pool_id:
            return f"{self.pool} pool"
        return "Unassigned"


# The account fields a contract's terms consist of: every change to one of them is kept as a dated AccountTerms row.
TERMS_FIELDS = ("contract_start", "renewal_date", "arr", "currency", "tier")


class TermsSource(models.TextChoices):
    CREATED = "created", "Account created"
    EDITED = "edited", "Account edited"
    BACKFILL = "backfill", "Kept from before the history began"
    IMPORTED = "imported", "Imported from a file or the bulk API"
    DEMO = "demo", "Demo data"


class AccountTerms(models.Model):
    """An account's contract terms as they stood from `effective_at` until its next row: what was known on a day.

    Append-only, written in the same transaction by the service that creates the account or
    changes one of TERMS_FIELDS (accounts.services); a backtest asks
    `accounts.selectors.account_terms_as_of` for the terms in force on a past day.
    """

    account = models.ForeignKey(
        Account,
        on_delete=models.CASCADE,
        related_name="terms_history",
        db_index=False,  # terms_account_effective leads with it
    )
    effective_at = models.DateTimeField(default=timezone.now)
    contract_start = models.DateField(null=True, blank=True)
    renewal_date = models.DateField(null=True, blank=True)
    arr = models.DecimalField("ARR", max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    tier = models.CharField(max_length=8, choices=Tier.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16, choices=TermsSource.choices)

    class Meta:
        ordering = ["-effective_at", "-id"]
        verbose_name_plural = "account terms"
        constraints = [
            models.CheckConstraint(condition=Q(arr__gte=0), name="terms_arr_not_negative"),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="terms_tier_valid"),
            models.CheckConstraint(condition=Q(source__in=TermsSource.values), name="terms_source_valid"),
        ]
        # "The latest row of each account up to a moment": one index walk per account, newest first.
        indexes = [models.Index(fields=["account", "-effective_at", "-id"], name="terms_account_effective")]

    def __str__(self) -> str:
        return f"{self.account_id} from {self.effective_at:%Y-%m-%d %H:%M}: {self.currency} {self.arr}, {self.tier}"


class Product(models.Model):
    """A product or module a customer can buy, named by the key the product's analytics sends with usage."""

    key = models.CharField(
        max_length=100,
        unique=True,
        help_text="As usage rows name it (e.g. reports); matched without regard to case.",
    )
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # Keys are matched case-insensitively on ingest, so they are stored lower-case and trimmed.
            models.CheckConstraint(condition=Q(key=Lower(Trim("key"))) & ~Q(key=""), name="product_key_normalised"),
        ]

    def __str__(self) -> str:
        return self.name


class Entitlement(models.Model):
    """A product an account bought, with its seats, from `starts_on` until `ends_on` (open-ended when blank).

    Adoption breadth compares the products an account holds on a day with those it used.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="entitlements", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="entitlements")
    seats = models.PositiveIntegerField(null=True, blank=True, help_text="Blank where the product is not sold by seat.")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Blank: until further notice.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "product__name", "-starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["account", "product", "starts_on"], name="entitlement_unique_start"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")), name="entitlement_ends_after_start"
            ),
        ]
        # The recompute reads each account's entitlements in force on a day: one index range per account.
        indexes = [models.Index(fields=["account", "starts_on"], name="entitlement_account_start")]

    def __str__(self) -> str:
        until = f" until {self.ends_on}" if self.ends_on else ""
        return f"{self.account_id}: product {self.product_id} from {self.starts_on}{until}"

    def in_force_on(self, day: dt.date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)


class DealRole(models.TextChoices):
    CHAMPION = "champion", "Champion"
    DECISION_MAKER = "decision_maker", "Decision maker"
    ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
    USER = "user", "User"
    DETRACTOR = "detractor", "Detractor"


class Influence(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"
    UNKNOWN = "unknown", "Unknown"


class ContactQuerySet(models.QuerySet):
    def active(self) -> ContactQuerySet:
        """Not archived: archived contacts keep their history (touchpoints, surveys, reports) but leave the map."""
        return self.filter(archived_at__isnull=True)

    def archived(self) -> ContactQuerySet:
        return self.filter(archived_at__isnull=False)

    def current(self) -> ContactQuerySet:
        """Still at the customer and on the map: neither departed nor archived."""
        return self.filter(departed=False, archived_at__isnull=True)

    def stale(self, *, days: int = 90) -> ContactQuerySet:
        cutoff = timezone.now() - dt.timedelta(days=days)
        return self.filter(Q(last_verified_at__isnull=True) | Q(last_verified_at__lt=cutoff))


class Contact(models.Model):
    STALE_AFTER_DAYS = 90

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    chat_handle = models.CharField(max_length=100, blank=True)
    deal_role = models.CharField(max_length=20, choices=DealRole.choices, blank=True)
    influence = models.CharField(max_length=8, choices=Influence.choices, default=Influence.MEDIUM)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, default=Sentiment.UNKNOWN)
    reports_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports"
    )
    last_verified_at = models.DateTimeField(null=True, blank=True)
    departed = models.BooleanField(default=False)
    departed_at = models.DateField(null=True, blank=True)
    # Contacts are archived, never deleted (accounts.services.contact_archive): their touchpoints, survey
    # answers and reports keep pointing at them, and stakeholder coverage stops counting them.
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archive_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.CheckConstraint(condition=~Q(reports_to=F("pk")), name="contact_not_own_manager"),
            models.UniqueConstraint(
                fields=["account", "email"],
                condition=~Q(email=""),
                name="contact_unique_email_per_account",
                violation_error_message="This account already has a contact with that email.",
            ),
        ]
        # The API's orderings (by account then name, or by name), ending in the id for keyset pages.
        indexes = [
            models.Index(fields=["account", "last_name", "first_name", "id"], name="contact_api_account_name"),
            models.Index(fields=["last_name", "first_name", "id"], name="contact_api_name"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_stale(self) -> bool:
        if self.last_verified_at is None:
            return True
        return self.last_verified_at < timezone.now() - dt.timedelta(days=self.STALE_AFTER_DAYS)


class TimelineKind(models.TextChoices):
    TOUCHPOINT = "touchpoint", "Touchpoint"
    NOTE = "note", "Internal note"
    RISK = "risk", "Risk tag"
    SYSTEM = "system", "System event"


class Channel(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat message"
    QBR = "qbr", "QBR"


class RiskTag(models.TextChoices):
    BUDGET_CUT = "budget_cut", "Budget cut"
    REORG = "reorg", "Reorganisation"
    COMPETITOR = "competitor", "Competitor"
    CHAMPION_LEFT = "champion_left", "Champion left"
    EXTERNAL_EVENT = "external_event", "External event"
    PRODUCT_GAP = "product_gap", "Product gap"
    OTHER = "other", "Other"


class TimelineEntryQuerySet(models.QuerySet):
    def touchpoints(self) -> TimelineEntryQuerySet:
        return self.filter(kind=TimelineKind.TOUCHPOINT)

    def for_display(self) -> TimelineEntryQuerySet:
        return self.select_related("author").prefetch_related("participants")


class TimelineEntry(models.Model):
    """One thing that happened with a customer, newest first on the 360 page."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=TimelineKind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    risk_tag = models.CharField(max_length=20, choices=RiskTag.choices, blank=True)
    event = models.CharField(max_length=40, blank=True, help_text="System event code, e.g. stage_changed.")
    occurred_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    participants = models.ManyToManyField(Contact, blank=True, related_name="touchpoints")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TimelineEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "timeline entries"
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind=TimelineKind.TOUCHPOINT) | ~Q(channel=""),
                name="timeline_touchpoint_has_channel",
            ),
            models.CheckConstraint(
                condition=~Q(kind=TimelineKind.RISK) | ~Q(risk_tag=""),
                name="timeline_risk_has_tag",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-occurred_at"], name="timeline_account_recent"),
            models.Index(fields=["account", "kind", "-occurred_at"], name="timeline_account_kind"),
            # The API's ordering over every entry, ending in the id for keyset pages (newest first walks it backwards).
            models.Index(fields=["occurred_at", "id"], name="timeline_api_occurred"),
            # The book's touchpoints of the last days (the portfolio's workload), read from the index alone.
            models.Index(
                fields=["occurred_at"],
                include=["account"],
                condition=Q(kind=TimelineKind.TOUCHPOINT),
                name="timeline_touchpoint_recent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"


class AuditAction(models.TextChoices):
    ACCOUNT_CREATED = "account_created", "Account created"
    ACCOUNT_UPDATED = "account_updated", "Account updated"
    ACCOUNT_DELETED = "account_deleted", "Account deleted"
    OWNER_CHANGED = "owner_changed", "Owner changed"
    STAGE_CHANGED = "stage_changed", "Stage changed"
    CONTACT_CREATED = "contact_created", "Contact created"
    CONTACT_UPDATED = "contact_updated", "Contact updated"
    CONTACT_ARCHIVED = "contact_archived", "Contact archived"
    CONTACT_RESTORED = "contact_restored", "Contact restored"
    SCORE_OVERRIDDEN = "score_overridden", "Score overridden"
    TRANSITION_CHANGED = "transition_changed", "Transition changed"
    OUTCOME_RECORDED = "outcome_recorded", "Outcome recorded"
    OUTCOME_CORRECTED = "outcome_corrected", "Outcome corrected"
    SCORECARD_CREATED = "scorecard_created", "Scorecard version created"
    SCORECARD_EDITED = "scorecard_edited", "Scorecard draft edited"
    SCORECARD_ACTIVATED = "scorecard_activated", "Scorecard version activated"
    SCORECARD_RETIRED = "scorecard_retired", "Scorecard version retired"
    SCORECARD_DELETED = "scorecard_deleted", "Scorecard draft deleted"
    PRODUCT_CREATED = "product_created", "Product created"
    PRODUCT_UPDATED = "product_updated", "Product changed"
    PRODUCT_DELETED = "product_deleted", "Product deleted"
    ENTITLEMENT_CREATED = "entitlement_created", "Entitlement added"
    ENTITLEMENT_UPDATED = "entitlement_updated", "Entitlement changed"
    ENTITLEMENT_DELETED = "entitlement_deleted", "Entitlement deleted"
    ALERT_SETTINGS_CHANGED = "alert_settings_changed", "Alert settings changed"
    FLOOD_WARNING_ACKNOWLEDGED = "flood_warning_acknowledged", "Flood warning acknowledged"
    EXCHANGE_RATE_CREATED = "exchange_rate_created", "Exchange rate added"
    EXCHANGE_RATE_UPDATED = "exchange_rate_updated", "Exchange rate changed"
    EXCHANGE_RATE_DELETED = "exchange_rate_deleted", "Exchange rate deleted"
    TIER_RULE_CREATED = "tier_rule_created", "Tier rule added"
    TIER_RULE_UPDATED = "tier_rule_updated", "Tier rule changed"
    TIER_RULE_DELETED = "tier_rule_deleted", "Tier rule deleted"
    TIER_RULES_REORDERED = "tier_rules_reordered", "Tier rules reordered"
    TIER_CHANGED = "tier_changed", "Tier changed by the rules"


class AuditEventQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        # Services that write many records at once build them directly: their actors' names are filled
        # here, with one query for actors given by id only.
        objs = list(objs)
        missing = {
            obj.actor_id
            for obj in objs
            if obj.actor_id and not obj.actor_name and "actor" not in obj._state.fields_cache
        }
        names = {}
        if missing:
            users = User.objects.filter(pk__in=missing)
            names = {user.pk: display_name(user) for user in users.only("username", "first_name", "last_name")}
        for obj in objs:
            if obj.actor_id and not obj.actor_name:
                obj.actor_name = (
                    display_name(obj.actor) if "actor" in obj._state.fields_cache else names.get(obj.actor_id, "")
                )
        return super().bulk_create(objs, *args, **kwargs)


class AuditEvent(models.Model):
    """Append-only record of who changed what, when and why.

    Rows are only ever inserted by the service that makes the change; the
    admin shows them read-only.
    """

    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The actor's name as it was when they acted: kept if the user row ever goes (users are deactivated,
    # not deleted, but a name should not depend on that). Blank for the system.
    actor_name = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    subject_type = models.CharField(max_length=50)
    subject_id = models.BigIntegerField()
    changes = models.JSONField(default=dict, blank=True, help_text='{"field": [old, new]}')
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="audit_account_recent")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.subject_type}#{self.subject_id}"

    @property
    def actor_label(self) -> str:
        """Who did it: the user as they are now, else the name kept when they acted; blank for the system."""
        return str(self.actor) if self.actor is not None else self.actor_name


# Outcomes (accounts/outcomes/), exchange rates (accounts/money/) and tier rules (accounts/segments/) are concepts
# of their own; Django finds an app's models in its models module.
from accounts.imports.models import ImportJob, ImportMapping  # noqa: E402, F401, I001
from accounts.money.models import ExchangeRate  # noqa: E402, F401
from accounts.outcomes.models import ChurnReason, Movement, Outcome, OutcomeKind, OutcomeSource  # noqa: E402, F401
from accounts.segments.models import TierRule  # noqa: E402, F401
