"""Working through a run's tasks: completing or skipping a step; the last required one completes the run.

Completing a handover moves the account to the incoming CSM, and with it the
open work the handover policy says follows the owner. A handover whose context
readiness is below its playbook's `min_readiness` does not complete with its
last step: it waits until a manager confirms it with a reason
(`transition_complete`), and the readiness, the bar and the reason are kept on
the run and in its audit record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Account, AuditAction, AuditEvent, Coverage, TimelineEntry
from accounts.services import (
    account_reassign,
    audit_event,
    audit_record,
    timeline_system_entry,
    timeline_system_event,
)
from core import events
from lifecycle.flags.services import flags_reassign
from plans.services import objectives_reassign
from users.models import User
from users.permissions import can_complete_transition_task, can_confirm_unready_handover

from ..events import HandoverAwaitingConfirmation, TransitionCompleted
from ..models import (
    ACTIVE_STATUSES,
    HandoverPolicy,
    PlaybookKind,
    TaskStatus,
    Transition,
    TransitionStatus,
    TransitionTask,
    WorkFollowsOwner,
)
from ..selectors import Readiness, readiness_for_accounts
from .transitions import _person

MIN_CONFIRMATION_REASON = 10


class ConfirmationRequired(PermissionDenied):
    """The handover's readiness is below its playbook's bar: only a manager, giving a reason, may complete it."""

    def __init__(self, transition: Transition, readiness: Readiness):
        self.readiness = readiness.percent
        self.threshold = transition.playbook.min_readiness
        self.missing = [item.label for item in readiness.gaps]
        super().__init__(
            f"Readiness is {self.readiness}%, below the {self.threshold}% this playbook asks for: "
            f"the handover needs a manager's confirmation with a reason."
        )


def _locked_task(task: TransitionTask) -> tuple[TransitionTask, Transition]:
    transition = Transition.objects.select_for_update(of=("self",)).select_related("account").get(pk=task.transition_id)
    task = TransitionTask.objects.get(pk=task.pk)
    task.transition = transition
    return task, transition


def _require_task_access(actor: User, task: TransitionTask, transition: Transition) -> None:
    if not can_complete_transition_task(actor, assignee_id=task.assignee_id, account=transition.account):
        raise PermissionDenied("Only the person this step is assigned to, or the team's manager, can complete it.")
    if not transition.is_active:
        raise ValidationError(
            f"This {transition.get_kind_display().lower()} is {transition.get_status_display().lower()}."
        )
    if task.status != TaskStatus.OPEN:
        raise ValidationError(f"“{task.title}” is already {task.get_status_display().lower()}.")


@transaction.atomic
def task_complete(*, actor: User, task: TransitionTask, skip: bool = False) -> TransitionTask:
    """Mark a step done (or skip an optional one); the last required step completes the whole run."""
    task, transition = _locked_task(task)
    _require_task_access(actor, task, transition)
    if skip and task.required:
        raise ValidationError(f"“{task.title}” is required and cannot be skipped.")
    now = timezone.now()
    task.status = TaskStatus.SKIPPED if skip else TaskStatus.DONE
    task.completed_at = now
    task.completed_by = actor
    task.save(update_fields=["status", "completed_at", "completed_by"])
    if transition.status == TransitionStatus.PLANNED:
        transition.status = TransitionStatus.IN_PROGRESS
        transition.save(update_fields=["status"])
    timeline_system_event(
        account=transition.account,
        event="transition_step",
        summary=f"{transition.playbook.name if transition.kind != PlaybookKind.HANDOVER else 'Handover'} step "
        f"{'skipped' if skip else 'done'}: {task.title}",
        actor=actor,
    )
    if not transition.tasks.filter(status=TaskStatus.OPEN, required=True).exists():
        _runs_finish(actor=actor, transitions=[transition], last_steps_done={transition.pk} if task.required else set())
    return task


@dataclass(frozen=True)
class WorkMoved:
    tasks: int = 0
    flags: int = 0
    objectives: int = 0

    def describe(self) -> str:
        parts = [
            f"{self.tasks} open task(s)",
            f"{self.flags} open red flag(s)",
            f"{self.objectives} success-plan objective(s)",
        ]
        return "Moved to the new owner: " + ", ".join(parts) + "."


def _move_open_work(*, account: Account, from_user: User | None, to_user: User, policy: str) -> WorkMoved:
    if policy == WorkFollowsOwner.ACCOUNT_ONLY or from_user is None:
        return WorkMoved()
    tasks = TransitionTask.objects.open().filter(transition__account=account, assignee=from_user)
    if policy == WorkFollowsOwner.SYSTEM_WORK:
        tasks = tasks.filter(system_created=True)
    moved_tasks = tasks.update(assignee=to_user)
    moved_flags = flags_reassign(
        account=account,
        to_user=to_user,
        created_by_system_only=policy == WorkFollowsOwner.SYSTEM_WORK,
    )
    moved_objectives = 0
    if policy == WorkFollowsOwner.ALL_WORK:
        # Objectives are written by people, so only "all open work" moves them.
        moved_objectives = objectives_reassign(account=account, from_user=from_user, to_user=to_user)
    return WorkMoved(tasks=moved_tasks, flags=moved_flags, objectives=moved_objectives)


def _runs_finish(
    *, actor: User, transitions: Sequence[Transition], last_steps_done: set[int]
) -> tuple[list[Transition], list[Transition]]:
    """Complete runs whose last required step is done, except handovers below their readiness bar, which wait.

    Returns (completed, waiting). The runs come locked, with `account` and `playbook`
    loaded; readiness is read for all of them at once (two queries). A handover
    already waiting whose optional step was just done is not announced again
    (`last_steps_done` holds the runs whose last required step this was).
    """
    handover_ids = [t.account_id for t in transitions if t.kind == PlaybookKind.HANDOVER]
    readiness = readiness_for_accounts(handover_ids)
    completed, waiting = [], []
    for transition in transitions:
        ready = readiness.get(transition.account_id)
        if ready is not None and ready.percent < transition.playbook.min_readiness:
            if transition.pk in last_steps_done:
                _handover_hold(actor=actor, transition=transition, readiness=ready)
            waiting.append(transition)
        else:
            _transition_complete(actor=actor, transition=transition, readiness=ready)
            completed.append(transition)
    return completed, waiting


def _handover_hold(*, actor: User, transition: Transition, readiness: Readiness) -> None:
    """The last required step is done but readiness is short: say so, and let the team's manager know."""
    threshold = transition.playbook.min_readiness
    missing = "; ".join(item.label for item in readiness.gaps)
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION_CHANGED,
        subject=transition,
        account=transition.account,
        changes={"awaiting_confirmation": (False, True), "readiness": (None, readiness.percent)},
        reason=f"All required steps done at {readiness.percent}% readiness, below the playbook's {threshold}%. "
        f"Missing: {missing}.",
    )
    timeline_system_event(
        account=transition.account,
        event="transition_awaiting_confirmation",
        summary=f"Handover waits for a manager's confirmation: readiness {readiness.percent}% "
        f"is below the {threshold}% the playbook asks for",
        body=f"Missing: {missing}.",
        actor=actor,
    )
    events.announce(
        HandoverAwaitingConfirmation(
            transition_id=transition.pk,
            account_id=transition.account_id,
            readiness=readiness.percent,
            threshold=threshold,
        )
    )


@transaction.atomic
def transition_complete(*, actor: User, transition: Transition, reason: str = "") -> Transition:
    """Complete a handover whose required steps are all done but which waits for its readiness.

    At or above the playbook's `min_readiness`, whoever may work its steps completes it.
    Below, only someone who may manage the handover (the team's manager, an admin)
    may, with a reason of at least MIN_CONFIRMATION_REASON characters; the readiness,
    the bar and the reason are kept on the run and in its audit record.
    """
    transition = (
        Transition.objects.select_for_update(of=("self",))
        .select_related("account__owner", "playbook", "from_csm", "to_csm")
        .get(pk=transition.pk)
    )
    if not (
        can_complete_transition_task(actor, assignee_id=transition.to_csm_id, account=transition.account)
        or can_complete_transition_task(actor, assignee_id=transition.from_csm_id, account=transition.account)
    ):
        raise PermissionDenied("Only the CSMs of this handover, or the team's manager, can complete it.")
    if transition.kind != PlaybookKind.HANDOVER:
        raise ValidationError(f"A {transition.noun} completes with its last required step.")
    if not transition.is_active:
        raise ValidationError(f"This handover is already {transition.get_status_display().lower()}.")
    still_open = transition.tasks.filter(status=TaskStatus.OPEN, required=True).count()
    if still_open:
        raise ValidationError(f"{still_open} required step(s) are still open.")
    readiness = readiness_for_accounts([transition.account_id])[transition.account_id]
    reason = reason.strip()
    if readiness.percent < transition.playbook.min_readiness:
        if not can_confirm_unready_handover(actor, transition.account):
            raise ConfirmationRequired(transition, readiness)
        if len(reason) < MIN_CONFIRMATION_REASON:
            raise ValidationError(
                {
                    "reason": f"Say why the handover may complete at {readiness.percent}% readiness "
                    f"(at least {MIN_CONFIRMATION_REASON} characters)."
                }
            )
        _transition_complete(actor=actor, transition=transition, readiness=readiness, confirmation=reason)
    else:
        _transition_complete(actor=actor, transition=transition, readiness=readiness)
    return transition


def _transition_complete(
    *, actor: User, transition: Transition, readiness: Readiness | None = None, confirmation: str = ""
) -> None:
    now = timezone.now()
    account = transition.account
    TransitionTask.objects.filter(transition=transition, status=TaskStatus.OPEN).update(
        status=TaskStatus.SKIPPED, completed_at=now, completed_by=actor
    )
    summary = f"{transition.playbook.name} completed"
    body = ""
    if transition.kind == PlaybookKind.HANDOVER:
        account = Account.objects.select_for_update(of=("self",)).select_related("owner").get(pk=account.pk)
        previous_owner = account.owner
        incoming = transition.to_csm
        assert incoming is not None, "a handover has an incoming CSM (transition_handover_has_incoming_and_reason)"
        if account.owner_id != transition.to_csm_id or account.coverage != Coverage.ASSIGNED:
            account_reassign(
                actor=actor,
                account=account,
                coverage=Coverage.ASSIGNED,
                owner=transition.to_csm,
                pool=None,
                reason=f"Handover completed ({transition.get_reason_display().lower()}).",
            )
        moved = _move_open_work(
            account=account,
            from_user=previous_owner or transition.from_csm,
            to_user=incoming,
            policy=HandoverPolicy.current().work_follows_owner,
        )
        summary = f"Handover completed: {_person(transition.to_csm)} now owns the account"
        body = moved.describe()
    changes: dict = {"status": (TransitionStatus.IN_PROGRESS, TransitionStatus.COMPLETED)}
    update_fields = ["status", "completed_at"]
    if readiness is not None:
        transition.completed_readiness = readiness.percent
        transition.readiness_threshold = transition.playbook.min_readiness
        changes["readiness"] = (None, readiness.percent)
        changes["readiness_threshold"] = (None, transition.readiness_threshold)
        update_fields += ["completed_readiness", "readiness_threshold"]
    if confirmation:
        transition.confirmed_by = actor
        transition.confirmation_reason = confirmation
        changes["confirmed_below_threshold"] = (False, True)
        update_fields += ["confirmed_by", "confirmation_reason"]
        confirmed = (
            f"Confirmed by {_person(actor)} at {transition.completed_readiness}% readiness "
            f"(the playbook asks for {transition.readiness_threshold}%): {confirmation}"
        )
        body = f"{confirmed}\n{body}" if body else confirmed
    transition.status = TransitionStatus.COMPLETED
    transition.completed_at = now
    transition.save(update_fields=update_fields)
    events.announce(
        TransitionCompleted(
            transition_id=transition.pk,
            account_id=account.pk,
            kind=transition.kind,
            to_csm_id=transition.to_csm_id,
        )
    )
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION_CHANGED,
        subject=transition,
        account=account,
        changes=changes,
        reason=body,
    )
    timeline_system_event(
        account=account,
        event="transition_completed",
        summary=summary,
        body=body,
        actor=actor,
    )


@dataclass(frozen=True)
class TasksCompleted:
    done: int
    already_closed: int
    runs_completed: int
    # Handovers whose last step this was but whose readiness is below their playbook's bar.
    runs_awaiting: int = 0


@transaction.atomic
def tasks_complete(*, actor: User, task_ids: Sequence[int]) -> TasksCompleted:
    """Mark many steps done at once (a CSM's task list): all or nothing.

    Refused whole if any step is someone else's, or one that is done by sending
    its customer email. Steps already closed, or whose run has ended, are left
    as they are and counted. A fixed number of queries whatever the number of
    steps, plus the completion of each run whose last required step this was.
    """
    ids = sorted(set(task_ids))
    if not ids:
        raise ValidationError("Select at least one step to complete.")
    transition_ids = list(
        TransitionTask.objects.filter(pk__in=ids)
        .order_by("transition_id")
        .values_list("transition_id", flat=True)
        .distinct()
    )
    # Lock the runs in pk order, as a single completion does, so two people ticking steps cannot both finish a run.
    list(
        Transition.objects.select_for_update(of=("self",))
        .filter(pk__in=transition_ids)
        .order_by("pk")
        .values_list("pk")
    )
    tasks = list(
        TransitionTask.objects.filter(pk__in=ids).select_related("transition__account__owner", "transition__playbook")
    )
    if len(tasks) != len(ids):
        raise ValidationError("Some of these steps no longer exist; reload the list.")
    for task in tasks:
        account = task.transition.account
        if not can_complete_transition_task(actor, assignee_id=task.assignee_id, account=account):
            raise PermissionDenied(f"“{task.title}” for {account.name} is assigned to someone else.")
    emails = [task for task in tasks if task.has_email and task.status == TaskStatus.OPEN]
    if emails:
        raise ValidationError(f"“{emails[0].title}” is done by sending its email; open it to write and send.")
    todo = [task for task in tasks if task.status == TaskStatus.OPEN and task.transition.is_active]
    now = timezone.now()
    TransitionTask.objects.filter(pk__in=[task.pk for task in todo], status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, completed_at=now, completed_by=actor
    )
    Transition.objects.filter(pk__in={task.transition_id for task in todo}, status=TransitionStatus.PLANNED).update(
        status=TransitionStatus.IN_PROGRESS
    )
    TimelineEntry.objects.bulk_create(
        timeline_system_entry(
            account=task.transition.account,
            event="transition_step",
            summary=f"{_run_label(task.transition)} step done: {task.title}",
            actor=actor,
        )
        for task in todo
    )
    # No audit action of its own yet: recorded as a change to the run, one row per step, naming the step.
    AuditEvent.objects.bulk_create(
        audit_event(
            actor=actor,
            action=AuditAction.TRANSITION_CHANGED,
            subject=task.transition,
            account=task.transition.account,
            changes={f"step {task.position} ({task.title})": (TaskStatus.OPEN, TaskStatus.DONE)},
            reason=f"Completed with {len(todo)} step(s) at once from the task list.",
        )
        for task in todo
    )
    finished = list(
        Transition.objects.filter(pk__in={task.transition_id for task in todo}, status__in=ACTIVE_STATUSES)
        .exclude(
            Exists(TransitionTask.objects.filter(transition=OuterRef("pk"), status=TaskStatus.OPEN, required=True))
        )
        .select_related("account", "playbook", "to_csm")
        .order_by("pk")
    )
    completed, waiting = _runs_finish(
        actor=actor,
        transitions=finished,
        last_steps_done={task.transition_id for task in todo if task.required},
    )
    return TasksCompleted(
        done=len(todo),
        already_closed=len(tasks) - len(todo),
        runs_completed=len(completed),
        runs_awaiting=len(waiting),
    )


def _run_label(transition: Transition) -> str:
    return transition.playbook.name if transition.kind != PlaybookKind.HANDOVER else "Handover"
