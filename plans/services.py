"""Writes to success plans. Each function is one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Account
from accounts.services import timeline_system_event
from users.models import User

from .models import Achievement, Objective, SuccessPlan

PLAN_FIELDS = ("name", "scope", "scope_label", "status", "summary")
OBJECTIVE_FIELDS = (
    "title",
    "metric",
    "baseline",
    "target",
    "current_value",
    "due_date",
    "status",
    "owner",
)


def _assign(instance: Any, fields: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    changed = []
    for name, value in fields.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


@transaction.atomic
def plan_create(*, actor: User, account: Account, fields: dict[str, Any]) -> SuccessPlan:
    plan = SuccessPlan(account=account, created_by=actor)
    _assign(plan, fields, PLAN_FIELDS)
    plan.full_clean()
    plan.save()
    timeline_system_event(
        account=account,
        event="plan_created",
        summary=f"Success plan “{plan.name}” created",
        actor=actor,
    )
    return plan


@transaction.atomic
def plan_update(*, actor: User, plan: SuccessPlan, fields: dict[str, Any]) -> SuccessPlan:
    changed = _assign(plan, fields, PLAN_FIELDS)
    plan.full_clean()
    if changed:
        plan.save(update_fields=[*changed, "updated_at"])
    return plan


def _validate_owner(owner: User | None) -> None:
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": f"{owner} is no longer active."})


@transaction.atomic
def objective_create(*, actor: User, plan: SuccessPlan, fields: dict[str, Any]) -> Objective:
    objective = Objective(plan=plan)
    _assign(objective, fields, OBJECTIVE_FIELDS)
    _validate_owner(objective.owner)
    objective.full_clean()
    objective.save()
    return objective


@transaction.atomic
def objective_update(*, actor: User, objective: Objective, fields: dict[str, Any]) -> Objective:
    before = objective.status
    changed = _assign(objective, fields, OBJECTIVE_FIELDS)
    _validate_owner(objective.owner)
    objective.full_clean()
    if changed:
        objective.save(update_fields=[*changed, "updated_at"])
    if "status" in changed and objective.status != before:
        timeline_system_event(
            account=objective.plan.account,
            event="objective_status",
            summary=f"Objective “{objective.title}” is now {objective.get_status_display().lower()}",
            actor=actor,
        )
    return objective


@transaction.atomic
def achievement_record(
    *,
    actor: User,
    plan: SuccessPlan,
    title: str,
    achieved_on: dt.date,
    description: str = "",
    objective: Objective | None = None,
) -> Achievement:
    if objective is not None and objective.plan_id != plan.pk:
        raise ValidationError({"objective": "The objective belongs to another plan."})
    achievement = Achievement(
        plan=plan,
        objective=objective,
        title=title,
        achieved_on=achieved_on,
        description=description,
        recorded_by=actor,
    )
    achievement.full_clean()
    achievement.save()
    timeline_system_event(
        account=plan.account,
        event="achievement",
        summary=f"Achievement: {title}",
        body=description,
        actor=actor,
    )
    return achievement


def objectives_reassign(*, account: Account, from_user: User | None, to_user: User) -> int:
    """Hand the account's open objectives owned by `from_user` (or nobody) to `to_user`; returns how many moved.

    Called inside the handover's transaction, so it is not atomic itself.
    """
    open_objectives = Objective.objects.open().filter(plan__account=account)
    if from_user is not None:
        open_objectives = open_objectives.filter(owner=from_user)
    else:
        open_objectives = open_objectives.filter(owner__isnull=True)
    return open_objectives.update(owner=to_user)
