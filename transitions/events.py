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


@dataclass(frozen=True)
class CustomerEmailsQueued(Event):
    """Customer emails wait in the outbox: written from a step, or a failed one queued again by its sender.

    Transitions keeps the outbox rows (what goes to whom, and its status on the
    task); whoever sends email subscribes, sends them after commit and reports
    each outcome back with `outbound_email_mark_sent` / `outbound_email_mark_failed`.
    """

    email_ids: tuple[int, ...]


@dataclass(frozen=True)
class HandoverAwaitingConfirmation(Event):
    """A handover's required steps are done but its readiness is below its playbook's bar.

    It completes once the team's manager (or an admin) confirms it with a reason
    (`transition_complete`); until then the manager board shows it as awaiting confirmation.
    """

    transition_id: int
    account_id: int
    readiness: int
    threshold: int
