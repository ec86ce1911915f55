"""The gates for transition pages and API: 404 if it does not exist, 403 if the user may not act."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from users.models import User
from users.permissions import can_complete_transition_task, can_manage_transition

from .models import Transition, TransitionTask


def transition_for_manage(user: User, pk: int) -> Transition:
    transition = get_object_or_404(
        Transition.objects.select_related("account__owner", "to_csm", "from_csm", "playbook"), pk=pk
    )
    if not can_manage_transition(user, transition.account):
        raise PermissionDenied(f"Only the team's manager or an admin can change this {transition.noun}.")
    return transition


def task_for_work(user: User, pk: int) -> TransitionTask:
    task = get_object_or_404(
        TransitionTask.objects.select_related(
            "transition__account__owner",
            "transition__from_csm",
            "transition__to_csm",
            "assignee",
        ),
        pk=pk,
    )
    if not can_complete_transition_task(user, assignee_id=task.assignee_id, account=task.transition.account):
        raise PermissionDenied("This step is assigned to someone else.")
    return task
