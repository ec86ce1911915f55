"""Who hears about what happened below: raised and re-opened flags are delivered to the people who follow them.

Subscribed in notifications/apps.py.
"""

from __future__ import annotations

from lifecycle.flags.events import FlagsRaised

from .tasks import flags_notify


def notify_flags_raised(event: FlagsRaised) -> None:
    # Back-filled history (demo data, replays) raises flags that nobody should be woken for.
    if event.notify:
        flags_notify.delay([*event.raised_ids, *event.reopened_ids])
