"""What a stage change announces (core.events)."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class StageChanged(Event):
    account_id: int
    from_stage: str
    to_stage: str
    actor_id: int | None
