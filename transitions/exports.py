"""The board's and My tasks' CSV exports: what each page lists, every row rather than a page of them.

Labels, not codes (kind, reason, status), people by full name and username, the account's ARR
converted to the reporting currency beside the amount as written. Each export is one query
however many rows: the page's select_related and annotations, read in chunks. The board's
readiness column is left out: it is two queries over each batch of accounts, so a file of
every transition would ask a number of queries that grows with it.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter, methodcaller
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from accounts.models import Account
from accounts.money.selectors import reporting_currency
from core.csv_export import Column
from users.models import User

from .filters import TransitionFilter
from .models import ACTIVE_STATUSES, PlaybookKind, Transition, TransitionTask
from .selectors import DueWindow, board_ordering


def _name(person: User | None) -> str:
    return (person.get_full_name() or person.username) if person else ""


def _username(person: User | None) -> str:
    return person.username if person else ""


def _money_columns(account: Callable[[Any], Account]) -> list[Column[Any]]:
    return [
        Column(f"ARR ({reporting_currency()})", lambda row: account(row).arr_reporting),
        Column("ARR as written", lambda row: account(row).arr),
        Column("Currency", lambda row: account(row).currency),
    ]


def board_export(params: QueryDict) -> QuerySet[Transition]:
    """The board's transitions for `params` (its defaults: active handovers), in its order, with its columns loaded."""
    params = params.copy()
    params.setdefault("status", "active")
    params.setdefault("kind", PlaybookKind.HANDOVER)
    group_by = "to" if params.get("group") == "to" else "from"
    transitions = TransitionFilter(params, queryset=Transition.objects.all()).qs
    return transitions.for_board().order_by(*board_ordering(group_by))


def board_export_columns() -> list[Column[Transition]]:
    return [
        Column("ID", attrgetter("pk")),
        Column("Account", attrgetter("account.name")),
        Column("Kind", methodcaller("get_kind_display")),
        Column("Run", attrgetter("title")),
        Column("Playbook", attrgetter("playbook.name")),
        Column("Outgoing CSM", lambda t: _name(t.from_csm) if t.is_handover else ""),
        Column("Outgoing username", lambda t: _username(t.from_csm)),
        Column("Incoming CSM", lambda t: _name(t.to_csm)),
        Column("Incoming username", lambda t: _username(t.to_csm)),
        Column("Reason", methodcaller("get_reason_display")),
        Column("Status", methodcaller("get_status_display")),
        Column("Awaiting confirmation", attrgetter("awaiting_confirmation")),
        Column("Email failed", attrgetter("has_failed_email")),
        Column("Steps done", attrgetter("tasks_done")),
        Column("Steps", attrgetter("tasks_total")),
        Column("% complete", attrgetter("percent_complete")),
        Column("Overdue steps", attrgetter("tasks_overdue")),
        Column("Start date", attrgetter("start_date")),
        Column("Target date", attrgetter("target_date")),
        Column("Tier", lambda t: t.account.get_tier_display()),
        *_money_columns(attrgetter("account")),
    ]


def my_tasks_export(user: User, *, due: str = "") -> QuerySet[TransitionTask]:
    """Every open step of `user`'s active runs (My tasks' steps, without its 500-step cap), most urgent first."""
    tasks = TransitionTask.objects.open().assigned_to(user).filter(transition__status__in=ACTIVE_STATUSES)
    if due:
        tasks = tasks.filter(DueWindow.q(due, timezone.localdate()))
    return tasks.select_related(
        "transition__account", "transition__to_csm", "transition__from_csm", "transition__playbook"
    ).order_by("due_date", "transition_id", "position")


def my_tasks_export_columns() -> list[Column[TransitionTask]]:
    return [
        Column("ID", attrgetter("pk")),
        Column("Due date", attrgetter("due_date")),
        Column("Overdue", attrgetter("is_overdue")),
        Column("Step", attrgetter("title")),
        Column("Required", attrgetter("required")),
        Column("Customer email", attrgetter("has_email")),
        Column("Account", attrgetter("transition.account.name")),
        Column("Run", attrgetter("transition.title")),
        Column("Kind", lambda task: task.transition.get_kind_display()),
        Column("Outgoing CSM", lambda task: _name(task.transition.from_csm) if task.transition.is_handover else ""),
        Column("Incoming CSM", lambda task: _name(task.transition.to_csm)),
        Column("Run target date", attrgetter("transition.target_date")),
        Column("Tier", lambda task: task.transition.account.get_tier_display()),
        *_money_columns(attrgetter("transition.account")),
    ]
