from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, AuditAction, ChurnReason, Stage
from accounts.outcomes.services import churn_record
from accounts.services import audit_record, timeline_system_event
from core import events
from core.text import counted
from lifecycle.health.recompute import enqueue_account_recompute
from lifecycle.models import StageChange
from lifecycle.stages.events import StageChanged
from users.models import User

# A moment a client sends as "now" may run slightly ahead of the server's clock.
CLOCK_SKEW = dt.timedelta(minutes=5)

# Every stage change says why; a person writes at least this much, the system passes a reason of its own.
REASON_MIN_LENGTH = 3
# What an integration's PATCH of `stage` records when it gives no reason of its own.
REASON_SET_THROUGH_API = "Stage reported through the API"


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise ValidationError(
            {
                "reason": f"Say why the stage changes (at least {REASON_MIN_LENGTH} characters): it is kept in the audit trail."
            }
        )
    return reason


def _check_not_future(entered_at: dt.datetime) -> None:
    if entered_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"stage_entered_at": "An account cannot enter a stage in the future."})


@transaction.atomic
def account_stage_change(
    *,
    actor: User | None,
    account: Account,
    to_stage: str,
    reason: str,
    churn_reason: str = "",
    entered_at: dt.datetime | None = None,
) -> StageChange:
    """Move an account to another lifecycle stage, with history, audit and timeline.

    Moving it to "churned" needs a `churn_reason` (a ChurnReason) and records the churn as an
    Outcome in the same transaction: the current term closed, the current ARR lost, `reason` as its note.
    `entered_at` is when it moved, if not now (an integration reporting a move it knows the date of):
    not in the future, not before it entered its current stage, and today for a churn (recorded today).
    `reason` is required (REASON_MIN_LENGTH characters after trimming): a system caller passes its own.
    """
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": f"Unknown stage {to_stage!r}."})
    reason = _clean_reason(reason)
    if to_stage == Stage.CHURNED and churn_reason not in ChurnReason.values:
        message = "Say why the customer left." if not churn_reason else f"Unknown churn reason {churn_reason!r}."
        raise ValidationError({"churn_reason": message})
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.stage == to_stage:
        raise ValidationError({"to_stage": f"The account is already in {Stage(to_stage).label}."})
    now = timezone.now()
    if entered_at is not None:
        _check_not_future(entered_at)
        if entered_at < account.stage_entered_at:
            raise ValidationError(
                {
                    "stage_entered_at": f"The account entered {Stage(account.stage).label} on "
                    f"{timezone.localtime(account.stage_entered_at):%d %b %Y}; it cannot have left it before."
                }
            )
        if to_stage == Stage.CHURNED and timezone.localdate(entered_at) != timezone.localdate(now):
            raise ValidationError({"stage_entered_at": "A churn is recorded as of today: leave the date out."})
    moved_at = min(entered_at, now) if entered_at is not None else now
    if to_stage == Stage.CHURNED:
        try:
            churn_record(actor=actor, account=account, reason=churn_reason, note=reason)
        except ValidationError as error:
            # The outcome's fields are not the stage form's: say it against the stage.
            raise ValidationError({"to_stage": error.messages}) from error
    from_stage, from_start = account.stage, account.stage_entered_at
    change = StageChange.objects.create(
        account=account, from_stage=from_stage, to_stage=to_stage, changed_at=moved_at, changed_by=actor, reason=reason
    )
    days_in_previous = (moved_at - from_start).days
    account.stage = to_stage
    account.stage_entered_at = moved_at
    account.save(update_fields=["stage", "stage_entered_at", "updated_at"])
    changes: dict[str, tuple] = {"stage": (from_stage, to_stage)}
    if entered_at is not None:
        changes["stage_entered_at"] = (from_start, moved_at)
    audit_record(
        actor=actor,
        action=AuditAction.STAGE_CHANGED,
        subject=account,
        account=account,
        changes=changes,
        reason=reason,
    )
    timeline_system_event(
        account=account,
        event="stage_changed",
        summary=(
            f"Stage changed from {Stage(from_stage).label} to {Stage(to_stage).label} "
            f"after {counted(days_in_previous, 'day')}"
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


@transaction.atomic
def account_stage_set(
    *, actor: User, account: Account, stage: str, entered_at: dt.datetime | None = None, reason: str = ""
) -> StageChange | None:
    """Put the account in `stage`, entered at `entered_at`, as an integration reports it; idempotent.

    - Another stage, entered at or after the current one began (now when no date is given): a stage
      change (account_stage_change), with its history row, audit, timeline and event.
    - A start before the current stage began, or the same stage with another start: the stage the
      account was created or imported in is corrected (the rules count from it). Allowed only while
      Baton has recorded no stage change for the account: after one, its own history stands. Audited,
      on the timeline, and no history row or event, as the account did not move today.
    - The same stage and start (or no start given): nothing changes; returns None.

    A churn needs its reason and is recorded as of today: it is the stage change's, not this.
    No `reason` given: REASON_SET_THROUGH_API is recorded, so every stage change still says why.
    """
    reason = (reason or "").strip()
    if stage not in Stage.values:
        raise ValidationError({"stage": f"Unknown stage {stage!r}."})
    if entered_at is not None:
        _check_not_future(entered_at)
    account = Account.objects.select_for_update().get(pk=account.pk)
    if stage == Stage.CHURNED and account.stage != Stage.CHURNED:
        raise ValidationError(
            {"stage": "Record a churn with POST /api/accounts/{id}/change-stage/: it needs a churn reason."}
        )
    same_start = entered_at is None or entered_at == account.stage_entered_at
    if stage == account.stage and same_start:
        return None
    if stage != account.stage and (entered_at is None or entered_at >= account.stage_entered_at):
        return account_stage_change(
            actor=actor, account=account, to_stage=stage, reason=reason or REASON_SET_THROUGH_API, entered_at=entered_at
        )
    assert entered_at is not None  # a correction always names the start
    recorded = StageChange.objects.filter(account=account).order_by("-changed_at").first()
    if recorded is not None:
        raise ValidationError(
            {
                "stage_entered_at": f"Baton recorded this account entering {Stage(recorded.to_stage).label} on "
                f"{timezone.localtime(recorded.changed_at):%d %b %Y}: its stage history stands. "
                "Change the stage from now on instead."
            }
        )
    before = (account.stage, account.stage_entered_at)
    account.stage = stage
    account.stage_entered_at = entered_at
    account.save(update_fields=["stage", "stage_entered_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.STAGE_CHANGED,
        subject=account,
        account=account,
        changes={"stage": (before[0], stage), "stage_entered_at": (before[1], entered_at)},
        reason=reason or "Stage start corrected",
    )
    timeline_system_event(
        account=account,
        event="stage_corrected",
        summary=(
            f"Stage set to {Stage(stage).label} since {timezone.localtime(entered_at):%d %b %Y} "
            f"(was {Stage(before[0]).label} since {timezone.localtime(before[1]):%d %b %Y})"
        ),
        body=reason,
        actor=actor,
    )
    enqueue_account_recompute([account.pk])
    return None
