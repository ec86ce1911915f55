"""Playbooks: creating and editing them (each edit bumps the version), and the defaults runs start from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F

from users.models import User
from users.permissions import can_configure

from .. import emails
from ..models import STEP_FIELDS_FOR_FORMS, Playbook, PlaybookKind, PlaybookStep

STEP_FIELDS = STEP_FIELDS_FOR_FORMS
PLAYBOOK_FIELDS = (
    "name",
    "kind",
    "description",
    "trigger_stage",
    "is_default",
    "archived",
    "min_readiness",
)


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
    # Before the playbook is saved as the default: `playbook_one_default_per_kind` allows one at any moment.
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
    _clear_other_defaults(playbook)
    playbook.save()
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
    _clear_other_defaults(playbook)
    playbook.save()
    playbook.refresh_from_db()
    return playbook


def default_handover_playbook() -> Playbook | None:
    return Playbook.objects.filter(kind=PlaybookKind.HANDOVER, is_default=True, archived=False).first()


def default_risk_playbook() -> Playbook | None:
    return Playbook.objects.filter(kind=PlaybookKind.RISK, is_default=True, archived=False).first()
