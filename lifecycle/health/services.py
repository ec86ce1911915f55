"""Manager overrides of the computed health score."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, AuditAction
from accounts.services import audit_record, timeline_system_event
from core import events
from lifecycle.health.events import ScoreOverrideChanged
from lifecycle.health.recompute import account_health_refresh_override, enqueue_account_recompute
from lifecycle.models import ScoreOverride
from users.models import User

MAX_OVERRIDE_DAYS = 180


@transaction.atomic
def score_override_set(
    *, actor: User, account: Account, score: int, reason: str, expires_at: dt.datetime
) -> ScoreOverride:
    """Replace the computed score until `expires_at`; it survives every recompute until then."""
    now = timezone.now()
    errors = {}
    if not 0 <= score <= 100:
        errors["score"] = "A score is between 0 and 100."
    if not reason.strip():
        errors["reason"] = "Say why the computed score is wrong; the next reader needs it."
    if expires_at <= now:
        errors["expires_at"] = "The override must expire in the future."
    elif expires_at > now + dt.timedelta(days=MAX_OVERRIDE_DAYS):
        errors["expires_at"] = f"An override lasts at most {MAX_OVERRIDE_DAYS} days; set it again if still true."
    if errors:
        raise ValidationError(errors)
    Account.objects.select_for_update().get(pk=account.pk)
    previous = ScoreOverride.objects.filter(account=account, cleared_at__isnull=True).first()
    if previous is not None:
        previous.cleared_at, previous.cleared_by = now, actor
        previous.save(update_fields=["cleared_at", "cleared_by"])
    override = ScoreOverride.objects.create(
        account=account, score=score, reason=reason, set_by=actor, created_at=now, expires_at=expires_at
    )
    audit_record(
        actor=actor,
        action=AuditAction.SCORE_OVERRIDDEN,
        subject=account,
        account=account,
        changes={"health_override": (previous.score if previous else None, score), "expires_at": (None, expires_at)},
        reason=reason,
    )
    timeline_system_event(
        account=account,
        event="score_overridden",
        summary=f"Health score overridden to {score} until {timezone.localtime(expires_at):%d %b %Y} by {actor}",
        body=reason,
        actor=actor,
    )
    account_health_refresh_override(account_id=account.pk)
    # Shown at once where the account has current health; the recompute also covers one never scored.
    enqueue_account_recompute([account.pk])
    events.announce(ScoreOverrideChanged(account_id=account.pk, in_force=True))
    return override


@transaction.atomic
def score_override_clear(*, actor: User, account: Account, reason: str = "") -> ScoreOverride:
    override = ScoreOverride.objects.select_for_update().filter(account=account, cleared_at__isnull=True).first()
    if override is None:
        raise ValidationError("This account has no override to clear.")
    override.cleared_at, override.cleared_by = timezone.now(), actor
    override.save(update_fields=["cleared_at", "cleared_by"])
    audit_record(
        actor=actor,
        action=AuditAction.SCORE_OVERRIDDEN,
        subject=account,
        account=account,
        changes={"health_override": (override.score, None)},
        reason=reason or "Override cleared",
    )
    timeline_system_event(
        account=account, event="score_override_cleared", summary=f"Health override cleared by {actor}", actor=actor
    )
    account_health_refresh_override(account_id=account.pk)
    enqueue_account_recompute([account.pk])
    events.announce(ScoreOverrideChanged(account_id=account.pk, in_force=False))
    return override
