"""Who hears about what happened below: raised and re-opened flags are delivered to the people who follow them;
customer emails queued on a handover step are sent; a handover held below its readiness bar is put
to the managers who may confirm it.

Subscribed in notifications/apps.py.
"""

from __future__ import annotations

from lifecycle.flags.events import FlagsRaised, FloodWarningsRaised
from transitions.events import CustomerEmailsQueued, HandoverAwaitingConfirmation

from .services import customer_emails_queue, flood_warnings_notify, handover_confirmation_notify
from .tasks import flags_notify


def notify_flags_raised(event: FlagsRaised) -> None:
    # Back-filled history (demo data, replays) raises flags that nobody should be woken for.
    if event.notify:
        flags_notify.delay([*event.raised_ids, *event.reopened_ids])


def notify_flood_warnings(event: FloodWarningsRaised) -> None:
    # Inline: a handful of rows for the admins and managers, once a night at most.
    if event.notify:
        flood_warnings_notify(warning_ids=event.warning_ids)


def send_customer_emails(event: CustomerEmailsQueued) -> None:
    # Inline, not a task: writing the deliveries is quick, and once they are rows the sweep
    # sends them even if queueing the send fails.
    customer_emails_queue(email_ids=event.email_ids)


def ask_manager_to_confirm_handover(event: HandoverAwaitingConfirmation) -> None:
    # Inline: a few rows for the team's managers, and the bell should show it on the next page load.
    handover_confirmation_notify(
        transition_id=event.transition_id, readiness=event.readiness, threshold=event.threshold
    )
