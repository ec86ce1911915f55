"""Runs of a playbook: starting handovers (one or many at once), stage checklists and risk plays; cancelling and re-dating them.

Completing a run is what its last required step sets off, so it lives with the steps (services/steps.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.models import Account, AuditAction, AuditEvent, TimelineEntry, TimelineKind
from accounts.services import audit_record, timeline_system_event
from lifecycle.models import FlagStatus, RedFlag
from users.models import User
from users.permissions import acts_as_manager, can_manage_transition, can_take_over_accounts

from ..models import (
    AssigneeRole,
    BulkHandover,
    Playbook,
    PlaybookKind,
    PlaybookStep,
    TaskStatus,
    Transition,
    TransitionReason,
    TransitionStatus,
    TransitionTask,
)
from .playbooks import default_handover_playbook, default_risk_playbook

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


# --- starting handovers ---------------------------------------------------------------------------------------


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
        if not can_take_over_accounts(user):
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

    manager = actor if acts_as_manager(actor) else None
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


# --- stage checklists and risk plays -------------------------------------------------------------------------


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
    owner = account.owner if account.owner_id else None
    return owner.team_id if owner is not None else account.pool_id


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
    starting_manager = actor if acts_as_manager(actor) else None
    team_managers: dict[int | None, User] = {}
    if starting_manager is None:
        team_ids = {team_id for account in accounts if (team_id := _team_id(account)) is not None}
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
                subject_type="transition",
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


# --- cancelling and re-dating --------------------------------------------------------------------------------


@transaction.atomic
def transition_cancel(*, actor: User, transition: Transition, reason: str) -> Transition:
    """Stop a run. Ownership does not change; the timeline says so."""
    transition = (
        Transition.objects.select_for_update(of=("self",))
        .select_related("account__owner", "to_csm", "playbook")
        .get(pk=transition.pk)
    )
    if not can_manage_transition(actor, transition.account):
        raise PermissionDenied(f"Only the team's manager or an admin can cancel a {transition.noun}.")
    if not reason.strip():
        raise ValidationError({"reason": f"Say why the {transition.noun} is cancelled."})
    if not transition.is_active:
        raise ValidationError(f"This {transition.noun} is already {transition.get_status_display().lower()}.")
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
    if transition.kind == PlaybookKind.HANDOVER:
        summary = (
            f"Handover to {_person(transition.to_csm)} cancelled; ownership unchanged "
            f"({transition.account.covered_by_label} keeps the account)"
        )
    else:
        summary = f"{transition.title} cancelled; its open steps are closed"
    timeline_system_event(
        account=transition.account,
        event="transition_cancelled",
        summary=summary,
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
        Transition.objects.select_for_update(of=("self",))
        .select_related("account__owner", "playbook")
        .get(pk=transition.pk)
    )
    if not can_manage_transition(actor, transition.account):
        raise PermissionDenied(f"Only the team's manager or an admin can move a {transition.noun}'s dates.")
    if not transition.is_active:
        raise ValidationError(f"This {transition.noun} is already {transition.get_status_display().lower()}.")
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
        summary=f"{transition.noun.capitalize()} target moved from {old:%d %b %Y} to {target_date:%d %b %Y}",
        actor=actor,
    )
    return transition, shifted
