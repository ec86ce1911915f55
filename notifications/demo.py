"""Notifications' part of the demo company (imported by accounts.demo's seeder registry).

The demo's red flags are raised as history, without notice (FlagsRaised with
`notify=False`), so that building it emails nobody. The people who follow
those flags still see the open ones under the bell from the first `make run`:
one set-based pass after the last batch makes their in-app notifications.
"""

from __future__ import annotations

from accounts.demo import DemoCompany, Seeder, register_seeder
from lifecycle.models import FlagStatus, RedFlag
from notifications.models import Notification
from notifications.services import flags_notify_in_app


def _notify_open_flags(company: DemoCompany) -> None:
    open_flags = RedFlag.objects.filter(status=FlagStatus.OPEN).order_by("pk").values_list("pk", flat=True)
    company.rows[Notification._meta.label] += flags_notify_in_app(flag_ids=open_flags)


# After the health history (60), which raises today's flags, and the handovers (70).
register_seeder(Seeder(name="open flag notifications", order=80, finish=_notify_open_flags))
