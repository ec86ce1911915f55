from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Account
from lifecycle.models import StageChange


@dataclass(frozen=True)
class StagePeriod:
    change: StageChange
    days: int
    current: bool


def stage_history_with_durations(account: Account) -> list[StagePeriod]:
    """Stage changes newest first, each with how long the account stayed in that stage."""
    changes = list(account.stage_changes.select_related("changed_by"))
    periods = []
    until: dt.datetime = timezone.now()
    for index, change in enumerate(changes):
        periods.append(StagePeriod(change=change, days=(until - change.changed_at).days, current=index == 0))
        until = change.changed_at
    return periods
