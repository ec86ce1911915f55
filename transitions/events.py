"""What transitions announce (core.events)."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class TransitionCompleted(Event):
    """A handover or a playbook run finished; for a handover `to_csm_id` now owns the account."""

    transition_id: int
    account_id: int
    kind: str
    to_csm_id: int | None
