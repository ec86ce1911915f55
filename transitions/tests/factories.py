import datetime as dt

import factory
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from transitions.models import (
    AssigneeRole,
    Playbook,
    PlaybookKind,
    PlaybookStep,
    Transition,
    TransitionReason,
)
from users.tests.factories import CSMFactory


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Playbook

    name = factory.Sequence(lambda n: f"Playbook {n}")
    kind = PlaybookKind.HANDOVER


class PlaybookStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaybookStep

    playbook = factory.SubFactory(PlaybookFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Step {n}")
    assignee_role = AssigneeRole.INCOMING
    due_offset_days = 3


class TransitionFactory(factory.django.DjangoModelFactory):
    """A bare row; tests that need tasks start transitions through the service."""

    class Meta:
        model = Transition

    account = factory.SubFactory(AccountFactory)
    playbook = factory.LazyFunction(lambda: Playbook.objects.get(kind=PlaybookKind.HANDOVER, is_default=True))
    playbook_version = 1
    from_csm = factory.LazyAttribute(lambda t: t.account.owner)
    to_csm = factory.SubFactory(CSMFactory)
    reason = TransitionReason.REBALANCING
    start_date = factory.LazyFunction(timezone.localdate)
    target_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=14))
