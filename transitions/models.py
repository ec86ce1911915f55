"""Playbooks and the runs that follow them: handovers, stage checklists, risk plays.

A playbook is a template. Starting a run copies its steps into tasks, so
editing the playbook afterwards (which bumps its version) never rewrites a
run already under way.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.models import Stage
from core.text import counted


class PlaybookKind(models.TextChoices):
    HANDOVER = "handover", "Handover"
    STAGE = "stage", "Stage checklist"
    RISK = "risk", "Risk play"


class AssigneeRole(models.TextChoices):
    OUTGOING = "outgoing", "Outgoing CSM"
    INCOMING = "incoming", "Incoming CSM"
    MANAGER = "manager", "Manager"


# Four of the five readiness checks: a handover may lack one thing, not two, without a manager saying why.
DEFAULT_MIN_READINESS = 80

EMAIL_PLACEHOLDERS = {
    "contact_first_name": "The contact's first name",
    "account": "The account's name",
    "outgoing_csm": "The outgoing CSM's full name",
    "incoming_csm": "The incoming CSM's full name",
    "call_date": "The proposed handover call date",
}


class Playbook(models.Model):
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=PlaybookKind.choices, default=PlaybookKind.HANDOVER)
    description = models.TextField(blank=True)
    trigger_stage = models.CharField(
        max_length=16,
        choices=Stage.choices,
        blank=True,
        help_text="Stage checklists start when an account enters this stage.",
    )
    is_default = models.BooleanField(default=False, help_text="Preselected when a manager starts a handover.")
    min_readiness = models.PositiveSmallIntegerField(
        "minimum readiness (%)",
        default=DEFAULT_MIN_READINESS,
        validators=[MaxValueValidator(100)],
        help_text="A handover whose context readiness is below this completes only when a manager confirms it "
        "with a reason.",
    )
    archived = models.BooleanField(default=False)
    version = models.PositiveIntegerField(
        default=1,
        help_text="Bumped by every edit; runs keep the version they started with.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(is_default=True),
                name="playbook_one_default_per_kind",
                violation_error_message="Only one playbook of each kind can be the default.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=PlaybookKind.STAGE) | ~Q(trigger_stage=""),
                name="playbook_stage_has_trigger",
                violation_error_message="A stage checklist needs the stage that starts it.",
            ),
            models.CheckConstraint(
                condition=Q(min_readiness__gte=0, min_readiness__lte=100),
                name="playbook_min_readiness_percent",
                violation_error_message="The minimum readiness is a percentage, from 0 to 100.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


STEP_FIELDS_FOR_FORMS = (
    "title",
    "guidance",
    "assignee_role",
    "due_offset_days",
    "required",
    "email_subject",
    "email_body",
)


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    guidance = models.TextField(blank=True)
    assignee_role = models.CharField(max_length=16, choices=AssigneeRole.choices)
    due_offset_days = models.PositiveSmallIntegerField(default=0, help_text="Days after the run's start.")
    required = models.BooleanField(default=True)
    email_subject = models.CharField(max_length=200, blank=True)
    email_body = models.TextField(
        blank=True,
        help_text="Placeholders: {contact_first_name}, {account}, {outgoing_csm}, {incoming_csm}, {call_date}.",
    )

    class Meta:
        ordering = ["playbook", "position"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "position"], name="playbookstep_unique_position"),
            models.CheckConstraint(
                condition=Q(email_subject="") | ~Q(email_body=""),
                name="playbookstep_email_has_body",
                violation_error_message="An email step needs a body as well as a subject.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    @property
    def has_email(self) -> bool:
        return bool(self.email_body)


class TransitionReason(models.TextChoices):
    ATTRITION = "attrition", "Attrition"
    PROMOTION = "promotion", "Promotion"
    REORG = "reorg", "Reorganisation"
    LEAVE = "leave", "Leave"
    REBALANCING = "rebalancing", "Rebalancing"


class TransitionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (TransitionStatus.PLANNED, TransitionStatus.IN_PROGRESS)


class BulkHandoverStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BulkHandover(models.Model):
    """One manager's request to start many handovers at once, and how far it got."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=TransitionReason.choices)
    note = models.TextField(blank=True)
    start_date = models.DateField()
    target_date = models.DateField()
    assignments = models.JSONField(help_text="[[account_id, incoming_csm_id], ...]")
    status = models.CharField(
        max_length=16,
        choices=BulkHandoverStatus.choices,
        default=BulkHandoverStatus.QUEUED,
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    conflicts = models.JSONField(
        default=list,
        blank=True,
        help_text="Accounts that already had a handover under way.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The run's last sign of life: when a worker claimed it, then each progress write (PostgreSQL). A run
    # "running" with none for longer than a task may live was abandoned by its worker (the sweep fails it).
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Bulk handover #{self.pk} ({counted(self.total, 'account')})"

    @property
    def percent(self) -> int:
        if self.status == BulkHandoverStatus.DONE:
            return 100
        return round(100 * self.processed / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (BulkHandoverStatus.DONE, BulkHandoverStatus.FAILED)


class TransitionQuerySet(models.QuerySet):
    def active(self) -> TransitionQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def handovers(self) -> TransitionQuerySet:
        return self.filter(kind=PlaybookKind.HANDOVER)

    def with_progress(self, *, today: dt.date | None = None) -> TransitionQuerySet:
        """Task counts for % complete and overdue work, as annotations (no per-row queries)."""
        today = today or timezone.localdate()
        open_task = Q(tasks__status=TaskStatus.OPEN)
        return self.annotate(
            tasks_total=Count("tasks", distinct=True),
            tasks_done=Count("tasks", filter=Q(tasks__status=TaskStatus.DONE), distinct=True),
            tasks_overdue=Count("tasks", filter=open_task & Q(tasks__due_date__lt=today), distinct=True),
            required_open=Count("tasks", filter=open_task & Q(tasks__required=True), distinct=True),
            has_failed_email=Exists(
                OutboundEmail.objects.filter(task__transition=OuterRef("pk"), status__in=EMAIL_NEEDS_ATTENTION)
            ),
        )

    def for_board(self) -> TransitionQuerySet:
        return self.select_related("account", "from_csm", "to_csm", "playbook").with_progress()


class Transition(models.Model):
    """One account following one playbook; for a handover, from one CSM to another."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="transitions")
    kind = models.CharField(max_length=16, choices=PlaybookKind.choices, default=PlaybookKind.HANDOVER)
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="transitions")
    playbook_version = models.PositiveIntegerField()
    from_csm = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outgoing_transitions",
    )
    to_csm = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incoming_transitions",
    )
    reason = models.CharField(max_length=16, choices=TransitionReason.choices, blank=True)
    note = models.TextField(blank=True)
    start_date = models.DateField()
    target_date = models.DateField()
    status = models.CharField(
        max_length=16,
        choices=TransitionStatus.choices,
        default=TransitionStatus.PLANNED,
    )
    bulk = models.ForeignKey(
        BulkHandover,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="transitions",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    # A handover's context readiness when it completed, and the bar its playbook set then.
    completed_readiness = models.PositiveSmallIntegerField(null=True, blank=True)
    readiness_threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    # Below the bar, the manager who confirmed it anyway, and why.
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmation_reason = models.TextField(blank=True)

    objects = TransitionQuerySet.as_manager()

    class Meta:
        ordering = ["target_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(kind=PlaybookKind.HANDOVER, status__in=ACTIVE_STATUSES),
                name="transition_one_active_handover_per_account",
                violation_error_message="This account already has a handover under way.",
            ),
            models.UniqueConstraint(
                fields=["account", "playbook"],
                condition=Q(kind=PlaybookKind.RISK, status__in=ACTIVE_STATUSES),
                name="transition_one_active_risk_play_per_account",
                violation_error_message="This account already runs this risk play.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=PlaybookKind.HANDOVER) | (Q(to_csm__isnull=False) & ~Q(reason="")),
                name="transition_handover_has_incoming_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(from_csm__isnull=True) | Q(to_csm__isnull=True) | ~Q(from_csm=F("to_csm")),
                name="transition_from_differs_from_to",
            ),
            models.CheckConstraint(
                condition=Q(target_date__gte=F("start_date")),
                name="transition_target_not_before_start",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | ~Q(confirmation_reason=""),
                name="transition_confirmation_has_reason",
                violation_error_message="A confirmation below the readiness threshold needs a reason.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "target_date"], name="transition_status_target"),
            models.Index(fields=["from_csm", "status"], name="transition_from_status"),
            models.Index(fields=["to_csm", "status"], name="transition_to_status"),
        ]

    def __str__(self) -> str:
        if self.kind == PlaybookKind.HANDOVER:
            return f"{self.account} → {self.to_csm}"
        return f"{self.playbook.name}: {self.account}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_handover(self) -> bool:
        return self.kind == PlaybookKind.HANDOVER

    @property
    def noun(self) -> str:
        """What the run is called in a sentence: "handover", "save play", "stage checklist"."""
        return RUN_NOUNS[self.kind]

    @property
    def title(self) -> str:
        """The run as people name it: "Handover from Alex Archer to Sam Sato", "Save play: account at risk".

        Needs `playbook` (for plays) or `from_csm` and `to_csm` (for handovers) loaded.
        """
        if self.kind == PlaybookKind.HANDOVER:
            return f"Handover from {_person(self.from_csm) or 'the pool'} to {_person(self.to_csm)}"
        prefix = RUN_NOUNS[self.kind].capitalize()
        name = self.playbook.name
        # The shipped save play is already called "Save play: …"; do not say it twice.
        if name.lower().startswith(prefix.lower()):
            name = name[len(prefix) :].lstrip(" :—-")
        return f"{prefix}: {name}"

    @property
    def awaiting_confirmation(self) -> bool:
        """Every required step is done but the handover waits for a manager (readiness below its playbook's bar).

        Needs `with_progress()` annotations.
        """
        tasks_total: int = getattr(self, "tasks_total", 0)
        required_open: int = getattr(self, "required_open", 0)
        return self.kind == PlaybookKind.HANDOVER and self.is_active and tasks_total > 0 and not required_open

    @property
    def percent_complete(self) -> int:
        """Needs `with_progress()` annotations."""
        return round(100 * self.tasks_done / self.tasks_total) if self.tasks_total else 0


RUN_NOUNS: dict[str, str] = {
    PlaybookKind.HANDOVER: "handover",
    PlaybookKind.RISK: "save play",
    PlaybookKind.STAGE: "stage checklist",
}


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class TransitionTaskQuerySet(models.QuerySet):
    def open(self) -> TransitionTaskQuerySet:
        return self.filter(status=TaskStatus.OPEN)

    def assigned_to(self, user) -> TransitionTaskQuerySet:
        return self.filter(assignee=user)

    def overdue(self, *, today: dt.date | None = None) -> TransitionTaskQuerySet:
        return self.open().filter(due_date__lt=today or timezone.localdate())


class TransitionTask(models.Model):
    """One step of a run, copied from the playbook when the run started."""

    transition = models.ForeignKey(Transition, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    guidance = models.TextField(blank=True)
    assignee_role = models.CharField(max_length=16, choices=AssigneeRole.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transition_tasks",
    )
    due_date = models.DateField()
    required = models.BooleanField(default=True)
    email_subject = models.CharField(max_length=200, blank=True)
    email_body = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    system_created = models.BooleanField(default=True, help_text="Created by a playbook rather than by hand.")

    objects = TransitionTaskQuerySet.as_manager()

    class Meta:
        ordering = ["transition", "position"]
        constraints = [
            models.UniqueConstraint(fields=["transition", "position"], name="transitiontask_unique_position"),
            models.CheckConstraint(
                condition=Q(status=TaskStatus.OPEN) | Q(completed_at__isnull=False),
                name="transitiontask_closed_has_time",
            ),
        ]
        indexes = [
            # A CSM's open tasks in the order their cockpit lists them (transitions.selectors.tasks_for_cockpit).
            models.Index(
                fields=["assignee", "status", "due_date", "transition", "position"], name="task_assignee_due_order"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def has_email(self) -> bool:
        return bool(self.email_body)

    @property
    def is_overdue(self) -> bool:
        return self.status == TaskStatus.OPEN and self.due_date < timezone.localdate()


class OutboundEmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    # An attempt is under way since `status_since`; see transitions.services.customer_emails.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # An attempt started and never reported back: the customer may or may not have it. Never resent by itself.
    UNCONFIRMED = "unconfirmed", "Not confirmed"


# A person has to look: it failed, or nobody knows whether it went (the board's "Email failed" badge).
EMAIL_NEEDS_ATTENTION = (OutboundEmailStatus.FAILED, OutboundEmailStatus.UNCONFIRMED)


class OutboundEmail(models.Model):
    """A customer email waiting in, or gone through, the outbox. Nothing is sent without a row here.

    The row is what the CSM sees on the task. The sending itself (claim, retries
    with backoff, the sweep) is a notifications Delivery, which claims the row
    (sending) just before each attempt and reports its outcome back here:
    queued with `last_error` while retries are left, failed when they ran out
    (then the sender may retry it), sent. An attempt that never reports back
    leaves it "not confirmed", never sent again by itself (customer_emails).
    """

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="outbound_emails")
    task = models.ForeignKey(
        TransitionTask,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails",
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    to_email = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(
        max_length=16,
        choices=OutboundEmailStatus.choices,
        default=OutboundEmailStatus.QUEUED,
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When the email entered its status: queued (again), or an attempt claimed it. The sweep reads it.
    status_since = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=OutboundEmailStatus.SENT) | Q(sent_at__isnull=False),
                name="outboundemail_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="outbound_status_created"),
            # The sweep's reading: emails still on their way, by how long they have been so.
            models.Index(
                fields=["status_since"],
                condition=Q(status__in=[OutboundEmailStatus.QUEUED, OutboundEmailStatus.SENDING]),
                name="outbound_unfinished_since",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email} ({self.get_status_display()})"


class WorkFollowsOwner(models.TextChoices):
    ACCOUNT_ONLY = "account", "Only the account changes owner"
    SYSTEM_WORK = "system", "The account and its system-created open work"
    ALL_WORK = "all", "The account and all its open work"


class HandoverPolicy(models.Model):
    """Admin settings for handovers; a single row (pk=1)."""

    work_follows_owner = models.CharField(
        max_length=16,
        choices=WorkFollowsOwner.choices,
        default=WorkFollowsOwner.ALL_WORK,
        help_text="What moves to the incoming CSM with the account: open tasks, red flags and success-plan objectives.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "handover policy"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="handoverpolicy_singleton")]

    def __str__(self) -> str:
        return self.get_work_follows_owner_display()

    @classmethod
    def current(cls) -> HandoverPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy
