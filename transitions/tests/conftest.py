import datetime as dt
import importlib

import pytest
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from transitions.models import Playbook, PlaybookKind
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory


@pytest.fixture
def team():
    return TeamFactory(name="Mid-market")


@pytest.fixture
def manager(team):
    return ManagerFactory(username="tom", team=team)


@pytest.fixture
def outgoing(team):
    return CSMFactory(username="alex", first_name="Alex", last_name="Archer", team=team)


@pytest.fixture
def incoming(team):
    return CSMFactory(username="sam", first_name="Sam", last_name="Sato", team=team)


@pytest.fixture
def account(outgoing):
    return AccountFactory(name="Acme Robotics", owner=outgoing)


def ensure_default_playbooks() -> Playbook:
    """The shipped defaults; transactional tests flush the tables, so put them back the way the migration did."""
    if not Playbook.objects.filter(kind=PlaybookKind.HANDOVER, is_default=True).exists():
        from django.apps import apps

        importlib.import_module("transitions.migrations.0002_default_playbooks").create_defaults(apps, None)
    return Playbook.objects.get(kind=PlaybookKind.HANDOVER, is_default=True)


@pytest.fixture
def playbook():
    """The default handover playbook shipped by the data migration."""
    return ensure_default_playbooks()


@pytest.fixture
def dates():
    today = timezone.localdate()
    return {"start_date": today, "target_date": today + dt.timedelta(days=14)}


def make_ready(account) -> None:
    """Give the account everything handover readiness checks (100%): verified champion and decision maker,
    a success plan with goals, a fresh context note and its contract facts (the factory's)."""
    from accounts.models import DealRole, TimelineEntry, TimelineKind
    from accounts.tests.factories import ContactFactory
    from plans.models import SuccessPlan

    now = timezone.now()
    ContactFactory(account=account, deal_role=DealRole.CHAMPION, last_verified_at=now)
    ContactFactory(account=account, deal_role=DealRole.DECISION_MAKER, last_verified_at=now)
    SuccessPlan.objects.create(account=account, name="Grow usage", summary="Roll out to every region this year.")
    TimelineEntry.objects.create(
        account=account, kind=TimelineKind.NOTE, summary="Context for the incoming CSM", occurred_at=now
    )


@pytest.fixture
def ready(account):
    """The account, ready to be handed over (readiness 100%)."""
    make_ready(account)
    return account
