"""Working through a run's tasks: completing or skipping a step; the last required one completes the run.

Completing a handover moves the account to the incoming CSM, and with it the
open work the handover policy says follows the owner.
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
from users.permissions import can_complete_transition_task

from ..events import TransitionCompleted
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
from .transitions import _person


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
        _transition_complete(actor=actor, transition=transition)
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


def _transition_complete(*, actor: User, transition: Transition) -> None:
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
    transition.status = TransitionStatus.COMPLETED
    transition.completed_at = now
    transition.save(update_fields=["status", "completed_at"])
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
        changes={"status": (TransitionStatus.IN_PROGRESS, TransitionStatus.COMPLETED)},
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
    for transition in finished:
        _transition_complete(actor=actor, transition=transition)
    return TasksCompleted(done=len(todo), already_closed=len(tasks) - len(todo), runs_completed=len(finished))


def _run_label(transition: Transition) -> str:
    return transition.playbook.name if transition.kind != PlaybookKind.HANDOVER else "Handover"
