"""Playbooks that start when something happens below: a stage is entered, a flag is raised.

Subscribed in transitions/apps.py; each runs after the change it reacts to has committed.
"""

from __future__ import annotations

from accounts.models import Account
from lifecycle.flags.events import FlagsRaised
from lifecycle.stages.events import StageChanged
from users.models import User

from .services import risk_playbooks_start_for_flags, stage_playbooks_start


def start_stage_playbooks(event: StageChanged) -> None:
    account = Account.objects.select_related("owner").get(pk=event.account_id)
    actor = User.objects.filter(pk=event.actor_id).first() if event.actor_id else None
    stage_playbooks_start(account=account, stage=event.to_stage, actor=actor)


def start_risk_playbooks(event: FlagsRaised) -> None:
    risk_playbooks_start_for_flags(flag_ids=event.raised_ids, start_date=event.day)
