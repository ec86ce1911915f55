from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, AuditAction, ChurnReason, Stage
from accounts.outcomes.services import churn_record
from accounts.services import audit_record, timeline_system_event
from core import events
from lifecycle.health.recompute import enqueue_account_recompute
from lifecycle.models import StageChange
from lifecycle.stages.events import StageChanged
from users.models import User


@transaction.atomic
def account_stage_change(
    *, actor: User | None, account: Account, to_stage: str, reason: str = "", churn_reason: str = ""
) -> StageChange:
    """Move an account to another lifecycle stage, with history, audit and timeline.

    Moving it to "churned" needs a `churn_reason` (a ChurnReason) and records the churn as an
    Outcome in the same transaction: the current term closed, the current ARR lost, `reason` as its note.
    """
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": f"Unknown stage {to_stage!r}."})
    if to_stage == Stage.CHURNED and churn_reason not in ChurnReason.values:
        message = "Say why the customer left." if not churn_reason else f"Unknown churn reason {churn_reason!r}."
        raise ValidationError({"churn_reason": message})
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.stage == to_stage:
        raise ValidationError({"to_stage": f"The account is already in {Stage(to_stage).label}."})
    if to_stage == Stage.CHURNED:
        try:
            churn_record(actor=actor, account=account, reason=churn_reason, note=reason)
        except ValidationError as error:
            # The outcome's fields are not the stage form's: say it against the stage.
            raise ValidationError({"to_stage": error.messages}) from error
    now = timezone.now()
    from_stage = account.stage
    change = StageChange.objects.create(
        account=account, from_stage=from_stage, to_stage=to_stage, changed_at=now, changed_by=actor, reason=reason
    )
    days_in_previous = (now - account.stage_entered_at).days
    account.stage = to_stage
    account.stage_entered_at = now
    account.save(update_fields=["stage", "stage_entered_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.STAGE_CHANGED,
        subject=account,
        account=account,
        changes={"stage": (from_stage, to_stage)},
        reason=reason,
    )
    timeline_system_event(
        account=account,
        event="stage_changed",
        summary=(
            f"Stage changed from {Stage(from_stage).label} to {Stage(to_stage).label} after {days_in_previous} days"
        ),
        body=reason,
        actor=actor,
    )
    # Entering a stage may start its checklist: transitions listens.
    events.announce(
        StageChanged(
            account_id=account.pk, from_stage=from_stage, to_stage=to_stage, actor_id=actor.pk if actor else None
        )
    )
    enqueue_account_recompute([account.pk])
    return change
