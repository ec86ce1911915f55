"""Who hears about what happened below: raised and re-opened flags are delivered to the people who follow them;
customer emails queued on a handover step are sent.

Subscribed in notifications/apps.py.
"""

from __future__ import annotations

from lifecycle.flags.events import FlagsRaised, FloodWarningsRaised
from transitions.events import CustomerEmailsQueued

from .services import customer_emails_queue, flood_warnings_notify
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
