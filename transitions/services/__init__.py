"""Writes for playbooks, transitions, their tasks and the customer-email outbox.

Every function is one unit of work in a transaction, checks who may do it
(through users.permissions) and writes its own audit and timeline rows.
Split by concern; callers import from here:

- playbooks.py: creating and editing playbooks, the default ones
- transitions.py: starting handovers, stage checklists and risk plays; cancelling and re-dating them
- bulk.py: bulk handovers, recorded and then run inline or by a worker
- steps.py: completing a step, and the run it completes (moving open work to the new owner)
- customer_emails.py: a step's customer emails in the outbox, and the outcomes the sender reports back
"""

from .bulk import bulk_handover_create, bulk_handover_run, bulk_handovers_sweep
from .customer_emails import (
    IntroEmailDraft,
    IntroEmailsInvalid,
    email_context,
    intro_emails_send,
    outbound_email_mark_failed,
    outbound_email_mark_sending,
    outbound_email_mark_sent,
    outbound_email_retry,
    outbound_emails_sweep,
    task_email_send,
)
from .playbooks import default_handover_playbook, default_risk_playbook, playbook_create, playbook_update
from .steps import (
    MIN_CONFIRMATION_REASON,
    ConfirmationRequired,
    TasksCompleted,
    task_complete,
    tasks_complete,
    transition_complete,
)
from .transitions import (
    TransitionConflict,
    playbook_run_start,
    risk_playbooks_start_for_flags,
    stage_playbooks_start,
    transition_bulk_start,
    transition_cancel,
    transition_reschedule,
    transition_start,
)

__all__ = [
    "IntroEmailDraft",
    "IntroEmailsInvalid",
    "intro_emails_send",
    "MIN_CONFIRMATION_REASON",
    "ConfirmationRequired",
    "TasksCompleted",
    "TransitionConflict",
    "bulk_handover_create",
    "bulk_handover_run",
    "bulk_handovers_sweep",
    "default_handover_playbook",
    "default_risk_playbook",
    "email_context",
    "outbound_email_mark_failed",
    "outbound_email_mark_sending",
    "outbound_email_mark_sent",
    "outbound_email_retry",
    "outbound_emails_sweep",
    "playbook_create",
    "playbook_run_start",
    "playbook_update",
    "risk_playbooks_start_for_flags",
    "stage_playbooks_start",
    "task_complete",
    "tasks_complete",
    "task_email_send",
    "transition_bulk_start",
    "transition_cancel",
    "transition_complete",
    "transition_reschedule",
    "transition_start",
]
