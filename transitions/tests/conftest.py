import datetime as dt

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


@pytest.fixture
def playbook():
    """The default handover playbook shipped by the data migration."""
    return Playbook.objects.get(kind=PlaybookKind.HANDOVER, is_default=True)


@pytest.fixture
def dates():
    today = timezone.localdate()
    return {"start_date": today, "target_date": today + dt.timedelta(days=14)}
