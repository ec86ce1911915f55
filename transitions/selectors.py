"""Reads for the board, a transition, the handover brief, readiness and the cockpit.

Every function here runs a fixed number of queries, whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AuditEvent, Contact, DealRole, TimelineEntry, TimelineKind
from accounts.selectors import account_org_chart, org_chart_rows
from lifecycle.flags.selectors import open_flags_for_account
from lifecycle.health.selectors import account_health_bands
from plans.models import Objective, PlanStatus, SuccessPlan
from plans.selectors import account_plans
from users.models import User

from .models import (
    ACTIVE_STATUSES,
    OutboundEmail,
    PlaybookKind,
    TaskStatus,
    Transition,
    TransitionStatus,
    TransitionTask,
)

CONTACTS_FRESH_DAYS = 90
CONTEXT_NOTE_FRESH_DAYS = 30
RENEWAL_WARNING_DAYS = 60


def health_bands(account_ids: list[int]) -> dict[int, str]:
    if not account_ids:
        return {}
    return account_health_bands(account_ids)


# --- readiness -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadinessItem:
    key: str
    label: str
    ok: bool
    fix_url: str
    fix_label: str


@dataclass(frozen=True)
class Readiness:
    account_id: int
    items: tuple[ReadinessItem, ...]

    @property
    def percent(self) -> int:
        return round(100 * sum(item.ok for item in self.items) / len(self.items))

    @property
    def gaps(self) -> list[ReadinessItem]:
        return [item for item in self.items if not item.ok]

    @property
    def band(self) -> str:
        return "success" if self.percent == 100 else "warning" if self.percent >= 60 else "danger"


def readiness_for_accounts(account_ids: list[int], *, now: dt.datetime | None = None) -> dict[int, Readiness]:
    """Context completeness for each account, in two queries (product.md §4, issue 5 item 5).

    Contact facts come from one aggregate over the accounts' contacts (index on
    account), not per-role EXISTS subqueries, which PostgreSQL turns into scans
    of the whole contact table.
    """
    if not account_ids:
        return {}
    now = now or timezone.now()
    stale_cutoff = now - dt.timedelta(days=CONTACTS_FRESH_DAYS)
    contact_facts = {
        row["account_id"]: row
        for row in Contact.objects.current()  # neither departed nor archived
        .filter(account_id__in=account_ids)
        .values("account_id")
        .annotate(
            current=Count("pk"),
            stale=Count(
                "pk",
                filter=Q(last_verified_at__isnull=True) | Q(last_verified_at__lt=stale_cutoff),
            ),
            champions=Count("pk", filter=Q(deal_role=DealRole.CHAMPION)),
            decision_makers=Count("pk", filter=Q(deal_role=DealRole.DECISION_MAKER)),
        )
        .order_by()
    }
    no_contacts = {"current": 0, "stale": 0, "champions": 0, "decision_makers": 0}
    rows_list = list(
        Account.objects.filter(pk__in=account_ids)
        .annotate(
            has_plan=Exists(
                SuccessPlan.objects.filter(account=OuterRef("pk"), status=PlanStatus.ACTIVE).filter(
                    Q(summary__gt="") | Exists(Objective.objects.filter(plan=OuterRef("pk")))
                )
            ),
            has_note=Exists(
                TimelineEntry.objects.filter(
                    account=OuterRef("pk"),
                    kind=TimelineKind.NOTE,
                    occurred_at__gte=now - dt.timedelta(days=CONTEXT_NOTE_FRESH_DAYS),
                )
            ),
        )
        .values("pk", "renewal_date", "contract_start", "arr", "has_plan", "has_note")
        .order_by()
    )
    for row in rows_list:
        facts = contact_facts.get(row["pk"], no_contacts)
        row["has_contacts"] = facts["current"] > 0
        row["has_stale"] = facts["stale"] > 0
        row["has_champion"] = facts["champions"] > 0
        row["has_decision_maker"] = facts["decision_makers"] > 0
    result = {}
    for row in rows_list:
        pk = row["pk"]
        detail = reverse("account-detail", args=[pk])
        items = (
            ReadinessItem(
                "contacts_verified",
                f"Contacts verified in the last {CONTACTS_FRESH_DAYS} days",
                row["has_contacts"] and not row["has_stale"],
                f"{detail}#org-chart",
                "Verify contacts" if row["has_contacts"] else "Add contacts",
            ),
            ReadinessItem(
                "org_chart",
                "Org chart with a champion and a decision maker",
                row["has_champion"] and row["has_decision_maker"],
                reverse("contact-create", args=[pk]) if not row["has_contacts"] else f"{detail}#org-chart",
                "Set champion and decision maker",
            ),
            ReadinessItem(
                "success_plan",
                "An active success plan with goals",
                row["has_plan"],
                reverse("plan-create", args=[pk]),
                "Write the success plan",
            ),
            ReadinessItem(
                "context_note",
                f"Internal context note in the last {CONTEXT_NOTE_FRESH_DAYS} days",
                row["has_note"],
                f"{detail}#add-note",
                "Write a context note",
            ),
            ReadinessItem(
                "contract",
                "Renewal date and contract facts",
                bool(row["renewal_date"] and row["contract_start"] and row["arr"]),
                reverse("account-edit", args=[pk]),
                "Complete contract facts",
            ),
        )
        result[pk] = Readiness(account_id=pk, items=items)
    return result


def account_readiness(account: Account) -> Readiness:
    return readiness_for_accounts([account.pk])[account.pk]


# --- board -----------------------------------------------------------------------------------------------------


@dataclass
class BoardGroup:
    person: User | None
    transitions: list[Transition] = field(default_factory=list)
    # Stage checklists and risk plays have no outgoing CSM: grouped by outgoing, they
    # gather here rather than pass for handovers from the pool.
    playbook_runs: bool = False


def board_status_counts(queryset: QuerySet[Transition]) -> dict[str, int]:
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("pk")))
    return {status: counts.get(status, 0) for status in TransitionStatus.values}


def board_groups(transitions: list[Transition], *, group_by: str) -> list[BoardGroup]:
    """Group an already-ordered page of transitions by outgoing or incoming CSM."""
    groups: dict[int | str | None, BoardGroup] = {}
    for transition in transitions:
        if group_by == "from" and transition.kind != PlaybookKind.HANDOVER:
            group = groups.setdefault("runs", BoardGroup(person=None, playbook_runs=True))
        else:
            person = transition.from_csm if group_by == "from" else transition.to_csm
            group = groups.setdefault(person.pk if person else None, BoardGroup(person=person))
        group.transitions.append(transition)
    return list(groups.values())


def board_ordering(group_by: str) -> list[str]:
    person = "from_csm" if group_by == "from" else "to_csm"
    return [
        f"{person}__first_name",
        f"{person}__last_name",
        f"{person}_id",
        "target_date",
        "pk",
    ]


# --- one transition --------------------------------------------------------------------------------------------


def transition_detail(pk: int) -> Transition:
    """A transition with its account, people, playbook, progress and tasks (with assignees and emails): 3 queries."""
    return (
        Transition.objects.select_related(
            "account__owner",
            "account__pool",
            "from_csm",
            "to_csm",
            "playbook",
            "created_by",
        )
        .with_progress()
        .prefetch_related(
            Prefetch(
                "tasks",
                queryset=TransitionTask.objects.select_related("assignee", "completed_by")
                .prefetch_related(
                    Prefetch(
                        "emails",
                        queryset=OutboundEmail.objects.order_by("-created_at", "-id"),
                    )
                )
                .order_by("position"),
            )
        )
        .get(pk=pk)
    )


HISTORY_LIMIT = 50


@dataclass(frozen=True)
class HistoryEntry:
    event: AuditEvent
    changes: list[tuple[str, str]]


_STATUS_LABELS = {**dict(TransitionStatus.choices), **dict(TaskStatus.choices)}
_PERCENTAGES = {"readiness", "readiness_threshold"}


def _change_label(field_name: str, new: object) -> tuple[str, str]:
    if isinstance(new, bool):
        value = "yes" if new else "no"
    elif field_name in _PERCENTAGES and new is not None:
        value = f"{new}%"
    else:
        value = _STATUS_LABELS.get(str(new), "—" if new is None else str(new))
    return field_name.replace("_", " ").capitalize(), value


def transition_history(transition: Transition) -> list[HistoryEntry]:
    """The run's audit trail, newest first (started, re-dated, steps done, waiting, confirmed, completed): 1 query.

    The owner change is left out: the page's header names who hands over to whom.
    """
    events = (
        AuditEvent.objects.filter(subject_type="transition", subject_id=transition.pk)
        .select_related("actor")
        .order_by("-created_at", "-id")[:HISTORY_LIMIT]
    )
    return [
        HistoryEntry(
            event=event,
            changes=[
                _change_label(name, change[1] if isinstance(change, list | tuple) else change)
                for name, change in event.changes.items()
                if name != "owner"
            ],
        )
        for event in events
    ]


def account_active_transition(account: Account) -> Transition | None:
    """The account's handover under way, with its progress, for the Account 360: 1 query."""
    return (
        Transition.objects.handovers()
        .active()
        .filter(account=account)
        .select_related("from_csm", "to_csm")
        .with_progress()
        .first()
    )


PLAYS_SHOWN_DAYS = 180
PLAYS_SHOWN = 5


@dataclass(frozen=True)
class AccountRuns:
    """What the Account 360 shows of transitions: the handover under way, and the save plays run on the account."""

    handover: Transition | None
    save_plays: list[Transition]


def account_runs(account: Account, *, today: dt.date | None = None) -> AccountRuns:
    """The account's active handover and its save plays (running, or finished in the last 180 days), with progress,
    people and playbook: 1 query, so the Account 360's budget does not grow with the plays panel."""
    today = today or timezone.localdate()
    since = timezone.now() - dt.timedelta(days=PLAYS_SHOWN_DAYS)
    runs = list(
        Transition.objects.filter(account=account)
        .filter(
            Q(kind=PlaybookKind.HANDOVER, status__in=ACTIVE_STATUSES)
            | (
                Q(kind=PlaybookKind.RISK)
                & (Q(status__in=ACTIVE_STATUSES) | Q(completed_at__gte=since) | Q(cancelled_at__gte=since))
            )
        )
        .select_related("from_csm", "to_csm", "playbook", "created_by")
        .with_progress(today=today)
        .order_by("-created_at", "-pk")
    )
    handover = next((run for run in runs if run.kind == PlaybookKind.HANDOVER), None)
    plays = [run for run in runs if run.kind == PlaybookKind.RISK]
    # Running plays first, newest first within each.
    plays.sort(key=lambda run: not run.is_active)
    return AccountRuns(handover=handover, save_plays=plays[:PLAYS_SHOWN])


@dataclass(frozen=True)
class CockpitTasks:
    tasks: list[TransitionTask]
    open_count: int
    overdue_count: int
    due_this_week: int


def tasks_for_cockpit(user: User, *, limit: int = 10) -> CockpitTasks:
    """The user's open transition and playbook tasks, most urgent first: 2 queries.

    Tasks due the same day keep each handover's together in playbook order.
    That order is the assignee's open-task index itself, so the page stops
    after `limit` rows; sorting by account name joined and sorted every task
    due that day first (a bulk handover gives a thousand the same due date).
    """
    today = timezone.localdate()
    mine = TransitionTask.objects.open().assigned_to(user).filter(transition__status__in=ACTIVE_STATUSES)
    # Counted on indexed columns rather than ids: the open-task index then answers alone, the table unread.
    counts = mine.aggregate(
        open_count=Count("transition"),
        overdue_count=Count("due_date", filter=Q(due_date__lt=today)),
        due_this_week=Count(
            "due_date",
            filter=Q(due_date__gte=today, due_date__lte=today + dt.timedelta(days=7)),
        ),
    )
    tasks = list(
        mine.select_related(
            "transition__account",
            "transition__to_csm",
            "transition__from_csm",
            "transition__playbook",
        ).order_by("due_date", "transition_id", "position")[:limit]
    )
    return CockpitTasks(tasks=tasks, **counts)


class DueWindow:
    """The task list's due-date filter: each window's dates, relative to today."""

    OVERDUE = "overdue"
    TODAY = "today"
    WEEK = "week"
    LATER = "later"
    CHOICES = ((OVERDUE, "Overdue"), (TODAY, "Today"), (WEEK, "This week"), (LATER, "Later"))

    @staticmethod
    def q(window: str, today: dt.date) -> Q:
        week_end = today + dt.timedelta(days=7)
        return {
            DueWindow.OVERDUE: Q(due_date__lt=today),
            DueWindow.TODAY: Q(due_date=today),
            DueWindow.WEEK: Q(due_date__gt=today, due_date__lte=week_end),
            DueWindow.LATER: Q(due_date__gt=week_end),
        }[window]


@dataclass
class TaskGroup:
    key: str
    account: Account
    transitions: list[Transition]
    tasks: list[TransitionTask] = field(default_factory=list)

    @property
    def overdue_count(self) -> int:
        return sum(1 for task in self.tasks if task.is_overdue)

    @property
    def completable_ids(self) -> list[int]:
        """The steps a tick completes; an email step is done by sending its email."""
        return [task.pk for task in self.tasks if not task.has_email]


@dataclass(frozen=True)
class TaskList:
    groups: list[TaskGroup]
    window_counts: dict[str, int]
    total: int
    shown: int


TASK_LIST_LIMIT = 500


def task_list(user: User, *, due: str = "", group_by: str = "transition", limit: int = TASK_LIST_LIMIT) -> TaskList:
    """The user's open steps grouped by run (or by account), most urgent group first: 2 queries.

    A departing CSM can hold a hundred steps across dozens of handovers; grouped,
    each handover's steps sit together with their count, ready to be completed at once.
    """
    today = timezone.localdate()
    mine = TransitionTask.objects.open().assigned_to(user).filter(transition__status__in=ACTIVE_STATUSES)
    window_counts = mine.aggregate(
        **{window: Count("due_date", filter=DueWindow.q(window, today)) for window, _ in DueWindow.CHOICES}
    )
    total = sum(window_counts.values())
    if due:
        mine = mine.filter(DueWindow.q(due, today))
    tasks = list(
        mine.select_related(
            "transition__account",
            "transition__to_csm",
            "transition__from_csm",
            "transition__playbook",
        ).order_by("due_date", "transition_id", "position")[:limit]
    )
    groups: dict[str, TaskGroup] = {}
    for task in tasks:
        run = task.transition
        key = f"account-{run.account_id}" if group_by == "account" else f"transition-{run.pk}"
        group = groups.setdefault(key, TaskGroup(key=key, account=run.account, transitions=[]))
        if run not in group.transitions:
            group.transitions.append(run)
        group.tasks.append(task)
    # Groups come in the order of their most urgent step; within a group, by run and playbook order.
    for group in groups.values():
        group.tasks.sort(key=lambda task: (task.transition_id, task.position))
    return TaskList(groups=list(groups.values()), window_counts=window_counts, total=total, shown=len(tasks))


# --- introduction emails to several accounts -------------------------------------------------------------------


def intro_email_steps(
    user: User, *, task_ids: list[int] | None = None, bulk_id: int | None = None
) -> list[TransitionTask]:
    """Open customer-email steps of handovers under way: the user's own, or the ones asked for by id: 1 query.

    Who may send the ones asked for by id is the caller's check (a manager may send a CSM's).
    """
    steps = (
        TransitionTask.objects.open()
        .filter(transition__status__in=ACTIVE_STATUSES, transition__kind=PlaybookKind.HANDOVER)
        .exclude(email_body="")
    )
    steps = steps.filter(pk__in=task_ids) if task_ids else steps.assigned_to(user)
    if bulk_id is not None:
        steps = steps.filter(transition__bulk_id=bulk_id)
    return list(
        steps.select_related(
            "transition__account__owner",
            "transition__from_csm",
            "transition__to_csm",
            "transition__playbook",
            "assignee",
        ).order_by("due_date", "transition__account__name", "pk")
    )


def intro_email_count(user: User, *, bulk_id: int) -> int:
    """How many of a bulk handover's open customer emails are the user's to send: 1 query."""
    return (
        TransitionTask.objects.open()
        .assigned_to(user)
        .filter(transition__bulk_id=bulk_id, transition__status__in=ACTIVE_STATUSES)
        .exclude(email_body="")
        .count()
    )


def email_contacts(account_ids: list[int]) -> dict[int, list[Contact]]:
    """Each account's current contacts with an email address, by name: 1 query."""
    found: dict[int, list[Contact]] = {pk: [] for pk in account_ids}
    for contact in (
        Contact.objects.current()  # neither departed nor archived
        .filter(account_id__in=account_ids)
        .exclude(email="")
        .order_by("last_name", "first_name", "pk")
    ):
        found[contact.account_id].append(contact)
    return found


# --- handing a book over ---------------------------------------------------------------------------------------


@dataclass
class Load:
    accounts: int = 0
    arr: Decimal = Decimal(0)
    open_tasks: int = 0


def csm_loads(user_ids: list[int]) -> dict[int, Load]:
    """What each CSM already carries: accounts, ARR and open tasks they own (2 queries)."""
    loads = {pk: Load() for pk in user_ids}
    for row in (
        Account.objects.filter(owner_id__in=user_ids)
        .values("owner_id")
        .annotate(n=Count("pk"), arr=Sum("arr_reporting"))  # in the reporting currency; no rate, not counted
        .order_by()
    ):
        loads[row["owner_id"]].accounts = row["n"]
        loads[row["owner_id"]].arr = row["arr"] or Decimal(0)
    for row in (
        TransitionTask.objects.open()
        .filter(assignee_id__in=user_ids, transition__status__in=ACTIVE_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        loads[row["assignee_id"]].open_tasks = row["n"]
    return loads


def accounts_with_active_handover(account_ids: list[int]) -> set[int]:
    return set(
        Transition.objects.handovers().active().filter(account_id__in=account_ids).values_list("account_id", flat=True)
    )


def incoming_candidates() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role__in=[User.Role.CSM, User.Role.MANAGER]).select_related("team")


# --- the handover brief ----------------------------------------------------------------------------------------


def handover_brief(account: Account) -> dict:
    """Everything the incoming CSM needs on one page (issue 5 item 6), in a fixed number of queries."""
    contacts = list(account.contacts.select_related("reports_to"))
    timeline = list(account.timeline.for_display()[:15])
    context_notes = list(account.timeline.for_display().filter(kind__in=[TimelineKind.NOTE, TimelineKind.RISK])[:10])
    transition = account_active_transition(account) or (
        account.transitions.handovers()
        .select_related("from_csm", "to_csm")
        .with_progress()
        .order_by("-created_at")
        .first()
    )
    open_tasks = list(
        TransitionTask.objects.open()
        .filter(transition__account=account, transition__status__in=ACTIVE_STATUSES)
        .select_related("assignee", "transition")
        .order_by("due_date", "position")
    )
    return {
        "account": account,
        "contacts": contacts,
        "current_contacts": [c for c in contacts if not c.departed],
        "org_chart": org_chart_rows(account_org_chart(contacts)),
        "plans": account_plans(account),
        "open_objectives": Objective.objects.open().filter(plan__account=account).count(),
        "timeline": timeline,
        "context_notes": context_notes,
        "transition": transition,
        "open_tasks": open_tasks,
        "readiness": account_readiness(account),
        "health_band": health_bands([account.pk]).get(account.pk),
        "open_flags": list(open_flags_for_account(account)),
        "generated_at": timezone.now(),
    }


def is_handover(transition: Transition) -> bool:
    return transition.kind == PlaybookKind.HANDOVER
