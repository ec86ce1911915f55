"""Writes for playbooks, transitions, their tasks and the customer-email outbox.

Every function is one unit of work in a transaction, checks who may do it
(through users.permissions) and writes its own audit and timeline rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.models import (
    Account,
    AuditAction,
    AuditEvent,
    Channel,
    Contact,
    Coverage,
    TimelineEntry,
    TimelineKind,
)
from accounts.services import (
    account_reassign,
    audit_record,
    timeline_system_event,
    touchpoint_log,
)
from core import events
from plans.services import objectives_reassign
from users.models import User
from users.permissions import (
    can_complete_transition_task,
    can_configure,
    can_manage_transition,
)

from . import emails
from .events import TransitionCompleted
from .models import (
    STEP_FIELDS_FOR_FORMS,
    AssigneeRole,
    BulkHandover,
    BulkHandoverStatus,
    HandoverPolicy,
    OutboundEmail,
    OutboundEmailStatus,
    Playbook,
    PlaybookKind,
    PlaybookStep,
    TaskStatus,
    Transition,
    TransitionReason,
    TransitionStatus,
    TransitionTask,
    WorkFollowsOwner,
)

try:  # Red flags come from the health issue; without them there are no flags to move.
    from lifecycle.flags.services import flags_reassign as _flags_reassign

    FLAGS_AVAILABLE = True
except ImportError:
    _flags_reassign = None
    FLAGS_AVAILABLE = False

logger = logging.getLogger(__name__)

STEP_FIELDS = STEP_FIELDS_FOR_FORMS
PLAYBOOK_FIELDS = (
    "name",
    "kind",
    "description",
    "trigger_stage",
    "is_default",
    "archived",
)
CHUNK = 500


class TransitionConflict(ValidationError):
    """Some of the accounts already have a handover under way; nothing was started."""

    def __init__(self, accounts: Sequence[tuple[int, str]]):
        self.account_ids = [pk for pk, _ in accounts]
        self.account_names = [name for _, name in accounts]
        shown = ", ".join(self.account_names[:20])
        more = f" and {len(self.account_names) - 20} more" if len(self.account_names) > 20 else ""
        super().__init__(
            f"Nothing was started: {len(self.account_names)} account(s) already have a handover under way: "
            f"{shown}{more}.",
            code="conflict",
        )


def _person(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user else ""


# --- playbooks --------------------------------------------------------------------------------------------------


def _clean_steps(steps: Sequence[dict[str, Any]]) -> list[PlaybookStep]:
    if not steps:
        raise ValidationError({"steps": "A playbook needs at least one step."})
    cleaned = []
    for position, data in enumerate(steps, start=1):
        unknown = set(data) - set(STEP_FIELDS)
        if unknown:
            raise ValidationError({"steps": f"Unknown step fields: {', '.join(sorted(unknown))}."})
        step = PlaybookStep(position=position, **data)
        if step.email_subject and not step.email_body:
            raise ValidationError({"steps": f"Step {position} ({step.title}): an email needs a body."})
        emails.validate_template(step.email_subject, field="steps")
        emails.validate_template(step.email_body, field="steps")
        step.full_clean(exclude=["playbook"])
        cleaned.append(step)
    return cleaned


def _require_configure(actor: User) -> None:
    if not can_configure(actor):
        raise PermissionDenied("Only admins configure playbooks.")


def _clear_other_defaults(playbook: Playbook) -> None:
    if playbook.is_default:
        Playbook.objects.filter(kind=playbook.kind, is_default=True).exclude(pk=playbook.pk).update(is_default=False)


@transaction.atomic
def playbook_create(*, actor: User, fields: dict[str, Any], steps: Sequence[dict[str, Any]]) -> Playbook:
    _require_configure(actor)
    unknown = set(fields) - set(PLAYBOOK_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be set here: {', '.join(sorted(unknown))}.")
    playbook = Playbook(**fields)
    playbook.full_clean(validate_constraints=False)
    cleaned = _clean_steps(steps)
    playbook.save()
    _clear_other_defaults(playbook)
    for step in cleaned:
        step.playbook = playbook
    PlaybookStep.objects.bulk_create(cleaned)
    return playbook


@transaction.atomic
def playbook_update(
    *,
    actor: User,
    playbook: Playbook,
    fields: dict[str, Any],
    steps: Sequence[dict[str, Any]] | None = None,
) -> Playbook:
    """Edit a playbook; the version goes up. Runs already started keep the steps they copied."""
    _require_configure(actor)
    unknown = set(fields) - set(PLAYBOOK_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be set here: {', '.join(sorted(unknown))}.")
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    for name, value in fields.items():
        setattr(playbook, name, value)
    playbook.full_clean(validate_constraints=False)
    if steps is not None:
        cleaned = _clean_steps(steps)
        playbook.steps.all().delete()
        for step in cleaned:
            step.playbook = playbook
        PlaybookStep.objects.bulk_create(cleaned)
    playbook.version = F("version") + 1
    playbook.save()
    _clear_other_defaults(playbook)
    playbook.refresh_from_db()
    return playbook


def default_handover_playbook() -> Playbook | None:
    return Playbook.objects.filter(kind=PlaybookKind.HANDOVER, is_default=True, archived=False).first()


# --- starting runs ---------------------------------------------------------------------------------------------


def _status_for_start(start_date: dt.date) -> str:
    return TransitionStatus.IN_PROGRESS if start_date <= timezone.localdate() else TransitionStatus.PLANNED


def _assignee(role: str, *, from_csm: User | None, to_csm: User | None, manager: User | None) -> User | None:
    if role == AssigneeRole.OUTGOING:
        return from_csm or manager
    if role == AssigneeRole.INCOMING:
        return to_csm
    return manager


def _tasks_for(transition: Transition, steps: Iterable[PlaybookStep], manager: User | None) -> list[TransitionTask]:
    return [
        TransitionTask(
            transition=transition,
            position=step.position,
            title=step.title,
            guidance=step.guidance,
            assignee_role=step.assignee_role,
            assignee=_assignee(
                step.assignee_role,
                from_csm=transition.from_csm,
                to_csm=transition.to_csm,
                manager=manager,
            ),
            due_date=transition.start_date + dt.timedelta(days=step.due_offset_days),
            required=step.required,
            email_subject=step.email_subject,
            email_body=step.email_body,
        )
        for step in steps
    ]


def _validate_dates(start_date: dt.date, target_date: dt.date) -> None:
    if target_date < start_date:
        raise ValidationError({"target_date": "The target date cannot be before the start date."})


def _validate_handover_playbook(playbook: Playbook) -> list[PlaybookStep]:
    if playbook.kind != PlaybookKind.HANDOVER:
        raise ValidationError({"playbook": f"“{playbook.name}” is not a handover playbook."})
    if playbook.archived:
        raise ValidationError({"playbook": f"“{playbook.name}” is archived."})
    steps = list(playbook.steps.all())
    if not steps:
        raise ValidationError({"playbook": f"“{playbook.name}” has no steps."})
    return steps


@transaction.atomic
def transition_bulk_start(
    *,
    actor: User,
    assignments: Sequence[tuple[int, int]],
    playbook: Playbook,
    reason: str,
    start_date: dt.date,
    target_date: dt.date,
    note: str = "",
    bulk: BulkHandover | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Transition]:
    """Start one handover per (account id, incoming CSM id): all of them, or none.

    The accounts are locked in pk order, so two managers starting overlapping
    handovers at once queue behind each other instead of deadlocking; the
    second then sees the first one's transitions and gets a conflict naming
    the accounts. The partial unique constraint is the last line of defence.
    """
    if not assignments:
        raise ValidationError("Choose at least one account to hand over.")
    if reason not in TransitionReason.values:
        raise ValidationError({"reason": "Choose why the accounts change hands."})
    _validate_dates(start_date, target_date)
    account_ids = [account_id for account_id, _ in assignments]
    if len(set(account_ids)) != len(account_ids):
        raise ValidationError("An account can only be handed to one incoming CSM.")
    steps = _validate_handover_playbook(playbook)

    incoming = User.objects.in_bulk({user_id for _, user_id in assignments})
    for _, user_id in assignments:
        user = incoming.get(user_id)
        if user is None or not user.is_active or user.role not in (User.Role.CSM, User.Role.MANAGER):
            raise ValidationError({"to_csm": "Every incoming owner must be an active CSM or manager."})

    accounts = list(Account.objects.select_for_update().filter(pk__in=account_ids).order_by("pk"))
    if len(accounts) != len(account_ids):
        raise ValidationError("Some of the chosen accounts no longer exist.")
    owners = User.objects.in_bulk({a.owner_id for a in accounts if a.owner_id})
    for account in accounts:
        if account.owner_id:
            account.owner = owners[account.owner_id]
    forbidden = [a.name for a in accounts if not can_manage_transition(actor, a)]
    if forbidden:
        raise PermissionDenied(f"Only the team's manager or an admin can hand these over: {', '.join(forbidden[:20])}.")
    to_by_account = dict(assignments)
    already_theirs = [a.name for a in accounts if a.owner_id == to_by_account[a.pk]]
    if already_theirs:
        raise ValidationError({"to_csm": f"The incoming CSM already owns: {', '.join(already_theirs[:20])}."})
    busy = list(
        Transition.objects.handovers()
        .active()
        .filter(account_id__in=account_ids)
        .order_by("account__name")
        .values_list("account_id", "account__name")
    )
    if busy:
        raise TransitionConflict(busy)

    status = _status_for_start(start_date)
    now = timezone.now()
    transitions = [
        Transition(
            account=account,
            kind=PlaybookKind.HANDOVER,
            playbook=playbook,
            playbook_version=playbook.version,
            from_csm=account.owner,
            to_csm=incoming[to_by_account[account.pk]],
            reason=reason,
            note=note,
            start_date=start_date,
            target_date=target_date,
            status=status,
            bulk=bulk,
            created_by=actor,
            created_at=now,
        )
        for account in accounts
    ]
    try:
        with transaction.atomic():
            Transition.objects.bulk_create(transitions, batch_size=CHUNK)
    except IntegrityError as error:
        # Only reachable if a competing start slipped past the lock (e.g. an account created mid-way).
        busy = list(
            Transition.objects.handovers()
            .active()
            .filter(account_id__in=account_ids)
            .values_list("account_id", "account__name")
        )
        raise TransitionConflict(busy or [(0, "one of the accounts")]) from error

    manager = actor if (actor.is_manager or actor.is_admin) else None
    done = 0
    for start in range(0, len(transitions), CHUNK):
        chunk = transitions[start : start + CHUNK]
        TransitionTask.objects.bulk_create(
            [task for t in chunk for task in _tasks_for(t, steps, manager)],
            batch_size=2000,
        )
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    actor=actor,
                    account=t.account,
                    action=AuditAction.TRANSITION_CHANGED,
                    subject_type="transition",
                    subject_id=t.pk,
                    changes={
                        "status": [None, status],
                        "owner": [t.from_csm_id, t.to_csm_id],
                    },
                    reason=f"{t.get_reason_display()}{': ' + note if note else ''}",
                    created_at=now,
                )
                for t in chunk
            ]
        )
        TimelineEntry.objects.bulk_create(
            [
                TimelineEntry(
                    account=t.account,
                    kind=TimelineKind.SYSTEM,
                    event="transition_started",
                    summary=f"Handover from {_person(t.from_csm) or 'the pool'} to {_person(t.to_csm)} started "
                    f"({t.get_reason_display().lower()}, target {t.target_date:%d %b %Y})",
                    body=note,
                    author=actor,
                    occurred_at=now,
                )
                for t in chunk
            ]
        )
        done += len(chunk)
        if progress is not None:
            progress(done)
    return transitions


def transition_start(
    *,
    actor: User,
    account: Account,
    to_csm: User,
    reason: str,
    start_date: dt.date,
    target_date: dt.date,
    playbook: Playbook | None = None,
    note: str = "",
) -> Transition:
    playbook = playbook or default_handover_playbook()
    if playbook is None:
        raise ValidationError({"playbook": "There is no default handover playbook; an admin needs to create one."})
    (transition,) = transition_bulk_start(
        actor=actor,
        assignments=[(account.pk, to_csm.pk)],
        playbook=playbook,
        reason=reason,
        start_date=start_date,
        target_date=target_date,
        note=note,
    )
    return transition


def default_risk_playbook() -> Playbook | None:
    return Playbook.objects.filter(kind=PlaybookKind.RISK, is_default=True, archived=False).first()


def _runnable_steps(playbook: Playbook) -> list[PlaybookStep]:
    if playbook.kind == PlaybookKind.HANDOVER:
        raise ValidationError({"playbook": "Start handovers with transition_start."})
    if playbook.archived:
        raise ValidationError({"playbook": f"“{playbook.name}” is archived."})
    steps = list(playbook.steps.all())
    if not steps:
        raise ValidationError({"playbook": f"“{playbook.name}” has no steps."})
    return steps


def _team_id(account: Account) -> int | None:
    """The team behind an account: its owner's, or for a pooled account the pool's."""
    return account.owner.team_id if account.owner_id else account.pool_id


def _playbook_runs_create(
    *,
    accounts: Sequence[Account],
    playbook: Playbook,
    steps: Sequence[PlaybookStep],
    actor: User | None,
    start_date: dt.date,
) -> list[Transition]:
    """One run per account, set-based: five queries whether it is one account or thousands.

    The accounts come with their owner loaded. Manager steps go to the
    starting manager, else to a manager of the owner's team (or, for a pooled
    account, of the pool's team).
    """
    if not accounts:
        return []
    starting_manager = actor if actor is not None and (actor.is_manager or actor.is_admin) else None
    team_managers: dict[int, User] = {}
    if starting_manager is None:
        team_ids = {_team_id(account) for account in accounts} - {None}
        # Reversed, so the first by name wins, as `.first()` on the default ordering would.
        for manager in reversed(User.objects.filter(team_id__in=team_ids, role=User.Role.MANAGER, is_active=True)):
            team_managers[manager.team_id] = manager
    target_date = start_date + dt.timedelta(days=max(step.due_offset_days for step in steps))
    now = timezone.now()
    runs = [
        Transition(
            account=account,
            kind=playbook.kind,
            playbook=playbook,
            playbook_version=playbook.version,
            from_csm=None,
            to_csm=account.owner if account.owner_id else None,
            start_date=start_date,
            target_date=target_date,
            status=TransitionStatus.IN_PROGRESS,
            created_by=actor,
            created_at=now,
        )
        for account in accounts
    ]
    Transition.objects.bulk_create(runs, batch_size=CHUNK)
    tasks = [
        task
        for run in runs
        for task in _tasks_for(run, steps, starting_manager or team_managers.get(_team_id(run.account)))
    ]
    TransitionTask.objects.bulk_create(tasks, batch_size=2000)
    started = f"{playbook.get_kind_display()} “{playbook.name}” started"
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor,
                account=run.account,
                action=AuditAction.TRANSITION_CHANGED,
                subject_type=Transition._meta.model_name,
                subject_id=run.pk,
                changes={"status": [None, run.status]},
                reason=started,
                created_at=now,
            )
            for run in runs
        ],
        batch_size=CHUNK,
    )
    TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(
                account=run.account,
                kind=TimelineKind.SYSTEM,
                event="playbook_started",
                summary=started,
                author=actor,
                occurred_at=now,
            )
            for run in runs
        ],
        batch_size=CHUNK,
    )
    return runs


@transaction.atomic
def playbook_run_start(
    *,
    account: Account,
    playbook: Playbook,
    actor: User | None = None,
    start_date: dt.date | None = None,
) -> Transition:
    """Run a stage checklist or risk play on an account; its steps go to the account's owner.

    Manager steps go to the starting manager, or to a manager of the owner's team.
    A risk play runs at most once at a time per account.
    """
    steps = _runnable_steps(playbook)
    if (
        playbook.kind == PlaybookKind.RISK
        and Transition.objects.active().filter(account=account, playbook=playbook).exists()
    ):
        raise ValidationError({"playbook": f"{account.name} already runs “{playbook.name}”."})
    (run,) = _playbook_runs_create(
        accounts=[account],
        playbook=playbook,
        steps=steps,
        actor=actor,
        start_date=start_date or timezone.localdate(),
    )
    return run


def risk_playbooks_start_for_flags(*, flag_ids: Sequence[int], start_date: dt.date | None = None) -> list[Transition]:
    """Start the default risk play on each account whose newly raised flags come from a rule with `start_playbook`.

    Called (transitions.handlers) when `lifecycle.flags.services.flags_sync`
    announces the flags it has just raised, right after they commit, in the
    same process rather than as a queued task. Once per account however many
    such rules fired, and not for an account already running the play. Set-based: one query when no such rule fired, a fixed handful when
    thousands did. Without an active default risk playbook nothing starts.
    """
    if not flag_ids:
        return []
    from lifecycle.models import FlagStatus, RedFlag

    account_ids = set(
        RedFlag.objects.filter(pk__in=flag_ids, status=FlagStatus.OPEN, rule__start_playbook=True).values_list(
            "account_id", flat=True
        )
    )
    playbook = default_risk_playbook() if account_ids else None
    if playbook is None:
        return []
    steps = _runnable_steps(playbook)
    with transaction.atomic(savepoint=False):
        # Locked in pk order (as handovers lock them), so two syncs over the same
        # accounts queue up and the second sees the first one's plays.
        accounts = list(
            Account.objects.select_for_update(of=("self",))
            .select_related("owner")
            .filter(pk__in=account_ids)
            .exclude(Exists(Transition.objects.active().filter(account=OuterRef("pk"), playbook=playbook)))
            .order_by("pk")
        )
        return _playbook_runs_create(
            accounts=accounts,
            playbook=playbook,
            steps=steps,
            actor=None,
            start_date=start_date or timezone.localdate(),
        )


def stage_playbooks_start(*, account: Account, stage: str, actor: User | None = None) -> list[Transition]:
    """Start every active stage checklist triggered by `stage` (call after the stage changed)."""
    playbooks = Playbook.objects.filter(kind=PlaybookKind.STAGE, trigger_stage=stage, archived=False)
    return [playbook_run_start(account=account, playbook=p, actor=actor) for p in playbooks]


# --- bulk handover runs ----------------------------------------------------------------------------------------


@transaction.atomic
def bulk_handover_create(
    *,
    actor: User,
    assignments: Sequence[tuple[int, int]],
    playbook: Playbook,
    reason: str,
    start_date: dt.date,
    target_date: dt.date,
    note: str = "",
) -> BulkHandover:
    """Record a bulk handover request; `bulk_handover_run` does the work (inline or in a worker)."""
    if not (actor.is_manager or actor.is_admin):
        raise PermissionDenied("Only managers and admins start handovers.")
    if not assignments:
        raise ValidationError("Choose at least one account to hand over.")
    _validate_dates(start_date, target_date)
    _validate_handover_playbook(playbook)
    return BulkHandover.objects.create(
        created_by=actor,
        playbook=playbook,
        reason=reason,
        note=note,
        start_date=start_date,
        target_date=target_date,
        assignments=[[int(a), int(u)] for a, u in assignments],
        total=len(assignments),
    )


def _progress_writer(
    bulk_id: int,
) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """Progress written on a separate connection, so the poller sees it before the big transaction commits.

    Only on PostgreSQL: SQLite allows one writer at a time, and there the bar
    jumps straight to the end.
    """
    from django.db import connections

    if connections["default"].vendor != "postgresql":
        return None, lambda: None
    side = connections.create_connection("default")

    def write(done: int) -> None:
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {BulkHandover._meta.db_table} SET processed = %s WHERE id = %s",
                [done, bulk_id],
            )

    return write, side.close


def bulk_handover_run(*, bulk_id: int) -> BulkHandover:
    """Start a recorded bulk handover. Idempotent: a finished run is left as it is."""
    claimed = BulkHandover.objects.filter(pk=bulk_id, status=BulkHandoverStatus.QUEUED).update(
        status=BulkHandoverStatus.RUNNING
    )
    bulk = BulkHandover.objects.select_related("created_by", "playbook").get(pk=bulk_id)
    if not claimed:
        return bulk
    progress, close = _progress_writer(bulk_id)
    try:
        transition_bulk_start(
            actor=bulk.created_by,
            assignments=[tuple(pair) for pair in bulk.assignments],
            playbook=bulk.playbook,
            reason=bulk.reason,
            start_date=bulk.start_date,
            target_date=bulk.target_date,
            note=bulk.note,
            bulk=bulk,
            progress=progress,
        )
    except (ValidationError, PermissionDenied) as error:
        bulk.status = BulkHandoverStatus.FAILED
        bulk.error = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        bulk.processed = 0
        bulk.conflicts = error.account_ids if isinstance(error, TransitionConflict) else []
    else:
        bulk.status = BulkHandoverStatus.DONE
        bulk.processed = bulk.total
    finally:
        close()
    bulk.finished_at = timezone.now()
    bulk.save(update_fields=["status", "error", "processed", "conflicts", "finished_at"])
    return bulk


# --- progressing a run -----------------------------------------------------------------------------------------


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
            f"{self.objectives} success-plan objective(s)",
        ]
        if FLAGS_AVAILABLE:
            parts.insert(1, f"{self.flags} open red flag(s)")
        return "Moved to the new owner: " + ", ".join(parts) + "."


def _move_open_work(*, account: Account, from_user: User | None, to_user: User, policy: str) -> WorkMoved:
    if policy == WorkFollowsOwner.ACCOUNT_ONLY or from_user is None:
        return WorkMoved()
    tasks = TransitionTask.objects.open().filter(transition__account=account, assignee=from_user)
    if policy == WorkFollowsOwner.SYSTEM_WORK:
        tasks = tasks.filter(system_created=True)
    moved_tasks = tasks.update(assignee=to_user)
    moved_flags = 0
    if FLAGS_AVAILABLE:
        moved_flags = _flags_reassign(
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
            to_user=transition.to_csm,
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


@transaction.atomic
def transition_cancel(*, actor: User, transition: Transition, reason: str) -> Transition:
    """Stop a run. Ownership does not change; the timeline says so."""
    transition = (
        Transition.objects.select_for_update(of=("self",))
        .select_related("account__owner", "to_csm")
        .get(pk=transition.pk)
    )
    if not can_manage_transition(actor, transition.account):
        raise PermissionDenied("Only the team's manager or an admin can cancel a handover.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the handover is cancelled."})
    if not transition.is_active:
        raise ValidationError(f"This handover is already {transition.get_status_display().lower()}.")
    now = timezone.now()
    previous = transition.status
    TransitionTask.objects.filter(transition=transition, status=TaskStatus.OPEN).update(
        status=TaskStatus.SKIPPED, completed_at=now, completed_by=actor
    )
    transition.status = TransitionStatus.CANCELLED
    transition.cancelled_at = now
    transition.cancel_reason = reason
    transition.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION_CHANGED,
        subject=transition,
        account=transition.account,
        changes={"status": (previous, TransitionStatus.CANCELLED)},
        reason=reason,
    )
    what = "Handover" if transition.kind == PlaybookKind.HANDOVER else transition.playbook.name
    target = f" to {_person(transition.to_csm)}" if transition.kind == PlaybookKind.HANDOVER else ""
    timeline_system_event(
        account=transition.account,
        event="transition_cancelled",
        summary=f"{what}{target} cancelled; ownership unchanged ({transition.account.covered_by_label} keeps the account)",
        body=reason,
        actor=actor,
    )
    return transition


@transaction.atomic
def transition_reschedule(
    *, actor: User, transition: Transition, target_date: dt.date, shift_tasks: bool
) -> tuple[Transition, int]:
    """Move the target date; optionally shift the open tasks by the same number of days. Returns (run, tasks shifted)."""
    transition = (
        Transition.objects.select_for_update(of=("self",)).select_related("account__owner").get(pk=transition.pk)
    )
    if not can_manage_transition(actor, transition.account):
        raise PermissionDenied("Only the team's manager or an admin can move a handover's dates.")
    if not transition.is_active:
        raise ValidationError(f"This handover is already {transition.get_status_display().lower()}.")
    _validate_dates(transition.start_date, target_date)
    delta = target_date - transition.target_date
    if not delta:
        raise ValidationError({"target_date": "That is already the target date."})
    old = transition.target_date
    transition.target_date = target_date
    transition.save(update_fields=["target_date"])
    shifted = 0
    if shift_tasks:
        shifted = TransitionTask.objects.filter(transition=transition, status=TaskStatus.OPEN).update(
            due_date=F("due_date") + delta
        )
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION_CHANGED,
        subject=transition,
        account=transition.account,
        changes={"target_date": (old, target_date)},
        reason=f"{shifted} open task(s) shifted by {delta.days} day(s)" if shift_tasks else "Tasks left as they were",
    )
    timeline_system_event(
        account=transition.account,
        event="transition_rescheduled",
        summary=f"Handover target moved from {old:%d %b %Y} to {target_date:%d %b %Y}",
        actor=actor,
    )
    return transition, shifted


# --- customer email through the outbox ------------------------------------------------------------------------


def email_context(
    task: TransitionTask,
    contact: Contact | None,
    call_date: dt.datetime | dt.date | None,
) -> emails.EmailContext:
    transition = task.transition
    return emails.EmailContext(
        contact_first_name=contact.first_name if contact else "",
        account=transition.account.name,
        outgoing_csm=_person(transition.from_csm),
        incoming_csm=_person(transition.to_csm),
        call_date=call_date,
    )


def _queue_send(email_ids: list[int]) -> None:
    from .tasks import outbound_email_send

    for email_id in email_ids:
        outbound_email_send.delay(email_id)


@transaction.atomic
def task_email_send(
    *,
    actor: User,
    task: TransitionTask,
    contacts: Sequence[Contact],
    subject: str,
    body: str,
    call_date: dt.datetime | dt.date | None = None,
) -> list[OutboundEmail]:
    """Put one personalised email per contact in the outbox and complete the step.

    The emails are sent by a worker after this transaction commits; a failure
    shows on the task and can be retried.
    """
    locked, transition = _locked_task(task)
    _require_task_access(actor, locked, transition)
    if not locked.has_email:
        raise ValidationError("This step has no email.")
    if not subject.strip() or not body.strip():
        raise ValidationError("The email needs a subject and a body.")
    contacts = list(contacts)
    if not contacts:
        raise ValidationError({"contacts": "Choose at least one contact to write to."})
    for contact in contacts:
        if contact.account_id != transition.account_id:
            raise ValidationError({"contacts": "Write only to this account's contacts."})
        if not contact.email or contact.departed:
            raise ValidationError({"contacts": f"{contact.full_name} has no current email address."})
    locked.transition = Transition.objects.select_related("account", "from_csm", "to_csm").get(pk=transition.pk)
    outbox = []
    for contact in contacts:
        context = email_context(locked, contact, call_date)
        outbox.append(
            OutboundEmail(
                account_id=transition.account_id,
                task=locked,
                contact=contact,
                to_email=contact.email,
                subject=emails.render(subject, context, field="subject").replace("\n", " ")[:200],
                body=emails.render(body, context, field="body"),
                created_by=actor,
            )
        )
    OutboundEmail.objects.bulk_create(outbox)
    ids = [email.pk for email in outbox]
    transaction.on_commit(lambda: _queue_send(ids))
    task_complete(actor=actor, task=locked)
    return outbox


def outbound_email_send(*, email_id: int) -> OutboundEmail:
    """Send one queued email. Idempotent: anything not queued is left alone."""
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(of=("self",))
            .select_related("contact", "created_by")
            .get(pk=email_id)
        )
        if email.status != OutboundEmailStatus.QUEUED:
            return email
        email.attempts += 1
        try:
            EmailMessage(subject=email.subject, body=email.body, to=[email.to_email]).send(fail_silently=False)
        except Exception as error:  # noqa: BLE001 - any transport failure is recorded, never lost
            logger.warning("Outbound email %s failed: %s", email.pk, error)
            email.status = OutboundEmailStatus.FAILED
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            email.save(update_fields=["status", "attempts", "last_error"])
            return email
        email.status = OutboundEmailStatus.SENT
        email.sent_at = timezone.now()
        email.last_error = ""
        email.save(update_fields=["status", "attempts", "last_error", "sent_at"])
        touchpoint_log(
            actor=email.created_by,
            account=email.account,
            channel=Channel.EMAIL,
            occurred_at=email.sent_at,
            summary=f"Email sent: {email.subject}"[:200],
            body=email.body,
            participants=[email.contact] if email.contact else [],
        )
    return email


@transaction.atomic
def outbound_email_retry(*, actor: User, email: OutboundEmail) -> OutboundEmail:
    email = (
        OutboundEmail.objects.select_for_update(of=("self",)).select_related("account__owner", "task").get(pk=email.pk)
    )
    assignee_id = email.task.assignee_id if email.task else email.created_by_id
    if not can_complete_transition_task(actor, assignee_id=assignee_id, account=email.account):
        raise PermissionDenied("Only the sender or the team's manager can retry this email.")
    if email.status != OutboundEmailStatus.FAILED:
        raise ValidationError(f"Only failed emails can be retried; this one is {email.get_status_display().lower()}.")
    email.status = OutboundEmailStatus.QUEUED
    email.save(update_fields=["status"])
    transaction.on_commit(lambda: _queue_send([email.pk]))
    return email
