"""Which events become outbound webhooks, and what their data says (payloads.py). Subscribed in notifications/apps.py.

Each handler first asks which endpoints subscribe to its event (one query) and
reads nothing more when none does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.events import OutcomeRecorded
from lifecycle.flags.events import FlagResolved, FlagsCleared, FlagsRaised
from lifecycle.health.events import BandsChanged
from lifecycle.stages.events import StageChanged
from transitions.events import TransitionCompleted

from . import payloads
from .models import WebhookEvent
from .services import webhook_endpoints_for, webhook_events_queue


def _queue(event_type: WebhookEvent, datas: Callable[[], list[dict[str, Any]]]) -> None:
    endpoints = webhook_endpoints_for(event_type)
    if endpoints:
        webhook_events_queue(event_type=event_type, datas=datas(), endpoints=endpoints)


def flags_raised(event: FlagsRaised) -> None:
    # Back-filled history (demo data, replays) is not news to anyone's systems either.
    if event.notify:
        _queue(
            WebhookEvent.FLAG_RAISED,
            lambda: payloads.flags_raised([*event.raised_ids, *event.reopened_ids], reopened_ids=event.reopened_ids),
        )


def flags_cleared(event: FlagsCleared) -> None:
    if event.notify:
        _queue(WebhookEvent.FLAG_CLEARED, lambda: payloads.flags_cleared(event.flag_ids))


def bands_changed(event: BandsChanged) -> None:
    _queue(WebhookEvent.BAND_CHANGED, lambda: payloads.bands_changed(event.changes))


def flag_resolved(event: FlagResolved) -> None:
    _queue(WebhookEvent.FLAG_RESOLVED, lambda: payloads.flag_resolved(event.flag_id))


def stage_changed(event: StageChanged) -> None:
    _queue(
        WebhookEvent.STAGE_CHANGED,
        lambda: payloads.stage_changed(
            account_id=event.account_id, from_stage=event.from_stage, to_stage=event.to_stage, actor_id=event.actor_id
        ),
    )


def transition_completed(event: TransitionCompleted) -> None:
    _queue(WebhookEvent.TRANSITION_COMPLETED, lambda: payloads.transition_completed(event.transition_id))


def outcome_recorded(event: OutcomeRecorded) -> None:
    _queue(WebhookEvent.OUTCOME_RECORDED, lambda: payloads.outcome_recorded(event.outcome_id))
